"""The real pm-mcp process (official MCP client, stdio) with ``PM_MCP_DATABASE_URL`` set to a PostgreSQL database
(Debian's server, tests/pg_server.py; skipped without its binaries): setting the URL is all it takes to share
state between processes, and the kill -9 between approval and submission still ends in exactly one order."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest
from pg_server import PgServer, shared_server
from test_e2e_orders import _server_pid, call, origin_of, page_form, propose_args, sims  # noqa: F401 - sims: a fixture

from conftest import connect

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def pg() -> PgServer:
    server = shared_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server


@pytest.fixture
def env(pm_env, sims, pg):  # noqa: F811 - sims: the fixture imported above (pytest passes it)
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "3",
            "PM_MCP_DATABASE_URL": pg.new_database()}


def local_tables(home: str) -> set[str]:
    conn = sqlite3.connect(f"file:{Path(home) / 'pm_mcp.sqlite3'}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


async def test_two_processes_share_one_database(env, pg, tmp_path):
    a = {**env, "PM_MCP_CONFIRM": "host"}
    b = {**a, "PM_MCP_HOME": str(tmp_path / "home-b")}
    async with connect(a) as client_a, connect(b) as client_b:
        p, _ = await call(client_a, "propose_order", propose_args(size="5", limit_price="0.40"))
        c, _ = await call(client_a, "confirm_order", {"intent_id": p["intent_id"]})
        assert c["intent"]["status"] == "executed"
        got, text = await call(client_b, "get_order", {"ref": p["intent_id"]})  # the other process sees it
        assert got["intent"]["status"] == "executed" and got["orders"][0]["order_id"] == c["orders"][0]["order_id"]
        listed, _ = await call(client_b, "list_orders", {})
        assert listed["total"] == 1
    url = env["PM_MCP_DATABASE_URL"]
    assert pg.psql(url, "SELECT COUNT(*) FROM orders").strip() == "1"
    for home in (a["PM_MCP_HOME"], b["PM_MCP_HOME"]):  # the local files hold only the catalog
        tables = local_tables(home)
        assert "catalog_markets" in tables and "orders" not in tables and "journal" not in tables


async def test_kill9_between_approval_and_submission_then_restart(env, pg):
    url = env["PM_MCP_DATABASE_URL"]
    crash_env = {**env, "PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "30"}
    try:
        async with connect(crash_env) as client:
            p, _ = await call(client, "propose_order", propose_args(size="10", limit_price="0.40"))
            page_url = p["approval_url"]
            _, csrf, order_hash = await page_form(page_url)

            async def click():
                async with httpx.AsyncClient(timeout=60) as h:
                    try:
                        await h.post(page_url + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                                     headers={"Origin": origin_of(page_url)})
                    except httpx.HTTPError:
                        pass  # the server dies while answering

            task = asyncio.create_task(click())
            deadline = time.monotonic() + 20
            while pg.psql(url, "SELECT status FROM orders").strip() != "pending":
                assert time.monotonic() < deadline, "the order was never journaled"
                await asyncio.sleep(0.1)
            assert pg.psql(url, "SELECT COUNT(*) FROM paper_orders").strip() == "0"  # not sent yet
            os.kill(_server_pid(env["PM_MCP_HOME"]), signal.SIGKILL)
            await task
    except BaseException as exc:  # the client sees its server die
        if isinstance(exc, (AssertionError, KeyboardInterrupt)):
            raise
    async with connect(env) as client:
        got, text = await call(client, "get_order", {"ref": p["intent_id"]})
        assert got["intent"]["status"] == "executed", text
        [order] = got["orders"]
        assert order["status"] == "filled" and D(str(order["filled_size"])) == 10
    assert pg.psql(url, "SELECT COUNT(*) FROM paper_orders").strip() == "1"
    assert pg.psql(url, "SELECT COUNT(*) FROM orders").strip() == "1"
