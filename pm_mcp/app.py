"""Process-wide state shared by all tools, created once in the server's lifespan.

``AppState`` has one typed field per component, and :func:`start_components` builds them in one visible
order (nothing registers itself on import):

1. ``http``: the shared venue HTTP pool (pm_mcp.venues.http.start_http);
2. ``markets``: the market service over every enabled venue and the local catalog
   (pm_mcp.markets.service.start_markets);
3. ``execution`` and ``approval``: the execution engine, its approval page, start-up reconciliation and the
   background runner (pm_mcp.execution.start_execution);
4. ``identity``: the ERC-8004 lookup service, created on first use (web3 is slow to import) and closed here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pm_mcp.settings import Settings
from pm_mcp.store import Store
from pm_mcp.store_pg import open_store

log = logging.getLogger(__name__)

# In the server the components start in the background, and not before the MCP handshake is over: their
# synchronous part (importing venue adapters and httpx, opening the catalog) would otherwise hold the
# event loop while `initialize` / `tools/list` wait. They start when pm_mcp.server says the handshake
# has been answered, when a tool call needs them, or at the latest this long after the lifespan began.
HOOKS_START_AFTER_S = 1.0

if TYPE_CHECKING:
    from pm_mcp.execution.approval import ApprovalServer
    from pm_mcp.execution.engine import ExecutionEngine
    from pm_mcp.identity.lookup import IdentityService
    from pm_mcp.markets.service import MarketService
    from pm_mcp.venues.http import HttpPool
    from pm_mcp.venues.send_journal import OrderJournal


@dataclass
class AppState:
    settings: Settings
    store: Store
    http: HttpPool | None = None
    markets: MarketService | None = None
    execution: ExecutionEngine | None = None
    approval: ApprovalServer | None = None  # None when the page channel is off or could not listen
    identity: IdentityService | None = None  # created on first use
    send_journal: OrderJournal | None = None  # created on first use (live orders)
    # find_arbitrage results by scan id, newest last, for propose_bundle (pm_mcp.surface.arbitrage)
    arbitrage_scans: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    # watches (pm_mcp.execution.watches): async callables the runner hands each batch of new alerts to, and the
    # legacy MCP sessions subscribed to each watch://<id> (pm_mcp.surface.watches)
    alert_sinks: list[Any] = field(default_factory=list)
    watch_subscriptions: dict[str, set[Any]] = field(default_factory=dict)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    startup_error: BaseException | None = None
    go: asyncio.Event = field(default_factory=asyncio.Event)  # set: start the hooks now

    def start_hooks(self, delay_s: float = 0.0) -> None:
        """Let the background start-up hooks begin (now, or after ``delay_s``; idempotent)."""
        if self.go.is_set():
            return
        if delay_s <= 0:
            self.go.set()
        else:
            asyncio.get_running_loop().call_later(delay_s, self.go.set)

    async def scan_arbitrage(self, **kw: Any) -> tuple[dict[str, str], int]:
        """find_arbitrage's scan for the arbitrage watch (pm_mcp.surface.arbitrage.scan_for_watch, imported on use;
        the runner in pm_mcp.execution does not import the surface)."""
        from pm_mcp.surface.arbitrage import scan_for_watch

        return await scan_for_watch(self, **kw)

    def require_markets(self) -> MarketService:
        if self.markets is None:
            raise RuntimeError("the market service is not running in this process")
        return self.markets

    def require_execution(self) -> ExecutionEngine:
        if self.execution is None:
            raise RuntimeError("order execution is not running in this process")
        return self.execution

    async def wait_started(self) -> None:
        """Wait until every start-up hook has run; raise what made one fail."""
        self.start_hooks()
        await self.started.wait()
        if self.startup_error is not None:
            raise StartupFailed(f"pm-mcp could not start a component: {self.startup_error}")


class StartupFailed(RuntimeError):
    pass


async def start_components(state: AppState, stack: AsyncExitStack) -> None:
    """Build every component in order (see the module docstring); each pushes its own cleanup."""
    from pm_mcp.execution import start_execution
    from pm_mcp.markets.service import start_markets
    from pm_mcp.venues.http import start_http

    await start_http(state, stack)
    await start_markets(state, stack)
    await start_execution(state, stack)

    async def close_identity() -> None:
        if state.identity is not None:
            service, state.identity = state.identity, None
            await service.close()

    stack.push_async_callback(close_identity)


async def _run_hooks(state: AppState, stack: AsyncExitStack, *, wait_for_go: bool = False) -> None:
    try:
        if wait_for_go:
            try:
                await asyncio.wait_for(state.go.wait(), HOOKS_START_AFTER_S)
            except TimeoutError:
                pass
        await start_components(state, stack)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported to every tool call instead of killing the server
        log.exception("a component failed to start")
        state.startup_error = exc
    finally:
        state.started.set()


@asynccontextmanager
async def app_lifespan(settings: Settings, *, background: bool = True) -> AsyncIterator[AppState]:
    """Open the store (fail fast: a bad database stops the process with advice), then run the start-up
    hooks. With ``background=True`` (the server) the hooks run in a task that first waits for
    ``state.go`` (see HOOKS_START_AFTER_S) so the MCP handshake and tools/list are answered at once;
    ``pm_mcp.server`` makes every tool call wait for ``state.started``."""
    # the components that own tables: their migrations are registered when these modules are imported
    import pm_mcp.execution.journal  # noqa: F401 - intents, orders, fills, positions, approvals, paper orders
    import pm_mcp.execution.watches  # noqa: F401 - watches, alerts, the runner's lease
    import pm_mcp.markets.catalog  # noqa: F401 - the local catalog
    import pm_mcp.venues.send_journal  # noqa: F401 - the live send journal

    async with AsyncExitStack() as stack:
        store = await open_store(settings.db_path, settings.database_url.get_secret_value()
                                 if settings.database_url is not None else None)
        stack.push_async_callback(store.close)
        state = AppState(settings=settings, store=store)
        if not background:
            await _run_hooks(state, stack)
            await state.wait_started()
            yield state
            return
        task = asyncio.get_running_loop().create_task(_run_hooks(state, stack, wait_for_go=True))

        async def _stop_hooks() -> None:
            if not task.done():
                task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

        stack.push_async_callback(_stop_hooks)
        yield state
