"""Manifold live setup: the API key from settings, the broker factory and the live ``doctor`` checks.

    broker = make_broker(state)              # LiveSetupError naming the missing setting
    checks = await live_checks(state)        # [{name, status, detail, advice}, ...]
    rows = credential_checks(settings)       # [(name, pass|fail|missing, advice), ...] for `pm-mcp doctor`

The key comes from ``PM_MCP_MANIFOLD_API_KEY``; never from tool arguments; never logged, never put in an
error message. Manifold bets are mana (play money), never USD.
"""

from __future__ import annotations

from typing import Any

from pm_mcp.venues.base import LiveSetupError, VenueError
from pm_mcp.venues.base import doctor_check as _check
from pm_mcp.venues.http import venue_http
from pm_mcp.venues.manifold.broker import ManifoldBroker
from pm_mcp.venues.send_journal import send_journal_for


def make_broker(state: Any) -> ManifoldBroker:
    """The live Manifold broker with the API key from settings. Raises LiveSetupError (a sentence naming
    the missing setting) when Manifold cannot bet live."""
    s = state.settings
    api_key = s.manifold_api_key.get_secret_value() if s.manifold_api_key else None
    if not api_key:
        raise LiveSetupError("Manifold live betting needs PM_MCP_MANIFOLD_API_KEY (generate it on your "
                             "Manifold profile's edit page)")
    return ManifoldBroker(http=venue_http(state, "manifold", s.manifold_url), api_key=api_key,
                          journal=send_journal_for(state))


async def live_checks(state: Any) -> list[dict[str, str]]:
    """Why would a live Manifold bet fail? Whether the API key is set and answers."""
    try:
        broker = make_broker(state)
    except LiveSetupError as exc:
        return [_check("manifold api key", "could_not_check" if state.settings.mode != "live" else "fail", str(exc))]
    try:
        me = await broker.me()
    except VenueError as exc:
        return [_check("manifold api key", "fail" if exc.status in (401, 403) else "could_not_check", str(exc),
                       "Generate a new key on your Manifold profile page.")]
    return [_check("manifold api key", "pass", f"user @{me.get('username')}, balance M{me.get('balance')}")]


def credential_checks(settings: Any) -> list[tuple[str, str, str]]:
    """(name, pass|fail|missing, advice) for the Manifold API key (offline). Never includes a secret."""
    out: list[tuple[str, str, str]] = []
    if settings.manifold_api_key is None:
        out.append(("manifold api key", "missing", "set PM_MCP_MANIFOLD_API_KEY for live Manifold bets"))
    else:
        out.append(("manifold api key", "pass", "present"))
    return out


__all__ = ["make_broker", "live_checks", "credential_checks"]
