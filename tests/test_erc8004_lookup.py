"""lookup_agent end to end: a real anvil node with our registries, a loopback web server for the
registration files (https-style URLs, an IPFS gateway, endpoints to probe, and bad files), and the
real pm-mcp process driven by the official MCP client."""

from __future__ import annotations

import base64
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = [pytest.mark.e2e]

REG_TYPE = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1"
IPFS_CID = "bafkreialphabetagentregistrationfile0000000000000000000000"
SLOW_S = 8.0  # longer than the 5 s fetch limit


class _Files(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str, bytes]] = {}

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _serve(self):
        path = self.path.split("?")[0]
        if path == "/slow":
            time.sleep(SLOW_S)
        if path == "/big":  # 10 MB streamed without a Content-Length
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(b'{"name": "')
                for _ in range(160):
                    self.wfile.write(b"x" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if path == "/mcp" and self.command == "POST":
            length = int(self.headers.get("Content-Length", 0))
            req = json.loads(self.rfile.read(length) or b"{}")
            body = json.dumps({"jsonrpc": "2.0", "id": req.get("id"), "result": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "alpha", "version": "1"}}})
            route = (200, "application/json", body.encode())
        else:
            route = self.routes.get(path, (404, "text/plain", b"not found"))
        status, ctype, body = route
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = _serve
    do_POST = _serve


def _reg_file(name, registry, agent_id, services, key="services", **extra):
    doc = {"type": REG_TYPE, "name": name, "description": f"{name}, a test agent", key: services,
           "registrations": [{"agentId": agent_id, "agentRegistry": registry}], "supportedTrust": ["reputation"]}
    doc.update(extra)
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def world():
    """anvil + registries + a file server + a populated scenario; torn down after the module."""
    from tools.devnet.devnet import DEV_KEYS, Registries, deploy, start_anvil

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    web = f"http://127.0.0.1:{httpd.server_address[1]}"
    node = start_anvil()
    try:
        addrs = deploy(node.rpc_url)
        chain = Registries(node.rpc_url, addrs)
        acct = chain.accounts
        registry = f"eip155:31337:{addrs['identity']}"
        ids: dict[str, int] = {}

        # agent "alpha": https-style file, every service kind, verified wallet, metadata
        alpha_services = [{"name": "MCP", "endpoint": f"{web}/mcp", "version": "2025-06-18"},
                          {"name": "A2A", "endpoint": f"{web}/a2a/agent-card.json", "version": "0.3.0"},
                          {"name": "web", "endpoint": f"{web}/home"},
                          {"name": "ENS", "endpoint": "alpha.eth", "version": "v1"},
                          {"name": "DID", "endpoint": "did:web:alpha.example", "version": "v1"}]
        ids["alpha"] = chain.register(f"{web}/alpha.json", owner=1, metadata=[("agentName", b"Alpha")])
        _Files.routes["/alpha.json"] = (200, "application/json",
                                        _reg_file("Alpha", registry, ids["alpha"], alpha_services, active=True))
        _Files.routes["/a2a/agent-card.json"] = (200, "application/json", b'{"name": "Alpha"}')
        _Files.routes["/home"] = (200, "text/html", b"<html>alpha</html>")
        wallet = chain.set_agent_wallet(ids["alpha"], 1, DEV_KEYS[5])

        # data: URI, fully on-chain
        ids["data"] = len(ids)
        data_doc = _reg_file("Onchain", registry, ids["data"], [{"name": "web", "endpoint": "https://onchain.example"}])
        assert chain.register("data:application/json;base64," + base64.b64encode(data_doc).decode(), owner=1) \
            == ids["data"]
        # ipfs:// through the loopback gateway, old `endpoints` key
        ids["ipfs"] = len(ids)
        _Files.routes[f"/ipfs/{IPFS_CID}"] = (200, "application/json", _reg_file(
            "Legacy", registry, ids["ipfs"], [{"name": "MCP", "endpoint": "https://legacy.example/mcp",
                                                "capabilities": {}}], key="endpoints"))
        assert chain.register(f"ipfs://{IPFS_CID}", owner=2) == ids["ipfs"]
        # registrations entry points at another agent
        ids["elsewhere"] = len(ids)
        _Files.routes["/elsewhere.json"] = (200, "application/json", _reg_file(
            "Impostor", "eip155:8453:0x8004A169FB4a3325136EB29fA0ceB6D2e539a432", 999, []))
        assert chain.register(f"{web}/elsewhere.json", owner=2) == ids["elsewhere"]
        # bad registration URIs
        _Files.routes["/html"] = (200, "text/html; charset=utf-8", b"<!doctype html><title>Parked</title>")
        _Files.routes["/notjson"] = (200, "application/json", b"this is not json {")
        for key, path in (("slow", "/slow"), ("html", "/html"), ("big", "/big"), ("notjson", "/notjson")):
            ids[key] = len(ids)
            assert chain.register(f"{web}{path}", owner=3) == ids[key]
        # account 8 owns two agents (no file)
        ids["b1"] = chain.register("", owner=8)
        ids["b2"] = chain.register("", owner=8)

        # feedback on alpha: several tags, several clients; one revoked; one response
        a = ids["alpha"]
        fb_starred = chain.feedback(a, 2, 87, 0, "starred", endpoint=f"{web}/mcp", uri="ipfs://feedback-2-1",
                                    file_hash=b"\x42" * 32)
        chain.feedback(a, 3, 60, 0, "starred")
        chain.feedback(a, 2, 9977, 2, "uptime")
        bad = chain.feedback(a, 4, 10, 0, "starred")
        chain.revoke(a, 4, bad)
        chain.feedback(a, 3, -32, 1, "tradingYield", "day")
        chain.respond(a, 2, fb_starred, 1, "ipfs://owner-reply", b"\x07" * 32)
        # validations: one passed, one answered 0 (a real zero), one pending
        chain.request_validation(a, 1, 6, "ipfs://req-1", b"\x01" * 32)
        chain.respond_validation(b"\x01" * 32, 6, 100, "ipfs://resp-1", "tee")
        chain.request_validation(a, 1, 7, "ipfs://req-2", b"\x02" * 32)
        chain.respond_validation(b"\x02" * 32, 7, 0, "ipfs://resp-2", "zkml")
        chain.request_validation(a, 1, 6, "ipfs://req-3", b"\x03" * 32)

        yield {"node": node, "addrs": addrs, "chain": chain, "ids": ids, "web": web, "acct": acct, "wallet": wallet,
               "registry": registry}
    finally:
        node.stop()
        httpd.shutdown()


