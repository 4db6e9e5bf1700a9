"""The one background runner: while the server runs, every ``PM_MCP_SYNC_INTERVAL_S`` seconds it matches
resting paper orders against the current books, refreshes open and unknown orders at their venue (never
resending one the venue has), and settles positions on markets the venue reports resolved.

Reads (get_order, list_orders, get_portfolio) never do any of this as a side effect: they show the journal
as the last sync left it and say when that was (``engine.last_sync_at``).

The same runner checks the watches every ``PM_MCP_WATCH_INTERVAL_S`` seconds (pm_mcp.execution.watches):
a task beside the sync loop, started with it (after the MCP handshake, with the other start-up hooks), and
evaluating only while this process holds the store's runner lease; ``pm-mcp watch`` runs this same runner
without a client. New alerts go to the process's sinks (MCP notifications) and to the webhook if set.
Standing orders (pm_mcp.execution.standing) are a hook of that pass: only the lease holder triggers and sends.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from pm_mcp.execution.engine import ExecutionEngine
from pm_mcp.execution.journal import now_utc
from pm_mcp.execution.standing import StandingOrders
from pm_mcp.execution.watches import WatchRunner

log = logging.getLogger(__name__)


async def sync_once(engine: ExecutionEngine) -> list[str]:
    """One pass: resting orders, open orders, settlements. Returns the warnings (venues that did not answer)."""
    from pm_mcp.execution.portfolio import settle_resolved

    warnings: list[str] = []
    await engine.sync()
    await settle_resolved(engine, {}, warnings)
    engine.last_sync_at = now_utc()
    for w in warnings:
        log.info("sync: %s", w)
    return warnings


async def run_forever(engine: ExecutionEngine, interval_s: float) -> None:
    me = asyncio.current_task()
    watches = asyncio.get_running_loop().create_task(run_watches(engine.state))
    try:
        await _sync_forever(engine, interval_s, me)
    finally:
        watches.cancel()
        try:
            await watches
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the watch loop logs its own errors
            pass


async def _sync_forever(engine: ExecutionEngine, interval_s: float, me: asyncio.Task | None) -> None:
    await engine.ready()
    while True:
        try:
            await sync_once(engine)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one failed pass must not stop the runner
            log.exception("background sync failed; trying again in %s s", interval_s)
        if me is not None and me.cancelling():
            return  # a cancel that a library swallowed mid-pass still stops the runner
        await asyncio.sleep(interval_s)


def make_webhook(settings) -> object | None:
    """The webhook sender when PM_MCP_WEBHOOK_URL is set (httpx is imported only then)."""
    if not settings.webhook_url:
        return None
    from pm_mcp.execution.webhook import WebhookSender

    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret is not None else None
    return WebhookSender(settings.webhook_url, secret)


async def run_watches(state, runner: WatchRunner | None = None) -> None:
    """Every PM_MCP_WATCH_INTERVAL_S: one watch pass (pm_mcp.execution.watches.WatchRunner.pass_once)."""
    interval = float(state.settings.watch_interval_s)
    runner = runner or WatchRunner(state, interval, webhook=make_webhook(state.settings))
    standing = StandingOrders(state, runner.lease)  # standing orders act in the watch pass, lease holder only
    runner.after_evaluate.append(standing.pass_once)
    me = asyncio.current_task()
    try:
        while True:
            started = asyncio.get_running_loop().time()
            try:
                await runner.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one failed pass must not stop the runner
                log.exception("watch pass failed; trying again in %s s", interval)
            if me is not None and me.cancelling():
                return
            spent = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.05, interval - spent))
    finally:
        await standing.close()
        if runner.webhook is not None:
            await runner.webhook.close()
        await runner.close()


def sync_age(engine: ExecutionEngine, now: datetime | None = None) -> str:
    """'last synced 3 s ago' / 'not synced yet' for the read tools' text."""
    at = getattr(engine, "last_sync_at", None)
    if at is None:
        return "not synced with the venues yet (the background sync runs every few seconds)"
    secs = max(0, int(((now or now_utc()) - at).total_seconds()))
    return f"last synced {secs} s ago"
