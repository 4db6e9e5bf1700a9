"""Hardening, end to end through the real `pm-mcp` process (issue 10, items 4 and 6):

- `serve --http` is authenticated, always: without PM_MCP_HTTP_TOKEN it generates a token, stores it 0600
  in the data directory (reused across restarts), prints the PATH (never the token) to stderr; every
  unauthenticated request is a 401, including one that would carry an elicitation answer in a session
  someone else opened, so a dialog answered over an unauthenticated connection can never be taken as the
  person's approval;
- bad tool arguments (fuzzed through the real server) come back as bounded sentences that name the argument,
  never as internals ('Traceback', '<class', 'validation error for', 'InvalidOperation');
- `find_arbitrage(markets=[...])` de-duplicates and caps its list.
"""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, connect, pm_mcp_command

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_http(env: dict, port: int, stderr_path: Path) -> subprocess.Popen:
    fh = stderr_path.open("ab")
    proc = subprocess.Popen([*pm_mcp_command(), "serve", "--http", "--port", str(port)], env=env, cwd=str(REPO),
                            stdout=subprocess.DEVNULL, stderr=fh, stdin=subprocess.DEVNULL)
    fh.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early ({proc.returncode}): {stderr_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the HTTP server never listened")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
                   "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = {"accept": "application/json, text/event-stream"}


async def test_http_without_a_token_generates_one_and_refuses_the_unauthenticated(pm_env, tmp_path):
    import httpx
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    env = {**pm_env, "PM_MCP_CONFIRM": "elicitation"}
    home = Path(env["PM_MCP_HOME"])
    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    err = tmp_path / "stderr.log"
    proc = _start_http(env, port, err)
    try:
        token_file = home / "http_token"
        token = token_file.read_text().strip()
        assert len(token) >= 32
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        async with httpx.AsyncClient(timeout=10) as h:
            # nothing gets through without the token: initialize, GET (SSE stream), DELETE, other paths
            r = await h.post(url, json=INIT, headers=ACCEPT)
            assert r.status_code == 401 and token not in r.text and "bearer" in r.text.lower()
            assert (await h.get(url, headers=ACCEPT)).status_code == 401
            assert (await h.delete(url)).status_code == 401
            assert (await h.get(f"http://127.0.0.1:{port}/")).status_code == 401
            r = await h.post(url, json=INIT, headers={**ACCEPT, "authorization": f"Bearer {token[:-1]}"})
            assert r.status_code == 401
            # the person's client opens a session with the token ...
            r = await h.post(url, json=INIT, headers={**ACCEPT, "authorization": f"Bearer {token}"})
            assert r.status_code == 200
            sid = r.headers.get("mcp-session-id")
            # ... a local process that learnt the session id answers "accept" to a dialog in it, or calls
            # confirm_order in it: refused before the SDK sees it, so no dialog answer can come from it
            hdrs = {**ACCEPT, **({"mcp-session-id": sid} if sid else {})}
            answer = {"jsonrpc": "2.0", "id": 0, "result": {"action": "accept", "content": {"approve": True}}}
            assert (await h.post(url, json=answer, headers=hdrs)).status_code == 401
            call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "confirm_order", "arguments": {"intent_id": "x"}}}
            assert (await h.post(url, json=call, headers=hdrs)).status_code == 401
        # a client with the token works
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                r = await client.call_tool("get_risk_policy", {})
                assert not r.is_error
    finally:
        _stop(proc)
    text = err.read_text()
    assert str(token_file) in text and token not in text
    # a restart reuses the stored token
    before = token_file.stat().st_mtime_ns
    proc = _start_http(env, port, err)
    try:
        assert token_file.read_text().strip() == token and token_file.stat().st_mtime_ns == before
        async with httpx.AsyncClient(timeout=10) as h:
            r = await h.post(url, json=INIT, headers={**ACCEPT, "authorization": f"Bearer {token}"})
            assert r.status_code == 200
            assert (await h.post(url, json=INIT, headers=ACCEPT)).status_code == 401
    finally:
        _stop(proc)
    assert token not in err.read_text()


async def test_http_token_readable_by_others_is_replaced(pm_env, tmp_path):
    import httpx

    home = Path(pm_env["PM_MCP_HOME"])
    home.mkdir(parents=True)
    token_file = home / "http_token"
    token_file.write_text("leaked-" + "x" * 40 + "\n")
    token_file.chmod(0o644)
    port = _free_port()
    proc = _start_http(pm_env, port, tmp_path / "stderr.log")
    try:
        token = token_file.read_text().strip()
        assert not token.startswith("leaked-") and stat.S_IMODE(token_file.stat().st_mode) == 0o600
        async with httpx.AsyncClient(timeout=10) as h:
            url = f"http://127.0.0.1:{port}/mcp"
            r = await h.post(url, json=INIT, headers={**ACCEPT, "authorization": "Bearer leaked-" + "x" * 40})
            assert r.status_code == 401
            r = await h.post(url, json=INIT, headers={**ACCEPT, "authorization": f"Bearer {token}"})
            assert r.status_code == 200
    finally:
        _stop(proc)
