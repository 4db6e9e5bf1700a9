"""Load through HAProxy: three `pm-mcp serve --http` replicas against one, the same balancer in front of both
(tools/deploy/haproxy.cfg; for "one replica" its three server lines name the same process), one PostgreSQL
database per run, the loopback Polymarket simulator behind the venue calls.

    .venv/bin/python tools/bench/replicas_load.py [--clients 100] [--seconds 60] [--pairs 1]

Each of --clients official MCP clients (Streamable HTTP, 2026-07-28) loops for --seconds: a local read
(get_risk_policy), a venue read (get_market), compute_edge, size_position, and every 4th round a paper
propose_order approved on the approval page (GET the page, POST Approve, both through the balancer).
Reported per configuration: requests/s, p50/p99 per operation (client side), errors, orders journaled per
approved intent (duplicates: more than one; lost: approved but not executed), RSS per replica at the end, and
the CPU seconds the replicas and HAProxy used per request. Runs alternate (1, 3, 1, 3, ...) so a load change
on the machine hits both. On a 2-core machine the clients, PostgreSQL, HAProxy and the replicas share the CPU:
the ratio between the two is indicative only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tools.deploy import cluster  # noqa: E402
from tools.deploy.run_local import pm_mcp_command, start_postgres  # noqa: E402

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
TOKEN = "bench-token-" + "z" * 32


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def client_loop(lb_url: str, go: asyncio.Event, stop_at: list[float], lat: dict[str, list[float]],
                      errors: dict[str, int], approved: list[str], seed: int, ready: list[int]) -> None:
    async def timed(name: str, coro):
        began = time.perf_counter()
        try:
            result = await coro
        except Exception as exc:  # noqa: BLE001 - counted, the loop goes on
            errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        lat[name].append(time.perf_counter() - began)
        if getattr(result, "is_error", False):
            errors[f"{name}: {result.content[0].text[:80]}"] += 1
            return None
        return result

    async def http_status(response) -> None:
        if response.status_code >= 400:
            errors[f"HTTP {response.status_code} from {response.headers.get('x-pm-replica') or 'the balancer'}"] += 1

    timed.lat = lat
    try:
        await _client_rounds(lb_url, go, stop_at, timed, approved, errors, seed, ready, http_status)
    except Exception as exc:  # noqa: BLE001 - a client that falls over is counted, the others go on
        errors[f"client ended: {type(exc).__name__}: {str(exc)[:80]}"] += 1
    finally:
        if seed not in ready:
            ready.append(seed)


async def _client_rounds(lb_url, go, stop_at, timed, approved, errors, seed, ready, http_status) -> None:
    import httpx
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120,
                                  event_hooks={"response": [http_status]}) as http, \
            httpx.AsyncClient(timeout=120) as page:
        async with Client(streamable_http_client(lb_url + "/mcp", http_client=http)) as client:
            for attempt in range(5):  # connected and warm before the clock starts
                try:
                    await client.call_tool("get_risk_policy", {})
                    break
                except Exception as exc:  # noqa: BLE001
                    errors[f"warm-up: {type(exc).__name__}: {str(exc)[:60]}"] += 1
                    await asyncio.sleep(0.5 * (attempt + 1))
            ready.append(seed)
            await go.wait()
            n = seed
            while time.monotonic() < stop_at[0]:
                n += 1
                await timed("get_risk_policy", client.call_tool("get_risk_policy", {}))
                await timed("get_market", client.call_tool("get_market", {"venue": "polymarket", "market": NEWSOM}))
                await timed("compute_edge", client.call_tool("compute_edge", {
                    "p": "0.5", "outcome": "Yes", "side": "buy", "venue": "polymarket", "market": NEWSOM, "size": "10"}))
                await timed("size_position", client.call_tool("size_position", {"p": "0.62", "price": "0.45"}))
                if n % 4:
                    continue
                r = await timed("propose_order", client.call_tool("propose_order", {
                    "venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.40",
                    "size": "5"}))
                if r is None:
                    continue
                url = r.structured_content["approval_url"]
                began = time.perf_counter()
                try:
                    shown = await page.get(url)
                    csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text).group(1)
                    order_hash = re.search(r'name="order_hash" value="([^"]+)"', shown.text).group(1)
                    done = await page.post(url + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                                           headers={"Origin": lb_url})
                except Exception as exc:  # noqa: BLE001
                    errors[f"approve_page: {type(exc).__name__}"] += 1
                    continue
                if done.status_code != 303:
                    errors[f"approve_page: HTTP {done.status_code}"] += 1
                    continue
                timed.lat["approve_page"].append(time.perf_counter() - began)
                approved.append(r.structured_content["intent_id"])


def run(replicas: int, clients: int, seconds: float, sims, db_url_of, tmp: Path) -> dict:
    import subprocess

    ports = [cluster.free_port() for _ in range(replicas)]
    lb_port = cluster.free_port()
    db_url, psql = db_url_of()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
    env.update({**sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_DATABASE_URL": db_url, "PM_MCP_HTTP_TOKEN": TOKEN,
                "PM_MCP_STATE_KEYS": secrets.token_hex(32), "PM_MCP_PUBLIC_URL": f"http://127.0.0.1:{lb_port}",
                "PM_MCP_BANKROLL": "1000000000", "PM_MCP_MAX_DAILY_USD": "1000000000", "PM_MCP_MAX_EVENT_FRACTION": "1",
                "PM_MCP_LOG_LEVEL": "WARNING", "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/k",
                "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/m"})
    procs: list[subprocess.Popen] = []
    run_dir = tmp / f"run-{replicas}-{time.monotonic_ns()}"
    run_dir.mkdir()
    try:
        for i, port in enumerate(ports, start=1):
            procs.append(cluster.start_replica(pm_mcp_command(), {**env, "PM_MCP_HOME": str(run_dir / f"home-{i}")},
                                               port, run_dir / f"replica-{i}.log", cwd=str(REPO)))
        for i, (port, proc) in enumerate(zip(ports, procs, strict=True), start=1):
            cluster.wait_healthy(port, proc, log_path=run_dir / f"replica-{i}.log")
        addrs = [f"127.0.0.1:{ports[i % replicas]}" for i in range(cluster.REPLICAS_IN_CFG)]
        lb = cluster.start_haproxy(f"127.0.0.1:{lb_port}", addrs, run_dir / "haproxy.log")
        procs.append(lb)
        lat: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        approved: list[str] = []

        ready: list[int] = []
        cpu0: dict[int, float] = {}

        async def load() -> float:
            go, stop_at = asyncio.Event(), [0.0]
            tasks = [asyncio.create_task(client_loop(f"http://127.0.0.1:{lb_port}", go, stop_at, lat, errors,
                                                     approved, i, ready)) for i in range(clients)]
            while len(ready) < clients and not any(t.done() for t in tasks):
                await asyncio.sleep(0.1)
            cpu0.update({p.pid: cpu_seconds(p.pid) for p in procs})
            began = time.monotonic()
            stop_at[0] = began + seconds
            go.set()
            await asyncio.gather(*tasks)
            return time.monotonic() - began

        load_before = os.getloadavg()[0]
        own0 = os.times()
        wall = asyncio.run(load())
        own1 = os.times()
        cpu = {p.pid: cpu_seconds(p.pid) - cpu0[p.pid] for p in procs}
        rss = [rss_mb(p.pid) for p in procs[:-1]]
        per_intent = psql("SELECT o.intent_id, COUNT(*), MAX(i.status) FROM intents i LEFT JOIN orders o "
                          "ON o.intent_id = i.id GROUP BY o.intent_id, i.id")
    finally:
        for proc in reversed(procs):
            cluster.stop(proc)
    counts: dict[str, tuple[int, str]] = {}
    for line in per_intent.splitlines():
        iid, n, status = line.split("|")
        if iid:
            counts[iid] = (int(n), status)
    duplicates = sum(1 for i in approved if counts.get(i, (0, ""))[0] > 1)
    lost = sum(1 for i in approved if counts.get(i, (0, ""))[0] == 0 or counts[i][1] != "executed")
    requests = sum(len(v) for v in lat.values())
    return {"replicas": replicas, "clients": clients, "wall": wall, "requests": requests, "rps": requests / wall,
            "lat": {k: (pct(v, 0.5), pct(v, 0.99), len(v)) for k, v in sorted(lat.items())},
            "errors": dict(errors), "approved": len(approved), "duplicates": duplicates, "lost": lost,
            "cpu_clients": (own1.user + own1.system) - (own0.user + own0.system),
            "load": (load_before, os.getloadavg()[0]), "rss": rss, "cpu_replicas": sum(cpu[p.pid] for p in procs[:-1]), "cpu_haproxy": cpu[lb.pid]}


def report(results: list[dict]) -> str:
    out = ["| replicas | requests/s | requests | errors | approved | duplicate / lost orders | RSS per replica (MB) "
           "| replica CPU ms / request | HAProxy CPU ms / request | clients' CPU ms / request | load avg before / after |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| {r['replicas']} | {r['rps']:.1f} | {r['requests']} | {sum(r['errors'].values())} | {r['approved']} "
                   f"| {r['duplicates']} / {r['lost']} | {', '.join(f'{x:.0f}' for x in r['rss'])} "
                   f"| {1000 * r['cpu_replicas'] / max(1, r['requests']):.1f} "
                   f"| {1000 * r['cpu_haproxy'] / max(1, r['requests']):.2f} "
                   f"| {1000 * r['cpu_clients'] / max(1, r['requests']):.1f} | {r['load'][0]:.1f} / {r['load'][1]:.1f} |")
    ops = sorted({k for r in results for k in r["lat"]})
    out += ["", "| operation | " + " | ".join(f"{r['replicas']} replica(s) p50 / p99 ms (n)" for r in results) + " |",
            "|---|" + "---|" * len(results)]
    for op in ops:
        cells = []
        for r in results:
            p50, p99, n = r["lat"].get(op, (float("nan"), float("nan"), 0))
            cells.append(f"{1000 * p50:.0f} / {1000 * p99:.0f} ({n})")
        out.append(f"| {op} | " + " | ".join(cells) + " |")
    for r in results:
        if r["errors"]:
            out += ["", f"errors with {r['replicas']} replica(s): "
                    + "; ".join(f"{k} x{v}" for k, v in sorted(r["errors"].items()))]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--pairs", type=int, default=1)
    args = ap.parse_args()
    if cluster.haproxy_binary() is None:
        print("haproxy is not installed (apt-get install haproxy)", file=sys.stderr)
        return 2
    import subprocess

    from tools.sim import start_sims
    from tools.sim.polymarket import set_book

    with tempfile.TemporaryDirectory(prefix="pm-replicas-") as tmp_s, start_sims("polymarket") as sims:
        tmp = Path(tmp_s)
        tmp.chmod(0o711)
        sim = sims["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        set_book(sim, YES, bids=[("0.38", "1000000")], asks=[("0.40", "1000000000")], tick_size="0.01")
        base_url, stop_pg = start_postgres(tmp / "pg")
        sock = base_url.split("host=")[1]
        as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        psql_bin = str(Path(stop_pg[len(as_user)]).with_name("psql"))
        made = [0]

        def psql(db: str, sql: str) -> str:
            return subprocess.run([*as_user, psql_bin, "-h", sock, "-U", "postgres", "-d", db, "-At", "-c", sql],
                                  check=True, capture_output=True, text=True).stdout

        def new_db():
            made[0] += 1
            name = f"bench_{made[0]}"
            psql("postgres", f"CREATE DATABASE {name}")
            return f"postgresql://postgres@/{name}?host={sock}", lambda sql: psql(name, sql)

        results = []
        try:
            for _ in range(args.pairs):
                for replicas in (1, 3):
                    r = run(replicas, args.clients, args.seconds, sims, new_db, tmp)
                    print(f"{replicas} replica(s): {r['rps']:.1f} req/s, {sum(r['errors'].values())} errors, "
                          f"{r['duplicates']} duplicate / {r['lost']} lost of {r['approved']} approved",
                          file=sys.stderr, flush=True)
                    results.append(r)
        finally:
            subprocess.run(stop_pg, capture_output=True)
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
