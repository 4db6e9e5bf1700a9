"""Three `pm-mcp serve --http` replicas behind HAProxy (Debian's, running tools/deploy/haproxy.cfg: round robin,
session affinity for legacy clients), sharing one PostgreSQL database (tests/pg_server.py) and the Polymarket
simulator, all on 127.0.0.1. The official MCP client talks Streamable HTTP to the balancer.

- /healthz answers on every replica without a token and says only "ok"; /metrics needs the token;
- proposed through the balancer, the approval page is read on one replica and approved on another: one order;
- the same page approved on all three replicas at the same instant: still one order;
- a 2026-07-28 dialog (confirm_order) whose two rounds reach different replicas works with shared
  PM_MCP_STATE_KEYS, and fails without them (each replica then seals with a key of its own);
- a legacy (2025-era) client keeps its session on one replica (affinity on Mcp-Session-Id) and confirms in a dialog;
  the same balancer without affinity breaks a legacy session (and still serves a 2026-07-28 client);

- the replica that is submitting is killed (-9): no second order while it is down, and once it is back the
  intent ends executed with exactly one order.

Skipped with the reason when haproxy or PostgreSQL is not installed (tools/test.sh installs both).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from mcp.types import ElicitResult
from pg_server import PgServer, shared_server

from conftest import REPO, pm_mcp_command
from tools.deploy import cluster
from tools.sim import start_sims
from tools.sim.polymarket import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
TOKEN = "balancer-test-token-" + "x" * 24


@dataclass
class Cluster:
    lb_port: int
    ports: list[int]
    pg: PgServer
    db_url: str
    logs: Path
    procs: list = field(default_factory=list)
    envs: list = field(default_factory=list)

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    @property
    def mcp_url(self) -> str:
        return self.public_url + "/mcp"

    def sql(self, query: str) -> str:
        return self.pg.psql(self.db_url, query).strip()

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(self.logs.glob("*.log")))


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
    env.update({"PM_MCP_HOME": str(home), "PM_MCP_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
                "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/kalshi", "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/manifold",
                "PM_MCP_IPFS_GATEWAY": "http://127.0.0.1:9/ipfs/"})
    return env


@pytest.fixture(scope="module")
def sims():
    with start_sims("polymarket") as group:
        sim = group["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        set_book(sim, YES, bids=[("0.38", "100"), ("0.37", "100")],
                 asks=[("0.40", "1000"), ("0.42", "1000"), ("0.45", "1000")], tick_size="0.01")
        yield group


@pytest.fixture(scope="module")
def pg() -> PgServer:
    if cluster.haproxy_binary() is None:
        pytest.skip("haproxy not installed (Debian: apt-get install haproxy; tools/test.sh installs it)")
    server = shared_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server


def _start_cluster(tmp: Path, sims, pg: PgServer, *, state_keys: bool,
                   extra: dict[int, dict[str, str]] | None = None) -> Cluster:
    logs = tmp / "logs"
    logs.mkdir(parents=True)
    c = Cluster(lb_port=cluster.free_port(), ports=[cluster.free_port() for _ in range(3)], pg=pg,
                db_url=pg.new_database(), logs=logs)
    shared = {**sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "3",
              "PM_MCP_DATABASE_URL": c.db_url, "PM_MCP_HTTP_TOKEN": TOKEN, "PM_MCP_PUBLIC_URL": c.public_url}
    if state_keys:
        shared["PM_MCP_STATE_KEYS"] = secrets.token_hex(32)
    try:
        for i, port in enumerate(c.ports, start=1):
            env = {**_base_env(tmp / f"home-{i}"), **shared, **(extra or {}).get(i, {})}
            c.envs.append(env)
            c.procs.append(cluster.start_replica(pm_mcp_command(), env, port, logs / f"replica-{i}.log", cwd=str(REPO)))
        for i, (port, proc) in enumerate(zip(c.ports, c.procs, strict=True), start=1):
            cluster.wait_healthy(port, proc, log_path=logs / f"replica-{i}.log")
        c.procs.append(cluster.start_haproxy(f"127.0.0.1:{c.lb_port}", [f"127.0.0.1:{p}" for p in c.ports],
                                             logs / "haproxy.log"))
    except BaseException:
        _stop_cluster(c)
        raise
    return c


def _stop_cluster(c: Cluster) -> None:
    for proc in reversed(c.procs):
        cluster.stop(proc)


@pytest.fixture(scope="module")
def lb(tmp_path_factory, sims, pg):
    c = _start_cluster(tmp_path_factory.mktemp("balancer"), sims, pg, state_keys=True)
    yield c
    _stop_cluster(c)


@asynccontextmanager
async def mcp_client(c: Cluster, **kwargs):
    """The official client over Streamable HTTP through the balancer; ``seen`` lists (JSON-RPC method or tool,
    session id, replica) for every answer."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    seen: list[tuple[str, str | None, str | None]] = []

    async def record(response) -> None:
        what = "?"
        try:
            body = json.loads(response.request.content or b"{}")
            what = body.get("method") or "response"
            if what == "tools/call":
                what = body["params"]["name"]
        except (ValueError, KeyError, TypeError, AttributeError):  # a GET stream, or a body not read
            pass
        seen.append((what, response.request.headers.get("mcp-session-id"), response.headers.get("x-pm-replica")))

    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60,
                                  event_hooks={"response": [record]}) as http:
        async with Client(streamable_http_client(c.mcp_url, http_client=http), **kwargs) as client:
            client.seen = seen
            yield client


