"""Watches at run time: their tables, creation, one evaluation pass, the runner's lease and alert delivery.

    ws = WatchStore(store)                                   # rows of the "watches" component
    rec, already = await create_watch(state, spec, expires_at=..., cooldown_s=...)
    runner = WatchRunner(state)                              # one per process (pm_mcp.execution.runner)
    await runner.pass_once()                                 # lease, expiry, fetch once per market, fire

One runner at a time: :class:`RunnerLease` is a row in the store with an expiry, renewed every pass; a
runner that crashed is replaced when its lease runs out, or at once when its process is gone (same host).
Whichever process fires, a watch fires once per condition: the fire is a compare-and-set on the watch's
fire count and the alert row is unique per (watch, fire number). Every process tails the alerts table and
hands new alerts to its sinks (MCP notifications, ``state.alert_sinks``); the firing process also posts the
webhook (pm_mcp.execution.webhook).

Nothing fires on stale data: each pass reads the venues afresh; a read that fails leaves the watch
unevaluated with the note "not checked since ...". A venue answering 429 is left alone for a growing
back-off (said in the note). ``PM_MCP_TEST_CLOCK_FILE`` (tests): a file holding seconds added to the clock.

Clocks: durations (move windows, cool-downs) run on a steady clock, points in time (closes_within) on a wall clock
that a forward jump cannot advance (:class:`RunnerClock`), expiry on the wall clock; see pm_mcp.domain.watches.
Across processes (a server hands over to ``pm-mcp watch``) the first check measures the gap on the wall clock,
never negative: a jump at that very moment is not detected.

Load: per venue one batched read of the watched books and one of the markets that must be fresh
(MarketService.get_order_books_many / get_markets_many), paced by a :class:`RequestBudget` built from the
venue's declared ``poll_budget`` (half its documented limit): a pass over many markets stretches instead of
exceeding it. ``PM_MCP_WATCH_BATCHING=0`` (benchmarks only) reads one market and one book at a time, as before.

Owners (pm_mcp.principal): a watch and its alerts belong to the person who made it; the tools' reads
(:class:`WatchStore` with its default ``owner``) show only the running principal's, and the read pointer of
get_alerts is per owner. The runner evaluates every owner's watches (one read per market for all of them) and reads
an ``order_done`` watch's order as the watch's owner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field

from pm_mcp import principal
from pm_mcp.domain.models import Market, OrderBook
from pm_mcp.domain.watches import (
    BOOK_KINDS,
    DEFAULT_COOLDOWN_S,
    DEFAULT_EXPIRY,
    DEPTH_BAND,
    Evaluation,
    Observation,
    Watch,
    WatchKind,
    WatchRefused,
    WatchSpec,
    check_spec,
    describe,
    evaluate,
    initial_state,
)
from pm_mcp.execution.engine import market_rules_hash
from pm_mcp.execution.journal import EVERYONE, iso, now_utc, owner_filter, owner_of, parse_iso
from pm_mcp.store import Store, holder_gone, owner_key, process_holder, register_migrations
from pm_mcp.venues.base import VenueError
from pm_mcp.venues.registry import display_name

log = logging.getLogger(__name__)

CLOCK_ENV = "PM_MCP_TEST_CLOCK_FILE"
LEASE_NAME = "watch-runner"
MARKET_REFRESH_S = 60.0  # a book-only watch re-reads its market (ids, status) at most this often
BACKOFF_MAX_S = 300.0
ALERTS_READ_KEY = "watch_alerts_read_seq"
BATCHING_ENV = "PM_MCP_WATCH_BATCHING"  # "0": one read per market and per book (benchmarks' "before"; not a setting)
DEFAULT_POLL_BUDGET = (5, 1.0)  # a venue that declares no budget: 5 requests a second
MAX_WATCHED = 1_000_000  # the runner reads every active watch (list_watches shows at most 500)
ARBITRAGE_EVERY_PASSES = 4  # an arbitrage watch scans every 4th pass (60 s at the default 15 s interval)


JUMP_TOLERANCE_S = 2.0


def steady_s() -> float:
    """Seconds on a clock that no one sets: CLOCK_BOOTTIME (counts a suspended machine's sleep) where there is one,
    else the monotonic clock."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return time.monotonic()


class RunnerClock:
    """The ``now`` a watch's points in time (``closes_within``) are judged by: the wall clock (:func:`clock`), except
    that it never runs ahead of the steady clock since the last reading by more than JUMP_TOLERANCE_S. A forward
    jump of the wall clock is therefore not believed (logged once; until the process restarts), a backward one is
    followed (that only makes a time-of-day condition later, never earlier). Durations do not use it: they run on
    each watch's own steady clock (pm_mcp.domain.watches). Expiry stays on the wall clock: ending a watch is not
    firing it, and the person's "until Friday 17:00" is a wall-clock date."""

    def __init__(self) -> None:
        self.wall, self.steady = clock(), steady_s()
        self.warned = False

    def now(self) -> datetime:
        wall, steady = clock(), steady_s()
        expected = self.wall + timedelta(seconds=steady - self.steady)
        ahead = (wall - expected).total_seconds()
        if ahead > JUMP_TOLERANCE_S:
            if not self.warned:
                log.warning("watches: the wall clock jumped %.0f s ahead of the steady clock; closes_within keeps "
                            "to the steady clock until this process restarts", ahead)
                self.warned = True
            self.wall, self.steady = expected, steady
            return expected
        self.wall, self.steady = wall, steady
        return wall


class RequestBudget:
    """A token bucket of ``requests`` per ``per_s`` seconds (full at the start): ``await take(cost)`` waits until
    ``cost`` tokens are there. The runner's reads of one venue go through one, so a pass over many markets stretches
    instead of exceeding the venue's documented limit."""

    def __init__(self, requests: int, per_s: float) -> None:
        self.capacity = float(requests)
        self.rate = requests / per_s
        self.tokens = float(requests)
        self.at = time.monotonic()
        self.spent = 0
        self.waited = 0.0  # seconds spent waiting for tokens

    async def take(self, cost: int = 1) -> None:
        cost = max(1, cost)
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= min(cost, self.capacity):
                self.tokens -= cost
                self.spent += cost
                return
            pause = (min(cost, self.capacity) - self.tokens) / self.rate
            self.waited += pause
            await asyncio.sleep(pause)

    def spent_and_reset(self) -> int:
        n, self.spent = self.spent, 0
        return n

register_migrations("watches", [
    """
    CREATE TABLE watches (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT NOT NULL,
        venue TEXT NOT NULL,
        market_id TEXT NOT NULL,
        outcome TEXT,
        spec TEXT NOT NULL,
        description TEXT NOT NULL,
        cooldown_s INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT '{}',
        last_checked_at TEXT,
        last_fired_at TEXT,
        fire_count INTEGER NOT NULL DEFAULT 0,
        note TEXT
    );
    CREATE INDEX watches_status ON watches(status);

    CREATE TABLE alerts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        watch_id TEXT NOT NULL REFERENCES watches(id),
        fire_no INTEGER NOT NULL,
        at TEXT NOT NULL,
        text TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (watch_id, fire_no)
    );

    CREATE TABLE runner_lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at REAL NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # v2: owners (pm_mcp.principal); rows made before owners existed are the local person's
    """
    ALTER TABLE watches ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
    CREATE INDEX watches_owner_status ON watches(owner, status);
    ALTER TABLE alerts ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
    CREATE INDEX alerts_owner_seq ON alerts(owner, seq);
    """,
])


class StoredWatch(Watch):
    """A watch as stored: with the owner it belongs to."""

    owner: str = Field(default_factory=principal.current_owner)


def clock() -> datetime:
    """Now (UTC), plus the seconds in ``PM_MCP_TEST_CLOCK_FILE`` when tests set it."""
    now = now_utc()
    path = os.environ.get(CLOCK_ENV)
    if path:
        try:
            now += timedelta(seconds=float(Path(path).read_text(encoding="utf-8").strip() or 0))
        except (OSError, ValueError):
            pass
    return now


# --- rows ------------------------------------------------------------------------------------------------------
class WatchStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _from_row(r: Any) -> StoredWatch:
        return StoredWatch(owner=r["owner"], id=r["id"], spec=WatchSpec.model_validate_json(r["spec"]), created_at=parse_iso(r["created_at"]),
                     expires_at=parse_iso(r["expires_at"]), cooldown_s=r["cooldown_s"], description=r["description"],
                     status=r["status"], state=json.loads(r["state"] or "{}"),
                     last_checked_at=parse_iso(r["last_checked_at"]) if r["last_checked_at"] else None,
                     last_fired_at=parse_iso(r["last_fired_at"]) if r["last_fired_at"] else None,
                     fire_count=r["fire_count"], note=r["note"])

    async def insert(self, w: Watch, owner: str | None = None) -> None:
        """Store ``w`` for ``owner`` (None: a StoredWatch's own, else the running principal)."""
        s = w.spec
        who = owner if owner is not None else (w.owner if isinstance(w, StoredWatch) else owner_of(None))
        await self.store.conn.execute(
            "INSERT INTO watches (id, created_at, expires_at, status, kind, venue, market_id, outcome, spec, "
            "description, cooldown_s, state, last_checked_at, note, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (w.id, iso(w.created_at), iso(w.expires_at), w.status, s.kind.value, s.venue, s.market_id, s.outcome,
             s.model_dump_json(), w.description, w.cooldown_s, json.dumps(w.state), iso(w.created_at), w.note, who))

    async def get(self, watch_id: str, owner: Any = None) -> StoredWatch | None:
        """The owner's watch (None for another owner's, as for an unknown id)."""
        who, args = owner_filter(owner)
        row = await (await self.store.conn.execute(f"SELECT * FROM watches WHERE id = ? AND {who}",
                                                   (watch_id, *args))).fetchone()
        return self._from_row(row) if row else None

    async def list(self, statuses: tuple[str, ...] | None = ("active",), limit: int = 500,
                   owner: Any = None) -> list[StoredWatch]:
        who, who_args = owner_filter(owner)
        if statuses is None:
            sql, args = (f"SELECT * FROM watches WHERE status != 'deleted' AND {who} ORDER BY created_at LIMIT ?",
                         (*who_args, limit))
        else:
            marks = ",".join("?" * len(statuses))
            sql, args = (f"SELECT * FROM watches WHERE status IN ({marks}) AND {who} ORDER BY created_at LIMIT ?",
                         (*statuses, *who_args, limit))
        return [self._from_row(r) for r in await (await self.store.conn.execute(sql, args)).fetchall()]

    async def set_status(self, watch_id: str, status: str, note: str | None) -> bool:
        cur = await self.store.conn.execute(
            "UPDATE watches SET status = ?, note = ? WHERE id = ? AND status = 'active'", (status, note, watch_id))
        return (cur.rowcount or 0) > 0

    async def delete(self, watch_id: str, owner: Any = None) -> None:
        who, args = owner_filter(owner)
        await self.store.conn.execute(f"UPDATE watches SET status = 'deleted', note = NULL WHERE id = ? AND {who}",
                                      (watch_id, *args))
        await self.store.journal("watch_deleted", watch_id, {})

    async def checked(self, w: Watch, state: dict[str, Any], at: datetime | None, note: str | None) -> None:
        """After a check that did not fire: the new state; ``at`` None = not checked (note says why)."""
        if at is None:
            await self.store.conn.execute("UPDATE watches SET note = ? WHERE id = ? AND status = 'active'",
                                          (note, w.id))
            return
        await self.store.conn.execute(
            "UPDATE watches SET state = ?, last_checked_at = ?, note = ? WHERE id = ? AND status = 'active' "
            "AND fire_count = ?", (json.dumps(state), iso(at), note, w.id, w.fire_count))

    async def fire(self, w: Watch, ev: Evaluation, at: datetime, runner: str = "") -> int | None:
        """Record one firing (compare-and-set on the fire count); the alert's seq, or None if another runner
        fired this watch first or it is no longer active."""
        data = {"watch_id": w.id, "kind": w.spec.kind.value, "venue": w.spec.venue, "market_id": w.spec.market_id,
                "outcome": w.spec.outcome, "value": ev.value, "fire_no": w.fire_count + 1, "runner": runner}
        async with self.store.transaction() as c:
            cur = await c.execute(
                "UPDATE watches SET fire_count = fire_count + 1, last_fired_at = ?, last_checked_at = ?, state = ?, "
                "status = ?, note = ? WHERE id = ? AND status = 'active' AND fire_count = ?",
                (iso(at), iso(at), json.dumps(ev.state), "done" if ev.done else "active", None, w.id, w.fire_count))
            if (cur.rowcount or 0) == 0:
                return None
            cur = await c.execute(
                "INSERT INTO alerts (watch_id, fire_no, at, text, data, owner) VALUES (?,?,?,?,?,"
                " (SELECT owner FROM watches WHERE id = ?))",
                (w.id, w.fire_count + 1, iso(at), ev.text, json.dumps(data, sort_keys=True), w.id))
            return cur.lastrowid

    async def alerts_after(self, seq: int, limit: int = 200, owner: Any = None) -> list[dict[str, Any]]:
        """The owner's alerts after ``seq`` (EVERYONE: the runner's delivery to its sinks), each with its owner."""
        who, args = owner_filter(owner, "a.owner")
        rows = await (await self.store.conn.execute(
            "SELECT a.seq, a.watch_id, a.fire_no, a.at, a.text, a.data, a.owner, w.description FROM alerts a "
            f"JOIN watches w ON w.id = a.watch_id WHERE a.seq > ? AND {who} ORDER BY a.seq LIMIT ?",
            (seq, *args, limit))).fetchall()
        return [{"seq": r["seq"], "watch_id": r["watch_id"], "fire_no": r["fire_no"], "at": r["at"], "text": r["text"],
                 "description": r["description"], "owner": r["owner"],
                 **{k: v for k, v in json.loads(r["data"]).items() if k not in ("watch_id", "fire_no", "owner")}}
                for r in rows]

    async def alerts_for(self, watch_id: str, limit: int = 20, owner: Any = None) -> list[dict[str, Any]]:
        who, args = owner_filter(owner)
        rows = await (await self.store.conn.execute(
            f"SELECT seq, at, text, data FROM alerts WHERE watch_id = ? AND {who} ORDER BY seq DESC LIMIT ?",
            (watch_id, *args, limit))).fetchall()
        return [{"seq": r["seq"], "at": r["at"], "text": r["text"], "value": json.loads(r["data"]).get("value")}
                for r in reversed(rows)]

    async def last_seq(self) -> int:
        row = await (await self.store.conn.execute("SELECT MAX(seq) FROM alerts")).fetchone()
        return int(row[0] or 0)

    async def read_pointer(self) -> int:
        """The last alert the running principal read with get_alerts (one pointer per owner)."""
        return int(await self.store.kv_get(owner_key(ALERTS_READ_KEY)) or 0)

    async def set_read_pointer(self, seq: int) -> None:
        await self.store.kv_set(owner_key(ALERTS_READ_KEY), str(seq))


# --- creation --------------------------------------------------------------------------------------------------
def new_watch_id() -> str:
    return "w-" + secrets.token_hex(6)


async def create_watch(state: Any, spec: WatchSpec, *, expires_at: datetime | None, cooldown_s: int | None
                       ) -> tuple[Watch, bool, str]:
    """Check, describe, read the current value and store one watch: (watch, already true, words about now).
    Raises WatchRefused (impossible), VenueError / ValueError / KeyError (market, outcome, order)."""
    now = clock()
    expires = expires_at or now + DEFAULT_EXPIRY
    cooldown = DEFAULT_COOLDOWN_S if cooldown_s is None else cooldown_s
    market: Market | None = None
    if spec.kind == WatchKind.ORDER_DONE:
        order = await state.require_execution().journal.load_order(spec.order_id or "")
        if order is None:
            raise WatchRefused(f"order_id {spec.order_id!r} is not one of your orders (list_orders shows them)")
        spec = spec.model_copy(update={"venue": order.venue, "market_id": order.market_id,
                                       "market_title": order.market_title})
    elif spec.kind == WatchKind.ARBITRAGE:
        spec = spec.model_copy(update={"market_title": f"arbitrage in {spec.query or spec.market_id}"[:200]})
    else:
        market = await state.require_markets().get_market(spec.market_id, spec.venue or None)
        if spec.outcome is not None:
            spec = spec.model_copy(update={"outcome": market.outcome(spec.outcome).label})
        spec = spec.model_copy(update={"venue": market.venue, "market_id": market.id, "market_title": market.title})
    check_spec(spec, market_status=market.status.value if market else None,
               close_time=market.close_time if market else None, now=now, expires_at=expires, cooldown_s=cooldown)
    obs = await _observe_one(state, spec, market, now)
    if obs.error:
        raise WatchRefused(f"cannot read the current value to start from: {obs.error}")
    st, already, words = initial_state(spec, obs, now)
    w = StoredWatch(id=new_watch_id(), spec=spec, created_at=now, expires_at=expires, cooldown_s=cooldown,
                    description=describe(spec, cooldown, expires), state=st)  # the running principal's
    await WatchStore(state.store).insert(w)
    await state.store.journal("watch_created", w.id, {"spec": spec.model_dump(mode="json"), "already_true": already})
    return w, already, words


async def _observe_one(state: Any, spec: WatchSpec, market: Market | None, now: datetime) -> Observation:
    if spec.kind == WatchKind.ORDER_DONE:
        return await _order_observation(state, spec.order_id or "", now)
    if spec.kind == WatchKind.ARBITRAGE:
        obs = await arbitrage_observation(state, spec, now)
        if obs.error is None and obs.market_status == "0":
            raise WatchRefused(f"nothing to scan: no open market found for {spec.query or spec.market_id!r}")
        return obs
    assert market is not None
    book = None
    if spec.kind in BOOK_KINDS and spec.outcome:
        try:
            book = await state.require_markets().get_order_book(market, spec.outcome)
        except VenueError as exc:
            return Observation(at=now, error=str(exc))
    return market_observation(market, book, now)


# --- observations ----------------------------------------------------------------------------------------------
def _depth(levels: list, best: Decimal | None, buying_side: bool) -> Decimal:
    if best is None:
        return Decimal(0)
    if buying_side:  # bids: best is the highest
        return sum((lv.size for lv in levels if lv.price >= best - DEPTH_BAND), Decimal(0))
    return sum((lv.size for lv in levels if lv.price <= best + DEPTH_BAND), Decimal(0))


def settlement_words(m: Market) -> str:
    parts = [m.status.value]
    if m.resolution_status:
        parts.append(f"venue says {m.resolution_status}")
    if m.resolved_outcome:
        parts.append(f"result {m.resolved_outcome}")
    return ", ".join(parts)


def market_observation(m: Market, book: OrderBook | None, at: datetime) -> Observation:
    obs = Observation(at=at, market_status=m.status.value, settlement=settlement_words(m), close_time=m.close_time,
                      rules_hash=market_rules_hash(m))
    if book is not None:
        obs.best_bid, obs.best_ask = book.best_bid, book.best_ask
        obs.bid_depth = _depth(book.bids, book.best_bid, True)
        obs.ask_depth = _depth(book.asks, book.best_ask, False)
    return obs


async def arbitrage_observation(state: Any, spec: WatchSpec, at: datetime) -> Observation:
    """find_arbitrage's scan now (state.scan_arbitrage); ``market_status`` carries the number of markets scanned."""
    try:
        found, scanned = await state.scan_arbitrage(refs=[spec.market_id] if spec.market_id else [],
                                                    query=spec.query, min_profit=spec.level or Decimal(0))
    except VenueError as exc:
        return Observation(at=at, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a failed scan leaves the watch unchecked, with the reason
        log.info("arbitrage watch %s: scan failed", spec.query or spec.market_id, exc_info=True)
        return Observation(at=at, error=f"the arbitrage scan failed: {str(exc)[:200]}")
    return Observation(at=at, opportunities=found, market_status=str(scanned))


async def _order_observation(state: Any, order_id: str, at: datetime) -> Observation:
    order = await state.require_execution().journal.load_order(order_id)
    if order is None:
        return Observation(at=at, error=f"order {order_id} is no longer in the journal")
    return Observation(at=at, order_status=order.status, order_filled=str(order.filled_size))


# --- the lease ------------------------------------------------------------------------------------------------
class RunnerLease:
    """One runner at a time: a row (name, holder, expires_at) taken when free, expired or left by a dead process."""

    def __init__(self, store: Store, ttl_s: float, name: str = LEASE_NAME) -> None:
        self.store, self.ttl_s, self.name = store, ttl_s, name
        self.host = socket.gethostname()
        self.holder = process_holder()
        self.held = False

    async def acquire(self) -> bool:
        """Take or renew the lease; False while another live runner holds it."""
        now = time.time()
        async with self.store.transaction() as c:
            row = await (await c.execute("SELECT holder, expires_at FROM runner_lease WHERE name = ?",
                                         (self.name,))).fetchone()
            if row is not None and row[0] != self.holder and row[1] > now and not holder_gone(row[0]):
                self.held = False
                return False
            await c.execute(
                "INSERT INTO runner_lease (name, holder, expires_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, "
                "updated_at = excluded.updated_at", (self.name, self.holder, now + self.ttl_s, iso(now_utc())))
        if not self.held:
            log.info("watch runner: this process (%s) now runs the watches", self.holder)
        self.held = True
        return True

    async def release(self) -> None:
        if self.held:
            await self.store.conn.execute("DELETE FROM runner_lease WHERE name = ? AND holder = ?",
                                          (self.name, self.holder))
            self.held = False

    async def holder_now(self) -> str | None:
        row = await (await self.store.conn.execute("SELECT holder, expires_at FROM runner_lease WHERE name = ?",
                                                   (self.name,))).fetchone()
        return row[0] if row and row[1] > time.time() else None


# --- the pass ---------------------------------------------------------------------------------------------------
class WatchRunner:
    """The watch half of the background runner; ``pass_once`` every PM_MCP_WATCH_INTERVAL_S."""

    def __init__(self, state: Any, interval_s: float, *, webhook: Any = None) -> None:
        self.state = state
        self.interval_s = interval_s
        self.watches = WatchStore(state.store)
        self.lease = RunnerLease(state.store, ttl_s=max(5.0, 3 * interval_s))
        self.webhook = webhook
        self.notified_seq: int | None = None
        self._markets: dict[tuple[str, str], tuple[Market, float]] = {}
        self._backoff: dict[str, tuple[float, float, str]] = {}  # venue -> (until monotonic, seconds, reason)
        self.requests = 0  # venue reads made (bench; in budget units when batching)
        self.batching = os.environ.get(BATCHING_ENV, "1") != "0"
        self._budgets: dict[str, RequestBudget] = {}
        self.clock = RunnerClock()
        self._seen: dict[str, float] = {}  # watch id -> steady_s() at its last saved check in this process
        self._arb_next: dict[str, float] = {}  # arbitrage watch id -> monotonic time of its next scan
        self._slow: dict[str, float] = {}  # venue -> seconds its last read took, when well over the interval
        self._reads: dict[str, asyncio.Future] = {}  # venue -> its read under way (see _venue_reads)
        # run after each evaluation, only while this process holds the lease (standing orders: standing.py)
        self.after_evaluate: list[Callable[[], Awaitable[None]]] = []

    async def pass_once(self) -> list[dict[str, Any]]:
        """Evaluate (when this process holds the lease), then deliver new alerts. Returns the new alerts."""
        if self.notified_seq is None:
            self.notified_seq = await self.watches.last_seq()
        fired: set[int] = set()
        if await self.lease.acquire():
            fired = await self._evaluate_all()
            for hook in self.after_evaluate:
                try:
                    await hook()
                except Exception:  # noqa: BLE001 - a failed hook must not stop the alerts
                    log.exception("a watch-pass hook failed")
        return await self._deliver(fired)

    async def _evaluate_all(self) -> set[int]:
        now = clock()
        fired: set[int] = set()
        active = await self.watches.list(("active",), limit=MAX_WATCHED, owner=EVERYONE)
        live: list[Watch] = []
        for w in active:
            if w.expires_at <= now:
                await self.watches.set_status(w.id, "expired", f"expired at {w.expires_at:%Y-%m-%d %H:%M} UTC")
            else:
                live.append(w)
        if not live:
            return fired
        live = [w for w in live if w.spec.kind != WatchKind.ARBITRAGE or self._arbitrage_due(w.id)]
        observations = await self._observe(live, now)
        at, steady = self.clock.now(), steady_s()
        for w in live:
            obs = observations.get(_obs_key(w.spec, w.id))
            if obs is None:
                continue  # its venue's read (paced by the venue's budget) is still under way: checked when it ends
            seen = self._seen.get(w.id)
            ev = evaluate(w, obs, at, None if seen is None else steady - seen)
            if ev.fired:
                seq = await self.watches.fire(w, ev, obs.at, self.lease.holder)
                if seq is not None:
                    fired.add(seq)
                    self._seen[w.id] = steady
                continue
            if obs.error is not None:
                since = w.last_checked_at or w.created_at
                await self.watches.checked(w, ev.state, None, f"not checked since {since:%Y-%m-%d %H:%M:%S} UTC: "
                                                              f"{obs.error}")
            else:
                await self.watches.checked(w, ev.state, obs.at, self._paced_note(w.spec.venue))
                self._seen[w.id] = steady
        return fired

    async def _observe(self, live: list[Watch], now: datetime) -> dict[tuple, Observation]:
        """One schedule per market however many watches point at it: per venue, the markets that must be fresh in
        one batched read and every watched book in another (the venue's batch form, within its budget)."""
        groups: dict[str, dict[str, set[str | None]]] = {}  # venue -> market id -> outcomes ("" = market fresh)
        out: dict[tuple, Observation] = {}
        arbs = [w for w in live if w.spec.kind == WatchKind.ARBITRAGE]
        scans = asyncio.gather(*(arbitrage_observation(self.state, w.spec, now) for w in arbs))
        for w in live:
            s = w.spec
            if s.kind == WatchKind.ORDER_DONE:  # the order is read as the watch's owner's
                with principal.use(principal.as_owner(getattr(w, "owner", None))):
                    out[_obs_key(s)] = await _order_observation(self.state, s.order_id or "", now)
                continue
            if s.kind == WatchKind.ARBITRAGE:
                continue
            wanted = groups.setdefault(s.venue, {}).setdefault(s.market_id, set())
            wanted.add(s.outcome if s.kind in BOOK_KINDS else None)
            if s.kind not in BOOK_KINDS:
                wanted.add("")  # the market itself must be fresh
        out.update(await self._venue_reads(groups))
        for w, obs in zip(arbs, await scans, strict=True):
            out[_obs_key(w.spec, w.id)] = obs
        return out

    async def _venue_reads(self, groups: dict[str, dict[str, set[str | None]]]) -> dict[tuple, Observation]:
        """Each venue's read runs as its own task: one that outlasts the pass (a venue whose budget stretches its
        read over several intervals) keeps running and is used when it ends, so it never holds back the others."""
        for venue, g in groups.items():
            if venue not in self._reads:
                self._reads[venue] = asyncio.ensure_future(self._observe_venue(venue, g))
        pending = [t for v, t in self._reads.items() if v in groups or t.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(1.0, self.interval_s))
        out: dict[tuple, Observation] = {}
        for venue, task in list(self._reads.items()):
            if not task.done():
                continue
            del self._reads[venue]
            try:
                out.update(task.result())
            except Exception:  # noqa: BLE001 - one venue's failed read must not stop the others
                log.exception("watches: the %s read failed", venue)
        return out

    def _paced_note(self, venue: str) -> str | None:
        """A watch's note while its venue's request budget stretches a pass well past the interval."""
        slow = self._slow.get(venue, 0.0)
        if not slow:
            return None
        return (f"checked about every {slow:.0f} s (not every {self.interval_s:g} s) to stay within "
                f"{display_name(venue)}'s request limit")

    def _arbitrage_due(self, watch_id: str) -> bool:
        """An arbitrage watch scans every ARBITRAGE_EVERY_PASSES passes (a scan reads many books)."""
        now = time.monotonic()
        if now < self._arb_next.get(watch_id, 0.0):
            return False
        self._arb_next[watch_id] = now + (ARBITRAGE_EVERY_PASSES - 0.5) * self.interval_s
        return True

    async def _observe_venue(self, venue: str, groups: dict[str, set[str | None]]) -> dict[tuple, Observation]:
        keys = {mid: [(venue, mid, o) for o in sorted(o for o in outs if o)] + (
            [(venue, mid, None)] if None in outs else []) for mid, outs in groups.items()}
        blocked = self._blocked(venue)
        if blocked:
            return {k: Observation(at=clock(), error=blocked) for ks in keys.values() for k in ks}
        svc = self.state.require_markets()
        pace = self._bucket(venue).take if self.batching else None
        started = time.monotonic()
        try:
            markets = await self._markets_of(venue, groups, pace)
            pairs = [(markets[mid], o) for mid, outs in groups.items() if isinstance(markets.get(mid), Market)
                     for o in sorted(o for o in outs if o)]
            if self.batching:
                books = await svc.get_order_books_many(venue, pairs, pace=pace)
            else:  # one read per book (the bench's "before")
                books = list(await asyncio.gather(*(self._book(m, o) for m, o in pairs)))
            self.requests += self._bucket(venue).spent_and_reset() if self.batching else 0
        except VenueError as exc:
            return {k: Observation(at=clock(), error=self._failed(venue, exc)) for ks in keys.values() for k in ks}
        except (KeyError, ValueError) as exc:
            msg = str(exc.args[0] if exc.args else exc)
            return {k: Observation(at=clock(), error=msg) for ks in keys.values() for k in ks}
        self._backoff.pop(venue, None)
        spent, waited = time.monotonic() - started, self._bucket(venue).waited if self.batching else 0.0
        self._bucket(venue).waited = 0.0
        self._slow[venue] = spent if spent > 1.5 * self.interval_s and waited > 0.5 * self.interval_s else 0.0
        at = clock()
        out: dict[tuple, Observation] = {}
        book_of = {(m.id, o): b for (m, o), b in zip(pairs, books, strict=True)}
        for mid, ks in keys.items():
            market = markets.get(mid)
            for k in ks:
                if not isinstance(market, Market):
                    out[k] = Observation(at=at, error=str(market) if market else f"no market {mid}")
                    continue
                book = book_of.get((mid, k[2])) if k[2] else None
                if isinstance(book, Exception):
                    out[k] = Observation(at=at, error=str(book))
                else:
                    out[k] = market_observation(market, book, at)
        return out

    async def _markets_of(self, venue: str, groups: dict[str, set[str | None]], pace: Any
                          ) -> dict[str, Market | VenueError]:
        """The venue's watched markets: cached for MARKET_REFRESH_S when only their books are watched, otherwise
        read now (in one batch where the venue has one)."""
        got: dict[str, Market | VenueError] = {}
        due: list[str] = []
        for mid, outs in groups.items():
            hit = self._markets.get((venue, mid))
            if hit is not None and "" not in outs and time.monotonic() - hit[1] < MARKET_REFRESH_S:
                got[mid] = hit[0]
            else:
                due.append(mid)
        if not due:
            return got
        if self.batching:
            fresh = await self.state.require_markets().get_markets_many(venue, due, pace=pace)
        else:
            fresh = dict(zip(due, await asyncio.gather(*(self._market((venue, mid)) for mid in due)), strict=True))
        for mid, m in fresh.items():
            if isinstance(m, Market):
                self._markets[(venue, mid)] = (m, time.monotonic())
        got.update(fresh)
        return got

    def _bucket(self, venue: str) -> RequestBudget:
        b = self._budgets.get(venue)
        if b is None:
            budget = self.state.require_markets().poll_budget(venue) or DEFAULT_POLL_BUDGET
            b = self._budgets[venue] = RequestBudget(*budget)
        return b

    async def _market(self, key: tuple[str, str]) -> Market:
        self.requests += 1
        return await self.state.require_markets().get_market(key[1], key[0])

    async def _book(self, market: Market, outcome: str) -> OrderBook:
        self.requests += 1
        return await self.state.require_markets().get_order_book(market, outcome)

    def _blocked(self, venue: str) -> str | None:
        b = self._backoff.get(venue)
        if b is None or time.monotonic() >= b[0]:
            return None
        return b[2]

    def _failed(self, venue: str, exc: VenueError) -> str:
        name = display_name(venue)
        if exc.status == 429:
            prev = self._backoff.get(venue)
            secs = min(BACKOFF_MAX_S, (prev[1] * 2) if prev else max(2.0, 2 * self.interval_s))
            until = clock() + timedelta(seconds=secs)
            reason = f"{name} is rate-limiting us (429); backing off until {until:%H:%M:%S} UTC"
            self._backoff[venue] = (time.monotonic() + secs, secs, reason)
            log.info("watches: %s", reason)
            return reason
        return f"{name} did not answer: {exc.message}"

    async def _deliver(self, fired: set[int]) -> list[dict[str, Any]]:
        new = await self.watches.alerts_after(self.notified_seq or 0, owner=EVERYONE)
        if not new:
            return []
        self.notified_seq = new[-1]["seq"]
        for sink in list(getattr(self.state, "alert_sinks", ()) or ()):
            try:
                await sink(new)
            except Exception:  # noqa: BLE001 - one broken client must not stop the others or the runner
                log.exception("an alert sink failed")
        if self.webhook is not None:
            for a in new:
                if a["seq"] in fired:
                    self.webhook.submit(a)
        return new

    async def close(self) -> None:
        for task in self._reads.values():
            task.cancel()
        try:
            await self.lease.release()
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.debug("could not release the watch lease", exc_info=True)


def _obs_key(spec: WatchSpec, watch_id: str = "") -> tuple:
    if spec.kind == WatchKind.ORDER_DONE:
        return ("order", spec.order_id)
    if spec.kind == WatchKind.ARBITRAGE:
        return ("arbitrage", watch_id)
    return (spec.venue, spec.market_id, spec.outcome if spec.kind in BOOK_KINDS else None)


__all__ = ["WatchStore", "StoredWatch", "WatchRunner", "RunnerLease", "create_watch", "clock", "WatchRefused", "WatchSpec",
           "market_observation", "settlement_words", "CLOCK_ENV"]
