"""What the OAuth door costs a request: `serve --http` with the static token against the same server with
PM_MCP_AUTH_ISSUER (tools/oauth_issuer.py on loopback), in the same run, paired.

    .venv/bin/python tools/bench/oauth_overhead.py [--pairs 11] [--calls 100]

Two real `pm-mcp serve --http` processes (SQLite, the Polymarket simulator; the tool called reads no venue:
get_risk_policy), one official MCP client each over Streamable HTTP. Each pair runs ``--calls`` sequential tool
calls on the static-token server and then on the OAuth one (the order alternates from pair to pair); the figure is
the median over pairs of (OAuth time / static time), with the per-call medians beside it. Then the token check
alone, in process: JwtVerifier.check on one RS256 and one ES256 token, keys cached (median of 2,000).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

STATIC = "bench-static-token-" + "b" * 24


async def calls(client, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        r = await client.call_tool("get_risk_policy", {})
        assert not r.is_error, r.content[0].text
    return time.perf_counter() - t0


async def run(pairs: int, n: int) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from conftest import pm_mcp_command
    from pm_mcp.auth import JwtVerifier
    from tools.deploy import cluster
    from tools.oauth_issuer import start_issuer
    from tools.sim import start_sims

    tmp = Path(tempfile.mkdtemp(prefix="oauth-bench-"))
    ports = [cluster.free_port(), cluster.free_port()]
    public = f"http://127.0.0.1:{ports[1]}"
    with start_issuer(audience=public + "/mcp", token_ttl_s=3600) as iss, start_sims("polymarket") as sims:
        base = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
        base.update({**sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TOKEN": STATIC,
                     "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/k", "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/m",
                     "PM_MCP_LOG_LEVEL": "WARNING"})
        envs = [{**base, "PM_MCP_HOME": str(tmp / "static")},
                {**base, **iss.env(), "PM_MCP_HOME": str(tmp / "oauth"), "PM_MCP_PUBLIC_URL": public,
                 "PM_MCP_CONFIRM": "elicitation"}]
        procs = [cluster.start_replica(pm_mcp_command(), env, port, tmp / f"{i}.log", cwd=str(REPO))
                 for i, (env, port) in enumerate(zip(envs, ports, strict=True))]
        try:
            for i, (port, proc) in enumerate(zip(ports, procs, strict=True)):
                cluster.wait_healthy(port, proc, log_path=tmp / f"{i}.log")
            tokens = [STATIC, iss.mint("bench", scopes=("pm:read", "pm:paper"))]
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=60) as h0, \
                    httpx2.AsyncClient(headers={"Authorization": f"Bearer {tokens[1]}"}, timeout=60) as h1, \
                    Client(streamable_http_client(f"http://127.0.0.1:{ports[0]}/mcp", http_client=h0)) as static, \
                    Client(streamable_http_client(public + "/mcp", http_client=h1)) as oauth:
                await calls(static, 20)  # warm both
                await calls(oauth, 20)
                ratios, per_static, per_oauth = [], [], []
                for p in range(pairs):
                    if p % 2 == 0:
                        a = await calls(static, n)
                        b = await calls(oauth, n)
                    else:
                        b = await calls(oauth, n)
                        a = await calls(static, n)
                    ratios.append(b / a)
                    per_static.append(a / n * 1000)
                    per_oauth.append(b / n * 1000)
        finally:
            for proc in procs:
                cluster.stop(proc)
        verifier = JwtVerifier(iss.url, public + "/mcp")
        micro = {}
        for alg in ("RS256", "ES256"):
            token = iss.mint("bench", alg=alg)
            await verifier.check(token)  # keys fetched once
            times = []
            for _ in range(2000):
                t0 = time.perf_counter()
                await verifier.check(token)
                times.append(time.perf_counter() - t0)
            micro[alg] = statistics.median(times) * 1e6
        await verifier.aclose()
    load = os.getloadavg()
    print(f"pairs {pairs} x {n} sequential get_risk_policy calls; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"per call, median over pairs: static token {statistics.median(per_static):.2f} ms, "
          f"OAuth {statistics.median(per_oauth):.2f} ms")
    print(f"OAuth / static, median of the pair ratios: {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    print(f"JwtVerifier.check alone (keys cached), median of 2000: RS256 {micro['RS256']:.0f} us, "
          f"ES256 {micro['ES256']:.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=11)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.pairs, args.calls))


if __name__ == "__main__":
    main()
