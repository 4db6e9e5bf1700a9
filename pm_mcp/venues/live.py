"""Live trading wiring: the broker factory, the brokers' send journal and the live `doctor` checks.

    broker = make_live_broker("polymarket", state)      # credentials from settings only
    checks = await live_checks(state)                    # [{name, status, detail, advice}, ...]

Credentials come from settings (env ``PM_MCP_*`` or the files they name) through
``settings.secret_from``; never from tool arguments; never logged, never put in an error message.

The send journal (``live_orders``): a live broker writes what it is about to send (client order id,
the venue's order id when it is known in advance, i.e. the Polymarket order hash, and the exact
request body) BEFORE the request leaves. After a timeout, a dropped response or a restart the broker
finds the order again by it (``get_order``), and a second ``submit`` of the same client order id
looks the order up first and re-sends the very same signed bytes only when the venue has no such
order: a venue never sees two different orders for one client order id.
"""

from __future__ import annotations

import logging
from typing import Any

from pm_mcp.venues.base import LiveSetupError
from pm_mcp.venues.send_journal import JournalEntry, OrderJournal, send_journal_for  # noqa: F401

log = logging.getLogger(__name__)

KALSHI_DEMO_URL = "https://demo-api.kalshi.co/trade-api/v2"
KALSHI_PROD_URL = "https://api.elections.kalshi.com/trade-api/v2"

# --------------------------------------------------------------------------------------------
# factory



def _journal(state: Any) -> OrderJournal:
    return send_journal_for(state)


def _http(state: Any, venue: str, base_url: str):
    from pm_mcp.venues.http import HttpPool, VenueHttp

    pool = state.services.get("http")
    if isinstance(pool, HttpPool):
        return pool.for_venue(venue, base_url)
    return VenueHttp(venue, base_url, timeout_s=state.settings.http_timeout_s)


def kalshi_base_url(settings: Any) -> str:
    """``PM_MCP_KALSHI_ENV=demo`` switches the production default to Kalshi's demo API; an explicit
    ``PM_MCP_KALSHI_URL`` always wins."""
    from pm_mcp.settings import PRODUCTION_URLS

    url = settings.kalshi_url
    if settings.kalshi_env == "demo" and url.rstrip("/") in (PRODUCTION_URLS["kalshi_url"], KALSHI_PROD_URL,
                                                             "https://external-api.kalshi.com/trade-api/v2"):
        return KALSHI_DEMO_URL
    return url


def make_live_broker(venue: str, state: Any):
    """The live broker for ``venue`` with credentials from settings. Raises LiveSetupError (a sentence
    naming the missing setting) when the venue cannot trade live."""
    s = state.settings
    venue = venue.lower()
    if venue == "polymarket":
        from pm_mcp.venues.polymarket.setup import make_broker

        return make_broker(state)
    if venue == "kalshi":
        from pm_mcp.venues.kalshi_signing import KalshiKey
        from pm_mcp.venues.kalshi_trading import KalshiBroker

        pem = s.secret_from(s.kalshi_private_key, s.kalshi_private_key_file)
        if not s.kalshi_key_id or not pem:
            raise LiveSetupError("Kalshi live trading needs PM_MCP_KALSHI_KEY_ID and the RSA private key "
                                 "(PM_MCP_KALSHI_PRIVATE_KEY_FILE pointing at the downloaded .pem, or "
                                 "PM_MCP_KALSHI_PRIVATE_KEY)")
        try:
            key = KalshiKey(pem)
        except ValueError as exc:
            raise LiveSetupError(f"PM_MCP_KALSHI_PRIVATE_KEY(_FILE): {exc}") from None
        return KalshiBroker(http=_http(state, "kalshi", kalshi_base_url(s)), key_id=s.kalshi_key_id, key=key,
                            journal=_journal(state))
    if venue == "manifold":
        from pm_mcp.venues.manifold_trading import ManifoldBroker

        api_key = s.manifold_api_key.get_secret_value() if s.manifold_api_key else None
        if not api_key:
            raise LiveSetupError("Manifold live betting needs PM_MCP_MANIFOLD_API_KEY (generate it on your "
                                 "Manifold profile's edit page)")
        return ManifoldBroker(http=_http(state, "manifold", s.manifold_url), api_key=api_key,
                              journal=_journal(state))
    raise LiveSetupError(f"unknown venue {venue!r}; live trading supports polymarket, kalshi and manifold")


# --------------------------------------------------------------------------------------------
# doctor

def _check(name: str, status: str, detail: str, advice: str = "") -> dict[str, str]:
    return {"name": name, "status": status, "detail": detail, "advice": advice}


async def live_checks(state: Any) -> list[dict[str, str]]:
    """Why would a live order fail? One entry per check: status pass | fail | could_not_check."""
    from pm_mcp.venues.base import VenueError

    s = state.settings
    out: list[dict[str, str]] = []
    if s.mode == "live":
        out.append(_check("mode", "pass", "PM_MCP_MODE=live: confirmed orders go to the venues."))
    else:
        out.append(_check("mode", "pass", "paper mode: orders fill against live books, nothing is sent.",
                          "Set PM_MCP_MODE=live (and credentials) to trade for real."))
    venues = s.enabled_venues
    if "polymarket" in venues:
        from pm_mcp.venues.polymarket.setup import live_checks as polymarket_checks

        out.extend(await polymarket_checks(state))
    if "kalshi" in venues:
        out.extend(await _kalshi_checks(state, VenueError))
    if "manifold" in venues:
        out.extend(await _manifold_checks(state, VenueError))
    return out


async def _kalshi_checks(state: Any, VenueError) -> list[dict[str, str]]:
    s = state.settings
    try:
        broker = make_live_broker("kalshi", state)
    except LiveSetupError as exc:
        has_any = s.kalshi_key_id or s.secret_from(s.kalshi_private_key, s.kalshi_private_key_file)
        return [_check("kalshi credentials", "fail" if has_any or s.mode == "live" else "could_not_check", str(exc),
                       "See the README's 'Live credentials' section.")]
    env = "demo" if kalshi_base_url(s) == KALSHI_DEMO_URL or s.kalshi_env == "demo" else "production"
    try:
        bal = await broker.balance()
    except VenueError as exc:
        advice = ("A demo key works only with PM_MCP_KALSHI_ENV=demo and a production key only with prod; check the "
                  "key id and that the clock is right." if exc.status in (401, 403) else "Try again shortly.")
        return [_check("kalshi key", "fail" if exc.status in (401, 403) else "could_not_check",
                       f"GET /portfolio/balance on {env}: {exc}", advice)]
    return [_check("kalshi key", "pass", f"key {s.kalshi_key_id} is valid on {env}; balance ${bal['balance']}")]


async def _manifold_checks(state: Any, VenueError) -> list[dict[str, str]]:
    try:
        broker = make_live_broker("manifold", state)
    except LiveSetupError as exc:
        return [_check("manifold api key", "could_not_check" if state.settings.mode != "live" else "fail", str(exc))]
    try:
        me = await broker.me()
    except VenueError as exc:
        return [_check("manifold api key", "fail" if exc.status in (401, 403) else "could_not_check", str(exc),
                       "Generate a new key on your Manifold profile page.")]
    return [_check("manifold api key", "pass", f"user @{me.get('username')}, balance M{me.get('balance')}")]
