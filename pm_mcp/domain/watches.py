"""Watches: a condition on one market (or one resting order), checked by the background runner.

Pure: the models, the refusal of impossible conditions, the plain-words description and the evaluation of
one watch against one :class:`Observation` (what a single pass read from the venue, at one moment). No I/O,
no clock of its own: every function takes ``now``.

Kinds (``level`` means):
    price_below / price_above   a price in [0, 1] on the ask (default), bid or mid
    move                        points (0.05 = 5 cents) within ``window_s`` seconds, either way (mid default)
    spread_above                the spread (ask - bid) in (0, 1)
    depth_below                 shares offered within 5 cents of the best price on ``side`` (ask default)
    closes_within               hours before the market's close time
    settlement_change           (no level) the venue's settlement state or result changes
    rules_change                (no level) the rules hash changes
    order_done                  (no level; ``order_id``) a resting order fills, is cancelled or expires
    arbitrage                   (``query`` and/or a market or event in ``market_id``; ``level``: the least profit,
                                optional) an arbitrage opportunity find_arbitrage would list appears that the
                                previous check did not see

Firing: a level kind fires when its condition turns true (false at the previous check, true at this one) and
at least ``cooldown_s`` has passed since it last fired; while it stays true it does not fire again. A
condition already true at creation is therefore said at creation and fires once it has turned false and
true again. A change kind
fires when the value differs from the one it last saw (its baseline), then takes the new value as baseline;
order_done fires once and is then done. Nothing fires on data older than the check that read it: an
observation that failed (venue down) only moves the watch's note to "not checked since ...".

Which clock governs what (a wall clock that jumps must not fire a watch early):
    durations (the ``move`` window, the cool-down) run on the watch's own clock ``state["t"]``: seconds advanced by
        the runner's steady clock between two checks (``evaluate(..., elapsed_s=)``); without one, by the wall
        clock since the last check, never backwards. Samples and the last fire are stamped with it, so a jump
        neither keeps an old price inside the window nor lapses a cool-down at once.
    points in time compare with ``now``: expiry (the person's date) and ``closes_within`` (the venue's close
        time); the runner passes a ``now`` that a forward jump cannot advance (pm_mcp.execution.watches).
"""

# No `from __future__ import annotations` (pydantic models built at start-up; see pm_mcp.domain.models).

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from pm_mcp.domain.orders import FINAL_ORDER_STATUSES

DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=30)
DEFAULT_COOLDOWN_S = 3600
MIN_COOLDOWN_S = 0
MAX_COOLDOWN_S = 7 * 86400
MIN_WINDOW_S = 60
MAX_WINDOW_S = 7 * 86400
DEPTH_BAND = Decimal("0.05")  # depth_below counts the shares within this of the best price
MAX_SAMPLES = 2000  # move: price samples kept per watch (older than the window are dropped first)
DONE_ORDER_STATES = FINAL_ORDER_STATUSES  # order_done fires on the first of these


class WatchKind(StrEnum):
    PRICE_BELOW = "price_below"
    PRICE_ABOVE = "price_above"
    MOVE = "move"
    SPREAD_ABOVE = "spread_above"
    DEPTH_BELOW = "depth_below"
    CLOSES_WITHIN = "closes_within"
    SETTLEMENT_CHANGE = "settlement_change"
    RULES_CHANGE = "rules_change"
    ORDER_DONE = "order_done"
    ARBITRAGE = "arbitrage"


LEVEL_KINDS = (WatchKind.PRICE_BELOW, WatchKind.PRICE_ABOVE, WatchKind.MOVE, WatchKind.SPREAD_ABOVE,
               WatchKind.DEPTH_BELOW, WatchKind.CLOSES_WITHIN)
BOOK_KINDS = (WatchKind.PRICE_BELOW, WatchKind.PRICE_ABOVE, WatchKind.MOVE, WatchKind.SPREAD_ABOVE,
              WatchKind.DEPTH_BELOW)
TRADING_KINDS = BOOK_KINDS + (WatchKind.CLOSES_WITHIN,)  # refused on a market that no longer trades


class PriceSide(StrEnum):
    ASK = "ask"
    BID = "bid"
    MID = "mid"


class WatchRefused(ValueError):
    """An impossible condition; the message names the argument, the value and what is allowed."""


