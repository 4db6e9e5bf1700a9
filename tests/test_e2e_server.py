"""End-to-end: the real `pm-mcp` process, driven by the official MCP client (stdio and Streamable HTTP),
plus the CLI behaviours (doctor, bearer token rule, bad databases, the TTY hint)."""

from __future__ import annotations

import os
import pty
import select
import socket
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal as D
from pathlib import Path

import pytest

from conftest import REPO, connect, pm_mcp_command

pytestmark = pytest.mark.e2e

MY_TOOLS = {"size_position", "compute_edge", "get_risk_policy"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early ({proc.returncode}): {proc.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listening on {port} after {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run(args: list[str], env: dict[str, str], timeout: float = 30, stdin: str | None = None
         ) -> subprocess.CompletedProcess:
    return subprocess.run([*pm_mcp_command(), *args], env=env, cwd=str(REPO), capture_output=True, text=True,
                          timeout=timeout, **({"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}))


# ---- the checks shared by both transports ---------------------------------------------------------


async def _check_tool_list(client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert MY_TOOLS <= set(tools)
    for name in MY_TOOLS:
        t = tools[name]
        a = t.annotations
        assert a is not None and a.title
        assert a.read_only_hint is True and a.destructive_hint is False and a.idempotent_hint is True
        assert a.open_world_hint is (name == "compute_edge")
        assert t.input_schema["type"] == "object" and t.output_schema and t.output_schema["type"] == "object"
        assert len(t.description) < 600
    assert "p" in tools["size_position"].input_schema["required"]
    assert {"stake_usd", "contracts", "capped_by", "arithmetic"} <= set(tools["size_position"].output_schema["properties"])
    assert {"edge_pp", "break_even_probability", "roi", "kelly_fraction"} <= set(
        tools["compute_edge"].output_schema["properties"])
    assert {"max_order_usd", "max_event_usd", "tiers"} <= set(tools["get_risk_policy"].output_schema["properties"])


async def _check_calls(client) -> None:
    # get_risk_policy reflects the configuration of this server (PM_MCP_BANKROLL=2000 in pm_env below)
    r = await client.call_tool("get_risk_policy", {})
    assert not r.is_error
    assert r.structured_content["bankroll"] == "2000" and D(r.structured_content["max_event_usd"]) == D(300)
    assert r.content[0].text.startswith("Risk policy (paper mode)")

    # quarter Kelly: f* = (0.5325-0.45)/0.55 = 0.15 -> 0.15 x 1/4 x $2000 = $75 -> capped by the $60 order cap
    r = await client.call_tool("size_position", {"p": "0.5325", "price": 0.45, "method": "fractional_kelly",
                                                 "venue": "kalshi"})
    assert not r.is_error, r.content[0].text
    s = r.structured_content
    assert "max_order_usd" in s["capped_by"] and D(s["stake_usd"]) <= 60 and D(s["contracts"]) % 1 == 0
    assert r.content[0].text.startswith("[PAPER] Kelly (1/4): stake $")
    assert "per-order cap" in r.content[0].text

    # default method: confidence tiers
    r = await client.call_tool("size_position", {"p": 0.62, "price": "0.45", "side": "yes"})
    assert not r.is_error and r.structured_content["method"] == "confidence_tiers"
    assert r.structured_content["tier"] == "medium" and D(r.structured_content["stake_usd"]) <= 40  # 2% of 2000

    # the market assessment caps the tier: unclear rules (clarity 0.5) under 'caution' -> at most 'low' (1%)
    r = await client.call_tool("size_position", {"p": 0.62, "price": "0.45", "assessment": "caution",
                                                 "rules_clarity": 0.5})
    assert not r.is_error and "assessment" in r.structured_content["capped_by"]
    assert D(r.structured_content["stake_usd"]) <= 20 and "at most the low tier" in r.content[0].text
    r = await client.call_tool("size_position", {"p": 0.62, "price": "0.45", "assessment": "avoid"})
    assert not r.is_error and D(r.structured_content["stake_usd"]) == 0

    # edge on an explicit book, buying NO with P(YES) = 0.3
    r = await client.call_tool("compute_edge", {
        "p": 0.3, "outcome": "no", "side": "buy", "size": 20,
        "book": {"asks": [{"price": "0.62", "size": 5}, {"price": "0.60", "size": 10}], "bids": []}})
    assert not r.is_error, r.content[0].text
    e = r.structured_content
    assert D(e["filled_size"]) == 15 and D(e["unfilled_size"]) == 5
    assert D(e["average_price"]) == ((D("0.60") * 10 + D("0.62") * 5) / 15).quantize(D("0.000001"))
    assert any("too thin" in w for w in e["warnings"])
    assert "P(NO) 70.0%" in r.content[0].text

    r = await client.call_tool("compute_edge", {"p": 0.62, "price": 0.45, "size": 100, "venue": "kalshi"})
    assert not r.is_error and r.structured_content["fees_usd"] == "1.74"

    # bad inputs: tool errors that say what to fix; the server keeps serving
    bad = [
        ("size_position", {"p": 62, "price": 0.45}, "use 0.62 for 62%"),
        ("size_position", {"p": 0.6}, "give a price"),
        ("size_position", {"p": 0.6, "price": "abc"}, "not a number"),
        ("size_position", {"p": 0.62, "price": 0.45, "method": "fractional_kelly", "kelly_fraction": 0.5},
         "can only be tightened"),
        ("size_position", {"p": 0.62, "price": 0.45, "method": "martingale"}, ""),
        ("compute_edge", {"p": 1.5, "price": 0.45}, "use 0.62 for 62%"),
        ("compute_edge", {"p": 0.5}, "exactly one price source"),
        ("compute_edge", {"p": 0.5, "price": 0.4, "budget": 10, "side": "sell"}, "only applies to a buy"),
        ("compute_edge", {"p": 0.5, "venue": "kalshi", "market": "KXFED-26DEC"}, "market"),
    ]
    for name, args, expect in bad:
        r = await client.call_tool(name, args)
        assert r.is_error, (name, args)
        assert expect in r.content[0].text, r.content[0].text
    r = await client.call_tool("get_risk_policy", {})
    assert not r.is_error  # still alive


@pytest.fixture
def env(pm_env):
    pm_env.update({"PM_MCP_BANKROLL": "2000", "PM_MCP_MAX_ORDER_USD": "60"})
    return pm_env


@pytest.mark.anyio
async def test_stdio_tools_end_to_end(env):
    async with connect(env) as client:
        await _check_tool_list(client)
        await _check_calls(client)


@pytest.mark.anyio
async def test_streamable_http_end_to_end(env):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    proc = subprocess.Popen([*pm_mcp_command(), "serve", "--http", "--port", str(port)], env=env, cwd=str(REPO),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(port, proc)
        # no PM_MCP_HTTP_TOKEN: the server generated one into the data directory (tests/test_e2e_hardening.py)
        token = (Path(env["PM_MCP_HOME"]) / "http_token").read_text().strip()
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            async with Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client:
                await _check_tool_list(client)
                await _check_calls(client)
        assert proc.poll() is None
    finally:
        _stop(proc)


def test_http_on_non_loopback_needs_a_token(env):
    r = _run(["serve", "--http", "--host", "0.0.0.0", "--port", str(_free_port())], env, timeout=20)
    assert r.returncode != 0
    assert "PM_MCP_HTTP_TOKEN" in r.stderr and "refusing" in r.stderr


@pytest.mark.anyio
async def test_http_bearer_token(env):
    import httpx
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    token = "t0k-" + "x" * 40
    env = {**env, "PM_MCP_HTTP_TOKEN": token}
    port = _free_port()
    proc = subprocess.Popen([*pm_mcp_command(), "serve", "--http", "--host", "0.0.0.0", "--port", str(port)],
                            env=env, cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(port, proc)
        url = f"http://127.0.0.1:{port}/mcp"
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "t", "version": "1"}}}
        hdrs = {"accept": "application/json, text/event-stream"}
        async with httpx.AsyncClient(timeout=10) as h:
            r = await h.post(url, json=init, headers=hdrs)
            assert r.status_code == 401 and token not in r.text
            r = await h.post(url, json=init, headers={**hdrs, "authorization": "Bearer wrong"})
            assert r.status_code == 401
            r = await h.post(url, json=init, headers={**hdrs, "authorization": f"Bearer {token}"})
            assert r.status_code == 200
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                r = await client.call_tool("get_risk_policy", {})
                assert not r.is_error and r.structured_content["bankroll"] == "2000"
    finally:
        _stop(proc)


def test_doctor_masks_secrets(env, tmp_path):
    pem = tmp_path / "kalshi.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nMIIFAKEKEYMATERIALxyz\n-----END PRIVATE KEY-----\n")
    secrets = {
        "PM_MCP_POLYMARKET_PRIVATE_KEY": "0x" + "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d",
        "PM_MCP_POLYMARKET_API_KEY": "pm-api-key-FAKE-1111",
        "PM_MCP_POLYMARKET_API_SECRET": "pm-api-secret-FAKE-2222",
        "PM_MCP_POLYMARKET_API_PASSPHRASE": "pm-passphrase-FAKE-3333",
        "PM_MCP_MANIFOLD_API_KEY": "manifold-FAKE-4444",
        "PM_MCP_HTTP_TOKEN": "http-token-FAKE-5555",
        "PM_MCP_RPC_URLS": "137=https://polygon.example/v2/RPCKEY-FAKE-6666",
    }
    r = _run(["doctor"], {**env, **secrets, "PM_MCP_KALSHI_KEY_ID": "key-id-1",
                          "PM_MCP_KALSHI_PRIVATE_KEY_FILE": str(pem)})
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    for value in [*secrets.values(), "MIIFAKEKEYMATERIALxyz", "4f3edf983ac6", "RPCKEY"]:
        assert value not in out
    assert env["PM_MCP_HOME"] in out  # the data directory
    assert "polymarket private key: 32-byte hex key" in out and "[pass   ] kalshi api key" in out
    assert "manifold   enabled" in out and "****** (set)" in out
    assert "max single event" in out and "$2000" in out


def _db(env) -> Path:
    home = Path(env["PM_MCP_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    return home / "pm_mcp.sqlite3"


@pytest.mark.parametrize("kind", ["garbage", "bad_pages", "newer_schema", "foreign"])
def test_bad_database_is_a_clear_error_and_untouched(env, kind):
    path = _db(env)
    if kind == "garbage":
        path.write_bytes(b"this is not sqlite at all" * 100)
        expect = "not a SQLite database"
    elif kind == "bad_pages":
        path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
        expect = "cannot be read as a pm-mcp database"
    elif kind == "newer_schema":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,"
                    " applied_at TEXT NOT NULL, PRIMARY KEY (component, version))")
        con.execute("INSERT INTO schema_migrations VALUES ('core', 999, '2030-01-01')")
        con.execute("CREATE TABLE journal (seq INTEGER PRIMARY KEY, data TEXT)")
        con.execute("INSERT INTO journal (data) VALUES ('precious')")
        con.commit()
        con.close()
        expect = "newer pm-mcp"
    else:
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
        con.commit()
        con.close()
        expect = "not a pm-mcp one"
    before = path.read_bytes()
    files_before = sorted(p.name for p in path.parent.iterdir())
    r = _run([], env, timeout=30)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert expect in r.stderr and "Traceback" not in r.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == files_before


def test_tty_prints_a_hint(env):
    master, slave = pty.openpty()
    proc = subprocess.Popen(pm_mcp_command(), env=env, cwd=str(REPO), stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.close(slave)
    try:
        got = b""
        deadline = time.monotonic() + 20
        while b"Waiting for an MCP client" not in got and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 0.5)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                got += chunk
        text = got.decode()
        assert "MCP server" in text and "pm-mcp doctor" in text and "claude_desktop_config" in text
        assert proc.poll() is None  # still waiting for a client, not crashed
    finally:
        _stop(proc)
        os.close(master)


def test_python_dash_m_works(env):
    r = subprocess.run([sys.executable, "-m", "pm_mcp", "version"], env=env, capture_output=True, text=True,
                       timeout=30, cwd=str(REPO))
    assert r.returncode == 0 and r.stdout.startswith("pm-mcp ")


@pytest.mark.anyio
async def test_compute_edge_on_a_live_market_via_the_simulator(env):
    from tools.sim import start_sim

    newsom = "559652"  # recorded Gamma market (Polymarket simulator), politics fee rate 0.04
    with start_sim("polymarket") as sim:
        env = {**env, **sim.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "2"}
        async with connect(env) as client:
            # buy NO with P(YES) = 0.10: wins with 0.90; the NO book is the simulator's
            r = await client.call_tool("compute_edge", {"p": 0.10, "venue": "polymarket", "market": newsom,
                                                        "outcome": "no", "size": 5})
            assert not r.is_error, r.content[0].text
            e = r.structured_content
            assert e["outcome"] == "No" and D(e["p"]) == D("0.90") and e["market_id"] == newsom
            assert e["fee_model"].startswith("Polymarket taker") and D(e["filled_size"]) > 0
            assert e["source"] == "book" and e["market_title"]
            # an outcome the market does not have: the error lists the real ones
            r = await client.call_tool("compute_edge", {"p": 0.1, "venue": "polymarket", "market": newsom,
                                                        "outcome": "Maybe"})
            assert r.is_error and "'Yes'" in r.content[0].text and "'No'" in r.content[0].text
            # the venue failing: a tool error that says so and what to do instead
            sim.inject("status", times=None, path="^/clob/book$", status=503)
            r = await client.call_tool("compute_edge", {"p": 0.3, "venue": "polymarket", "market": newsom})
            assert r.is_error and "order book" in r.content[0].text and "explicit price or book" in r.content[0].text
            sim.clear_faults()
            r = await client.call_tool("compute_edge", {"p": 0.3, "venue": "polymarket", "market": newsom})
            assert not r.is_error, r.content[0].text


def test_doctor_fails_live_page_without_a_presence_factor_until_a_pin_is_set(env):
    live = {**env, "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "auto"}
    r = _run(["doctor"], live)
    assert r.returncode == 1, r.stderr  # live without credentials or a presence factor: a failure (issue #17)
    assert "presence factor: [FAIL] none enrolled" in r.stdout and "pm-mcp set-pin" in r.stdout
    r = _run(["set-pin", "--stdin"], live, stdin="482913\n")
    assert r.returncode == 0, r.stderr
    r = _run(["doctor"], live)
    assert "presence factor: [pass] PIN" in r.stdout and "482913" not in r.stdout + r.stderr
