"""Process-wide state shared by all tools, created once in the server's lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pm_mcp.settings import Settings
from pm_mcp.store import Store

log = logging.getLogger(__name__)

# Components that need start-up / shut-down work (venue http clients, the approval web server,
# reconciliation of in-flight orders...) register a hook here at import time. A hook receives the
# AppState and the exit stack; it may put services into ``state.services`` and push cleanups.
StartupHook = Callable[["AppState", AsyncExitStack], Awaitable[None]]
_STARTUP_HOOKS: list[tuple[int, str, StartupHook]] = []

# In the server the hooks run in the background, and not before the MCP handshake is over: their
# synchronous part (importing venue adapters and httpx, opening the catalog) would otherwise hold the
# event loop while `initialize` / `tools/list` wait. They start when pm_mcp.server says the handshake
# has been answered, when a tool call needs them, or at the latest this long after the lifespan began.
HOOKS_START_AFTER_S = 1.0


def on_startup(name: str, order: int = 100) -> Callable[[StartupHook], StartupHook]:
    def deco(fn: StartupHook) -> StartupHook:
        _STARTUP_HOOKS.append((order, name, fn))
        return fn

    return deco


@dataclass
class AppState:
    settings: Settings
    store: Store
    services: dict[str, Any] = field(default_factory=dict)
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

    def service(self, name: str) -> Any:
        try:
            return self.services[name]
        except KeyError:
            raise RuntimeError(f"service {name!r} is not running in this process") from None

    async def wait_started(self) -> None:
        """Wait until every start-up hook has run; raise what made one fail."""
        self.start_hooks()
        await self.started.wait()
        if self.startup_error is not None:
            raise StartupFailed(f"pm-mcp could not start a component: {self.startup_error}")


class StartupFailed(RuntimeError):
    pass


async def _run_hooks(state: AppState, stack: AsyncExitStack, *, wait_for_go: bool = False) -> None:
    try:
        if wait_for_go:
            try:
                await asyncio.wait_for(state.go.wait(), HOOKS_START_AFTER_S)
            except TimeoutError:
                pass
        for _order, name, hook in sorted(_STARTUP_HOOKS, key=lambda h: h[0]):
            log.debug("startup: %s", name)
            await hook(state, stack)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported to every tool call instead of killing the server
        log.exception("start-up hook failed")
        state.startup_error = exc
    finally:
        state.started.set()


@asynccontextmanager
async def app_lifespan(settings: Settings, *, background: bool = True) -> AsyncIterator[AppState]:
    """Open the store (fail fast: a bad database stops the process with advice), then run the start-up
    hooks. With ``background=True`` (the server) the hooks run in a task that first waits for
    ``state.go`` (see HOOKS_START_AFTER_S) so the MCP handshake and tools/list are answered at once;
    ``pm_mcp.server`` makes every tool call wait for ``state.started``."""
    async with AsyncExitStack() as stack:
        store = await Store.open(settings.db_path)
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
