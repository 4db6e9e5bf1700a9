"""The arbitrage watch kind (real server, Kalshi simulator, a pass every second; the scan runs every 4th pass):
it fires when find_arbitrage's scan lists an opportunity the previous check did not see. Planted: the recorded
mutually exclusive next-Pope event gets two YES bids summing above 1 (member_vs_event); its look-alike, the
same markets and the same lifted books in an event Kalshi does not declare exclusive, never fires."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from conftest import connect
from tools.sim import start_sims
from tools.sim.planted_arbitrage import (
    LOOKALIKE_EVENT,
    POPE_EVENT,
    POPE_HIGH,
    _quoted_book,
    plant_member_lookalike,
    plant_member_vs_event,
)

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def sims():
    with start_sims("kalshi") as group:
        sim = group["kalshi"]
        plant_member_lookalike(sim)
        for t in sim.state["by_event"][LOOKALIKE_EVENT]:
            _quoted_book(sim, t)  # the look-alike starts from the recorded quotes, as the real event does
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "kalshi", "PM_MCP_HTTP_TIMEOUT_S": "3",
            "PM_MCP_WATCH_INTERVAL_S": "1"}


async def call(client, tool: str, args: dict) -> dict:
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content


async def test_a_planted_opportunity_fires_the_watch_and_a_lookalike_does_not(env, sims):
    sim = sims["kalshi"]
    async with connect(env, mode="legacy") as client:
        real = await call(client, "create_watch", {"kind": "arbitrage", "market": POPE_EVENT, "cooldown_s": 0})
        look = await call(client, "create_watch", {"kind": "arbitrage", "market": LOOKALIKE_EVENT, "cooldown_s": 0})
        assert "arbitrage" in real["watch"]["description"], real
        await asyncio.sleep(2)
        planted_at = datetime.now(UTC)
        plant_member_vs_event(sim)
        for ticker, bid in POPE_HIGH.items():
            _quoted_book(sim, ticker.replace(POPE_EVENT, LOOKALIKE_EVENT), bid)
        seen: list[dict] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(a["watch_id"] == real["watch"]["id"] for a in seen):
            seen += (await call(client, "get_alerts", {"limit": 50}))["alerts"]
            await asyncio.sleep(0.5)
        fired = [a for a in seen if a["watch_id"] == real["watch"]["id"]]
        assert fired and "member_vs_event" in fired[0]["text"], seen
        assert "NOT risk-free" not in fired[0]["text"] and "RISK-FREE" in fired[0]["text"], fired[0]["text"]

        async def look_checked_twice_since() -> bool:
            w = next(x for x in (await call(client, "list_watches", {}))["watches"] if x["id"] == look["watch"]["id"])
            return bool(w["last_checked_at"]) and (datetime.fromisoformat(w["last_checked_at"]) - planted_at
                                                   ).total_seconds() > 5

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not await look_checked_twice_since():
            await asyncio.sleep(0.5)
        assert await look_checked_twice_since()
        seen += (await call(client, "get_alerts", {"limit": 50}))["alerts"]
    assert not [a for a in seen if a["watch_id"] == look["watch"]["id"]], seen


async def test_arbitrage_needs_a_query_or_a_market(env):
    async with connect(env, mode="legacy") as client:
        r = await client.call_tool("create_watch", {"kind": "arbitrage"})
        assert r.is_error and "query or market is missing" in r.content[0].text
        r = await client.call_tool("create_watch", {"kind": "price_below", "market": POPE_EVENT + "-PPAR",
                                                    "outcome": "Yes", "level": "0.2", "query": "pope"})
        assert r.is_error and "query applies to arbitrage only" in r.content[0].text
