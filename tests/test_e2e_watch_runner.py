"""Who watches: `pm-mcp watch` and a server on one data directory never act twice (the store's runner lease;
the fire is a compare-and-set), the server's client still gets the alert the watcher fired, and after kill -9
of the watcher the server takes over. The webhook: a receiver on 127.0.0.1 verifies the HMAC-SHA256 signature,
a failed delivery is retried, the secret is never in the body or the logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from mcp.types import ResourceUpdatedNotification

from conftest import REPO, connect, pm_mcp_command
from pm_mcp.execution.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tools.sim import start_sims
from tools.sim.control import move_book
from tools.sim.polymarket import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture
def sims():
    with start_sims("polymarket") as group:
        set_book(group["polymarket"], YES, bids=[("0.38", "100")], asks=[("0.40", "10")], tick_size="0.01")
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "2",
            "PM_MCP_WATCH_INTERVAL_S": "1"}


def alert_rows(env: dict) -> list[tuple]:
    path = Path(env["PM_MCP_HOME"]) / "pm_mcp.sqlite3"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT watch_id, fire_no, data FROM alerts ORDER BY seq").fetchall()
    finally:
        conn.close()


async def wait_for(predicate, timeout: float = 10.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        await asyncio.sleep(step)
    return None


def start_watcher(env: dict, log_path: Path) -> subprocess.Popen:
    fh = open(log_path, "wb")  # noqa: SIM115 - closed by the caller's process exit
    return subprocess.Popen([*pm_mcp_command(), "watch"], env=env, cwd=str(REPO), stdout=fh, stderr=fh)


async def create(client, **args) -> dict:
    r = await client.call_tool("create_watch", {"market": NEWSOM, "venue": "polymarket", "outcome": "Yes", **args})
    assert not r.is_error, r.content[0].text
    return r.structured_content["watch"]


async def test_server_and_pm_mcp_watch_never_double_act(env, sims, tmp_path):
    sim = sims["polymarket"]
    log_path = tmp_path / "watcher.log"
    watcher = start_watcher(env, log_path)
    updates: list[str] = []

    async def on_message(message):
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    try:
        assert await wait_for(lambda: b"now runs the watches" in log_path.read_bytes(), timeout=20), \
            log_path.read_text(errors="replace")[-2000:]
        async with connect(env, mode="legacy", message_handler=on_message) as client:
            w = await create(client, kind="price_below", level="0.36", cooldown_s=0)
            await client.session.subscribe_resource(w["uri"])
            await asyncio.sleep(2)
            move_book(sim, YES, bids=[("0.33", "100")], asks=[("0.35", "10")])
            assert await wait_for(lambda: len(alert_rows(env)) >= 1, timeout=10)
            await asyncio.sleep(3)  # both runners keep passing: still one alert for one crossing
            rows = alert_rows(env)
            assert len(rows) == 1, rows
            assert f":{watcher.pid}:" in json.loads(rows[0][2])["runner"]  # the watcher fired it
            assert await wait_for(lambda: w["uri"] in updates, timeout=5), "the server's client was not told"

            os.kill(watcher.pid, signal.SIGKILL)  # the runner dies holding the lease
            watcher.wait(timeout=10)
            move_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "10")])  # false again
            await asyncio.sleep(2.5)
            move_book(sim, YES, bids=[("0.30", "100")], asks=[("0.34", "10")])  # true again: the server fires
            assert await wait_for(lambda: len(alert_rows(env)) >= 2, timeout=12)
            await asyncio.sleep(2)
            rows = alert_rows(env)
            assert [r[1] for r in rows] == [1, 2], rows
            assert f":{watcher.pid}:" not in json.loads(rows[1][2])["runner"]
            r = await client.call_tool("get_alerts", {})
            assert [a["watch_id"] for a in r.structured_content["alerts"]] == [w["id"], w["id"]]
    finally:
        if watcher.poll() is None:
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(timeout=10)


async def test_pm_mcp_watch_stops_cleanly_and_releases_the_lease(env, tmp_path):
    log_path = tmp_path / "watcher.log"
    watcher = start_watcher(env, log_path)
    try:
        assert await wait_for(lambda: b"now runs the watches" in log_path.read_bytes(), timeout=20)
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=15) == 0
        path = Path(env["PM_MCP_HOME"]) / "pm_mcp.sqlite3"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        assert conn.execute("SELECT COUNT(*) FROM runner_lease").fetchone()[0] == 0
        conn.close()
        assert b"pm-mcp watch: stopped" in log_path.read_bytes()
    finally:
        if watcher.poll() is None:
            watcher.kill()


class _Receiver(BaseHTTPRequestHandler):
    got: list[dict] = []
    fail_first = 1

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        entry = {"body": body, "ts": self.headers.get(TIMESTAMP_HEADER), "sig": self.headers.get(SIGNATURE_HEADER)}
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            entry["answered"] = 500
        else:
            entry["answered"] = 200
        type(self).got.append(entry)
        self.send_response(entry["answered"])
        self.send_header("Content-Length", "0")
        self.end_headers()


async def test_webhook_signed_and_retried(env, sims, tmp_path):
    _Receiver.got, _Receiver.fail_first = [], 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**env, "PM_MCP_WEBHOOK_URL": f"http://127.0.0.1:{server.server_address[1]}/hook",
           "PM_MCP_WEBHOOK_SECRET": SECRET}
    try:
        async with connect(env, mode="legacy") as client:
            w = await create(client, kind="price_below", level="0.36")
            move_book(sims["polymarket"], YES, bids=[("0.33", "100")], asks=[("0.35", "10")])
            assert await wait_for(lambda: any(e["answered"] == 200 for e in _Receiver.got), timeout=15), _Receiver.got
            r = await client.call_tool("doctor", {})
            assert SECRET not in json.dumps(r.structured_content or {}) and SECRET not in r.content[0].text
    finally:
        server.shutdown()
    assert [e["answered"] for e in _Receiver.got] == [500, 200]  # retried after the failure, then delivered once
    for e in _Receiver.got:
        assert verify(SECRET, e["ts"], e["body"], e["sig"])
        assert not verify("another-secret", e["ts"], e["body"], e["sig"])
        assert SECRET.encode() not in e["body"]
    payload = json.loads(_Receiver.got[-1]["body"])
    assert payload["type"] == "pm-mcp.alert" and payload["alert"]["watch_id"] == w["id"]