class WatchSpec(BaseModel):
    """What the person asked to watch (validated by :func:`check_spec`)."""

    kind: WatchKind
    venue: str
    market_id: str
    outcome: str | None = None  # book kinds: the outcome whose book is read
    level: Decimal | None = None
    side: PriceSide | None = None  # None: the kind's default (ask; mid for move)
    window_s: int | None = None  # move only
    order_id: str | None = None  # order_done only
    query: str | None = None  # arbitrage only: a topic to scan (with or without a market / event in market_id)
    market_title: str = ""

    @property
    def price_side(self) -> PriceSide:
        if self.side is not None:
            return self.side
        return PriceSide.MID if self.kind == WatchKind.MOVE else PriceSide.ASK


class Observation(BaseModel):
    """What one pass read, at ``at``. ``error`` set: the read failed and nothing else may be used."""

    at: datetime
    error: str | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    bid_depth: Decimal | None = None  # shares within DEPTH_BAND of the best bid
    ask_depth: Decimal | None = None
    market_status: str | None = None
    settlement: str | None = None  # "<status>|<resolution status>|<result>"
    close_time: datetime | None = None
    rules_hash: str | None = None
    order_status: str | None = None
    order_filled: str | None = None
    opportunities: dict[str, str] | None = None  # arbitrage: opportunity key -> its line, as the scan found them

    def price(self, side: PriceSide) -> Decimal | None:
        if side == PriceSide.ASK:
            return self.best_ask
        if side == PriceSide.BID:
            return self.best_bid
        if self.best_ask is None or self.best_bid is None:
            return None
        return (self.best_ask + self.best_bid) / 2


class Watch(BaseModel):
    id: str
    spec: WatchSpec
    created_at: datetime
    expires_at: datetime
    cooldown_s: int = DEFAULT_COOLDOWN_S
    description: str
    status: str = "active"  # active | expired | done | deleted
    state: dict[str, Any] = Field(default_factory=dict)  # last_true, baseline, samples
    last_checked_at: datetime | None = None
    last_fired_at: datetime | None = None
    fire_count: int = 0
    note: str | None = None


class Evaluation(BaseModel):
    fired: bool = False
    true_now: bool = False
    text: str = ""  # what happened, in words (the alert text when fired)
    value: str | None = None  # the value that was compared
    state: dict[str, Any] = Field(default_factory=dict)  # the watch's new state
    done: bool = False  # a one-shot watch that has fired


# --- creation ------------------------------------------------------------------------------------------------
def _need_level(spec: WatchSpec, low: Decimal, high: Decimal, what: str, *, low_open: bool = True,
                high_open: bool = True) -> Decimal:
    lv = spec.level
    if lv is None:
        raise WatchRefused(f"level is missing: {spec.kind.value} needs {what}")
    if not lv.is_finite():
        raise WatchRefused(f"level must be a number: got {lv}")
    too_low = lv <= low if low_open else lv < low
    too_high = lv >= high if high_open else lv > high
    if too_low or too_high:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise WatchRefused(f"level {lv} is impossible for {spec.kind.value}: {what} must be in {lo}{low}, {high}{hi}")
    return lv


