"""The one background runner: while the server runs, every ``PM_MCP_SYNC_INTERVAL_S`` seconds it matches
resting paper orders against the current books, refreshes open and unknown orders at their venue (never
resending one the venue has), and settles positions on markets the venue reports resolved.

Reads (get_order, list_orders, get_portfolio) never do any of this as a side effect: they show the journal
as the last sync left it and say when that was (``engine.last_sync_at``). The monitoring work (watches,
standing orders) belongs in this same loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from pm_mcp.execution.engine import ExecutionEngine
from pm_mcp.execution.journal import now_utc

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


def sync_age(engine: ExecutionEngine, now: datetime | None = None) -> str:
    """'last synced 3 s ago' / 'not synced yet' for the read tools' text."""
    at = getattr(engine, "last_sync_at", None)
    if at is None:
        return "not synced with the venues yet (the background sync runs every few seconds)"
    secs = max(0, int(((now or now_utc()) - at).total_seconds()))
    return f"last synced {secs} s ago"
