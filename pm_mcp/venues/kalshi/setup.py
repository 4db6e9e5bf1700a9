"""Kalshi live setup: credentials from settings, the broker factory and the live ``doctor`` checks.

    broker = make_broker(state)              # LiveSetupError naming the missing setting
    checks = await live_checks(state)        # [{name, status, detail, advice}, ...]
    rows = credential_checks(settings)       # [(name, pass|fail|missing, advice), ...] for `pm-mcp doctor`

Credentials come from settings (``PM_MCP_KALSHI_KEY_ID`` and the RSA key in ``PM_MCP_KALSHI_PRIVATE_KEY(_FILE)``)
through ``settings.secret_from``; never from tool arguments; never logged, never put in an error message.
"""

from __future__ import annotations

from typing import Any

from pm_mcp.settings import PRODUCTION_URLS
from pm_mcp.venues.base import LiveSetupError, VenueError, live_key
from pm_mcp.venues.base import doctor_check as _check
from pm_mcp.venues.http import venue_http
from pm_mcp.venues.kalshi.broker import KalshiBroker
from pm_mcp.venues.kalshi.signing import KalshiKey
from pm_mcp.venues.send_journal import send_journal_for

KALSHI_DEMO_URL = "https://demo-api.kalshi.co/trade-api/v2"
KALSHI_PROD_URL = "https://api.elections.kalshi.com/trade-api/v2"


def kalshi_base_url(settings: Any) -> str:
    """``PM_MCP_KALSHI_ENV=demo`` switches the production default to Kalshi's demo API; an explicit
    ``PM_MCP_KALSHI_URL`` always wins."""
    url = settings.kalshi_url
    if settings.kalshi_env == "demo" and url.rstrip("/") in (PRODUCTION_URLS["kalshi_url"], KALSHI_PROD_URL,
                                                             "https://external-api.kalshi.com/trade-api/v2"):
        return KALSHI_DEMO_URL
    return url


def make_broker(state: Any) -> KalshiBroker:
    """The live Kalshi broker with credentials from settings. Raises LiveSetupError (a sentence naming
    the missing setting) when Kalshi cannot trade live."""
    s = state.settings
    pem = s.secret_from(s.kalshi_private_key, s.kalshi_private_key_file)
    key = live_key(KalshiKey, pem if s.kalshi_key_id else None, "PM_MCP_KALSHI_PRIVATE_KEY(_FILE)",
                   "Kalshi live trading needs PM_MCP_KALSHI_KEY_ID and the RSA private key "
                   "(PM_MCP_KALSHI_PRIVATE_KEY_FILE pointing at the downloaded .pem, or PM_MCP_KALSHI_PRIVATE_KEY)")
    return KalshiBroker(http=venue_http(state, "kalshi", kalshi_base_url(s)), key_id=s.kalshi_key_id, key=key,
                        journal=send_journal_for(state))


async def live_checks(state: Any) -> list[dict[str, str]]:
    """Why would a live Kalshi order fail? Credentials, and whether the key answers on this environment."""
    s = state.settings
    try:
        broker = make_broker(state)
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


def credential_checks(settings: Any) -> list[tuple[str, str, str]]:
    """(name, pass|fail|missing, advice) for the Kalshi key (offline). Never includes a secret."""
    out: list[tuple[str, str, str]] = []
    kpk = settings.secret_from(settings.kalshi_private_key, settings.kalshi_private_key_file)
    if settings.kalshi_key_id is None and kpk is None:
        out.append(("kalshi api key", "missing", "set PM_MCP_KALSHI_KEY_ID and PM_MCP_KALSHI_PRIVATE_KEY_FILE "
                    "(RSA private key, PEM) for live Kalshi"))
    elif settings.kalshi_key_id is None or kpk is None:
        out.append(("kalshi api key", "fail", "both PM_MCP_KALSHI_KEY_ID and the private key are needed"))
    elif "PRIVATE KEY-----" in kpk:
        out.append(("kalshi api key", "pass", f"key id {settings.kalshi_key_id}, PEM private key ({settings.kalshi_env})"))
    else:
        out.append(("kalshi api key", "fail", "the Kalshi private key must be a PEM file (-----BEGIN ... PRIVATE KEY-----)"))
    return out


__all__ = ["make_broker", "live_checks", "credential_checks", "kalshi_base_url", "KALSHI_DEMO_URL"]