def check_spec(spec: WatchSpec, *, market_status: str | None, close_time: datetime | None, now: datetime,
               expires_at: datetime, cooldown_s: int) -> None:
    """Refuse an impossible watch (:class:`WatchRefused` with the reason)."""
    k = spec.kind
    if expires_at <= now:
        raise WatchRefused(f"expires_at {expires_at.isoformat()} is in the past; give a future time")
    if expires_at - now > MAX_EXPIRY:
        raise WatchRefused(f"expires_at {expires_at.isoformat()} is more than {MAX_EXPIRY.days} days away; "
                           f"a watch lasts at most {MAX_EXPIRY.days} days")
    if not (MIN_COOLDOWN_S <= cooldown_s <= MAX_COOLDOWN_S):
        raise WatchRefused(f"cooldown_s {cooldown_s} must be in [{MIN_COOLDOWN_S}, {MAX_COOLDOWN_S}] seconds")
    if k in TRADING_KINDS and market_status in ("closed", "resolved"):
        raise WatchRefused(f"the market is {market_status}: its prices and close time no longer change; "
                           "watch settlement_change instead")
    if k == WatchKind.SETTLEMENT_CHANGE and market_status == "resolved":
        raise WatchRefused("the market is already resolved: its settlement will not change")
    if k in BOOK_KINDS and not spec.outcome:
        raise WatchRefused(f"outcome is missing: {k.value} reads one outcome's book")
    if k != WatchKind.MOVE and spec.window_s is not None:
        raise WatchRefused(f"window_s applies to move only, not {k.value}")
    if k not in BOOK_KINDS and spec.side is not None:
        raise WatchRefused(f"side applies to the price kinds only, not {k.value}")
    if k in (WatchKind.SETTLEMENT_CHANGE, WatchKind.RULES_CHANGE, WatchKind.ORDER_DONE) and spec.level is not None:
        raise WatchRefused(f"level does not apply to {k.value}")
    if k == WatchKind.PRICE_BELOW:
        _need_level(spec, Decimal(0), Decimal(1), "a price", high_open=False)
    elif k == WatchKind.PRICE_ABOVE:
        _need_level(spec, Decimal(0), Decimal(1), "a price", low_open=False)
    elif k == WatchKind.MOVE:
        _need_level(spec, Decimal(0), Decimal(1), "a move in points (0.05 = 5 cents)")
        w = spec.window_s
        if w is None or not (MIN_WINDOW_S <= w <= MAX_WINDOW_S):
            raise WatchRefused(f"window_s {w} must be in [{MIN_WINDOW_S}, {MAX_WINDOW_S}] seconds for move")
    elif k == WatchKind.SPREAD_ABOVE:
        _need_level(spec, Decimal(0), Decimal(1), "a spread")
    elif k == WatchKind.DEPTH_BELOW:
        _need_level(spec, Decimal(0), Decimal(10) ** 12, "a number of shares")
    elif k == WatchKind.CLOSES_WITHIN:
        hours = _need_level(spec, Decimal(0), Decimal(MAX_EXPIRY.days * 24 * 10), "hours")
        if close_time is None:
            raise WatchRefused("the venue gives no close time for this market: closes_within cannot be watched")
        if close_time <= now:
            raise WatchRefused(f"the market's close time {close_time.isoformat()} has passed")
        if close_time - timedelta(hours=float(hours)) >= expires_at:
            raise WatchRefused(f"the market closes at {close_time.isoformat()}: {hours} h before that is after the "
                               f"watch expires ({expires_at.isoformat()}); give a later expires_at or more hours")
    elif k == WatchKind.ORDER_DONE and not spec.order_id:
        raise WatchRefused("order_id is missing: order_done watches one of your resting orders")
    elif k == WatchKind.ARBITRAGE:
        if not (spec.query or spec.market_id):
            raise WatchRefused("query or market is missing: arbitrage scans a topic or a market / event")
        if spec.level is not None and (not spec.level.is_finite() or spec.level < 0):
            raise WatchRefused(f"level {spec.level} is impossible for arbitrage: the least profit must be >= 0")
    if k != WatchKind.ARBITRAGE and spec.query is not None:
        raise WatchRefused(f"query applies to arbitrage only, not {k.value}")


def describe(spec: WatchSpec, cooldown_s: int, expires_at: datetime) -> str:
    """The watch in plain words (market titles are the caller's to quote)."""
    k, lv = spec.kind, spec.level
    on = f" {spec.outcome}" if spec.outcome else ""
    side = spec.price_side.value
    what = {
        WatchKind.PRICE_BELOW: f"the{on} {side} is at or below {lv}",
        WatchKind.PRICE_ABOVE: f"the{on} {side} is at or above {lv}",
        WatchKind.MOVE: f"the{on} {side} moves {lv} or more (either way) within {_dur(spec.window_s or 0)}",
        WatchKind.SPREAD_ABOVE: f"the{on} spread (ask - bid) is at or above {lv}",
        WatchKind.DEPTH_BELOW: f"fewer than {lv} shares are offered on the{on} {side} within {DEPTH_BAND} of the best",
        WatchKind.CLOSES_WITHIN: f"the market closes within {lv} h",
        WatchKind.SETTLEMENT_CHANGE: "the settlement state changes (proposed, disputed, resolved, the result)",
        WatchKind.RULES_CHANGE: "the rules text changes (rules hash)",
        WatchKind.ORDER_DONE: f"order {spec.order_id} fills, is cancelled or expires",
        WatchKind.ARBITRAGE: "a new arbitrage opportunity appears"
        + (f" with a profit of at least {lv}" if lv else "") + f" in {_arb_scope(spec)}",
    }[k]
    again = ""
    if k in LEVEL_KINDS or k == WatchKind.ARBITRAGE:
        again = f" (when it turns true; at most once per {_dur(cooldown_s)})" if cooldown_s else " (when it turns true)"
    return f"Alert when {what}{again}; until {expires_at.strftime('%Y-%m-%d %H:%M UTC')}."


