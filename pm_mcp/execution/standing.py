"""Standing orders at run time: an approved intent with a trigger waits ARMED; when its condition holds the
runner's lease holder sends it through the engine's normal execute path.

    proposed --(the person confirms: engine.confirm)--> ARMED
    ARMED --(its watch fires; compare-and-set + the execution's intent, one transaction)--> TRIGGERED
    TRIGGERED --(the child intent '<id>-<n>' runs engine.execute: the full re-check, the journal)--> ...
        child EXECUTED: ARMED again while executions < repeat and valid, else EXECUTED
        child EXPIRED (the trigger was too old to act on, nothing sent): ARMED again, the condition re-read
        child FAILED (a re-check refused: rules changed, market closed, policy, the venue): FAILED, nothing more
    ARMED / TRIGGERED --(cancel_order; delete_watch of its trigger)--> CANCELLED;  past valid_until --> EXPIRED

The trigger is a watch (pm_mcp.execution.watches) with the deterministic id ``w-<intent id>``, a level that
fires at the first check where it is true (cool-down 0) and once per crossing after that; the watch pass
reads each book once however many watches and standing orders point at it. Only the lease holder acts:
:meth:`StandingOrders.pass_once` is a hook of the watch pass, run only while this process holds the lease.
Each execution is a child intent (same legs, same order hash, ``parent_id``) created CONFIRMED in the same
transaction as the parent's ARMED -> TRIGGERED compare-and-set, so a trigger is consumed at most once and a
crash leaves either nothing or a journaled execution that the next lease holder resumes (never resending an
order the venue has: the engine's client-order-id lookup). The child expires ``FRESH_TRIGGER_S`` after the
trigger: a restart long after a trigger does not act on it, it re-reads the condition.

Owners (pm_mcp.principal): the pass reads every owner's standing orders and handles each as its owner
(``principal.use(principal.as_owner(rec.owner))``): its trigger watch, its executions (child intents) and their orders
are that person's, and its re-check applies that person's spend and exposure.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from pm_mcp import principal
from pm_mcp.domain.intents import Intent, IntentStatus
from pm_mcp.domain.watches import Watch, WatchKind, WatchRefused, WatchSpec, check_spec, describe
from pm_mcp.execution.journal import EVERYONE, IntentRecord, iso, now_utc
from pm_mcp.execution.watches import RunnerLease, WatchStore

log = logging.getLogger(__name__)

FRESH_TRIGGER_S = 120  # an execution not started within this of its trigger is not sent (the condition is re-read)
ACTIVE = (IntentStatus.CONFIRMED, IntentStatus.EXECUTING)


def watch_id_for(intent_id: str) -> str:
    return "w-" + intent_id


def child_id(parent_id: str, n: int) -> str:
    return f"{parent_id}-{n}"


def trigger_spec(it: Intent) -> WatchSpec:
    assert it.standing is not None
    leg, t = it.legs[0], it.standing
    return WatchSpec(kind=WatchKind(t.kind), venue=leg.venue, market_id=leg.market_id, outcome=t.outcome,
                     level=t.level, side=t.price_side, market_title=leg.market_title)


class StandingOrders:
    """The standing-order half of the watch pass (lease holder only)."""

    def __init__(self, state: Any, lease: RunnerLease) -> None:
        self.state = state
        self.lease = lease
        self.watches = WatchStore(state.store)
        self.tasks: dict[str, asyncio.Task] = {}

    @property
    def engine(self) -> Any:
        return getattr(self.state, "execution", None)

    async def pass_once(self) -> None:
        engine = self.engine
        if engine is None or not engine.reconciled.is_set():
            return  # start-up reconciliation first
        for rec in await engine.journal.intents_with_status(IntentStatus.ARMED, IntentStatus.TRIGGERED,
                                                            owner=EVERYONE):
            it = rec.intent
            if it.standing is None or it.parent_id is not None or it.mode != engine.mode:
                continue  # another mode's standing order never fires here (reconcile cancels an armed one)
            try:
                with principal.use(principal.as_owner(rec.owner)):
                    if rec.status == IntentStatus.ARMED:
                        await self._armed(rec)
                    else:
                        await self._triggered(rec)
            except Exception:  # noqa: BLE001 - one standing order must not stop the others
                log.exception("standing order %s: pass failed", it.id)
        await self._tidy_watches()

    # --- the counters in the parent's journal row -----------------------------------------------------------
    async def counters(self, intent_id: str) -> tuple[int, int]:
        """(triggers consumed, executions done) of a standing order."""
        row = await (await self.state.store.conn.execute(
            "SELECT json_extract(data, '$.trigger_no'), json_extract(data, '$.executions') FROM intents "
            "WHERE id = ?", (intent_id,))).fetchone()
        if row is None:
            return 0, 0
        return int(row[0] or 0), int(row[1] or 0)

    # --- ARMED ---------------------------------------------------------------------------------------------
    async def _armed(self, rec: IntentRecord) -> None:
        it = rec.intent
        assert it.standing is not None
        if now_utc() >= it.standing.valid_until:
            await self._end(rec, IntentStatus.ARMED, IntentStatus.EXPIRED,
                            f"not triggered before {it.standing.until_text()}; nothing more is sent")
            return
        w = await self.watches.get(watch_id_for(it.id))
        if w is None:
            await self._make_watch(rec)
            return
        if w.status != "active":
            if w.status == "expired":
                await self._end(rec, IntentStatus.ARMED, IntentStatus.EXPIRED, "its trigger watch expired; nothing "
                                                                                "more is sent")
            else:
                await self._end(rec, IntentStatus.ARMED, IntentStatus.CANCELLED,
                                f"its trigger watch {w.id} was deleted (delete_watch): cancelled, nothing more is sent")
            return
        consumed, _ = await self.counters(it.id)
        if w.fire_count > consumed:
            await self._trigger(rec, w, consumed + 1)

    async def _make_watch(self, rec: IntentRecord) -> None:
        it = rec.intent
        assert it.standing is not None
        spec = trigger_spec(it)
        now = now_utc()
        try:
            check_spec(spec, market_status=None, close_time=None, now=now, expires_at=it.standing.valid_until,
                       cooldown_s=0)
        except WatchRefused as exc:
            await self._end(rec, IntentStatus.ARMED, IntentStatus.FAILED, f"its trigger cannot be watched: {exc}")
            return
        desc = (f"Standing order {it.id}: " + describe(spec, 0, it.standing.valid_until)
                .replace("Alert when", "send it when", 1))
        w = Watch(id=watch_id_for(it.id), spec=spec, created_at=now, expires_at=it.standing.valid_until, cooldown_s=0,
                  description=desc, state={"last_true": False, "standing": it.id})
        try:
            await self.watches.insert(w, owner=rec.owner)
        except Exception as exc:  # noqa: BLE001 - another runner made it first (unique id): nothing to do
            log.info("standing order %s: watch not inserted (%s)", it.id, type(exc).__name__)
            return
        await self.state.store.journal("standing.watching", it.id, {"watch": w.id, "spec": spec.model_dump(mode="json")})

    async def _trigger(self, rec: IntentRecord, w: Watch, n: int) -> None:
        """ARMED -> TRIGGERED (compare-and-set) and the execution's intent, in one transaction."""
        parent = rec.intent
        assert parent.standing is not None
        engine = self.engine
        now = now_utc()
        fired_at = w.last_fired_at or now
        cid = child_id(parent.id, n)
        expires = min(parent.standing.valid_until, fired_at + timedelta(seconds=FRESH_TRIGGER_S))
        child = parent.model_copy(update={"id": cid, "parent_id": parent.id, "created_at": now,
                                          "expires_at": expires})
        reason = (f"execution {n} of standing order {parent.id} (approved by the person via "
                  f"{rec.confirmed_via or rec.channel}); triggered at {fired_at:%Y-%m-%d %H:%M:%S} UTC")
        async with self.state.store.transaction():
            won = await engine.journal.transition(parent.id, (IntentStatus.ARMED,), IntentStatus.TRIGGERED,
                                                  trigger_no=n, triggered_at=iso(fired_at))
            if won:
                await engine.journal.insert_intent(child, IntentStatus.CONFIRMED, channel=rec.channel, reason=reason,
                                                   rules=rec.rules, owner=rec.owner)
        if not won:
            return  # another runner consumed it, or the person cancelled it meanwhile
        await engine.journal.log("standing.triggered", parent.id, {"execution": cid, "trigger_no": n,
                                                                   "watch": w.id, "fired_at": iso(fired_at)})
        engine._notify(parent.id)
        self._start(cid)

    # --- TRIGGERED -------------------------------------------------------------------------------------------
    async def _triggered(self, rec: IntentRecord) -> None:
        n, _ = await self.counters(rec.intent.id)
        cid = child_id(rec.intent.id, n)
        child = await self.engine.journal.load_intent(cid)
        if child is None:  # cannot happen (one transaction); refuse rather than guess
            await self._end(rec, IntentStatus.TRIGGERED, IntentStatus.FAILED, f"its execution {cid} is missing")
            return
        if child.status in ACTIVE:
            self._start(cid)  # resumed here after a crash or a change of lease holder
        else:
            await self._settle(rec, child)

    def _start(self, cid: str) -> None:
        """Run execution ``cid`` as a task, for the principal running now (the standing order's owner)."""
        if cid in self.tasks:
            return
        self.tasks[cid] = asyncio.get_running_loop().create_task(self._run(cid, principal.current()))

    async def _run(self, cid: str, who: principal.Principal) -> None:
        with principal.use(who):
            await self._run_as(cid)

    async def _run_as(self, cid: str) -> None:
        try:
            if not await self.lease.acquire():
                return  # another runner holds the lease now: it resumes the execution
            await self.engine.execute(cid)
            child = await self.engine.journal.load_intent(cid)
            parent = await self.engine.journal.load_intent(child.intent.parent_id) if child else None
            if child is not None and parent is not None and parent.status == IntentStatus.TRIGGERED \
                    and child.status not in ACTIVE:
                await self._settle(parent, child)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the journal keeps the state; the next pass resumes it
            log.exception("standing execution %s failed; resumed at the next pass", cid)
        finally:
            self.tasks.pop(cid, None)

    async def _settle(self, parent: IntentRecord, child: IntentRecord) -> None:
        it = parent.intent
        assert it.standing is not None
        n, done = await self.counters(it.id)
        valid = now_utc() < it.standing.valid_until
        if child.status == IntentStatus.EXECUTED:
            done += 1
            if done < it.standing.repeat and valid:
                await self._rearm(parent, done, f"executed {done} of {it.standing.repeat} times; armed for the next "
                                                f"crossing until {it.standing.until_text()}", reset=False)
            else:
                await self._end(parent, IntentStatus.TRIGGERED, IntentStatus.EXECUTED,
                                f"executed {done} time(s) ({child.intent.id}); see get_order", executions=done)
        elif child.status == IntentStatus.EXPIRED and valid:
            await self._rearm(parent, done, f"trigger {n} was not acted on in time ({child.reason}); armed again, "
                                            "the condition is read afresh", reset=True)
        elif child.status == IntentStatus.EXPIRED:
            await self._end(parent, IntentStatus.TRIGGERED, IntentStatus.EXPIRED,
                            f"expired at {it.standing.until_text()}; nothing more is sent")
        else:
            await self._end(parent, IntentStatus.TRIGGERED, IntentStatus.FAILED,
                            f"trigger {n} was refused, nothing more is sent: {child.reason or child.status.value}")
        await self.engine.journal.log("standing.settled", it.id, {"execution": child.intent.id,
                                                                  "child_status": child.status.value})

    async def _rearm(self, parent: IntentRecord, done: int, reason: str, *, reset: bool) -> None:
        if not await self.engine.journal.transition(parent.intent.id, (IntentStatus.TRIGGERED,), IntentStatus.ARMED,
                                                    reason=reason, executions=done):
            return
        if reset:  # the next check fires if the condition still holds (a fresh trigger, never the stale one)
            w = await self.watches.get(watch_id_for(parent.intent.id))
            if w is not None and w.status == "active":
                await self.watches.checked(w, {**w.state, "last_true": False}, w.last_checked_at or now_utc(), None)
        await self.engine.journal.log("standing.rearmed", parent.intent.id, {"reason": reason})
        self.engine._notify(parent.intent.id)

    async def _end(self, rec: IntentRecord, frm: IntentStatus, to: IntentStatus, reason: str, **extra: Any) -> None:
        if await self.engine.journal.transition(rec.intent.id, (frm,), to, reason=reason, **extra):
            await self.engine.journal.log("standing." + to.value, rec.intent.id, {"reason": reason})
            self.engine._notify(rec.intent.id)
        await self.watches.set_status(watch_id_for(rec.intent.id), "done", f"standing order {to.value}")

    async def _tidy_watches(self) -> None:
        """A trigger watch whose standing order ended elsewhere (cancel_order in another process) stops."""
        for w in await self.watches.list(("active",), owner=EVERYONE):
            sid = w.state.get("standing")
            if not sid:
                continue
            rec = await self.engine.journal.load_intent(str(sid), owner=w.owner)
            if rec is None or rec.status not in (IntentStatus.ARMED, IntentStatus.TRIGGERED):
                await self.watches.set_status(w.id, "done", "standing order " + (rec.status.value if rec else "gone"))

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)


def standing_line(it: Intent, status: str, executions: int | None = None, at: datetime | None = None) -> str:
    """One line on a standing order, from our numbers only (the condition, validity, executions)."""
    assert it.standing is not None
    t = it.standing
    done = f"; executed {executions} of {t.repeat}" if executions is not None else ""
    return (f"Standing order ({status}): sent only if {t.condition(it.legs[0].currency)}, {t.times_text()}, valid "
            f"until {t.until_text()}{done}.")


__all__ = ["StandingOrders", "watch_id_for", "child_id", "trigger_spec", "standing_line", "FRESH_TRIGGER_S"]
