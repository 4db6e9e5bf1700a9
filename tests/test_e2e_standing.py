"""Standing orders end to end: the real `pm-mcp` (and `pm-mcp watch`) over stdio against the Polymarket
simulator, paper mode, watch interval 1 s, books moved with tools/sim/control.py.

- a standing buy executes once, within its limit, when the ask falls to its level; one that expired first never
  does; the dialog and the approval page state the condition in words;
- a trigger after the market's rule text changed is refused (nothing sent, the order ends FAILED);
- a stop-loss sells a paper position; cancel_order stops an armed one;
- the assistant cannot confirm one where the client cannot ask the person (page mode): confirm_order arms nothing;
- a server and `pm-mcp watch` on one data directory: the watcher (lease holder) triggers, kill -9 between the
  journaled order and its sending, the server takes over and sends it once: exactly one order;
- bad input names the argument (valid_until beyond 30 days, a level outside (0, 1), valid_until alone).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest
from mcp.types import ElicitResult

from conftest import REPO, connect, pm_mcp_command
from tools.sim import start_sims
from tools.sim.control import move_book, set_rules
from tools.sim.polymarket import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"


@pytest.fixture
def sims():
    with start_sims("polymarket") as group:
        sim = group["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "100")], tick_size="0.01")
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "3",
            "PM_MCP_WATCH_INTERVAL_S": "1", "PM_MCP_SYNC_INTERVAL_S": "1"}


def db(env: dict, sql: str) -> list[tuple]:
    path = Path(env["PM_MCP_HOME"]) / "pm_mcp.sqlite3"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def wait_for(predicate, timeout: float = 10.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        await asyncio.sleep(step)
    return None


def until(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def standing(level: str, valid_s: float, *, side: str = "buy", limit: str = "0.36", size: str = "10",
             kind: str = "price_below", **kw) -> dict:
    return {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": side, "limit_price": limit,
            "size": size, "trigger": {"kind": kind, "level": level, **kw}, "valid_until": until(valid_s)}


async def call(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


def person(asked: list[str]):
    async def answer(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"approve": True})
    return answer


async def intent_status(client, intent_id: str) -> str:
    got, _ = await call(client, "get_order", {"ref": intent_id})
    return got["intent"]["status"]


async def test_standing_buy_executes_once_within_bounds_and_not_after_expiry(env, sims):
    sim = sims["polymarket"]
    asked: list[str] = []
    async with connect(env, elicitation_callback=person(asked)) as client:
        a, text = await call(client, "propose_order", standing("0.36", 600))
        assert a["status"] == "proposed" and "STANDING ORDER" in text and "YES ask is at or below $0.36" in text
        b, _ = await call(client, "propose_order", standing("0.30", 4))
        done, text = await call(client, "confirm_order", {"intent_id": a["intent_id"]})
        assert done["intent"]["status"] == "armed" and done["orders"] == [], text
        assert "Sent only IF the YES ask is at or below $0.36" in asked[0] and "at most once" in asked[0]
        await call(client, "confirm_order", {"intent_id": b["intent_id"]})
        await asyncio.sleep(2.5)  # the ask is 0.40: nothing is sent
        assert db(env, "SELECT COUNT(*) FROM orders") == [(0,)]
        await asyncio.sleep(3)  # b's validity has passed
        moved = time.monotonic()
        move_book(sim, YES, bids=[("0.28", "100")], asks=[("0.29", "100")])  # true for both
        assert await wait_for(lambda: db(env, "SELECT status FROM orders") == [("filled",)], timeout=10)
        print(f"trigger-to-filled {time.monotonic() - moved:.2f} s")
        got, text = await call(client, "get_order", {"ref": a["intent_id"]})
        assert got["intent"]["status"] == "executed", text
        [order] = got["orders"]
        assert D(str(order["filled_size"])) == 10 and D(str(order["avg_price"])) <= D("0.36")
        assert order["intent_id"] == a["intent_id"] + "-1"
        assert await intent_status(client, b["intent_id"]) == "expired"
        # another crossing: a standing order confirmed once executes once
        move_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "100")])
        await asyncio.sleep(2)
        move_book(sim, YES, bids=[("0.28", "100")], asks=[("0.29", "100")])
        await asyncio.sleep(2.5)
        assert db(env, "SELECT COUNT(*) FROM orders") == [(1,)]
        assert db(env, "SELECT COUNT(*) FROM paper_orders") == [(1,)]
        assert db(env, f"SELECT COUNT(*) FROM journal WHERE kind = 'standing.triggered' AND ref = '{a['intent_id']}'") \
            == [(1,)]


async def test_trigger_after_the_rules_changed_is_refused(env, sims):
    sim = sims["polymarket"]
    async with connect(env, elicitation_callback=person([])) as client:
        p, _ = await call(client, "propose_order", standing("0.36", 600))
        await call(client, "confirm_order", {"intent_id": p["intent_id"]})
        set_rules(sim, NEWSOM, "This market now resolves by a different rule entirely.")
        move_book(sim, YES, bids=[("0.33", "100")], asks=[("0.35", "100")])
        assert await wait_for(lambda: intent_status(client, p["intent_id"]), timeout=1)
        assert await wait_for(lambda: db(env, f"SELECT status FROM intents WHERE id = '{p['intent_id']}'")
                              == [("failed",)], timeout=10)
        got, text = await call(client, "get_order", {"ref": p["intent_id"]})
        assert "rule text changed" in got["intent"]["reason"], text
        assert db(env, "SELECT COUNT(*) FROM orders") == [(0,)]
        assert db(env, "SELECT COUNT(*) FROM paper_orders") == [(0,)]


async def test_stop_loss_sells_a_paper_position_and_cancel_stops_one(env, sims):
    sim = sims["polymarket"]
    async with connect(env, elicitation_callback=person([])) as client:
        buy, _ = await call(client, "propose_order", {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes",
                                                      "side": "buy", "limit_price": "0.40", "size": "10"})
        await call(client, "confirm_order", {"intent_id": buy["intent_id"]})
        pf, _ = await call(client, "get_portfolio", {})
        assert D(str(pf["positions"][0]["size"])) == 10
        # a take-profit that is cancelled before it triggers
        tp, _ = await call(client, "propose_order", standing("0.45", 600, side="sell", limit="0.44",
                                                             kind="price_above"))
        await call(client, "confirm_order", {"intent_id": tp["intent_id"]})
        cancelled, _ = await call(client, "cancel_order", {"ref": tp["intent_id"]})
        assert cancelled["intent"]["status"] == "cancelled"
        stop, text = await call(client, "propose_order", standing("0.33", 600, side="sell", limit="0.30"))
        assert "YES bid is at or below $0.33" in text  # a sell watches the bid by default
        await call(client, "confirm_order", {"intent_id": stop["intent_id"]})
        move_book(sim, YES, bids=[("0.47", "100")], asks=[("0.48", "100")])  # the cancelled take-profit stays silent
        await asyncio.sleep(2.5)
        move_book(sim, YES, bids=[("0.32", "100")], asks=[("0.34", "100")])
        assert await wait_for(lambda: db(env, f"SELECT status FROM intents WHERE id = '{stop['intent_id']}'")
                              == [("executed",)], timeout=10)
        got, _ = await call(client, "get_order", {"ref": stop["intent_id"]})
        [order] = got["orders"]
        assert order["side"] == "sell" and order["status"] == "filled" and D(str(order["avg_price"])) >= D("0.30")
        pf, _ = await call(client, "get_portfolio", {})
        assert all(D(str(p["size"])) == 0 for p in pf["positions"]), pf["positions"]
        assert db(env, "SELECT COUNT(*) FROM orders WHERE side = 'sell'") == [(1,)]


async def test_the_assistant_cannot_confirm_a_standing_order(env, sims):
    async with connect(env) as client:  # no dialogs: the approval page is the only way
        p, text = await call(client, "propose_order", standing("0.36", 600))
        assert p["confirm_channel"] == "page" and "You cannot approve it" in text
        r, text = await call(client, "confirm_order", {"intent_id": p["intent_id"]})
        assert "Not placed" in text
        r = await client.call_tool("confirm_order", {"intent_id": p["intent_id"], "approve": True})
        assert r.is_error or "Not placed" in r.content[0].text
        assert await intent_status(client, p["intent_id"]) == "proposed"
        async with httpx.AsyncClient() as h:
            page = (await h.get(p["approval_url"])).text
        assert "STANDING ORDER: NOT sent now. Sent only IF the YES ask is at or below $0.36" in page
        assert "standing order" in page and "approve by" in page
        move_book(sims["polymarket"], YES, bids=[("0.33", "100")], asks=[("0.35", "100")])
        await asyncio.sleep(2.5)
        assert db(env, "SELECT COUNT(*) FROM orders") == [(0,)]
        assert db(env, "SELECT COUNT(*) FROM watches") == [(0,)]
        # the person's click on the page arms it (and it triggers: the ask is already below)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        order_hash = re.search(r'name="order_hash" value="([^"]+)"', page).group(1)
        async with httpx.AsyncClient() as h:
            r = await h.post(p["approval_url"] + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                             headers={"Origin": p["approval_url"].split("/i/")[0]})
        assert r.status_code == 303
        assert await wait_for(lambda: db(env, "SELECT status FROM orders") == [("filled",)], timeout=10)


async def test_bad_standing_input_names_the_argument(env):
    async with connect(env, elicitation_callback=person([])) as client:
        for args, words in (
            (standing("0.36", 31 * 86400), "valid_until"),
            (standing("1.5", 600), "trigger.level"),
            (standing("0.36", -60), "in the past"),
            ({**standing("0.36", 600), "repeat": 50}, "repeat"),
            ({k: v for k, v in standing("0.36", 600).items() if k != "trigger"}, "give trigger too"),
        ):
            r = await client.call_tool("propose_order", args)
            assert r.is_error and words in r.content[0].text, r.content[0].text
        # the hash covers the trigger: the same order with another level is another intent and another hash
        a, _ = await call(client, "propose_order", standing("0.36", 600))
        b, _ = await call(client, "propose_order", standing("0.35", 600))
        c, _ = await call(client, "propose_order", {k: v for k, v in standing("0.36", 600).items()
                                                    if k not in ("trigger", "valid_until")})
        assert len({a["order_hash"], b["order_hash"], c["order_hash"]}) == 3


def start_watcher(env: dict, log_path: Path) -> subprocess.Popen:
    fh = open(log_path, "wb")  # noqa: SIM115 - closed by the caller's process exit
    return subprocess.Popen([*pm_mcp_command(), "watch"], env=env, cwd=str(REPO), stdout=fh, stderr=fh)


async def test_server_and_watcher_never_double_execute_even_after_kill9(env, sims, tmp_path):
    sim = sims["polymarket"]
    log_path = tmp_path / "watcher.log"
    watcher = start_watcher({**env, "PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "30"}, log_path)
    try:
        assert await wait_for(lambda: b"now runs the watches" in log_path.read_bytes(), timeout=20), \
            log_path.read_text(errors="replace")[-2000:]
        async with connect(env, elicitation_callback=person([])) as client:
            p, _ = await call(client, "propose_order", standing("0.36", 600))
            await call(client, "confirm_order", {"intent_id": p["intent_id"]})
            await asyncio.sleep(1.5)
            move_book(sim, YES, bids=[("0.33", "100")], asks=[("0.35", "100")])
            # the watcher (the lease holder) triggers and journals the order, then pauses before sending it
            assert await wait_for(lambda: db(env, "SELECT status FROM orders") == [("pending",)], timeout=10)
            await asyncio.sleep(2.5)  # the server's own sync and watch passes do not send it
            assert db(env, "SELECT COUNT(*) FROM paper_orders") == [(0,)]
            os.kill(watcher.pid, signal.SIGKILL)
            watcher.wait(timeout=10)
            # the server takes the lease over, resumes the journaled order and sends it once
            assert await wait_for(lambda: db(env, "SELECT status FROM orders") == [("filled",)], timeout=15), \
                db(env, "SELECT status, data FROM orders")
            await asyncio.sleep(2.5)
            assert db(env, "SELECT COUNT(*) FROM orders") == [(1,)]
            assert db(env, "SELECT COUNT(*) FROM paper_orders") == [(1,)]
            assert await intent_status(client, p["intent_id"]) == "executed"
            assert db(env, "SELECT COUNT(*) FROM journal WHERE kind = 'standing.triggered'") == [(1,)]
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)
