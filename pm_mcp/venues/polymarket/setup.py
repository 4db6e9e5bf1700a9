"""Polymarket live setup: credentials from settings, the broker factory and the live ``doctor`` checks.

    broker = make_broker(state)              # LiveSetupError naming the missing setting
    checks = await live_checks(state)        # [{name, status, detail, advice}, ...]
    rows = credential_checks(settings)       # [(name, pass|fail|missing|derived, advice), ...] for `pm-mcp doctor`

Credentials come from settings (env ``PM_MCP_POLYMARKET_*`` or the files they name) through
``settings.secret_from``; never from tool arguments; never logged, never put in an error message.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pm_mcp.venues.base import LiveSetupError, VenueError, live_key
from pm_mcp.venues.base import doctor_check as _check
from pm_mcp.venues.http import VenueHttp, venue_http
from pm_mcp.venues.polymarket.broker import PolymarketBroker
from pm_mcp.venues.polymarket.signing import V2_SPENDERS, ApiCreds, PrivateKey, SignatureType, from_base_units
from pm_mcp.venues.send_journal import send_journal_for

_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def polymarket_geoblock_url(settings: Any) -> str:
    """Polymarket's geoblock check lives on the web host (``https://polymarket.com/api/geoblock``);
    for any other CLOB URL (a simulator) it is ``<scheme>://<host>/api/geoblock``."""
    u = urlsplit(settings.polymarket_clob_url)
    if u.hostname and u.hostname.endswith("polymarket.com"):
        return "https://polymarket.com/api/geoblock"
    return f"{u.scheme}://{u.netloc}/api/geoblock"


def make_broker(state: Any) -> PolymarketBroker:
    """The live Polymarket broker with credentials from settings. Raises LiveSetupError (a sentence
    naming the missing setting) when Polymarket cannot trade live."""
    s = state.settings
    key = live_key(PrivateKey, s.secret_from(s.polymarket_private_key, s.polymarket_private_key_file),
                   "PM_MCP_POLYMARKET_PRIVATE_KEY(_FILE)",
                   "Polymarket live trading needs your wallet's private key: set PM_MCP_POLYMARKET_PRIVATE_KEY_FILE "
                   "to a file holding it (or PM_MCP_POLYMARKET_PRIVATE_KEY).")
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
    return PolymarketBroker(http=venue_http(state, "polymarket", s.polymarket_clob_url), key=key,
                            signature_type=sig_type, funder=s.polymarket_funder, creds=creds,
                            chain_id=s.polymarket_chain_id, journal=send_journal_for(state))


async def live_checks(state: Any) -> list[dict[str, str]]:
    """Why would a live Polymarket order fail? Credentials, L2 API key, pUSD balance and allowances, geoblock."""
    s = state.settings
    out = []
    try:
        broker = make_broker(state)
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


def credential_checks(settings: Any) -> list[tuple[str, str, str]]:
    """(name, pass|fail|missing|derived, advice) for each Polymarket credential (offline). Never includes a
    secret. "derived": not set, and made by the server itself (the L2 API key from the private key)."""
    out: list[tuple[str, str, str]] = []
    pk = settings.secret_from(settings.polymarket_private_key, settings.polymarket_private_key_file)
    if pk is None:
        out.append(("polymarket private key", "missing",
                    "set PM_MCP_POLYMARKET_PRIVATE_KEY or PM_MCP_POLYMARKET_PRIVATE_KEY_FILE for live Polymarket"))
    elif _HEX_KEY.match(pk):
        out.append(("polymarket private key", "pass", "32-byte hex key"))
    else:
        out.append(("polymarket private key", "fail", "must be 64 hex characters (optionally 0x-prefixed)"))
    if settings.polymarket_signature_type not in (0, 1, 2, 3):
        out.append(("polymarket signature type", "fail", "PM_MCP_POLYMARKET_SIGNATURE_TYPE must be 0 (EOA), "
                    "1 (proxy), 2 (Gnosis Safe) or 3 (deposit wallet)"))
    elif settings.polymarket_signature_type != 0:
        if settings.polymarket_funder and _ADDRESS.match(settings.polymarket_funder):
            out.append(("polymarket funder", "pass", f"signature type {settings.polymarket_signature_type}"))
        else:
            out.append(("polymarket funder", "fail", "signature types 1/2/3 need PM_MCP_POLYMARKET_FUNDER = the "
                        "proxy/safe/deposit wallet address (0x + 40 hex) that holds your pUSD"))
    api = [settings.polymarket_api_key, settings.polymarket_api_secret, settings.polymarket_api_passphrase]
    if all(x is None for x in api):
        out.append(("polymarket api credentials", "derived", "derived from the private key at first use (L1)"))
    elif any(x is None for x in api):
        out.append(("polymarket api credentials", "fail", "set all three of PM_MCP_POLYMARKET_API_KEY, "
                    "_API_SECRET and _API_PASSPHRASE, or none (they are then derived)"))
    else:
        out.append(("polymarket api credentials", "pass", "key, secret and passphrase present"))
    return out


__all__ = ["make_broker", "live_checks", "credential_checks", "polymarket_geoblock_url"]
