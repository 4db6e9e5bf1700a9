"""Execution: confirmed intents -> orders, the paper broker, the approval page, reconciliation.

Python API for other areas (e.g. arbitrage bundles)::

    from pm_mcp.execution import LegSpec, propose_intent
    rec = await propose_intent(state, [LegSpec(market=m1, outcome="Yes", side="buy", limit_price="0.41", size=10,
                                               time_in_force="FOK"),
                                       LegSpec(market=m2, outcome="No", side="buy", limit_price="0.55", size=10,
                                               time_in_force="FOK")],
                               forecast_p=None, forecast_source=None)
    rec.intent.id, rec.intent.plain, rec.intent.policy, rec.status       # PROPOSED or REJECTED (policy)
    how = await confirmation_instructions(state, rec, client_can_elicit=False)   # channel, url, text

One intent, confirmed once by the person, executed leg by leg; it stops at the first leg that does
not fill completely and reports the exposure taken so far.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from pm_mcp.execution.browser import open_browser as _open_browser
from pm_mcp.execution.engine import ExecutionEngine, ExecutionError, LegSpec
from pm_mcp.execution.journal import IntentRecord

__all__ = ["ExecutionEngine", "ExecutionError", "LegSpec", "IntentRecord", "propose_intent", "engine_of",
           "confirmation_instructions"]


if TYPE_CHECKING:
    from pm_mcp.app import AppState  # annotations only: pm_mcp.app starts this component

log = logging.getLogger(__name__)


def engine_of(state: Any) -> ExecutionEngine:
    return state.require_execution()


async def propose_intent(state: Any, legs: list[LegSpec], *, forecast_p: object = None,
                         forecast_source: str | None = None, client_can_elicit: bool = False,
                         risk_free: bool = False) -> IntentRecord:
    """Price, tier-cap, policy-check and store one intent made of ``legs`` (PROPOSED, or REJECTED by the policy).
    ``risk_free``: a bundle proven to pay the same whatever wins; the tier cap does not hold it (the policy does)."""
    engine = engine_of(state)
    await engine.ready()
    channel = "elicitation" if client_can_elicit else "page"
    return await engine.propose(legs, forecast_p=forecast_p, forecast_source=forecast_source, channel=channel,
                                risk_free=risk_free)


async def confirmation_instructions(state: Any, rec: IntentRecord, *, client_can_elicit: bool) -> dict[str, Any]:
    """How the person confirms this intent: {channel, approval_url, instructions}. Creates the page URL."""
    from pm_mcp.execution.approval import ApprovalServer

    it = rec.intent
    if rec.status.value != "proposed":
        return {"channel": None, "approval_url": None,
                "instructions": f"Nothing to confirm: the intent is {rec.status.value}. {rec.reason or ''}".strip()}
    setting = state.settings.confirm
    server: ApprovalServer | None = state.approval
    url = await server.url_for(it.id) if server is not None else None
    if setting == "host":
        text = (f"Show the person the order above. Only if they say yes, call confirm_order(intent_id='{it.id}'); "
                "their client will ask them to approve that call.")
        return {"channel": "host", "approval_url": None, "instructions": text}
    if client_can_elicit and setting in ("auto", "elicitation"):
        text = (f"Call confirm_order(intent_id='{it.id}') now: the person's client shows them this order in a dialog "
                "and only their Accept places it. You cannot accept for them.")
        if url:
            text += f" They can also approve it at {url}"
        return {"channel": "elicitation", "approval_url": url, "instructions": text}
    if url is None:
        return {"channel": None, "approval_url": None,
                "instructions": "This client cannot show a confirmation dialog and the approval page is not "
                                "available (PM_MCP_CONFIRM=" + setting + "). Ask the person to set PM_MCP_CONFIRM=auto."}
    expires = it.expires_at.strftime('%H:%M:%S UTC')
    after = (f"You cannot approve it; confirm_order will not place it. Afterwards call get_order(ref='{it.id}') to "
             "see what happened.")
    needs = (" This is a LIVE order: the page also asks for the person's PIN or passkey, which you cannot give."
             if it.mode == "live" else "")
    prefix = ""
    if state.settings.open_browser and server is not None:
        if it.id in server.opened_in_browser or await _open_browser(url):
            server.opened_in_browser.add(it.id)
            text = (f"The approval page was opened in the person's browser (its address is not shown to you). Ask "
                    f"the person to approve or reject it there (expires {expires}).{needs} {after}")
            return {"channel": "page", "approval_url": None, "instructions": text}
        prefix = "The approval page could not be opened in a browser (PM_MCP_OPEN_BROWSER=1). "
    text = (f"{prefix}Ask the person to open {url} and click Approve or Reject (expires {expires}).{needs} {after}")
    return {"channel": "page", "approval_url": url, "instructions": text}


async def start_execution(state: AppState, stack: AsyncExitStack) -> None:
    """The engine (``state.execution``), its approval page (``state.approval``), start-up reconciliation and the
    background runner; all stopped on shutdown."""
    from pm_mcp.execution.approval import start_approval_server

    engine = ExecutionEngine(state)
    state.execution = engine
    server = await start_approval_server(state, stack, engine)
    state.approval = server

    from pm_mcp.execution.runner import run_forever

    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(_reconcile(engine)),
             loop.create_task(run_forever(engine, state.settings.sync_interval_s))]

    async def _stop() -> None:
        for task in tasks:
            for _ in range(3):  # a cancel swallowed by a library call is repeated; shutdown never hangs
                task.cancel()
                done, _pending = await asyncio.wait([task], timeout=2)
                if done:
                    break
            if task.done() and not task.cancelled():
                task.exception()  # retrieved (and dropped): the runner logs its own errors
        await engine.close()  # frees this process's submit claims (pm_mcp.execution.engine)

    stack.push_async_callback(_stop)


async def _reconcile(engine: ExecutionEngine) -> None:
    try:
        await engine.reconcile()
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001
        log.exception("start-up reconciliation failed")
        engine.reconciled.set()
