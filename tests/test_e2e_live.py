"""The whole conversation in PM_MCP_MODE=live through the real MCP client, against the Polymarket
simulator (EIP-712 + HMAC verified), with host-mode confirmation; kill -9 between approval and
submission (and while the venue holds our request) followed by a restart leaves exactly one order;
no private key, API secret or passphrase appears in any tool result or log line.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import time
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from conftest import REPO, pm_mcp_command
from tools.sim import start_sim
from tools.sim.polymarket_trading import orders, register_wallet
from tools.sim.trading_faults import inject_order_fault

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PK = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # Hardhat #2 (public test key)
EOA = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
SAFE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
NEWSOM = "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568"  # neg-risk, tick 0.001


@asynccontextmanager
async def server(env: dict[str, str], tmp: Path, tag: str):
    """pm-mcp over stdio, its stderr captured to a file and its pid known (for kill -9)."""
    from mcp import Client, StdioServerParameters

    log, pidfile = tmp / f"stderr-{tag}.log", tmp / f"pid-{tag}"
    cmd = " ".join(shlex.quote(c) for c in pm_mcp_command())
    script = f"echo $$ > {shlex.quote(str(pidfile))}; exec {cmd} 2>>{shlex.quote(str(log))}"
    params = StdioServerParameters(command="/bin/sh", args=["-c", script], env=env, cwd=str(REPO))
    async with Client(params) as client:
        yield client, int(pidfile.read_text().strip())


async def call(client, tool, args=None, seen: list | None = None):
    r = await client.call_tool(tool, args or {})
    if seen is not None:
        seen.append(r.content[0].text if r.content else "")
        seen.append(json.dumps(r.structured_content, default=str))
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


@pytest.fixture
def live_env(pm_env, tmp_path):
    with start_sim("polymarket") as sim:
        register_wallet(sim, EOA, funder=SAFE, signature_type=2, balance="500")
        key_file = tmp_path / "polymarket.key"
        key_file.write_text(PK + "\n")
        key_file.chmod(0o600)
        env = {**pm_env, **sim.env(), "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "host", "PM_MCP_VENUES": "polymarket",
               "PM_MCP_POLYMARKET_PRIVATE_KEY_FILE": str(key_file), "PM_MCP_POLYMARKET_SIGNATURE_TYPE": "2",
               "PM_MCP_POLYMARKET_FUNDER": SAFE, "PM_MCP_HTTP_TIMEOUT_S": "2", "PM_MCP_LOG_LEVEL": "DEBUG"}
        yield sim, env


def _secrets(sim) -> list[str]:
    out = [PK, PK[2:], PK[2:].upper()]
    for k in sim.state["pm_trading"]["api_keys"].values():
        out += [k["secret"], k["secret"].rstrip("="), k["passphrase"]]
    return out


def _assert_no_secrets(sim, texts: list[str], tmp: Path) -> None:
    logs = [p.read_text(errors="replace") for p in tmp.glob("stderr-*.log")]
    assert any(logs), "the server wrote no log at all: the scan would prove nothing"
    secrets_ = _secrets(sim)
    assert len(secrets_) > 3, "no API credentials were derived: the scan would prove nothing"
    for blob in texts + logs:
        for s in secrets_:
            assert s not in blob, "a secret leaked into a tool result or log line"


async def test_live_conversation_host_confirm_fill_portfolio_and_no_secrets(live_env, tmp_path):
    sim, env = live_env
    seen: list[str] = []
    async with server(env, tmp_path, "a") as (client, _pid):
        found, _ = await call(client, "search_markets", {"query": "newsom nomination"}, seen)
        assert NEWSOM in json.dumps(found)
        m, _ = await call(client, "get_market", {"market": NEWSOM}, seen)
        prop, text = await call(client, "propose_order", {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes",
                                                          "side": "buy", "limit_price": "0.234", "size": "10"}, seen)
        assert "live" in text.lower()
        intent_id = prop["intent_id"]
        assert orders(sim) == []  # proposing places nothing
        done, text = await call(client, "confirm_order", {"intent_id": intent_id}, seen)
        venue_orders = orders(sim)
        assert len(venue_orders) == 1 and venue_orders[0]["maker_address"] == SAFE
        o, text = await call(client, "get_order", {"ref": intent_id}, seen)
        order = o["orders"][0]
        assert order["status"] == "filled", text
        assert Decimal(str(order["filled_size"])) == 10 and Decimal(str(order["avg_price"])) == Decimal("0.233")
        assert order["venue_order_id"] == venue_orders[0]["id"]
        await call(client, "get_portfolio", {}, seen)
        doc, text = await call(client, "doctor", {}, seen)
        by_name = {c["name"]: c["status"] for c in doc["checks"]}
        assert by_name.get("polymarket credentials") == "pass", text
        assert by_name.get("polymarket pUSD allowances (V2 spenders)") == "pass", text
        assert by_name.get("polymarket geoblock") == "pass", text
        # a venue rejection reaches the person clearly (and carries no secret)
        register_wallet(sim, EOA, funder=SAFE, signature_type=2, balance="1")
        prop, _ = await call(client, "propose_order", {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes",
                                                       "side": "buy", "limit_price": "0.234", "size": "10"}, seen)
        await call(client, "confirm_order", {"intent_id": prop["intent_id"]}, seen)
        o, text = await call(client, "get_order", {"ref": prop["intent_id"]}, seen)
        assert o["orders"][0]["status"] == "rejected" and "pUSD" in text, text
        assert len(orders(sim)) == 1
    _assert_no_secrets(sim, seen, tmp_path)


async def _propose(client) -> str:
    prop, _ = await call(client, "propose_order", {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes",
                                                   "side": "buy", "limit_price": "0.234", "size": "10"})
    return prop["intent_id"]


async def _kill_during_confirm(env, tmp_path, tag, ready) -> str:
    """Approve, wait until ``ready()`` says we are at the dangerous point, kill -9 the server."""
    async with server(env, tmp_path, tag) as (client, pid):
        intent_id = await _propose(client)

        async def confirm():
            try:
                await client.call_tool("confirm_order", {"intent_id": intent_id})
            except Exception:  # noqa: BLE001 - the server dies under us
                pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(confirm)
            deadline = time.monotonic() + 30
            while not ready():
                assert time.monotonic() < deadline, "never reached the point to kill at"
                await anyio.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
            tg.cancel_scope.cancel()
    return intent_id


async def _after_restart(env, tmp_path, sim, intent_id) -> None:
    async with server(env, tmp_path, "restart") as (client, _pid):
        deadline = time.monotonic() + 30
        while True:
            o, text = await call(client, "get_order", {"ref": intent_id})
            if o["orders"] and o["orders"][0]["status"] == "filled":
                break
            assert time.monotonic() < deadline, text
            await anyio.sleep(0.3)
    async with server(env, tmp_path, "restart2") as (client, _pid):  # and again: still one order
        await call(client, "get_order", {"ref": intent_id})
    assert len(orders(sim)) == 1
    # (a request the sim is still holding is logged only when it answers, hence <=)
    assert sim.count(path="/clob/order$", method="POST") <= 1


async def test_kill_between_approval_and_submission_then_restart_exactly_one_order(live_env, tmp_path):
    sim, env = live_env
    paused = {**env, "PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "60"}

    def at_pause() -> bool:
        log = tmp_path / "stderr-k1.log"
        return log.exists() and "PAUSE_BEFORE_SUBMIT" in log.read_text(errors="replace")

    intent_id = await _kill_during_confirm(paused, tmp_path, "k1", at_pause)
    assert orders(sim) == []  # died before anything left
    await _after_restart(env, tmp_path, sim, intent_id)
    assert sim.count(path="/clob/order$", method="POST") == 1
    _assert_no_secrets(sim, [], tmp_path)


async def test_kill_while_the_venue_holds_our_order_then_restart_exactly_one_order(live_env, tmp_path):
    sim, env = live_env
    inject_order_fault(sim, "accept_then_hang", seconds=20)
    intent_id = await _kill_during_confirm(env, tmp_path, "k2", lambda: len(orders(sim)) == 1)
    await _after_restart(env, tmp_path, sim, intent_id)


async def test_kalshi_live_doctor_order_and_no_key_material_anywhere(pm_env, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from pm_mcp.venues.kalshi.signing import KalshiKey
    from tools.sim.kalshi import set_book
    from tools.sim.kalshi_trading import orders as kalshi_orders
    from tools.sim.kalshi_trading import register_key

    ticker = "KXELONMARS-99"  # recorded, open until 2099, 0.01 grid
    pem = rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    key_file = tmp_path / "kalshi.pem"
    key_file.write_bytes(pem)
    with start_sim("kalshi") as sim:
        set_book(sim, ticker, yes_bids=[("0.13", "50")], no_bids=[("0.85", "30")])
        register_key(sim, "kid-e2e", KalshiKey(pem).public_pem(), balance="200")
        env = {**pm_env, **sim.env(), "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "host", "PM_MCP_VENUES": "kalshi",
               "PM_MCP_KALSHI_KEY_ID": "kid-e2e", "PM_MCP_KALSHI_PRIVATE_KEY_FILE": str(key_file),
               "PM_MCP_LOG_LEVEL": "DEBUG"}
        seen: list[str] = []
        async with server(env, tmp_path, "kalshi") as (client, _pid):
            doc, text = await call(client, "doctor", {}, seen)
            assert {c["name"]: c["status"] for c in doc["checks"]}.get("kalshi key") == "pass", text
            prop, _ = await call(client, "propose_order", {"venue": "kalshi", "market": ticker, "outcome": "Yes",
                                                           "side": "buy", "limit_price": "0.15", "size": "10"}, seen)
            await call(client, "confirm_order", {"intent_id": prop["intent_id"]}, seen)
            o, text = await call(client, "get_order", {"ref": prop["intent_id"]}, seen)
            assert o["orders"][0]["status"] == "filled", text
        assert len(kalshi_orders(sim)) == 1
    body_lines = [ln for ln in pem.decode().splitlines() if ln and not ln.startswith("-----")]
    logs = [p.read_text(errors="replace") for p in tmp_path.glob("stderr-*.log")]
    assert any(logs)
    for blob in seen + logs:
        for ln in body_lines:
            assert ln not in blob, "Kalshi private key material leaked"
