"""The pure watch conditions (pm_mcp.domain.watches): refusals, descriptions, firing on the edge with the
cool-down, move within a window, depth, close time, change kinds, order_done once, no firing on an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from pm_mcp.domain.watches import (
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

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def spec(kind: str, **kw) -> WatchSpec:
    base = {"kind": WatchKind(kind), "venue": "v", "market_id": "m1", "outcome": "Yes"}
    base.update(kw)
    return WatchSpec(**base)


def make(s: WatchSpec, obs: Observation, cooldown_s: int = 3600) -> Watch:
    st, _, _ = initial_state(s, obs, NOW)
    return Watch(id="w-1", spec=s, created_at=NOW, expires_at=NOW + timedelta(days=7), cooldown_s=cooldown_s,
                 description=describe(s, cooldown_s, NOW + timedelta(days=7)), state=st)


def book(bid: str | None, ask: str | None, at: datetime = NOW, **kw) -> Observation:
    return Observation(at=at, best_bid=D(bid) if bid else None, best_ask=D(ask) if ask else None, **kw)


def step(w: Watch, obs: Observation):
    ev = evaluate(w, obs, obs.at)
    w.state = ev.state
    if ev.fired:
        w.last_fired_at, w.fire_count = obs.at, w.fire_count + 1
    return ev


def check(s: WatchSpec, **kw):
    args = {"market_status": "open", "close_time": NOW + timedelta(days=3), "now": NOW,
            "expires_at": NOW + timedelta(days=7), "cooldown_s": 3600}
    args.update(kw)
    check_spec(s, **args)


@pytest.mark.parametrize("s, kw, words", [
    (spec("price_below", level=D("1.2")), {}, "level 1.2 is impossible"),
    (spec("price_below", level=D("0")), {}, "level 0 is impossible"),
    (spec("price_above", level=D("1")), {}, "level 1 is impossible"),
    (spec("price_above", level=None), {}, "level is missing"),
    (spec("spread_above", level=D("-0.1")), {}, "impossible"),
    (spec("depth_below", level=D("0")), {}, "impossible"),
    (spec("move", level=D("0.05")), {}, "window_s None must be in"),
    (spec("move", level=D("0.05"), window_s=10), {}, "window_s 10"),
    (spec("price_below", level=D("0.3"), window_s=60), {}, "window_s applies to move only"),
    (spec("price_below", level=D("0.3")), {"market_status": "closed"}, "the market is closed"),
    (spec("settlement_change", outcome=None), {"market_status": "resolved"}, "already resolved"),
    (spec("price_below", level=D("0.3")), {"expires_at": NOW - timedelta(seconds=1)}, "in the past"),
    (spec("price_below", level=D("0.3")), {"expires_at": NOW + timedelta(days=31)}, "at most 30 days"),
    (spec("price_below", level=D("0.3")), {"cooldown_s": -1}, "cooldown_s -1"),
    (spec("closes_within", outcome=None, level=D("2")), {"close_time": NOW - timedelta(hours=1)}, "has passed"),
    (spec("closes_within", outcome=None, level=D("2")), {"close_time": None}, "no close time"),
    (spec("closes_within", outcome=None, level=D("2")), {"close_time": NOW + timedelta(days=20)}, "after the watch"),
    (spec("order_done", outcome=None), {}, "order_id is missing"),
    (spec("rules_change", outcome=None, level=D("0.2")), {}, "level does not apply"),
])
def test_impossible_conditions_are_refused_with_the_reason(s, kw, words):
    with pytest.raises(WatchRefused, match=words):
        check(s, **kw)


def test_price_fires_on_the_edge_then_not_while_it_stays_true_and_respects_the_cooldown():
    s = spec("price_below", level=D("0.40"))
    w = make(s, book("0.41", "0.45"), cooldown_s=600)
    assert "ask is at or below 0.40" in w.description and "once per 10 min" in w.description
    assert not step(w, book("0.41", "0.44", NOW + timedelta(seconds=15))).fired
    assert step(w, book("0.38", "0.40", NOW + timedelta(seconds=30))).fired
    assert not step(w, book("0.38", "0.39", NOW + timedelta(seconds=45))).fired  # still true: no repeat
    assert not step(w, book("0.41", "0.45", NOW + timedelta(seconds=60))).fired  # false
    assert not step(w, book("0.38", "0.40", NOW + timedelta(seconds=75))).fired  # true again, cooling down
    assert not step(w, book("0.41", "0.45", NOW + timedelta(seconds=700))).fired
    assert step(w, book("0.38", "0.40", NOW + timedelta(seconds=715))).fired


def test_already_true_at_creation_is_said_and_waits_for_a_new_crossing():
    s = spec("price_above", level=D("0.30"), side="bid")
    _, already, words = initial_state(s, book("0.35", "0.37"), NOW)
    assert already and "bid 0.35 >= 0.30" in words
    w = make(s, book("0.35", "0.37"))
    assert not step(w, book("0.36", "0.37", NOW + timedelta(seconds=10))).fired
    step(w, book("0.20", "0.25", NOW + timedelta(seconds=20)))
    assert step(w, book("0.31", "0.33", NOW + timedelta(seconds=30))).fired


def test_mid_and_missing_sides():
    s = spec("price_below", level=D("0.40"), side="mid")
    w = make(s, book("0.40", "0.50"))
    assert step(w, book("0.38", "0.40", NOW + timedelta(seconds=5))).fired  # mid 0.39
    w2 = make(spec("price_below", level=D("0.40")), book("0.40", "0.50"))
    ev = step(w2, book("0.30", None, NOW + timedelta(seconds=5)))
    assert not ev.fired and "no ask" in ev.text


def test_move_within_the_window_either_way():
    s = spec("move", level=D("0.05"), window_s=300)
    w = make(s, book("0.49", "0.51"))  # mid 0.50
    assert "mid moves 0.05 or more" in w.description and "5 min" in w.description
    assert not step(w, book("0.51", "0.53", NOW + timedelta(seconds=60))).fired  # 0.52
    ev = step(w, book("0.44", "0.46", NOW + timedelta(seconds=120)))  # 0.45: down 0.07 from the window's high
    assert ev.fired and "0.52 -> 0.45" in ev.text
    w2 = make(s, book("0.49", "0.51"))
    assert not step(w2, book("0.52", "0.54", NOW + timedelta(seconds=400))).fired  # the 0.50 sample is too old


def test_spread_and_depth():
    w = make(spec("spread_above", level=D("0.10")), book("0.40", "0.45"))
    assert step(w, book("0.35", "0.46", NOW + timedelta(seconds=5))).fired
    s = spec("depth_below", level=D("50"))
    w = make(s, Observation(at=NOW, best_bid=D("0.4"), best_ask=D("0.45"), ask_depth=D("100")))
    ev = step(w, Observation(at=NOW + timedelta(seconds=5), best_bid=D("0.4"), best_ask=D("0.45"), ask_depth=D("20")))
    assert ev.fired and "20 shares" in ev.text


def test_closes_within_uses_the_clock_it_is_given():
    close = NOW + timedelta(hours=5)
    s = spec("closes_within", outcome=None, level=D("2"))
    w = make(s, Observation(at=NOW, close_time=close))
    assert not step(w, Observation(at=NOW + timedelta(hours=2), close_time=close)).fired
    ev = step(w, Observation(at=NOW + timedelta(hours=3, minutes=1), close_time=close))
    assert ev.fired and "closes in 1.98 h" in ev.text


def test_change_kinds_fire_once_per_change_and_order_done_once():
    s = spec("settlement_change", outcome=None)
    w = make(s, Observation(at=NOW, settlement="open"))
    assert not step(w, Observation(at=NOW, settlement="open")).fired
    ev = step(w, Observation(at=NOW, settlement="closed, venue says proposed"))
    assert ev.fired and "open -> closed, venue says proposed" in ev.text
    assert not step(w, Observation(at=NOW, settlement="closed, venue says proposed")).fired
    o = spec("order_done", outcome=None, order_id="o-1")
    w = make(o, Observation(at=NOW, order_status="open"))
    assert not step(w, Observation(at=NOW, order_status="partially_filled", order_filled="3")).fired
    ev = step(w, Observation(at=NOW, order_status="filled", order_filled="10"))
    assert ev.fired and ev.done and "order o-1 is filled (10 filled)" in ev.text
    with pytest.raises(WatchRefused, match="already filled"):
        initial_state(o, Observation(at=NOW, order_status="filled"), NOW)


def test_an_observation_that_failed_never_fires():
    w = make(spec("price_below", level=D("0.40")), book("0.41", "0.45"))
    ev = evaluate(w, Observation(at=NOW, error="the venue did not answer", best_ask=D("0.1")), NOW)
    assert not ev.fired and ev.state == w.state
