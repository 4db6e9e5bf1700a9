"""Why would an order fail? Checks for the ``doctor`` tool; each says pass / fail / could_not_check and
what to do. Never includes a secret (credential checks only say present / well-formed)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from pydantic import BaseModel

from pm_mcp.execution.engine import ExecutionEngine, ExecutionError

log = logging.getLogger(__name__)


class CheckOut(BaseModel):
    name: str
    status: Literal["pass", "fail", "could_not_check"]
    detail: str
    advice: str = ""


def _confirm_check(state: Any, engine: ExecutionEngine, client_can_elicit: bool) -> CheckOut:
    setting = state.settings.confirm
    server = state.approval
    page = f"approval page at {server.origin}" if server is not None else None
    if setting == "host":
        return CheckOut(name="confirmation", status="pass",
                        detail="PM_MCP_CONFIRM=host: confirm_order places the order; your client's tool-approval "
                               "prompt is the only gate", advice="Keep tool approval prompts ON in your client.")
    if setting == "elicitation" and not client_can_elicit:
        return CheckOut(name="confirmation", status="fail",
                        detail="PM_MCP_CONFIRM=elicitation but this client does not support confirmation dialogs",
                        advice="Set PM_MCP_CONFIRM=auto (approval page fallback) or page.")
    if setting in ("page", "auto") and page is None and not (setting == "auto" and client_can_elicit):
        return CheckOut(name="confirmation", status="fail", detail="the approval page is not running",
                        advice="Set PM_MCP_APPROVAL_PORT to a free port (or 0) and restart the server.")
    ways = []
    if client_can_elicit and setting in ("auto", "elicitation"):
        ways.append("a dialog in this client")
    if page and setting in ("auto", "page"):
        ways.append(page)
    return CheckOut(name="confirmation", status="pass", detail=f"PM_MCP_CONFIRM={setting}: the person confirms via "
                    + " or ".join(ways))


def _presence_check(state: Any, client_can_elicit: bool) -> CheckOut:
    """Live orders approved on the page need a PIN or a passkey (the link alone is not the person)."""
    from pm_mcp.execution import presence

    s = state.settings
    page_channel = s.confirm in ("page", "auto")
    page_only = s.confirm == "page" or (s.confirm == "auto" and not client_can_elicit)
    try:
        factors = presence.enrolled_factors(s.home)
    except OSError as exc:
        return CheckOut(name="presence factor", status="could_not_check", detail=type(exc).__name__,
                        advice=f"Check that {s.home} is readable.")
    have = ", ".join(factors) if factors else "none"
    if s.mode != "live":
        return CheckOut(name="presence factor", status="pass",
                        detail=f"paper mode: the approval link alone approves simulated orders (enrolled: {have})")
    if not page_channel:
        return CheckOut(name="presence factor", status="pass",
                        detail=f"PM_MCP_CONFIRM={s.confirm}: the approval page is not used (enrolled: {have})")
    if factors:
        return CheckOut(name="presence factor", status="pass",
                        detail=f"live orders on the approval page need your {' or '.join(factors)}")
    if page_only:
        return CheckOut(name="presence factor", status="fail",
                        detail="live mode confirms on the approval page, and no PIN or passkey is enrolled: every "
                               "live proposal is refused",
                        advice=presence.ENROL_ADVICE[0].upper() + presence.ENROL_ADVICE[1:] + ".")
    return CheckOut(name="presence factor", status="pass",
                    detail="live orders are confirmed in this client's dialog; the approval page refuses them until "
                           "a PIN or passkey is enrolled",
                    advice=presence.ENROL_ADVICE[0].upper() + presence.ENROL_ADVICE[1:] + ".")


async def _venue_check(state: Any, venue: str) -> CheckOut:
    from pm_mcp.venues.base import Blocked, VenueError

    try:
        adapter = state.require_markets().adapter(venue)
        await asyncio.wait_for(adapter.search("election", limit=1), timeout=state.settings.http_timeout_s + 2)
    except Blocked as exc:
        return CheckOut(name=f"{venue} reachable", status="fail", detail=str(exc),
                        advice="The venue answered with a block page (Cloudflare or a geoblock): trading from this "
                               "network is not possible; do not work around a geoblock.")
    except (VenueError, TimeoutError, OSError) as exc:
        return CheckOut(name=f"{venue} reachable", status="fail", detail=str(exc) or type(exc).__name__,
                        advice="Check the network / proxy; orders cannot be placed or re-checked without the venue.")
    except Exception as exc:  # noqa: BLE001
        return CheckOut(name=f"{venue} reachable", status="could_not_check", detail=type(exc).__name__)
    return CheckOut(name=f"{venue} reachable", status="pass", detail="market data answers")


def _mode_check(settings: Any) -> CheckOut:
    """Paper, or live with the venues whose credentials are usable; live with none of them is a failure."""
    from pm_mcp.doctor import LIVE_ADVICE, usable_live_venues
    from pm_mcp.venues.registry import display_name

    if settings.mode != "live":
        return CheckOut(name="mode", status="pass", detail="paper: orders fill against live books, no real money",
                        advice="PM_MCP_MODE=live plus credentials for real orders.")
    usable = usable_live_venues(settings)
    if not usable:
        return CheckOut(name="mode", status="fail",
                        detail="live, but no enabled venue has usable credentials: every live order is refused",
                        advice=f"Set one venue's credentials ({LIVE_ADVICE}) or use PM_MCP_MODE=paper.")
    return CheckOut(name="mode", status="pass",
                    detail="live: confirmed orders go to the venues with real money; credentials present for "
                           + ", ".join(map(display_name, usable)))


async def run_checks(state: Any, engine: ExecutionEngine, *, client_can_elicit: bool) -> list[CheckOut]:
    s = state.settings
    try:
        p = (await engine.load_policies())[0]
        policy = CheckOut(name="risk policy", status="pass",
                          detail=f"per order ${p.max_order_usd}, per event ${p.max_event_usd:.2f}, "
                                 f"daily ${p.max_daily_usd}, venues {', '.join(p.allowed_venues) or 'none'}")
    except ExecutionError as exc:
        policy = CheckOut(name="risk policy", status="fail", detail=str(exc),
                          advice="The operator can list and clear stored tightenings with `pm-mcp policy`.")
    checks = [
        _mode_check(s),
        _confirm_check(state, engine, client_can_elicit),
        policy,
        _presence_check(state, client_can_elicit),
    ]
    checks += await asyncio.gather(*(_venue_check(state, v) for v in s.enabled_venues))
    try:
        from pm_mcp.venues.registry import live_checks
    except ImportError:
        live_checks = None
    if live_checks is not None:
        try:
            extra = await asyncio.wait_for(live_checks(state), timeout=max(20.0, 2 * s.http_timeout_s))
        except Exception as exc:  # noqa: BLE001
            extra = [{"name": "live checks", "status": "could_not_check", "detail": type(exc).__name__,
                      "advice": "Run `pm-mcp doctor` in a terminal for details."}]
        for item in extra:
            d = item if isinstance(item, dict) else {"name": item[0], "status": item[1], "detail": item[2]}
            if d.get("name") == "mode":
                continue
            status = d.get("status", "could_not_check")
            if status not in ("pass", "fail", "could_not_check"):
                status = "could_not_check"
            checks.append(CheckOut(name=str(d.get("name")), status=status, detail=str(d.get("detail", "")),
                                   advice=str(d.get("advice", ""))))
    else:
        from pm_mcp.doctor import credential_checks

        for name, status, advice in credential_checks(s):
            if status == "derived":
                checks.append(CheckOut(name=name, status="pass", detail=advice))
            elif status == "missing":
                st = "fail" if s.mode == "live" else "could_not_check"
                checks.append(CheckOut(name=name, status=st, detail="not set", advice=advice))
            else:
                checks.append(CheckOut(name=name, status="pass" if status == "pass" else "fail", detail=advice,
                                       advice="" if status == "pass" else advice))
    return checks
