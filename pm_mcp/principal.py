"""Who is asking: the person (OAuth subject) a request acts for, and what they may do.

With OAuth off (stdio, or ``serve --http`` with the static bearer token) there is one person, ``LOCAL``, who
may do everything the server's mode allows; every row they own is stored under the owner ``"local"``, which
is also what rows written before owners existed belong to.

With OAuth on (``PM_MCP_AUTH_ISSUER``), the HTTP layer validates the access token and sets the principal for
the request (``use``); the tools, the engine and the store read it with ``current()``. Background work (the
watch runner, standing orders, the sync loop) runs for the owner stored with the row it acts on, set with
``use`` around that work, never for whoever asked last.

Scopes: ``pm:read`` (market data, rules, edge, sizing), ``pm:paper`` (paper intents and the portfolio),
``pm:trade`` (live orders).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

SCOPE_READ = "pm:read"
SCOPE_PAPER = "pm:paper"
SCOPE_TRADE = "pm:trade"
ALL_SCOPES = frozenset({SCOPE_READ, SCOPE_PAPER, SCOPE_TRADE})
LOCAL_OWNER = "local"


@dataclass(frozen=True)
class Principal:
    """The owner key rows are stored under, and the scopes granted to this request."""

    owner: str
    scopes: frozenset[str] = field(default_factory=lambda: ALL_SCOPES)
    authenticated: bool = False  # True when it came from a validated OAuth access token

    def has(self, scope: str) -> bool:
        return scope in self.scopes


LOCAL = Principal(LOCAL_OWNER, ALL_SCOPES, authenticated=False)

_CURRENT: contextvars.ContextVar[Principal] = contextvars.ContextVar("pm_mcp_principal", default=LOCAL)


def current() -> Principal:
    """The principal of the running request or background job (``LOCAL`` when none was set)."""
    return _CURRENT.get()


def current_owner() -> str:
    return _CURRENT.get().owner


@contextmanager
def use(principal: Principal) -> Iterator[Principal]:
    """Run a block as ``principal`` (a request, or background work for a stored row's owner)."""
    token = _CURRENT.set(principal)
    try:
        yield principal
    finally:
        _CURRENT.reset(token)


def as_owner(owner: str | None) -> Principal:
    """The principal background work acts as for a row stored under ``owner`` (full scopes: what it may do was
    checked when the row was created)."""
    if not owner or owner == LOCAL_OWNER:
        return LOCAL
    return Principal(owner, ALL_SCOPES, authenticated=True)
