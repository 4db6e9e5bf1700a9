"""Exactly once across replicas, end to end: real ``pm-mcp serve --http`` processes sharing one PostgreSQL database
(Debian's server, tests/pg_server.py; skipped without its binaries), each with its own data directory, reached by the
official MCP client over Streamable HTTP; the Polymarket simulator (EIP-712 + HMAC verified, live mode) counts what
reaches the venue. Everything is on 127.0.0.1.

- two replicas confirm one intent at the same instant: one order at the venue;
- proposed on one replica, approved on the other's approval page (paper): one order;
- the replica that is submitting is killed (-9) between journaling and sending: the other replica takes its claim
  over, asks the venue, sends once; the intent ends executed;
- killed while the venue holds the request: the other replica finds the order at the venue and never resends;
- a replica that stalls past its submit claim does not send after the other replica took the order over;
- the same race on one SQLite file (two processes, one data directory).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pg_server import PgServer, shared_server
from test_e2e_live import EOA, NEWSOM, PK, SAFE
from test_e2e_orders import db_rows, page_form

from conftest import REPO, connect, pm_mcp_command
from tools.sim import start_sim
from tools.sim.polymarket_trading import orders, register_wallet
from tools.sim.trading_faults import inject_order_fault

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

TOKEN = "replica-test-token-" + "r" * 32
ORDER = {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.234",
         "size": "10"}


@pytest.fixture
def pg() -> PgServer:
    server = shared_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server


def live_env(pm_env: dict[str, str], sim, tmp_path: Path) -> dict[str, str]:
    """Live mode against the simulator with a funded wallet; host confirmation."""
    register_wallet(sim, EOA, funder=SAFE, signature_type=2, balance="500")
    key_file = tmp_path / "polymarket.key"
    key_file.write_text(PK + "\n")
    key_file.chmod(0o600)
    return {**pm_env, **sim.env(), "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "host", "PM_MCP_VENUES": "polymarket",
            "PM_MCP_POLYMARKET_PRIVATE_KEY_FILE": str(key_file), "PM_MCP_POLYMARKET_SIGNATURE_TYPE": "2",
            "PM_MCP_POLYMARKET_FUNDER": SAFE, "PM_MCP_HTTP_TIMEOUT_S": "2"}


@pytest.fixture
def live(pm_env, tmp_path, pg):
    """The simulator, and the environment every replica shares (live mode, one PostgreSQL database)."""
    with start_sim("polymarket") as sim:
        yield sim, {**live_env(pm_env, sim, tmp_path), "PM_MCP_HTTP_TOKEN": TOKEN, "PM_MCP_SYNC_INTERVAL_S": "1",
                    "PM_MCP_DATABASE_URL": pg.new_database()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    """One ``pm-mcp serve --http`` process with its own data directory and stderr log."""

    def __init__(self, env: dict[str, str], tmp: Path, name: str, **extra: str) -> None:
        self.name, self.port = name, _free_port()
        self.log = tmp / f"stderr-{name}.log"
        self.env = {**env, "PM_MCP_HOME": str(tmp / f"home-{name}"), **extra}
        fh = self.log.open("ab")
        self.proc = subprocess.Popen([*pm_mcp_command(), "serve", "--http", "--port", str(self.port)], env=self.env,
                                     cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=fh, stdin=subprocess.DEVNULL)
        fh.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def wait_listening(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"{self.name} exited early: {self.log.read_text()[-2000:]}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"{self.name} never listened")

    def logged(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@asynccontextmanager
async def replicas(env: dict[str, str], tmp: Path, *extras: dict[str, str]):
    started = [Replica(env, tmp, chr(ord("a") + i), **extra) for i, extra in enumerate(extras)]
    try:
        for r in started:
            r.wait_listening()
        yield started
    finally:
        for r in started:
            r.stop()


@asynccontextmanager
async def client_of(replica: Replica):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http:
        async with Client(streamable_http_client(replica.url, http_client=http)) as client:
            yield client


async def call(client, tool: str, args: dict | None = None):
    r = await client.call_tool(tool, args or {})
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def until_filled(client, intent_id: str, timeout: float = 45) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        got, text = await call(client, "get_order", {"ref": intent_id})
        if got["intent"]["status"] == "executed" and got["orders"] and got["orders"][0]["status"] == "filled":
            return got
        assert time.monotonic() < deadline, text
        await asyncio.sleep(0.3)


def one_order_at_the_venue(sim, pg: PgServer, url: str) -> None:
    assert len(orders(sim)) == 1, orders(sim)
    assert pg.psql(url, "SELECT COUNT(*) FROM orders").strip() == "1"


async def test_two_replicas_confirm_one_intent_at_once_one_order(live, pg, tmp_path):
    sim, env = live
    async with replicas(env, tmp_path, {}, {}) as (a, b), client_of(a) as ca, client_of(b) as cb:
        prop, _ = await call(ca, "propose_order", ORDER)
        seen, _ = await call(cb, "get_order", {"ref": prop["intent_id"]})  # B reads A's proposal from the store
        assert seen["intent"]["status"] == "proposed"
        results = await asyncio.gather(*(c.call_tool("confirm_order", {"intent_id": prop["intent_id"]})
                                         for c in (ca, cb)))
        errors = [r.content[0].text for r in results if r.is_error]
        assert len(errors) == 1 and "used once" in errors[0], [r.content[0].text for r in results]
        got = await until_filled(cb, prop["intent_id"])
        assert Decimal(str(got["orders"][0]["filled_size"])) == 10
    one_order_at_the_venue(sim, pg, env["PM_MCP_DATABASE_URL"])
    assert sim.count(path="/clob/order$", method="POST") == 1


async def test_proposed_on_one_replica_approved_on_the_others_page_one_order(pm_env, pg, tmp_path):
    from tools.sim.polymarket import set_book

    yes = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
    with start_sim("polymarket") as sim:
        sim.state["markets"]["559652"]["orderPriceMinTickSize"] = 0.01
        set_book(sim, yes, bids=[("0.38", "100")], asks=[("0.40", "100")], tick_size="0.01")
        env = {**pm_env, **sim.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_CONFIRM": "page",
               "PM_MCP_HTTP_TOKEN": TOKEN, "PM_MCP_DATABASE_URL": pg.new_database()}
        url = env["PM_MCP_DATABASE_URL"]
        port_a, port_b = _free_port(), _free_port()
        async with replicas(env, tmp_path, {"PM_MCP_APPROVAL_PORT": str(port_a)},
                            {"PM_MCP_APPROVAL_PORT": str(port_b)}) as (a, _b), client_of(a) as ca:
            prop, _ = await call(ca, "propose_order", {**ORDER, "market": "559652", "limit_price": "0.40",
                                                       "size": "5"})
            page_a = prop["approval_url"]
            a_base, path = page_a.split("/i/", 1)
            assert a_base == f"http://127.0.0.1:{port_a}", page_a
            # the same page on B: another process's approval server, the token found in the shared store
            b_base = f"http://127.0.0.1:{port_b}"
            page_b = f"{b_base}/i/{path}"
            _, csrf, order_hash = await page_form(page_b)
            async with httpx.AsyncClient(timeout=60) as h:
                r = await h.post(page_b + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                                 headers={"Origin": b_base})
                assert r.status_code in (200, 303), r.text[:500]
                # the same approval on A's page afterwards places nothing more
                await h.post(page_a + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                             headers={"Origin": a_base})
            got, text = await call(ca, "get_order", {"ref": prop["intent_id"]})
            assert got["intent"]["status"] == "executed", text
        assert pg.psql(url, "SELECT COUNT(*) FROM paper_orders").strip() == "1"
        assert pg.psql(url, "SELECT COUNT(*) FROM orders").strip() == "1"


async def _confirm_in_background(client, intent_id: str) -> asyncio.Task:
    async def confirm():
        try:
            await client.call_tool("confirm_order", {"intent_id": intent_id})
        except Exception:  # noqa: BLE001 - its replica may be killed under it
            pass

    return asyncio.create_task(confirm())


async def _confirm_on_and_kill(replica: Replica, at_the_point) -> str:
    """Propose and confirm on ``replica``, wait for ``at_the_point()``, kill -9 it; the intent id."""
    intent_id = ""
    try:
        async with client_of(replica) as client:
            prop, _ = await call(client, "propose_order", ORDER)
            intent_id = prop["intent_id"]
            task = await _confirm_in_background(client, intent_id)
            await at_the_point()
            replica.kill9()
            task.cancel()
    except BaseException as exc:  # the client sees its server die
        if isinstance(exc, (AssertionError, KeyboardInterrupt)) or not intent_id:
            raise
    return intent_id


async def _wait(pred, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"never saw: {what}"
        await asyncio.sleep(0.05)


async def test_kill9_the_submitting_replica_the_other_sends_once(live, pg, tmp_path):
    sim, env = live
    async with replicas(env, tmp_path, {"PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "120"}, {}) as (a, b):
        async with client_of(b) as cb:
            async def at_pause() -> None:
                await _wait(lambda: a.logged("PAUSE_BEFORE_SUBMIT"), "A paused before submitting")
                assert orders(sim) == []  # journaled, not sent

            intent_id = await _confirm_on_and_kill(a, at_pause)
            got = await until_filled(cb, intent_id)  # B's background sync takes the order over
            assert got["orders"][0]["order_id"]
    one_order_at_the_venue(sim, pg, env["PM_MCP_DATABASE_URL"])
    assert sim.count(path="/clob/order$", method="POST") == 1
    assert b.logged("order.claim_taken_over") or "claim_taken_over" in pg.psql(
        env["PM_MCP_DATABASE_URL"], "SELECT string_agg(kind, ',') FROM journal")


async def test_kill9_while_the_venue_holds_the_request_the_other_asks_and_never_resends(live, pg, tmp_path):
    sim, env = live
    inject_order_fault(sim, "accept_then_hang", seconds=20)
    async with replicas(env, tmp_path, {}, {}) as (a, b):
        async with client_of(b) as cb:
            async def held() -> None:
                await _wait(lambda: len(orders(sim)) == 1, "the venue holding A's order")

            intent_id = await _confirm_on_and_kill(a, held)
            await until_filled(cb, intent_id)
    one_order_at_the_venue(sim, pg, env["PM_MCP_DATABASE_URL"])
    assert sim.count(path="/clob/order$", method="POST") <= 1  # the held request is logged only when it answers


async def test_a_stalled_replica_does_not_send_after_its_claim_passed(live, pg, tmp_path):
    sim, env = live
    stalled = {"PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "8", "PM_MCP_TEST_CLAIM_TTL_S": "1"}
    async with replicas(env, tmp_path, stalled, {}) as (a, b):
        async with client_of(a) as ca, client_of(b) as cb:
            prop, _ = await call(ca, "propose_order", ORDER)
            task = await _confirm_in_background(ca, prop["intent_id"])
            await _wait(lambda: a.logged("PAUSE_BEFORE_SUBMIT"), "A paused before submitting")
            await until_filled(cb, prop["intent_id"])  # B took the expired claim over while A is alive and stalled
            assert len(orders(sim)) == 1
            await asyncio.wait_for(task, 40)  # A wakes up and finishes its confirm_order
            assert len(orders(sim)) == 1, orders(sim)  # ... without sending the order again
            assert a.logged("submit claim passed to another process")
            got, text = await call(ca, "get_order", {"ref": prop["intent_id"]})
            assert got["intent"]["status"] == "executed", text
    one_order_at_the_venue(sim, pg, env["PM_MCP_DATABASE_URL"])
    assert sim.count(path="/clob/order$", method="POST") == 1


async def test_two_processes_on_one_sqlite_file_confirm_at_once_one_order(pm_env, tmp_path):
    with start_sim("polymarket") as sim:
        env = live_env(pm_env, sim, tmp_path)  # one PM_MCP_HOME for both processes: one SQLite file
        async with connect(env) as ca, connect(env) as cb:
            prop, _ = await call(ca, "propose_order", ORDER)
            results = await asyncio.gather(*(c.call_tool("confirm_order", {"intent_id": prop["intent_id"]})
                                             for c in (ca, cb)))
            errors = [r.content[0].text for r in results if r.is_error]
            assert len(errors) == 1 and "used once" in errors[0], [r.content[0].text for r in results]
            got, text = await call(cb, "get_order", {"ref": prop["intent_id"]})
            assert got["intent"]["status"] == "executed", text
        assert len(orders(sim)) == 1
        assert sim.count(path="/clob/order$", method="POST") == 1


async def test_two_processes_on_one_sqlite_file_kill9_the_submitting_one_the_other_sends_once(pm_env, tmp_path):
    from test_e2e_live import server

    with start_sim("polymarket") as sim:
        env = {**live_env(pm_env, sim, tmp_path), "PM_MCP_SYNC_INTERVAL_S": "1"}  # one home: one SQLite file
        async with server(env, tmp_path, "b") as (cb, _pid_b):
            intent_id = ""
            try:
                async with server({**env, "PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "120"}, tmp_path, "a") as (ca, pid_a):
                    prop, _ = await call(ca, "propose_order", ORDER)
                    intent_id = prop["intent_id"]
                    task = await _confirm_in_background(ca, intent_id)
                    log_a = tmp_path / "stderr-a.log"
                    await _wait(lambda: "PAUSE_BEFORE_SUBMIT" in log_a.read_text(errors="replace"), "A's pause")
                    assert orders(sim) == []
                    os.kill(pid_a, signal.SIGKILL)
                    task.cancel()
            except BaseException as exc:  # the client sees its server die
                if isinstance(exc, (AssertionError, KeyboardInterrupt)) or not intent_id:
                    raise
            await until_filled(cb, intent_id)  # B's background sync: A's claim is left by a dead process
        assert len(orders(sim)) == 1
        kinds = {r[0] for r in db_rows(env, "SELECT kind FROM journal")}
        assert {"order.claim_taken_over", "order.resend_after_lookup"} <= kinds, kinds
        assert sim.count(path="/clob/order$", method="POST") == 1