def _arb_scope(spec: WatchSpec) -> str:
    parts = ([f"the markets for {spec.query!r}"] if spec.query else []) + ([spec.market_id] if spec.market_id else [])
    return " and ".join(parts)


def _dur(seconds: int) -> str:
    if seconds % 86400 == 0 and seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


# --- evaluation ------------------------------------------------------------------------------------------------
def _level_condition(spec: WatchSpec, obs: Observation, samples: list[list], t: float, now: datetime
                     ) -> tuple[bool | None, str | None, str]:
    """(true, value, words) of a level kind; true None = cannot be judged from this observation."""
    k, lv = spec.kind, spec.level or Decimal(0)
    if k in (WatchKind.PRICE_BELOW, WatchKind.PRICE_ABOVE, WatchKind.MOVE):
        p = obs.price(spec.price_side)
        if p is None:
            return None, None, f"no {spec.price_side.value} in the book"
        if k == WatchKind.PRICE_BELOW:
            return p <= lv, str(p), f"{spec.price_side.value} {p} <= {lv}"
        if k == WatchKind.PRICE_ABOVE:
            return p >= lv, str(p), f"{spec.price_side.value} {p} >= {lv}"
        since = t - (spec.window_s or 0)
        window = [Decimal(v) for ts, v in samples if ts >= since]
        if not window:
            return False, str(p), "first price of the window"
        hi, lo = max(window), min(window)
        move = max(p - lo, hi - p)
        ref = lo if p - lo >= hi - p else hi
        return move >= lv, str(p), f"{spec.price_side.value} {ref} -> {p} within {_dur(spec.window_s or 0)}"
    if k == WatchKind.SPREAD_ABOVE:
        if obs.best_bid is None or obs.best_ask is None:
            return None, None, "one side of the book is empty"
        s = obs.best_ask - obs.best_bid
        return s >= lv, str(s), f"spread {s} >= {lv}"
    if k == WatchKind.DEPTH_BELOW:
        d = obs.bid_depth if spec.price_side == PriceSide.BID else obs.ask_depth
        d = d if d is not None else Decimal(0)
        return d < lv, str(d), f"{d} shares on the {spec.price_side.value} within {DEPTH_BAND} < {lv}"
    if obs.close_time is None:
        return None, None, "no close time"
    left = obs.close_time - now
    hours = Decimal(int(left.total_seconds())) / 3600
    return left <= timedelta(hours=float(lv)), f"{hours:.2f}", f"closes in {hours:.2f} h ({obs.close_time:%Y-%m-%d %H:%M} UTC)"


def _change_value(spec: WatchSpec, obs: Observation) -> str | None:
    if spec.kind == WatchKind.SETTLEMENT_CHANGE:
        return obs.settlement
    if spec.kind == WatchKind.RULES_CHANGE:
        return obs.rules_hash
    return obs.order_status


def _advance(state: dict[str, Any], now: datetime, elapsed_s: float | None) -> float:
    """Move the watch's own clock on by ``elapsed_s`` (the caller's steady clock) or, without one, by the wall clock
    since the last check (0 when it went back); converts samples stamped by wall time (rows written before)."""
    t = float(state.get("t", 0.0))
    if elapsed_s is None:
        last = state.get("wall")
        elapsed_s = (now - datetime.fromisoformat(last)).total_seconds() if last else 0.0
    t += max(0.0, elapsed_s)
    if any(isinstance(x[0], str) for x in state.get("samples", [])):
        state["samples"] = [[t - max(0.0, (now - datetime.fromisoformat(x[0])).total_seconds()), x[1]]
                            if isinstance(x[0], str) else x for x in state["samples"]]
    state["t"], state["wall"] = t, now.isoformat()
    return t


def initial_state(spec: WatchSpec, obs: Observation, now: datetime) -> tuple[dict[str, Any], bool, str]:
    """The state a new watch starts from, whether its condition is already true, and the words for it."""
    if spec.kind in LEVEL_KINDS:
        true, value, words = _level_condition(spec, obs, [], 0.0, now)
        state: dict[str, Any] = {"last_true": bool(true), "t": 0.0, "wall": now.isoformat()}
        if spec.kind == WatchKind.MOVE and value is not None:
            state["samples"] = [[0.0, value]]
        return state, bool(true), words
    if spec.kind == WatchKind.ARBITRAGE:
        found = obs.opportunities or {}
        words = f"now: {len(found)} opportunit{'y' if len(found) == 1 else 'ies'}" + (
            ": " + "; ".join(list(found.values())[:3]) if found else "")
        return {"baseline": sorted(found), "t": 0.0, "wall": now.isoformat()}, bool(found), words
    value = _change_value(spec, obs)
    if spec.kind == WatchKind.ORDER_DONE and value in DONE_ORDER_STATES:
        raise WatchRefused(f"order {spec.order_id} is already {value}: nothing left to watch")
    return {"baseline": value}, False, f"now: {value}" if value else "now: unknown"


