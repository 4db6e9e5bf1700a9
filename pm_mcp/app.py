"""Process-wide state shared by all tools, created once in the server's lifespan."""

from __future__ import annotations

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

    def service(self, name: str) -> Any:
        try:
            return self.services[name]
        except KeyError:
            raise RuntimeError(f"service {name!r} is not running in this process") from None


@asynccontextmanager
async def app_lifespan(settings: Settings) -> AsyncIterator[AppState]:
    async with AsyncExitStack() as stack:
        store = await Store.open(settings.db_path)
        stack.push_async_callback(store.close)
        state = AppState(settings=settings, store=store)
        for _order, name, hook in sorted(_STARTUP_HOOKS, key=lambda h: h[0]):
            log.debug("startup: %s", name)
            await hook(state, stack)
        yield state