async def call(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


def propose_args(**kw) -> dict:
    return {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.40",
            "size": "5", **kw}


def orders_of(c: Cluster, intent_id: str) -> tuple[int, int]:
    """(orders journaled, orders the paper venue received) for one intent, in the shared database."""
    n = int(c.sql(f"SELECT COUNT(*) FROM orders WHERE intent_id = '{intent_id}'"))
    sent = int(c.sql("SELECT COUNT(*) FROM paper_orders p JOIN orders o ON o.client_order_id = p.client_order_id "
                     f"WHERE o.intent_id = '{intent_id}'"))
    return n, sent


async def page_form(h: httpx.AsyncClient, url: str) -> tuple[str, str, str]:
    page = await h.get(url)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    order_hash = re.search(r'name="order_hash" value="([^"]+)"', page.text).group(1)
    return page.headers.get("x-pm-replica", ""), csrf, order_hash


async def test_healthz_needs_no_token_and_says_nothing_metrics_need_the_token(lb):
    async with httpx.AsyncClient(timeout=10) as h:
        for port in [*lb.ports, lb.lb_port]:
            r = await h.get(f"http://127.0.0.1:{port}/healthz")
            assert (r.status_code, r.text) == (200, "ok\n")
            assert "server" not in {k.lower() for k in r.headers} or "pm-mcp" not in r.headers["server"]
            r = await h.get(f"http://127.0.0.1:{port}/metrics")
            assert r.status_code == 401 and "pm_mcp_" not in r.text
            r = await h.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert "# TYPE pm_mcp_tool_call_seconds histogram" in r.text and "pm_mcp_store_up 1" in r.text
        r = await h.post(f"http://127.0.0.1:{lb.ports[0]}/healthz")
        assert r.status_code == 405


async def test_propose_through_the_balancer_and_approve_on_another_replica_one_order(lb):
    async with mcp_client(lb) as client:
        p, text = await call(client, "propose_order", propose_args())
        intent_id, url = p["intent_id"], p["approval_url"]
        assert url.startswith(lb.public_url + "/i/"), url
        async with httpx.AsyncClient(timeout=30) as h:
            shown_on, csrf, order_hash = await page_form(h, url)
            r = await h.post(url + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                             headers={"Origin": lb.public_url})
            approved_on = r.headers.get("x-pm-replica")
            assert r.status_code == 303, r.text
            assert shown_on and approved_on and shown_on != approved_on  # round robin: two replicas, one page
            # the same page from outside the public URL's host is refused (DNS rebinding, a wrong link)
            direct = f"http://127.0.0.1:{lb.ports[0]}" + urlsplit(url).path
            r = await h.get(direct)
            assert r.status_code == 403
        got, text = await call(client, "get_order", {"ref": intent_id})
        assert got["intent"]["status"] == "executed", text
    assert orders_of(lb, intent_id) == (1, 1)
    assert len({r for _, _, r in client.seen if r}) >= 2  # the MCP calls too were spread over replicas


async def test_one_page_approved_on_three_replicas_at_once_places_one_order(lb):
    async with mcp_client(lb) as client:
        p, _ = await call(client, "propose_order", propose_args(size="6"))
    intent_id, url = p["intent_id"], p["approval_url"]
    path = urlsplit(url).path
    async with httpx.AsyncClient(timeout=60) as h:
        _, csrf, order_hash = await page_form(h, url)
        host = f"127.0.0.1:{lb.lb_port}"  # what the balancer passes on: each replica sees the public host

        async def approve(port: int) -> int:
            r = await h.post(f"http://127.0.0.1:{port}{path}/approve", data={"csrf": csrf, "order_hash": order_hash},
                             headers={"Origin": lb.public_url, "Host": host})
            return r.status_code

        statuses = await asyncio.gather(*(approve(port) for port in lb.ports))
    assert set(statuses) <= {303, 409} and 303 in statuses, statuses
    n, sent = orders_of(lb, intent_id)
    assert (n, sent) == (1, 1), f"{n} orders journaled, {sent} sent to the venue for one approval ({statuses})"
    assert lb.sql(f"SELECT status FROM intents WHERE id = '{intent_id}'") == "executed"


async def _accept(context, params):
    return ElicitResult(action="accept", content={"approve": True})


async def test_a_dialog_whose_rounds_reach_different_replicas_works_with_shared_state_keys(lb):
    async with mcp_client(lb, elicitation_callback=_accept) as client:
        p, _ = await call(client, "propose_order", propose_args(size="7"))
        before = len(client.seen)
        c, text = await call(client, "confirm_order", {"intent_id": p["intent_id"]})
        assert c["intent"]["status"] == "executed", text
        rounds = [r for what, _, r in client.seen[before:] if what == "confirm_order"]
    assert len(rounds) == 2 and rounds[0] != rounds[1], rounds  # the answer went to another replica
    assert orders_of(lb, p["intent_id"]) == (1, 1)


async def test_without_shared_state_keys_a_dialog_across_replicas_fails(tmp_path, sims, pg):
    c = _start_cluster(tmp_path, sims, pg, state_keys=False)
    try:
        assert "PM_MCP_STATE_KEYS is not set" in (c.logs / "replica-1.log").read_text()
        async with mcp_client(c, elicitation_callback=_accept) as client:
            p, _ = await call(client, "propose_order", propose_args(size="7"))
            try:
                r = await client.call_tool("confirm_order", {"intent_id": p["intent_id"]})
                outcome = r.content[0].text if r.is_error else "executed"
            except Exception as exc:  # noqa: BLE001 - the SDK's answer to a state it cannot open
                outcome = f"{type(exc).__name__}: {exc}"
        assert "requestState" in outcome, outcome  # sealed on one replica, refused by the next
        assert orders_of(c, p["intent_id"]) == (0, 0)
    finally:
        _stop_cluster(c)


async def test_a_legacy_client_keeps_its_session_on_one_replica_and_confirms_in_a_dialog(lb):
    async with mcp_client(lb, mode="legacy", elicitation_callback=_accept) as client:
        p, _ = await call(client, "propose_order", propose_args(size="8"))
        c, text = await call(client, "confirm_order", {"intent_id": p["intent_id"]})
        assert c["intent"]["status"] == "executed", text
        with_session = {r for _, sid, r in client.seen if sid}
    assert len(with_session) == 1, client.seen  # affinity: every request of the session went to one replica
    assert orders_of(lb, p["intent_id"]) == (1, 1)


async def test_without_affinity_a_legacy_session_breaks(lb, tmp_path):
    """The same balancer without its three stick lines: a legacy client's second request reaches a replica that
    never saw its session. This is why tools/deploy/haproxy.cfg keeps affinity on Mcp-Session-Id."""
    text = cluster.HAPROXY_CFG.read_text()
    plain = "\n".join(line for line in text.splitlines() if not line.strip().startswith("stick"))
    assert plain != text
    cfg = tmp_path / "no-affinity.cfg"
    cfg.write_text(plain + "\n")
    port = cluster.free_port()
    proc = cluster.start_haproxy(f"127.0.0.1:{port}", [f"127.0.0.1:{p}" for p in lb.ports], tmp_path / "h.log",
                                 cfg=cfg)
    try:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        failed = None
        headers = {"Authorization": f"Bearer {TOKEN}", "Host": f"127.0.0.1:{lb.lb_port}"}  # the allowed host
        try:
            async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
                async with Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http),
                                  mode="legacy") as client:
                    for _ in range(3):
                        r = await client.call_tool("get_risk_policy", {})
                        if r.is_error:
                            failed = r.content[0].text
                            break
        except Exception as exc:  # noqa: BLE001 - the client gives up on a session the replica does not know
            failed = f"{type(exc).__name__}: {exc}"
        assert failed, "a legacy session worked across replicas without affinity"
        # a 2026-07-28 client needs no affinity: the same balancer serves it
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client:
                for _ in range(3):
                    assert not (await client.call_tool("get_risk_policy", {})).is_error
    finally:
        cluster.stop(proc)


