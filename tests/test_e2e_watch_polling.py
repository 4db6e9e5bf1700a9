"""Load on the venues: one read per book per pass however many watches point at it, and a venue answering
429 is left alone for a growing back-off that the watch's status says (real server, Polymarket simulator)."""

from __future__ import annotations

import asyncio
import time

import pytest

from conftest import connect
from tools.sim import start_sims
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
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "2",
            "PM_MCP_WATCH_INTERVAL_S": "1"}


async def create(client, **args) -> dict:
    r = await client.call_tool("create_watch", {"market": NEWSOM, "venue": "polymarket", **args})
    assert not r.is_error, r.content[0].text
    return r.structured_content["watch"]


async def test_one_book_read_per_pass_however_many_watches(env, sims):
    sim = sims["polymarket"]
    async with connect(env, mode="legacy") as client:
        for args in ({"kind": "price_below", "level": "0.2"}, {"kind": "price_above", "level": "0.9"},
                     {"kind": "spread_above", "level": "0.5"}, {"kind": "depth_below", "level": "1"},
                     {"kind": "move", "level": "0.2", "window_s": 600}):
            await create(client, outcome="Yes", **args)
        await asyncio.sleep(1.5)
        sim.reset_log()
        await asyncio.sleep(5)
        books = sim.count(path=r"^/clob/books?$")
        markets = sim.count(path=r"^/gamma/markets/")
    assert 3 <= books <= 7, books  # ~5 passes, one (batched) read each (five watches would be 25)
    assert markets <= 1, markets  # book-only watches re-read their market at most once a minute


async def test_429_backs_off_and_says_so(env, sims):
    sim = sims["polymarket"]
    async with connect(env, mode="legacy") as client:
        w = await create(client, kind="price_below", outcome="Yes", level="0.2")
        await asyncio.sleep(1.5)
        sim.inject("status", status=429, times=None, path=r"^/clob/books?$")

        async def note() -> str:
            r = await client.call_tool("list_watches", {})
            return r.structured_content["watches"][0]["note"] or ""

        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline and "rate-limiting" not in text:
            text = await note()
            await asyncio.sleep(0.3)
        assert "rate-limiting us (429); backing off until" in text and "not checked since" in text, text
        sim.reset_log()
        await asyncio.sleep(4)
        during = sim.count(path=r"^/clob/books?$")
        sim.clear_faults()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and await note():
            await asyncio.sleep(0.5)
        assert await note() == "", "the note stays after the venue answers again"
        r = await client.call_tool("list_watches", {})
        assert r.structured_content["watches"][0]["id"] == w["id"]
    assert during <= 8, during  # backing off: far fewer than the HTTP retries of a read every second
