"""Benchmark: a full ERC-8004 lookup (identity + registration file + reputation + validations) against a
local anvil node with our registries.

    .venv/bin/python tools/bench/erc8004_lookup.py [--runs 50] [--mcp-runs 30]

Measures (1) the lookup in-process (IdentityService.lookup, the code behind the tool), first call
(imports web3, checks the registries) and warm calls; (2) the same through the real pm-mcp process and
the official MCP client (adds stdio + JSON). Prints a markdown table and the RPC calls per lookup.
Target: warm median <= 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tools.devnet.devnet import DEV_KEYS, Registries, deploy, pm_mcp_env, start_anvil  # noqa: E402

FILE: dict[str, bytes] = {}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = FILE.get(self.path, b"")
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def populate(chain: Registries, web: str) -> int:
    import json

    registry = f"eip155:31337:{chain.addresses['identity']}"
    agent = chain.register(f"{web}/agent.json", owner=1, metadata=[("agentName", b"Bench")])
    FILE["/agent.json"] = json.dumps({
        "type": "https://eips.ethereum.org/EIPS/eip-8004#registration-v1", "name": "Bench", "description": "bench",
        "services": [{"name": "MCP", "endpoint": f"{web}/mcp"}, {"name": "A2A", "endpoint": f"{web}/a2a"},
                     {"name": "ENS", "endpoint": "bench.eth"}],
        "registrations": [{"agentId": agent, "agentRegistry": registry}]}).encode()
    chain.set_agent_wallet(agent, 1, DEV_KEYS[5])
    for client in (2, 3, 4, 6):  # 12 feedback entries, 3 tags, 4 clients
        chain.feedback(agent, client, 80 + client, 0, "starred", endpoint=f"{web}/mcp", uri="ipfs://fb")
        chain.feedback(agent, client, 9900 + client, 2, "uptime")
        chain.feedback(agent, client, 500 + client, 0, "responseTime")
    chain.revoke(agent, 2, 1)
    chain.respond(agent, 3, 1, 1, "ipfs://reply")
    for i, (validator, answer) in enumerate(((7, 100), (8, 80), (7, None))):
        h = bytes([i + 1]) * 32
        chain.request_validation(agent, 1, validator, f"ipfs://req-{i}", h)
        if answer is not None:
            chain.respond_validation(h, validator, answer, f"ipfs://resp-{i}", "bench")
    return agent


def stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"median": statistics.median(s), "p90": s[int(0.9 * (len(s) - 1))], "min": s[0], "max": s[-1]}


async def in_process(env: dict[str, str], agent: int, runs: int) -> dict:
    from pm_mcp.identity.lookup import IdentityService
    from pm_mcp.settings import Settings

    settings = Settings(rpc_urls=env["PM_MCP_RPC_URLS"], erc8004_identity=env["PM_MCP_ERC8004_IDENTITY"],
                        erc8004_reputation=env["PM_MCP_ERC8004_REPUTATION"],
                        erc8004_validation=env["PM_MCP_ERC8004_VALIDATION"])
    svc = IdentityService(settings)
    t0 = time.perf_counter()
    first = await svc.lookup(f"31337:{agent}")
    first_ms = (time.perf_counter() - t0) * 1000
    assert first.reputation and first.validations and first.registration and first.registration.valid
    samples, calls = [], set()
    for _ in range(runs):
        t0 = time.perf_counter()
        r = await svc.lookup(f"31337:{agent}")
        samples.append((time.perf_counter() - t0) * 1000)
        calls.add(r.rpc_calls)
    await svc.close()
    return {"first_ms": first_ms, "first_calls": first.rpc_calls, "warm": stats(samples), "warm_calls": sorted(calls),
            "feedback": first.reputation.recent_total, "validations": len(first.validations.requests)}


async def through_mcp(env: dict[str, str], agent: int, runs: int) -> dict:
    from mcp import Client, StdioServerParameters

    exe = Path(sys.executable).parent / "pm-mcp"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pm_mcp"]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env, cwd=str(REPO))
    async with Client(params) as client:
        t0 = time.perf_counter()
        r = await client.call_tool("lookup_agent", {"agent": f"31337:{agent}"})
        first_ms = (time.perf_counter() - t0) * 1000
        assert not r.is_error, r.content[0].text
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            r = await client.call_tool("lookup_agent", {"agent": f"31337:{agent}"})
            samples.append((time.perf_counter() - t0) * 1000)
            assert not r.is_error
    return {"first_ms": first_ms, "warm": stats(samples)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--mcp-runs", type=int, default=30)
    args = ap.parse_args()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    web = f"http://127.0.0.1:{httpd.server_address[1]}"
    node = start_anvil()
    try:
        addrs = deploy(node.rpc_url)
        agent = populate(Registries(node.rpc_url, addrs), web)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
        env.update(pm_mcp_env(node.rpc_url, addrs))
        env["PM_MCP_HOME"] = tempfile.mkdtemp(prefix="pm-mcp-bench-")
        env["PM_MCP_LOG_LEVEL"] = "WARNING"
        a = asyncio.run(in_process(env, agent, args.runs))
        b = asyncio.run(through_mcp(env, agent, args.mcp_runs))
    finally:
        node.stop()
        httpd.shutdown()
    w, m = a["warm"], b["warm"]
    print(f"scenario: 1 agent, https registration file, {a['feedback']} feedback entries (3 tags, 4 clients, "
          f"1 revoked, 1 response), {a['validations']} validation requests (1 pending)\n")
    print("| measure | median ms | p90 ms | min ms | max ms | RPC calls |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| in-process, first lookup (imports web3, checks registries) | {a['first_ms']:.1f} | | | | "
          f"{a['first_calls']} |")
    print(f"| in-process, warm (n={args.runs}) | {w['median']:.1f} | {w['p90']:.1f} | {w['min']:.1f} | "
          f"{w['max']:.1f} | {', '.join(map(str, a['warm_calls']))} |")
    print(f"| lookup_agent via pm-mcp + MCP client, first call | {b['first_ms']:.1f} | | | | {a['first_calls']} |")
    print(f"| lookup_agent via pm-mcp + MCP client, warm (n={args.mcp_runs}) | {m['median']:.1f} | {m['p90']:.1f} | "
          f"{m['min']:.1f} | {m['max']:.1f} | {', '.join(map(str, a['warm_calls']))} |")
    ok = w["median"] <= 150 and m["median"] <= 150
    print(f"\ntarget: warm median <= 150 ms: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