@pytest.fixture
def env(pm_env, world):
    from tools.devnet.devnet import pm_mcp_env

    pm_env.update(pm_mcp_env(world["node"].rpc_url, world["addrs"]))
    pm_env["PM_MCP_IPFS_GATEWAY"] = f"{world['web']}/ipfs/"
    return pm_env


async def _lookup(client, **args):
    r = await client.call_tool("lookup_agent", args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


@pytest.mark.anyio
async def test_full_lookup_returns_exactly_the_chain_state(env, world, mcp_connect):
    ids, acct = world["ids"], world["acct"]
    async with mcp_connect(env) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        tool = tools["lookup_agent"]
        ann = tool.annotations
        assert (ann.read_only_hint, ann.destructive_hint, ann.idempotent_hint, ann.open_world_hint) == \
            (True, False, True, True)
        assert tool.title and len(tool.description) < 600 and tool.output_schema

        s, text = await _lookup(client, agent=f"31337:{ids['alpha']}")

    assert text.startswith(f"Agent {ids['alpha']} on Anvil devnet: owned by 0x7099")
    assert "'starred' avg 73.5 (2 from 2 clients)" in text and "2 answered (0/100, 100/100), 1 pending" in text
    ident = s["identity"]
    assert ident["agent_id"] == ids["alpha"] and ident["owner"] == acct[1]
    assert ident["agent_wallet"] == world["wallet"] and ident["agent_wallet_set"] is True
    assert ident["agent_uri"] == f"{world['web']}/alpha.json"
    assert ident["agent_registry"] == world["registry"]
    assert ident["metadata"] == [{"key": "agentName", "value_hex": "0x" + b"Alpha".hex(), "value_text": "Alpha"}]

    reg = s["registration"]
    assert reg["fetched"] and reg["valid"] and reg["points_back"] is True and reg["name"] == "Alpha"
    assert [x["kind"] for x in reg["services"]] == ["MCP", "A2A", "web", "ENS", "DID"]
    assert reg["uri_scheme"] == "http" and reg["active"] is True

    rep = s["reputation"]
    assert (rep["feedback_count"], rep["revoked_count"], rep["client_count"]) == (4, 1, 2)
    tags = {(t["tag1"], t["tag2"]): t for t in rep["tags"]}
    assert set(tags) == {("starred", ""), ("uptime", ""), ("tradingYield", "day")}
    st = tags[("starred", "")]
    assert (st["count"], st["clients"], Decimal(st["average"]), st["min"], st["max"], st["revoked"]) == \
        (2, 2, Decimal("73.5"), "60", "87", 1)
    assert tags[("uptime", "")]["average"] == "99.77" and tags[("tradingYield", "day")]["average"] == "-3.2"
    assert rep["recent_total"] == 5
    recent = {(f["client"], f["feedback_index"]): f for f in rep["recent"]}
    first = recent[(acct[2], 1)]
    assert first["value"] == "87" and first["endpoint"] == f"{world['web']}/mcp"
    assert first["feedback_uri"] == "ipfs://feedback-2-1" and first["feedback_hash"] == "0x" + "42" * 32
    assert [(x["responder"], x["response_uri"]) for x in first["responses"]] == [(acct[1], "ipfs://owner-reply")]
    assert recent[(acct[4], 1)]["revoked"] is True and recent[(acct[4], 1)]["value"] == "10"
    assert recent[(acct[3], 2)]["value"] == "-3.2" and recent[(acct[3], 2)]["raw_value"] == "-32"

    val = s["validations"]
    assert (val["answered"], val["pending"], val["unknown"]) == (2, 1, 0)
    by_hash = {v["request_hash"]: v for v in val["requests"]}
    assert by_hash["0x" + "01" * 32]["response"] == 100 and by_hash["0x" + "01" * 32]["tag"] == "tee"
    zero = by_hash["0x" + "02" * 32]
    assert zero["status"] == "answered" and zero["response"] == 0 and zero["validator"] == acct[7]
    assert zero["responses"][0]["response_uri"] == "ipfs://resp-2"
    pending = by_hash["0x" + "03" * 32]
    assert pending["status"] == "pending" and pending["response"] is None and pending["request_uri"] == "ipfs://req-3"
    assert {v["validator"]: (v["requests"], v["answered"]) for v in val["validators"]} == \
        {acct[6]: (2, 1), acct[7]: (1, 1)}
    assert s["liveness"] is None and s["logs_complete"] is True
    assert s["rpc_calls"] >= 10


@pytest.mark.anyio
async def test_input_forms_trusted_clients_liveness_and_resource(env, world, mcp_connect):
    ids, acct, addrs = world["ids"], world["acct"], world["addrs"]
    a = ids["alpha"]
    async with mcp_connect(env) as client:
        # the same agent, named four ways
        for form in (f"eip155:31337:{addrs['identity']}:{a}", f"anvil {a}", f"{a} on anvil", str(a)):
            s, _ = await _lookup(client, agent=form)
            assert s["identity"]["agent_id"] == a, form
        s, _ = await _lookup(client, agent=str(a), chain="31337")
        assert s["identity"]["owner"] == acct[1]

        # restricted to one trusted reviewer
        s, text = await _lookup(client, agent=f"31337:{a}", trusted_clients=[acct[3]])
        rep = s["reputation"]
        assert rep["trusted_clients"] == [acct[3]] and rep["feedback_count"] == 2
        assert {(t["tag1"], t["average"]) for t in rep["tags"]} == {("starred", "60"), ("tradingYield", "-3.2")}
        assert "from trusted clients" in text

        # pagination of recent feedback
        s, _ = await _lookup(client, agent=f"31337:{a}", limit=2, offset=2)
        assert len(s["reputation"]["recent"]) == 2 and s["reputation"]["recent_offset"] == 2

        # liveness only when asked: MCP, A2A and web endpoints on the loopback server
        s, text = await _lookup(client, agent=f"31337:{a}", check_liveness=True)
        probes = {p["service"]: p for p in s["liveness"]}
        assert set(probes) == {"MCP", "A2A", "web"}
        assert all(p["answered"] and p["status"] == 200 and p["latency_ms"] is not None for p in probes.values())
        assert probes["MCP"]["detail"].startswith("speaks MCP") and probes["A2A"]["detail"] == "agent card served"
        assert "MCP endpoint answered in" in text

        # an owner address with two agents -> the list
        s, text = await _lookup(client, agent=f"31337:{acct[8]}")
        assert s["owned_total"] == 2 and [x["agent_id"] for x in s["owned_agents"]] == [ids["b1"], ids["b2"]]
        assert s["identity"] is None and "2 agents" in text
        # the agent-wallet address -> its one agent, looked up in full
        s, text = await _lookup(client, agent=world["wallet"], chain="anvil")
        assert s["owned_agents"] == [{"agent_id": a, "relation": "agent_wallet"}]
        assert s["identity"]["agent_id"] == a and "agent wallet of 1 agent" in text
        # an address with nothing
        s, text = await _lookup(client, agent=f"31337:{acct[9]}")
        assert s["owned_total"] == 0 and "owns no agent" in text

        # the resource
        templates = await client.list_resource_templates()
        assert "erc8004://{chainId}/{agentId}" in [t.uri_template for t in templates.resource_templates]
        res = await client.read_resource(f"erc8004://31337/{a}")
        doc = json.loads(res.contents[0].text)
        assert doc["identity"]["owner"] == acct[1] and doc["validations"]["pending"] == 1


@pytest.mark.anyio
async def test_registration_uri_kinds_and_bad_files(env, world, mcp_connect):
    ids = world["ids"]
    async with mcp_connect(env) as client:
        s, _ = await _lookup(client, agent=f"31337:{ids['data']}")
        reg = s["registration"]
        assert reg["uri_scheme"] == "data" and reg["valid"] and reg["points_back"] is True
        assert reg["name"] == "Onchain" and s["identity"]["agent_uri"].startswith("data:application/json;base64,")

        s, _ = await _lookup(client, agent=f"31337:{ids['ipfs']}")
        reg = s["registration"]
        assert reg["uri_scheme"] == "ipfs" and reg["uses_legacy_endpoints_key"] is True
        assert reg["services"] == [{"kind": "MCP", "name": "MCP", "endpoint": "https://legacy.example/mcp",
                                    "version": None}]
        assert reg["points_back"] is True and s["identity"]["owner"] == world["acct"][2]

        s, text = await _lookup(client, agent=f"31337:{ids['elsewhere']}")
        assert s["registration"]["points_back"] is False and "does NOT point back" in text
        assert any("points back" in w for w in s["warnings"])

        # each bad file: a partial answer (identity is there) with a warning that says what went wrong
        for key, fragment in (("slow", "within 5 s"), ("html", "HTML"), ("big", "limit"), ("notjson", "not JSON")):
            t0 = time.monotonic()
            s, text = await _lookup(client, agent=f"31337:{ids[key]}")
            assert time.monotonic() - t0 < SLOW_S - 1  # the time limit holds; nobody waits for the slow server
            assert s["identity"]["agent_id"] == ids[key]
            joined = " ".join(s["warnings"])
            assert fragment in joined, (key, s["warnings"])
            assert s["registration"]["valid"] is False
        # no registration file at all
        s, text = await _lookup(client, agent=f"31337:{ids['b1']}")
        assert s["registration"] is None and "no registration file" in text
        assert s["reputation"]["feedback_count"] == 0 and s["validations"]["requests"] == []


@pytest.mark.anyio
async def test_bad_input_gives_clear_errors_and_server_stays_up(env, world, mcp_connect):
    cases = [
        ({"agent": "8453:1"}, "PM_MCP_RPC_URLS"),
        ({"agent": "base 12"}, "PM_MCP_RPC_URLS"),
        ({"agent": "12", "chain": "atlantis"}, "unknown chain"),
        ({"agent": "31337:abc"}, "cannot read"),
        ({"agent": "eip155:31337:0x12:3"}, "malformed CAIP id"),
        ({"agent": "31337:4242"}, "does not exist"),
        ({"agent": "31337:1", "trusted_clients": ["alice"]}, "not an address"),
        ({"agent": "777:1"}, "PM_MCP_RPC_URLS"),
    ]
    async with mcp_connect(env) as client:
        for args, fragment in cases:
            r = await client.call_tool("lookup_agent", args)
            assert r.is_error, args
            assert fragment in r.content[0].text, (args, r.content[0].text)
        r = await client.call_tool("lookup_agent", {"agent": "31337:1", "limit": 0})
        assert r.is_error  # schema: limit >= 1
        s, _ = await _lookup(client, agent=f"31337:{world['ids']['alpha']}")
        assert s["identity"]["agent_id"] == world["ids"]["alpha"]


@pytest.mark.anyio
async def test_unconfirmed_validation_registry_is_skipped_with_a_warning(env, world, mcp_connect):
    env = dict(env)
    env["PM_MCP_ERC8004_VALIDATION"] = "0x" + "8004" * 10  # no code there
    async with mcp_connect(env) as client:
        s, _ = await _lookup(client, agent=f"31337:{world['ids']['alpha']}")
        assert s["validations"] is None and s["reputation"]["feedback_count"] == 4
        assert any("validations skipped" in w for w in s["warnings"])


@pytest.mark.anyio
async def test_unreachable_or_wrong_rpc_is_a_clear_error_without_the_url_key(pm_env, world, mcp_connect):
    rpc = world["node"].rpc_url
    pm_env.update({"PM_MCP_RPC_URLS": f"31337=http://127.0.0.1:9/v2/SECRETKEY1,8453={rpc}/?apikey=SECRETKEY2",
                   "PM_MCP_ERC8004_IDENTITY": world["addrs"]["identity"]})
    async with mcp_connect(pm_env) as client:
        r = await client.call_tool("lookup_agent", {"agent": "31337:1"})
        assert r.is_error and "unreachable" in r.content[0].text and "PM_MCP_RPC_URLS" in r.content[0].text
        r2 = await client.call_tool("lookup_agent", {"agent": "base 1"})
        assert r2.is_error and "serves chain 31337" in r2.content[0].text
        assert "SECRETKEY" not in r.content[0].text + r2.content[0].text