async def _scrape(lb) -> list[str]:
    async with httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {TOKEN}"}) as h:
        return [(await h.get(f"http://127.0.0.1:{port}/metrics")).text for port in lb.ports]


def _policy_calls(text: str) -> int:
    m = re.search(r'^pm_mcp_tool_calls_total\{tool="get_risk_policy",outcome="ok"\} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


async def test_metrics_count_tool_calls_on_each_replica_and_orders_from_the_shared_store(lb):
    before = [_policy_calls(text) for text in await _scrape(lb)]
    async with mcp_client(lb) as client:
        for _ in range(3):
            await call(client, "get_risk_policy", {})
    pages = await _scrape(lb)
    after = [_policy_calls(text) for text in pages]
    assert sum(after) - sum(before) == 3
    assert sum(1 for a, b in zip(after, before, strict=True) if a > b) >= 2  # round robin spread them
    filled = lb.sql("SELECT COUNT(*) FROM orders WHERE status = 'filled'")
    for text, calls in zip(pages, after, strict=True):
        assert f'pm_mcp_orders{{state="filled"}} {filled}' in text  # the store's figure, the same on each
        if calls:
            assert f'pm_mcp_tool_call_seconds_count{{tool="get_risk_policy"}} {calls}' in text
        assert re.search(r"^pm_mcp_process_resident_memory_bytes \d+$", text, re.M)


async def test_kill9_of_the_submitting_replica_then_restart_one_order(tmp_path, sims, pg):
    pause = {"PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "30"}  # replica 1 stops between journaling and sending
    c = _start_cluster(tmp_path, sims, pg, state_keys=True, extra={1: pause})
    try:
        async with mcp_client(c) as client:
            p, _ = await call(client, "propose_order", propose_args(size="9"))
        intent_id, url = p["intent_id"], p["approval_url"]
        path = urlsplit(url).path
        async with httpx.AsyncClient(timeout=60) as h:
            _, csrf, order_hash = await page_form(h, url)

            async def approve_on_replica_1():
                try:
                    await h.post(f"http://127.0.0.1:{c.ports[0]}{path}/approve",
                                 data={"csrf": csrf, "order_hash": order_hash},
                                 headers={"Origin": c.public_url, "Host": f"127.0.0.1:{c.lb_port}"})
                except httpx.HTTPError:
                    pass  # it dies while answering

            task = asyncio.create_task(approve_on_replica_1())
            deadline = asyncio.get_running_loop().time() + 30
            while c.sql(f"SELECT status FROM orders WHERE intent_id = '{intent_id}'") != "pending":
                assert asyncio.get_running_loop().time() < deadline, "the order was never journaled\n" + c.log_tail()
                await asyncio.sleep(0.1)
            assert orders_of(c, intent_id) == (1, 0)  # journaled, not sent
            c.procs[0].kill()
            c.procs[0].wait(10)
            await task
            await asyncio.sleep(5)  # the survivors keep serving; none of them sends it a second time
            assert orders_of(c, intent_id)[0] == 1
            c.procs[0] = cluster.start_replica(pm_mcp_command(), {k: v for k, v in c.envs[0].items()
                                                                  if k not in pause}, c.ports[0],
                                               c.logs / "replica-1.log", cwd=str(REPO))
            cluster.wait_healthy(c.ports[0], c.procs[0], log_path=c.logs / "replica-1.log")
            deadline = asyncio.get_running_loop().time() + 30
            while c.sql(f"SELECT status FROM intents WHERE id = '{intent_id}'") != "executed":
                assert asyncio.get_running_loop().time() < deadline, "never resolved\n" + c.log_tail()
                await asyncio.sleep(0.2)
        assert orders_of(c, intent_id) == (1, 1)
        async with mcp_client(c) as client:
            got, text = await call(client, "get_order", {"ref": intent_id})
        assert got["intent"]["status"] == "executed" and len(got["orders"]) == 1, text
    finally:
        _stop_cluster(c)
