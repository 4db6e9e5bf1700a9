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

from pm_mcp.venues.send_journal import JournalEntry, OrderJournal, send_journal_for  # noqa: F401

log = logging.getLogger(__name__)

KALSHI_DEMO_URL = "https://demo-api.kalshi.co/trade-api/v2"
KALSHI_PROD_URL = "https://api.elections.kalshi.com/trade-api/v2"

# --------------------------------------------------------------------------------------------
# factory

class LiveSetupError(ValueError):
    """Live trading cannot start for a venue: the message says which setting to set (never a secret)."""


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


def polymarket_geoblock_url(settings: Any) -> str:
    """Polymarket's geoblock check lives on the web host (``https://polymarket.com/api/geoblock``);
    for any other CLOB URL (a simulator) it is ``<scheme>://<host>/api/geoblock``."""
    from urllib.parse import urlsplit

    u = urlsplit(settings.polymarket_clob_url)
    if u.hostname and u.hostname.endswith("polymarket.com"):
        return "https://polymarket.com/api/geoblock"
    return f"{u.scheme}://{u.netloc}/api/geoblock"


def make_live_broker(venue: str, state: Any):
    """The live broker for ``venue`` with credentials from settings. Raises LiveSetupError (a sentence
    naming the missing setting) when the venue cannot trade live."""
    s = state.settings
    venue = venue.lower()
    if venue == "polymarket":
        from pm_mcp.venues.polymarket_signing import ApiCreds, PrivateKey, SignatureType
        from pm_mcp.venues.polymarket_trading import PolymarketBroker

        pk = s.secret_from(s.polymarket_private_key, s.polymarket_private_key_file)
        if not pk:
            raise LiveSetupError("Polymarket live trading needs your wallet's private key: set "
                                 "PM_MCP_POLYMARKET_PRIVATE_KEY_FILE to a file holding it (or "
                                 "PM_MCP_POLYMARKET_PRIVATE_KEY).")
        try:
            key = PrivateKey(pk)
        except ValueError as exc:
            raise LiveSetupError(f"PM_MCP_POLYMARKET_PRIVATE_KEY(_FILE): {exc}") from None
        try:
            sig_type = SignatureType(int(s.polymarket_signature_type))
        except ValueError:
            raise LiveSetupError("PM_MCP_POLYMARKET_SIGNATURE_TYPE must be 0 (EOA), 1 (email/Magic proxy), "
                                 "2 (browser-wallet Safe) or 3 (deposit wallet)") from None
        if sig_type != SignatureType.EOA and not s.polymarket_funder:
            raise LiveSetupError(f"signature type {int(sig_type)} ({sig_type.name}) needs PM_MCP_POLYMARKET_FUNDER: "
                                 "the address of the wallet that holds your pUSD (your Polymarket profile address)")
        creds = None
        parts = [s.polymarket_api_key, s.polymarket_api_secret, s.polymarket_api_passphrase]
        if all(p is not None and p.get_secret_value() for p in parts):
            creds = ApiCreds(parts[0].get_secret_value(), parts[1].get_secret_value(), parts[2].get_secret_value())
        elif any(p is not None and p.get_secret_value() for p in parts):
            raise LiveSetupError("set all three of PM_MCP_POLYMARKET_API_KEY / _API_SECRET / _API_PASSPHRASE, or "
                                 "none (then they are derived from the private key)")
        return PolymarketBroker(http=_http(state, "polymarket", s.polymarket_clob_url), key=key,
                                signature_type=sig_type, funder=s.polymarket_funder, creds=creds,
                                chain_id=s.polymarket_chain_id, journal=_journal(state))
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
        out.extend(await _polymarket_checks(state))
    if "kalshi" in venues:
        out.extend(await _kalshi_checks(state, VenueError))
    if "manifold" in venues:
        out.extend(await _manifold_checks(state, VenueError))
    return out


async def _polymarket_checks(state: Any) -> list[dict[str, str]]:
    from decimal import Decimal

    from pm_mcp.venues.base import VenueError
    from pm_mcp.venues.polymarket_signing import V2_SPENDERS, SignatureType, from_base_units

    s = state.settings
    out = []
    try:
        broker = make_live_broker("polymarket", state)
    except LiveSetupError as exc:
        has_any = s.secret_from(s.polymarket_private_key, s.polymarket_private_key_file)
        out.append(_check("polymarket credentials", "fail" if has_any or s.mode == "live" else "could_not_check",
                          str(exc), "See the README's 'Live credentials' section."))
        out.append(await _geoblock_check(state))
        return out
    st = SignatureType(int(s.polymarket_signature_type))
    wallet = broker.funder or broker.key.address
    out.append(_check("polymarket credentials", "pass",
                      f"signer {broker.key.address}, wallet type {int(st)} ({st.name}), funds held by {wallet}",
                      "" if st != SignatureType.EOA else
                      "EOA (0) is for wallets that trade directly; email accounts use 1, browser wallets 2, "
                      "new accounts the deposit wallet 3 (with PM_MCP_POLYMARKET_FUNDER)."))
    try:
        await broker.ensure_creds()
        out.append(_check("polymarket api key", "pass", "L2 API credentials are available."))
        ba = await broker.balance_allowance()
    except VenueError as exc:
        out.append(_check("polymarket api key / balance", "fail", str(exc),
                          "Check the private key, signature type and funder; for type 1/2/3 the funder must be "
                          "the wallet shown on your Polymarket profile."))
        out.append(await _geoblock_check(state))
        return out
    bal = from_base_units(ba.get("balance") or 0)
    out.append(_check("polymarket pUSD balance", "pass" if bal > 0 else "fail", f"{bal} pUSD available to trade",
                      "" if bal > 0 else "Deposit, or wrap USDC.e into pUSD (since the 2026-04-28 V2 cutover "
                                          "only pUSD is collateral)."))
    allowances = {k.lower(): v for k, v in (ba.get("allowances") or {}).items()}
    missing = [name for name, addr in V2_SPENDERS.items()
               if Decimal(str(allowances.get(addr.lower(), "0") or "0")) <= 0]
    out.append(_check("polymarket pUSD allowances (V2 spenders)", "fail" if missing else "pass",
                      "missing: " + ", ".join(missing) if missing else "approved: " + ", ".join(V2_SPENDERS),
                      "Approve pUSD to the V2 exchange, the NegRisk V2 exchange and the NegRisk Adapter (e.g. "
                      "place one order on polymarket.com, which sets them), then wait a minute." if missing else ""))
    out.append(await _geoblock_check(state))
    return out


async def _geoblock_check(state: Any) -> dict[str, str]:
    from pm_mcp.venues.base import VenueError
    from pm_mcp.venues.http import VenueHttp

    url = polymarket_geoblock_url(state.settings)
    http = VenueHttp("polymarket", url, timeout_s=min(5.0, state.settings.http_timeout_s), attempts=1)
    try:
        data = await http.get_json("")
    except VenueError as exc:
        return _check("polymarket geoblock", "could_not_check", str(exc), "Open polymarket.com from this network.")
    finally:
        await http.aclose()
    if not isinstance(data, dict) or "blocked" not in data:
        return _check("polymarket geoblock", "could_not_check", "unexpected answer from the geoblock endpoint")
    where = "/".join(str(data.get(k)) for k in ("country", "region") if data.get(k))
    if data.get("blocked"):
        return _check("polymarket geoblock", "fail", f"orders from this network are blocked ({where or 'unknown'})",
                      "Polymarket refuses orders from restricted regions; trading from here is not possible.")
    return _check("polymarket geoblock", "pass", f"not blocked ({where or 'region unknown'})")


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
