"""Per-user data through the real server (#16 item 4): `pm-mcp serve --http` with OAuth on (the test issuer in
tools/oauth_issuer.py, keys per run), the Polymarket simulator, two people (alice and bob) each with their own access
token, the official MCP client over Streamable HTTP; the server's store on SQLite, then on PostgreSQL
(tests/pg_server.py). Everything on 127.0.0.1.

Alice proposes, confirms (PM_MCP_CONFIRM=host, which the operator allows here with PM_MCP_ALLOW_HOST_CONFIRM=1),
watches her order and tightens her policy. Bob cannot list, read, confirm, cancel or watch any of it, and each try
answers word for word what an id that never existed answers; his portfolio, track record, alerts and policy are his
own. The background runner fires alice's watch for alice only."""

from __future__ import annotations

import asyncio
import os
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pg_server import shared_server

from conftest import REPO, pm_mcp_command
from tools.deploy import cluster
from tools.oauth_issuer import start_issuer
from tools.sim import start_sims
from tools.sim.polymarket import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
STATIC = "isolation-test-static-token-" + "s" * 24
BUY = {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.43", "size": "5"}
RESTING = {**BUY, "limit_price": "0.39", "size": "10"}


@dataclass
class Served:
    url: str
    issuer: object
    log: Path

    @property
    def mcp(self) -> str:
        return self.url + "/mcp"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request, tmp_path_factory):
    database = {}
    if request.param == "postgres":
        server = shared_server()
        if isinstance(server, str):
            pytest.skip(server)
        database = {"PM_MCP_DATABASE_URL": server.new_database()}
    tmp = tmp_path_factory.mktemp("isolation")
    port = cluster.free_port()
    public = f"http://127.0.0.1:{port}"
    with start_issuer(audience=public + "/mcp") as iss, start_sims("polymarket") as sims:
        sim = sims["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        # a buy at 0.43 fills at once at 0.40; one at 0.39 rests (an open order to watch and cancel). The paper book
        # is not consumed: a resting order at or above the best ask would fill at the next sync, so none is placed
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "10"), ("0.42", "10"), ("0.45", "100")],
                 tick_size="0.01")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
        env.update({"PM_MCP_HOME": str(tmp / "home"), "PM_MCP_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
                    "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/kalshi",
                    "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/manifold",
                    "PM_MCP_IPFS_GATEWAY": "http://127.0.0.1:9/ipfs/", "PM_MCP_HTTP_TOKEN": STATIC,
                    **sims.env(), **iss.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_PUBLIC_URL": public,
                    "PM_MCP_HTTP_TIMEOUT_S": "3", "PM_MCP_CONFIRM": "host", "PM_MCP_ALLOW_HOST_CONFIRM": "1",
                    "PM_MCP_WATCH_INTERVAL_S": "0.5", "PM_MCP_SYNC_INTERVAL_S": "1", **database})
        log = tmp / "server.log"
        proc = cluster.start_replica(pm_mcp_command(), env, port, log, cwd=str(REPO))
        try:
            cluster.wait_healthy(port, proc, log_path=log)
            yield Served(public, iss, log)
        finally:
            cluster.stop(proc)


@asynccontextmanager
async def person(served: Served, name: str, **client_kwargs):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    token = served.issuer.mint(name, scopes=("pm:read", "pm:paper"))
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(streamable_http_client(served.mcp, http_client=http), **client_kwargs) as client:
            yield client


async def call(client, tool: str, args: dict | None = None):
    r = await client.call_tool(tool, args or {})
    return r.is_error, (r.content[0].text if r.content else ""), r.structured_content


async def ok(client, tool: str, args: dict | None = None) -> tuple[str, dict]:
    err, text, out = await call(client, tool, args)
    assert not err, (tool, text)
    return text, out


async def refused(client, tool: str, args: dict) -> str:
    err, text, _ = await call(client, tool, args)
    assert err, (tool, text)
    return text


def ids_in(text: str) -> set[str]:
    return set(re.findall(r"\b[iow]-[0-9a-f]{12}(?:-\d+)?\b", text))


