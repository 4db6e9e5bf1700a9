"""Watches end to end: the real `pm-mcp` process (official MCP client, stdio) against the loopback Polymarket
simulator, with the watch pass at 1 s (PM_MCP_WATCH_INTERVAL_S).

- a price watch fires when the simulator's book moves and the client receives notifications/resources/updated
  for watch://<id> (legacy resources/subscribe) and a ResourceUpdated event (2026-07-28 subscriptions/listen);
  get_alerts returns it once;
- a condition already true at creation is created and said so; impossible conditions are refused with the reason;
- a venue that stops answering never fires: the watch says "not checked since ...";
- settlement_change and rules_change fire on the simulator's control endpoint; expiry via the test clock.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import anyio
import pytest
from mcp.types import ResourceUpdatedNotification

from conftest import connect
from tools.sim import start_sims
from tools.sim.control import move_book, set_rules, set_status
from tools.sim.polymarket import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"


@pytest.fixture
def sims():
    with start_sims("polymarket") as group:
        sim = group["polymarket"]
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "10"), ("0.42", "10")], tick_size="0.01")
        yield group


@pytest.fixture
def env(pm_env, sims, tmp_path):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "2",
            "PM_MCP_WATCH_INTERVAL_S": "1", "PM_MCP_TEST_CLOCK_FILE": str(tmp_path / "clock")}


async def call(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def call_error(client, tool: str, args: dict) -> str:
    r = await client.call_tool(tool, args)
    assert r.is_error, r.content[0].text
    return r.content[0].text


async def wait_for(predicate, timeout: float = 10.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await predicate()
        if got:
            return got
        await asyncio.sleep(step)
    return None


async def test_price_watch_fires_and_the_legacy_client_is_notified(env, sims):
    updates: list[str] = []

    async def on_message(message):
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    sim = sims["polymarket"]
    async with connect(env, mode="legacy", message_handler=on_message) as client:
        out, text = await call(client, "create_watch", {"kind": "price_below", "market": NEWSOM, "venue": "polymarket",
                                                        "outcome": "Yes", "level": "0.36"})
        w = out["watch"]
        assert not out["already_true"] and w["uri"] == f"watch://{w['id']}" and "ask" in w["description"]
        await client.session.subscribe_resource(w["uri"])
        await asyncio.sleep(2.5)  # a few passes: nothing fires while the ask is 0.40
        assert updates == [] and (await call(client, "get_alerts", {}))[0]["alerts"] == []
        move_book(sim, YES, bids=[("0.33", "100")], asks=[("0.35", "10")])
        t0 = time.monotonic()
        assert await wait_for(lambda: _has(updates, w["uri"]), timeout=8), "no notifications/resources/updated"
        latency = time.monotonic() - t0
        alerts, text = await call(client, "get_alerts", {})
        assert len(alerts["alerts"]) == 1 and "0.35" in alerts["alerts"][0]["text"], text
        assert (await call(client, "get_alerts", {}))[0]["alerts"] == []  # since the last read
        res = await client.read_resource(w["uri"])
        assert '"fire_count": 1' in res.contents[0].text
        listed, _ = await call(client, "list_watches", {})
        assert listed["watches"][0]["fire_count"] == 1
        assert latency < 5


async def _has(items: list, value) -> bool:
    return value in items


async def test_modern_client_gets_the_update_on_subscriptions_listen(env, sims):
    sim = sims["polymarket"]
    async with connect(env) as client:
        out, _ = await call(client, "create_watch", {"kind": "price_above", "market": NEWSOM, "venue": "polymarket",
                                                     "outcome": "Yes", "level": "0.45", "side": "bid"})
        uri = out["watch"]["uri"]
        got: list[str] = []
        async with client.listen(resource_subscriptions=[uri]) as sub:
            move_book(sim, YES, bids=[("0.46", "100")], asks=[("0.48", "10")])
            with anyio.fail_after(10):
                async for event in sub:
                    got.append(str(getattr(event, "uri", "")))
                    break
        assert got == [uri]


async def test_already_true_and_impossible_conditions(env):
    async with connect(env, mode="legacy") as client:
        out, text = await call(client, "create_watch", {"kind": "price_below", "market": NEWSOM, "venue": "polymarket",
                                                        "outcome": "Yes", "level": "0.45"})
        assert out["already_true"] and "ALREADY TRUE" in text
        for args, words in [({"level": "1.5"}, "level 1.5 is impossible"),
                            ({"level": "0"}, "level 0 is impossible"),
                            ({"expires_at": "2020-01-01T00:00:00Z"}, "in the past"),
                            ({"outcome": "Maybe"}, "no outcome"),
                            ({"window_s": 60}, "window_s applies to move only")]:
            args = {"kind": "price_below", "market": NEWSOM, "venue": "polymarket", "outcome": "Yes", "level": "0.3",
                    **args}
            msg = await call_error(client, "create_watch", args)
            assert words in msg, (args, msg)
        msg = await call_error(client, "create_watch", {"kind": "move", "market": NEWSOM, "venue": "polymarket",
                                                        "outcome": "Yes", "level": "0.05"})
        assert "window_s" in msg


async def test_a_venue_down_never_fires_and_says_not_checked_since(env, sims):
    sim = sims["polymarket"]
    async with connect(env, mode="legacy") as client:
        out, _ = await call(client, "create_watch", {"kind": "price_below", "market": NEWSOM, "venue": "polymarket",
                                                     "outcome": "Yes", "level": "0.36"})
        wid = out["watch"]["id"]
        await asyncio.sleep(1.5)
        sim.inject("status", status=503, times=None)
        move_book(sim, YES, bids=[("0.30", "100")], asks=[("0.31", "10")])  # true, but nobody can see it

        async def noted():
            listed, _ = await call(client, "list_watches", {})
            note = listed["watches"][0]["note"] or ""
            return note if "not checked since" in note else None

        note = await wait_for(noted, timeout=15)
        assert note and "did not answer" in note, note
        await asyncio.sleep(2)
        assert (await call(client, "get_alerts", {}))[0]["alerts"] == []
        sim.clear_faults()

        async def fired():
            return (await call(client, "get_alerts", {}))[0]["alerts"]

        alerts = await wait_for(fired, timeout=10)
        assert alerts and alerts[0]["watch_id"] == wid


async def test_settlement_rules_and_expiry(env, sims, tmp_path):
    sim = sims["polymarket"]
    async with connect(env, mode="legacy") as client:
        s, _ = await call(client, "create_watch", {"kind": "settlement_change", "market": NEWSOM, "venue": "polymarket"})
        r, _ = await call(client, "create_watch", {"kind": "rules_change", "market": NEWSOM, "venue": "polymarket"})
        e, _ = await call(client, "create_watch", {"kind": "spread_above", "market": NEWSOM, "venue": "polymarket",
                                                   "outcome": "Yes", "level": "0.5",
                                                   "expires_at": _iso_in(3600)})
        set_status(sim, NEWSOM, "proposed")
        set_rules(sim, NEWSOM, "This market resolves Yes if a new rule says so.")

        async def both():
            alerts = (await call(client, "get_alerts", {"limit": 10}))[0]["alerts"]
            seen.extend(alerts)
            ids = {a["watch_id"] for a in seen}
            return ids >= {s["watch"]["id"], r["watch"]["id"]}

        seen: list[dict] = []
        assert await wait_for(both, timeout=12), seen
        settle = next(a for a in seen if a["watch_id"] == s["watch"]["id"])
        assert "proposed" in settle["text"]
        Path(env["PM_MCP_TEST_CLOCK_FILE"]).write_text("7200")  # two hours later: the spread watch has expired

        async def expired():
            listed, _ = await call(client, "list_watches", {"include_ended": True})
            st = {w["id"]: w["status"] for w in listed["watches"]}
            return st.get(e["watch"]["id"]) == "expired"

        assert await wait_for(expired, timeout=8)
        d, text = await call(client, "delete_watch", {"watch_id": s["watch"]["id"]})
        assert d["watches"][0]["status"] == "deleted"
        listed, _ = await call(client, "list_watches", {})
        assert [w["id"] for w in listed["watches"]] == [r["watch"]["id"]]


def _iso_in(seconds: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
