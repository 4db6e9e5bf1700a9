"""The mode is part of what the person approved: a PAPER approval never becomes a LIVE order.

Attacks from the safety issue, each through the real `pm-mcp` process and the official MCP client, on one
PM_MCP_HOME shared by a paper server and a live server, against the strict Polymarket simulator (which
verifies signatures and records every order it receives):

(a) propose in paper, restart live within the TTL, confirm_order (host mode, and an accepting dialog);
(b) approve on the page, kill -9 after the order is journaled and before it is sent, restart live: start-up
    reconciliation sends nothing (the paper order is left for a paper server), a later paper restart
    finishes it in paper;
(c) with a fixed approval port, POST the old paper page's Approve to the live server;
and the same-mode rule: an approved order that never left is not sent after a restart once the approval
has expired (plus the stated grace).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from mcp.types import ElicitResult

from conftest import REPO, pm_mcp_command
from tools.sim import start_sim
from tools.sim.polymarket_trading import orders, register_wallet

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PK = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # Hardhat #2 (public test key)
EOA = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
SAFE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
NEWSOM = "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568"  # neg-risk, tick 0.001
ORDER = {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.234",
         "size": "10"}


@asynccontextmanager
async def server(env: dict[str, str], tmp: Path, tag: str, **client_kwargs):
    """pm-mcp over stdio, stderr captured to a file and the pid known (for kill -9)."""
    from mcp import Client, StdioServerParameters

    log, pidfile = tmp / f"stderr-{tag}.log", tmp / f"pid-{tag}"
    cmd = " ".join(shlex.quote(c) for c in pm_mcp_command())
    script = f"echo $$ > {shlex.quote(str(pidfile))}; exec {cmd} 2>>{shlex.quote(str(log))}"
    params = StdioServerParameters(command="/bin/sh", args=["-c", script], env=env, cwd=str(REPO))
    async with Client(params, **client_kwargs) as client:
        yield client, int(pidfile.read_text().strip())


async def call(client, tool, args=None):
    r = await client.call_tool(tool, args or {})
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def call_error(client, tool, args) -> str:
    r = await client.call_tool(tool, args)
    assert r.is_error, f"{tool} should have been refused: {r.content[0].text}"
    return r.content[0].text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def envs(pm_env, tmp_path):
    """(sim, paper env, live env): one data directory, one venue, two modes."""
    with start_sim("polymarket") as sim:
        register_wallet(sim, EOA, funder=SAFE, signature_type=2, balance="500")
        key_file = tmp_path / "polymarket.key"
        key_file.write_text(PK + "\n")
        key_file.chmod(0o600)
        base = {**pm_env, **sim.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "2",
                "PM_MCP_LOG_LEVEL": "INFO"}
        paper = {**base, "PM_MCP_MODE": "paper"}
        live = {**base, "PM_MCP_MODE": "live", "PM_MCP_POLYMARKET_PRIVATE_KEY_FILE": str(key_file),
                "PM_MCP_POLYMARKET_SIGNATURE_TYPE": "2", "PM_MCP_POLYMARKET_FUNDER": SAFE}
        yield sim, paper, live


def nothing_reached_the_venue(sim) -> None:
    assert orders(sim) == []
    assert sim.count(path="/clob/order$", method="POST") == 0


def db_rows(env: dict, sql: str) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(f"file:{Path(env['PM_MCP_HOME']) / 'pm_mcp.sqlite3'}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_paper_proposal_confirmed_in_a_live_restart_is_refused_host_mode(envs, tmp_path):
    sim, paper, live = envs
    async with server({**paper, "PM_MCP_CONFIRM": "host"}, tmp_path, "paper") as (client, _):
        prop, text = await call(client, "propose_order", ORDER)
        assert prop["mode"] == "paper" and text.startswith("[PAPER]")
    async with server({**live, "PM_MCP_CONFIRM": "host"}, tmp_path, "live") as (client, _):
        # host mode: confirm_order would execute at once if the intent were live
        msg = await call_error(client, "confirm_order", {"intent_id": prop["intent_id"]})
        assert "PAPER" in msg and "LIVE" in msg, msg
        got, text = await call(client, "get_order", {"ref": prop["intent_id"]})
        assert got["intent"]["status"] == "rejected" and "PAPER" in (got["intent"]["reason"] or ""), text
        assert got["orders"] == []
        listed, _ = await call(client, "list_orders", {})
        assert listed["total"] == 0
        snap, text = await call(client, "get_portfolio")
        assert any(prop["intent_id"] in w and "cancelled" in w for w in snap["warnings"]), text
    nothing_reached_the_venue(sim)


async def test_paper_proposal_accepted_in_a_live_dialog_is_refused(envs, tmp_path):
    sim, paper, live = envs
    asked: list[str] = []

    async def person(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"approve": True})

    async with server({**paper, "PM_MCP_CONFIRM": "elicitation"}, tmp_path, "paper",
                      elicitation_callback=person) as (client, _):
        prop, _ = await call(client, "propose_order", ORDER)
    async with server({**live, "PM_MCP_CONFIRM": "elicitation"}, tmp_path, "live",
                      elicitation_callback=person) as (client, _):
        r = await client.call_tool("confirm_order", {"intent_id": prop["intent_id"]})
        text = r.content[0].text
        # refused (an error), or nothing to confirm because start-up already cancelled it: both name the modes
        assert "PAPER" in text and "LIVE" in text, text
        assert asked == []  # the person is never shown a dialog for an order of the other mode
        got, _ = await call(client, "get_order", {"ref": prop["intent_id"]})
        assert got["intent"]["status"] == "rejected" and got["orders"] == []
    nothing_reached_the_venue(sim)


async def _approve_on_page_and_kill(env: dict, tmp_path: Path, tag: str) -> str:
    """Propose, click Approve on the page, kill -9 once the order is journaled and before it is sent."""
    paused = {**env, "PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "60"}
    async with server(paused, tmp_path, tag) as (client, pid):
        prop, _ = await call(client, "propose_order", ORDER)
        url = prop["approval_url"]
        assert url, prop
        async with httpx.AsyncClient(timeout=5) as h:
            page = (await h.get(url)).text
        import re

        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        order_hash = re.search(r'name="order_hash" value="([^"]+)"', page).group(1)

        async def click():
            async with httpx.AsyncClient(timeout=70) as h:
                try:
                    await h.post(url + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                                 headers={"Origin": url.split("/i/")[0]})
                except httpx.HTTPError:
                    pass  # the server dies while answering

        async with anyio.create_task_group() as tg:
            tg.start_soon(click)
            deadline = time.monotonic() + 20
            while db_rows(env, "SELECT status FROM orders") != [("pending",)]:
                assert time.monotonic() < deadline, "the order was never journaled"
                await anyio.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
            tg.cancel_scope.cancel()
    return prop["intent_id"]


async def test_page_approval_killed_before_send_then_live_restart_sends_nothing(envs, tmp_path):
    sim, paper, live = envs
    intent_id = await _approve_on_page_and_kill({**paper, "PM_MCP_CONFIRM": "page"}, tmp_path, "paper")
    assert db_rows(paper, "SELECT mode, status FROM orders") == [("paper", "pending")]
    async with server({**live, "PM_MCP_CONFIRM": "host"}, tmp_path, "live") as (client, _):
        snap, text = await call(client, "get_portfolio")  # waits for start-up reconciliation
        assert any("paper" in w and "sends" in w for w in snap["warnings"]), text
        got, text = await call(client, "get_order", {"ref": intent_id})
        assert [o["status"] for o in got["orders"]] == ["pending"] and got["orders"][0]["mode"] == "paper", text
        listed, _ = await call(client, "list_orders", {})
        assert listed["total"] == 0  # the live journal holds no order
        # the live server cannot be talked into it either
        await call_error(client, "confirm_order", {"intent_id": intent_id})
    nothing_reached_the_venue(sim)
    assert db_rows(paper, "SELECT mode, status FROM orders") == [("paper", "pending")]
    # back in paper mode, within the approval's lifetime: the paper order is finished, in paper
    async with server({**paper, "PM_MCP_CONFIRM": "page"}, tmp_path, "paper2") as (client, _):
        deadline = time.monotonic() + 20
        while True:
            got, text = await call(client, "get_order", {"ref": intent_id})
            if got["orders"] and got["orders"][0]["status"] == "filled":
                break
            assert time.monotonic() < deadline, text
            await anyio.sleep(0.3)
        assert got["orders"][0]["mode"] == "paper"
    nothing_reached_the_venue(sim)


async def test_old_paper_page_approve_posted_to_a_live_server_is_refused(envs, tmp_path):
    sim, paper, live = envs
    port = str(free_port())
    async with server({**paper, "PM_MCP_CONFIRM": "page", "PM_MCP_APPROVAL_PORT": port}, tmp_path, "paper") \
            as (client, _):
        prop, _ = await call(client, "propose_order", ORDER)
        url = prop["approval_url"]
        async with httpx.AsyncClient(timeout=5) as h:
            page = (await h.get(url)).text
    import re

    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    order_hash = re.search(r'name="order_hash" value="([^"]+)"', page).group(1)
    async with server({**live, "PM_MCP_CONFIRM": "auto", "PM_MCP_APPROVAL_PORT": port}, tmp_path, "live") \
            as (client, _):
        await call(client, "get_portfolio")  # start-up done (the approval page listens again on the old port)
        async with httpx.AsyncClient(timeout=10) as h:
            r = await h.post(url + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                             headers={"Origin": url.split("/i/")[0]})
        assert r.status_code in (403, 404, 409), r.status_code
        got, text = await call(client, "get_order", {"ref": prop["intent_id"]})
        assert got["intent"]["status"] == "rejected" and got["orders"] == [], text
    nothing_reached_the_venue(sim)


async def test_approved_order_not_sent_after_a_restart_once_the_approval_expired(envs, tmp_path):
    sim, _paper, live = envs
    env = {**live, "PM_MCP_CONFIRM": "host", "PM_MCP_INTENT_TTL_S": "3", "PM_MCP_TEST_RESEND_GRACE_S": "1"}
    paused = {**env, "PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "60"}
    async with server(paused, tmp_path, "k") as (client, pid):
        prop, _ = await call(client, "propose_order", ORDER)

        async def confirm():
            try:
                await client.call_tool("confirm_order", {"intent_id": prop["intent_id"]})
            except Exception:  # noqa: BLE001 - the server dies under us
                pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(confirm)
            deadline = time.monotonic() + 20
            while db_rows(env, "SELECT status FROM orders") != [("pending",)]:
                assert time.monotonic() < deadline, "the order was never journaled"
                await anyio.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
            tg.cancel_scope.cancel()
    expires = json.loads(db_rows(env, "SELECT data FROM intents")[0][0])["intent"]["expires_at"]
    from datetime import UTC, datetime

    wait = (datetime.fromisoformat(expires) - datetime.now(UTC)).total_seconds() + 1.5
    await anyio.sleep(max(0.0, wait))
    async with server(env, tmp_path, "restart") as (client, _):
        snap, text = await call(client, "get_portfolio")
        got, text = await call(client, "get_order", {"ref": prop["intent_id"]})
        assert got["intent"]["status"] == "failed", text
        [order] = got["orders"]
        assert order["status"] == "rejected" and "not sent after the restart" in order["message"], text
        assert "expired" in order["message"]
        assert any("not sent" in w for w in snap["warnings"]), snap["warnings"]
    nothing_reached_the_venue(sim)