async def test_two_people_see_only_their_own_data(served):
    async with person(served, "alice") as alice, person(served, "bob") as bob:
        # --- alice trades, watches her order, tightens her policy
        _, prop = await ok(alice, "propose_order", {**BUY, "forecast_p": "0.55", "forecast_source": "alice-model"})
        intent_id = prop["intent_id"]
        text, done = await ok(alice, "confirm_order", {"intent_id": intent_id})
        [filled] = done["orders"]
        assert filled["status"] == "filled", text
        _, resting = await ok(alice, "propose_order", RESTING)
        text, done = await ok(alice, "confirm_order", {"intent_id": resting["intent_id"]})
        [order] = done["orders"]
        order_id = order["order_id"]
        assert order["status"] == "open", text
        _, pending = await ok(alice, "propose_order", {**RESTING, "size": "5"})
        _, watch = await ok(alice, "create_watch", {"kind": "order_done", "order_id": order_id})
        watch_id = watch["watch"]["id"]
        await ok(alice, "tighten_risk_policy", {"max_order_usd": "7"})
        _, a_port = await ok(alice, "get_portfolio")
        assert a_port["positions"] and a_port["open_orders"] == 1 and float(a_port["daily_spent"]) > 5
        alice_ids = {intent_id, resting["intent_id"], pending["intent_id"], filled["order_id"], order_id, watch_id}

        # --- bob: nothing of alice's in any list or total
        for tool, args in (("list_orders", {}), ("list_orders", {"status": "open"}), ("get_portfolio", {}),
                           ("get_track_record", {}), ("list_watches", {"include_ended": True}), ("get_alerts", {})):
            text, out = await ok(bob, tool, args)
            assert not (ids_in(text) | ids_in(str(out))) & alice_ids, (tool, text)
        _, b_orders = await ok(bob, "list_orders")
        _, b_port = await ok(bob, "get_portfolio")
        _, b_track = await ok(bob, "get_track_record")
        _, b_watches = await ok(bob, "list_watches", {"include_ended": True})
        assert b_orders["total"] == 0 and b_orders["orders"] == []
        assert b_port["positions"] == [] and b_port["open_orders"] == 0 and float(b_port["daily_spent"]) == 0
        assert b_port["exposure"] == [] and b_track["forecasts"] == [] and b_watches["watches"] == []
        # alice's tightening is hers
        _, b_policy = await ok(bob, "tighten_risk_policy", {})
        _, a_policy = await ok(alice, "tighten_risk_policy", {})
        assert float(a_policy["max_order_usd"]) == 7 and float(b_policy["max_order_usd"]) == 100

        # --- bob with alice's ids: word for word what an id that never existed gets
        fake = {"i": "i-0123456789ab", "o": "o-0123456789ab", "w": "w-0123456789ab"}
        for tool, key, real in (("get_order", "ref", intent_id), ("get_order", "ref", order_id),
                                ("get_order", "ref", filled["order_id"]), ("cancel_order", "ref", resting["intent_id"]),
                                ("get_order", "ref", pending["intent_id"]),
                                ("confirm_order", "intent_id", pending["intent_id"]),
                                ("cancel_order", "ref", pending["intent_id"]), ("cancel_order", "ref", intent_id),
                                ("cancel_order", "ref", order_id), ("delete_watch", "watch_id", watch_id),
                                ("create_watch", "order_id", order_id)):
            extra = {"kind": "order_done"} if tool == "create_watch" else {}
            made_up = fake[real[0]]
            theirs = await refused(bob, tool, {**extra, key: real})
            nobodys = await refused(bob, tool, {**extra, key: made_up})
            assert theirs.replace(real, made_up) == nobodys, (tool, real, theirs, nobodys)
        with pytest.raises(Exception) as info:  # noqa: PT011 - the SDK's error type for a failed resource read
            await bob.read_resource(f"watch://{watch_id}")
        with pytest.raises(Exception) as unknown:  # noqa: PT011
            await bob.read_resource(f"watch://{fake['w']}")
        assert str(info.value).replace(watch_id, fake["w"]) == str(unknown.value)

        # --- alice's things are untouched by bob's tries
        text, still = await ok(alice, "get_order", {"ref": pending["intent_id"]})
        assert still["intent"]["status"] == "proposed", text
        _, a_watches = await ok(alice, "list_watches")
        assert [w["id"] for w in a_watches["watches"]] == [watch_id]
        _, a_track = await ok(alice, "get_track_record")
        assert [f["intent_id"] for f in a_track["forecasts"]] == [intent_id]

        # --- the runner fires alice's watch (her order ends) for alice only
        await ok(alice, "cancel_order", {"ref": order_id})
        alerts: list = []
        for _ in range(60):
            _, got = await ok(alice, "get_alerts")
            alerts += got["alerts"]
            if alerts:
                break
            await asyncio.sleep(0.5)
        assert [a["watch_id"] for a in alerts] == [watch_id], alerts
        _, b_alerts = await ok(bob, "get_alerts")
        assert b_alerts["alerts"] == []

        # --- bob trades too: his own order, beside alice's
        _, b_prop = await ok(bob, "propose_order", BUY)
        _, b_done = await ok(bob, "confirm_order", {"intent_id": b_prop["intent_id"]})
        _, b_orders = await ok(bob, "list_orders")
        assert [o["order_id"] for o in b_orders["orders"]] == [o["order_id"] for o in b_done["orders"]]
        _, a_orders = await ok(alice, "list_orders")
        assert {o["order_id"] for o in a_orders["orders"]} == {filled["order_id"], order_id}


async def test_subscribing_to_someone_elses_watch_reads_like_an_unknown_id(served):
    """resources/subscribe (a legacy session) and subscriptions/listen (2026-07-28) on bob's side: alice's watch
    id is refused word for word as an id that never existed, so bob never hears when her watch fires."""
    from mcp.shared.exceptions import MCPError

    made_up = "w-fedcba987654"
    async with person(served, "alice", mode="legacy") as alice, person(served, "bob", mode="legacy") as bob:
        _, out = await ok(alice, "create_watch", {"kind": "price_below", "market": NEWSOM, "venue": "polymarket",
                                                   "outcome": "Yes", "level": "0.05"})
        uri = out["watch"]["uri"]
        await alice.session.subscribe_resource(uri)  # her own: accepted
        with pytest.raises(MCPError) as theirs:
            await bob.session.subscribe_resource(uri)
        with pytest.raises(MCPError) as nobodys:
            await bob.session.subscribe_resource(f"watch://{made_up}")
        assert theirs.value.error.code == nobodys.value.error.code == -32602
        assert str(theirs.value).replace(uri.removeprefix("watch://"), made_up) == str(nobodys.value)
        with pytest.raises(MCPError) as read:  # and reading it says the same
            await bob.read_resource(uri)
        assert str(read.value) == str(theirs.value)
        await bob.session.subscribe_resource("market://polymarket/559652")  # other resources: unchanged
    async with person(served, "alice") as alice, person(served, "bob") as bob:
        async with alice.listen(resource_subscriptions=[uri]):
            pass  # her own: the stream opens
        refusals = []
        for wanted in (uri, f"watch://{made_up}"):
            with pytest.raises(MCPError) as info:
                async with bob.listen(resource_subscriptions=[wanted]):
                    pass
            refusals.append(str(info.value))
        assert refusals[0].replace(uri.removeprefix("watch://"), made_up) == refusals[1]
