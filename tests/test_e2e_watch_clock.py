"""Clock jumps do not fire watches early (real server, Polymarket simulator, the injectable wall clock
PM_MCP_TEST_CLOCK_FILE, a watch pass every second).

- a cool-down does not lapse because the wall clock jumped two hours ahead;
- closes_within does not fire because the wall clock jumped to within the hours before the close;
- after a jump back, a move window does not compare against a price older than the window (the samples taken
  before the jump would otherwise look younger than they are).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import connect
from tools.sim import start_sims
from tools.sim.control import move_book, set_fields
from tools.sim.polymarket import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"


@pytest.fixture
def sims():
    with start_sims("polymarket") as group:
        set_book(group["polymarket"], YES, bids=[("0.38", "100")], asks=[("0.40", "10")], tick_size="0.01")
        yield group


@pytest.fixture
def clock_file(tmp_path) -> Path:
    return tmp_path / "clock"


@pytest.fixture
def env(pm_env, sims, clock_file):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "2",
            "PM_MCP_WATCH_INTERVAL_S": "1", "PM_MCP_TEST_CLOCK_FILE": str(clock_file)}


async def call(client, tool: str, args: dict) -> dict:
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content


async def alerts_of(client, watch_id: str, seen: list[dict]) -> list[dict]:
    seen.extend((await call(client, "get_alerts", {"limit": 50}))["alerts"])
    return [a for a in seen if a["watch_id"] == watch_id]


async def until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.25)
    return False


async def checked_after(client, watch_id: str, t: datetime) -> bool:
    w = next(x for x in (await call(client, "list_watches", {}))["watches"] if x["id"] == watch_id)
    return bool(w["last_checked_at"]) and datetime.fromisoformat(w["last_checked_at"]) > t


async def test_a_forward_jump_does_not_lapse_the_cooldown(env, sims, clock_file):
    sim = sims["polymarket"]
    seen: list[dict] = []
    async with connect(env, mode="legacy") as client:
        w = (await call(client, "create_watch", {"kind": "price_below", "market": NEWSOM, "venue": "polymarket",
                                                 "outcome": "Yes", "level": "0.36", "cooldown_s": 3600}))["watch"]
        move_book(sim, YES, bids=[("0.33", "100")], asks=[("0.35", "10")])
        assert await until(lambda: _count(client, w["id"], seen, 1), 10)
        move_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "10")])
        await asyncio.sleep(2.5)  # the condition is false again (re-armed but for the cool-down)
        clock_file.write_text("7200")  # the wall clock jumps two hours ahead
        await asyncio.sleep(1.5)
        move_book(sim, YES, bids=[("0.33", "100")], asks=[("0.35", "10")])
        t = datetime.now(UTC) + timedelta(seconds=7200)
        assert await until(lambda: checked_after(client, w["id"], t + timedelta(seconds=2)), 10)
        assert len(await alerts_of(client, w["id"], seen)) == 1, seen  # one real hour of cool-down has not passed


async def _count(client, watch_id: str, seen: list[dict], n: int) -> bool:
    return len(await alerts_of(client, watch_id, seen)) >= n


async def test_a_forward_jump_does_not_fire_closes_within(env, sims, clock_file):
    sim = sims["polymarket"]
    close = datetime.now(UTC) + timedelta(hours=3)
    set_fields(sim, NEWSOM, {"endDate": close.strftime("%Y-%m-%dT%H:%M:%SZ")})
    seen: list[dict] = []
    async with connect(env, mode="legacy") as client:
        w = (await call(client, "create_watch", {"kind": "closes_within", "market": NEWSOM, "venue": "polymarket",
                                                 "level": "1"}))["watch"]
        await asyncio.sleep(1.5)
        clock_file.write_text(str(int(2.5 * 3600)))  # the wall clock says the market closes in half an hour
        t = datetime.now(UTC) + timedelta(hours=2.5)
        assert await until(lambda: checked_after(client, w["id"], t + timedelta(seconds=2)), 10)
        assert await alerts_of(client, w["id"], seen) == [], seen


async def test_after_a_jump_back_a_move_window_holds_no_stale_price(env, sims, clock_file):
    sim = sims["polymarket"]
    seen: list[dict] = []
    async with connect(env, mode="legacy") as client:
        w = (await call(client, "create_watch", {"kind": "move", "market": NEWSOM, "venue": "polymarket",
                                                 "outcome": "Yes", "level": "0.05", "window_s": 60,
                                                 "cooldown_s": 0}))["watch"]  # mid 0.39 now
        await asyncio.sleep(2.5)
        clock_file.write_text("-3600")  # the wall clock goes back an hour: the 0.39 samples look an hour younger
        await asyncio.sleep(1.0)
        move_book(sim, YES, bids=[("0.41", "100")], asks=[("0.43", "10")])  # mid 0.42: a 0.03 move
        await asyncio.sleep(64)  # the 0.39 samples are now older than the 60 s window
        move_book(sim, YES, bids=[("0.44", "100")], asks=[("0.46", "10")])  # mid 0.45: 0.03 within the window
        t = datetime.now(UTC) - timedelta(seconds=3600)
        assert await until(lambda: checked_after(client, w["id"], t + timedelta(seconds=2)), 10)
        assert await alerts_of(client, w["id"], seen) == [], seen  # 0.39 -> 0.45 spans more than the window
        move_book(sim, YES, bids=[("0.47", "100")], asks=[("0.49", "10")])  # mid 0.48: 0.06 from 0.42, in window
        assert await until(lambda: _count(client, w["id"], seen, 1), 10), "the watch no longer fires at all"
