"""Which clock governs what (pure parts): durations run on the watch's own steady clock, advanced by the elapsed
time the runner measures, never backwards; rows written before it existed are converted; the runner's clock for
points in time does not believe a forward jump of the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from pm_mcp.domain.watches import Observation, Watch, WatchKind, WatchSpec, describe, evaluate, initial_state

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def mid(p: str, at: datetime) -> Observation:
    q = D(p)
    return Observation(at=at, best_bid=q - D("0.01"), best_ask=q + D("0.01"))


def watch(kind: str, obs: Observation, **kw) -> Watch:
    s = WatchSpec(kind=WatchKind(kind), venue="v", market_id="m", outcome="Yes", **kw)
    st, _, _ = initial_state(s, obs, NOW)
    return Watch(id="w", spec=s, created_at=NOW, expires_at=NOW + timedelta(days=7), cooldown_s=600,
                 description=describe(s, 600, NOW + timedelta(days=7)), state=st)


def test_move_window_counts_steady_seconds_not_the_wall_clock():
    w = watch("move", mid("0.39", NOW), level=D("0.05"), window_s=60)
    # the wall clock went back an hour, but 65 steady seconds passed: 0.39 has left the window, 0.42 has not
    back = NOW - timedelta(hours=1)
    ev = evaluate(w, mid("0.42", back), back, elapsed_s=10)
    w.state = ev.state
    ev = evaluate(w, mid("0.45", back), back, elapsed_s=55)
    assert not ev.fired, ev.text  # within the last 60 s: 0.42 -> 0.45
    w.state = ev.state
    ev = evaluate(w, mid("0.48", back), back, elapsed_s=1)
    assert ev.fired and "0.42 -> 0.48" in ev.text, ev.text


def test_without_a_steady_clock_the_wall_clock_never_runs_backwards():
    w = watch("move", mid("0.39", NOW), level=D("0.05"), window_s=60)
    ev = evaluate(w, mid("0.39", NOW - timedelta(hours=1)), NOW - timedelta(hours=1))
    assert ev.state["t"] == 0.0  # a jump back adds nothing (it does not subtract either)
    w.state = ev.state
    ev = evaluate(w, mid("0.45", NOW - timedelta(minutes=59)), NOW - timedelta(minutes=59))
    assert ev.state["t"] == 60.0 and ev.fired  # 0.39 a minute ago (by the wall clock since the last check)


def test_cooldown_runs_on_elapsed_time():
    w = watch("price_below", mid("0.50", NOW), level=D("0.40"))
    ev = evaluate(w, mid("0.30", NOW), NOW, elapsed_s=1)
    assert ev.fired
    w.state, w.last_fired_at, w.fire_count = ev.state, NOW, 1
    w.state = evaluate(w, mid("0.50", NOW), NOW, elapsed_s=1).state
    later = NOW + timedelta(hours=2)  # the wall clock jumped two hours; two steady seconds passed
    assert not evaluate(w, mid("0.30", later), later, elapsed_s=1).fired
    w.state = evaluate(w, mid("0.50", later), later, elapsed_s=1).state
    assert evaluate(w, mid("0.30", later), later, elapsed_s=600).fired  # the cool-down has really passed


def test_rows_written_before_are_converted():
    w = watch("move", mid("0.39", NOW), level=D("0.05"), window_s=300)
    w.state = {"last_true": False, "samples": [[(NOW - timedelta(seconds=200)).isoformat(), "0.39"],
                                               [(NOW - timedelta(seconds=100)).isoformat(), "0.40"]]}
    w.last_fired_at = NOW - timedelta(seconds=30)
    w.cooldown_s = 0
    ev = evaluate(w, mid("0.45", NOW), NOW, elapsed_s=5)
    assert ev.fired and "0.39 -> 0.45" in ev.text, ev.text
    assert ev.state["fired_t"] == 5.0


def test_the_runner_clock_does_not_believe_a_forward_jump(monkeypatch, tmp_path):
    from pm_mcp.execution.watches import CLOCK_ENV, RunnerClock, clock

    f = tmp_path / "clock"
    f.write_text("0")
    monkeypatch.setenv(CLOCK_ENV, str(f))
    rc = RunnerClock()
    assert abs((rc.now() - clock()).total_seconds()) < 1
    f.write_text("7200")
    assert (clock() - rc.now()).total_seconds() > 7000  # the wall clock says two hours later; the runner does not
    f.write_text("-3600")
    assert abs((rc.now() - clock()).total_seconds()) < 1  # a jump back is followed (later, never earlier)