def evaluate(w: Watch, obs: Observation, now: datetime, elapsed_s: float | None = None) -> Evaluation:
    """One check of ``w`` against ``obs`` (read at ``obs.at``, at most one pass old). ``elapsed_s``: steady seconds
    since this watch's previous check (None: the wall clock's, never negative); see the module docstring."""
    spec, state = w.spec, dict(w.state)
    if obs.error is not None:
        return Evaluation(state=state, text=obs.error)
    if spec.kind in LEVEL_KINDS:
        t = _advance(state, now, elapsed_s)
        samples = [s for s in state.get("samples", []) if spec.kind == WatchKind.MOVE]
        true, value, words = _level_condition(spec, obs, samples, t, now)
        if spec.kind == WatchKind.MOVE and value is not None:
            since = t - (spec.window_s or 0)
            kept = [s for s in samples if s[0] >= since][-MAX_SAMPLES + 1:]
            state["samples"] = kept + [[t, value]]
        if true is None:
            return Evaluation(state=state, text=words)
        fired_t = state.get("fired_t")
        if fired_t is None and w.last_fired_at is not None:  # a row written before the watch had its own clock
            fired_t = t - max(0.0, (now - w.last_fired_at).total_seconds())
        rested = fired_t is None or t - fired_t >= w.cooldown_s
        armed = not state.get("last_true", False) and rested
        state["last_true"] = bool(true)
        fired = bool(true) and armed
        if fired:
            state["fired_t"] = t
        if fired and spec.kind == WatchKind.MOVE:
            state["samples"] = [[t, value]]  # the next move is measured from here
        return Evaluation(fired=fired, true_now=bool(true), value=value, text=words, state=state)
    if spec.kind == WatchKind.ARBITRAGE:
        return _evaluate_arbitrage(w, obs, state, now, elapsed_s)
    value = _change_value(spec, obs)
    before = state.get("baseline")
    if value is None or value == before:
        return Evaluation(state=state, value=value, text=f"unchanged: {value}")
    state["baseline"] = value
    if spec.kind == WatchKind.ORDER_DONE:
        done = value in DONE_ORDER_STATES
        words = f"order {spec.order_id} is {value}" + (f" ({obs.order_filled} filled)" if obs.order_filled else "")
        return Evaluation(fired=done, done=done, true_now=done, value=value, text=words, state=state)
    what = "settlement" if spec.kind == WatchKind.SETTLEMENT_CHANGE else "rules hash"
    return Evaluation(fired=True, true_now=True, value=value, text=f"{what} changed: {before} -> {value}", state=state)


def _evaluate_arbitrage(w: Watch, obs: Observation, state: dict[str, Any], now: datetime,
                        elapsed_s: float | None) -> Evaluation:
    """Fires when the scan lists an opportunity the previous check did not (and the cool-down has passed); the
    ones seen become the baseline either way, so one opportunity fires once while it lasts."""
    t = _advance(state, now, elapsed_s)
    found = obs.opportunities or {}
    before = set(state.get("baseline") or [])
    new = [k for k in found if k not in before]
    state["baseline"] = sorted(found)
    fired_t = state.get("fired_t")
    rested = fired_t is None or t - fired_t >= w.cooldown_s
    if not new:
        return Evaluation(state=state, true_now=bool(found), value=str(len(found)),
                          text=f"{len(found)} opportunities, none new")
    text = f"{len(new)} new arbitrage opportunit{'y' if len(new) == 1 else 'ies'}: " + "; ".join(
        found[k] for k in new[:3]) + (f"; +{len(new) - 3} more" if len(new) > 3 else "")
    if not rested:
        return Evaluation(state=state, true_now=True, value=str(len(found)), text=text + " (cooling down)")
    state["fired_t"] = t
    return Evaluation(fired=True, true_now=True, value=str(len(found)), text=text, state=state)
