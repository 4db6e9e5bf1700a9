"""Benchmark: the Kalshi catalog (load over loopback, local search, memory) and the Manifold CPMM book.

    .venv/bin/python tools/bench/kalshi_manifold.py [--markets 50000] [--report tools/bench/kalshi_manifold.md]

What is measured (figures go to the markdown report; nothing is asserted):
1. Kalshi catalog load: the adapter pages ``GET /events?status=open&with_nested_markets=true`` (200 events
   per page, cursor) from the Kalshi simulator holding N SYNTHETIC open markets (``--synthetic N``; run in
   its own process so the RSS below is the adapter's, not the simulator's).
2. Local search over that catalog (``KalshiAdapter.local_search``: inverted index, exact + prefix
   matches, top-k): median / p95 per query over the synthetic vocabulary's queries.
3. Full ``KalshiAdapter.search`` (local index + the v1 series search over loopback, in parallel).
4. RSS of this process after the catalog is loaded (and its growth over the baseline).
5. Manifold: synthesizing a 10+10-level book from a CPMM pool (Decimal, 40-digit powers), per book.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pm_mcp.settings import Settings  # noqa: E402
from pm_mcp.venues.http import VenueHttp  # noqa: E402
from pm_mcp.venues.kalshi.client import KalshiAdapter  # noqa: E402
from pm_mcp.venues.manifold import parse as mp  # noqa: E402
from tools.sim.synthetic import QUERIES  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_sim_process(n: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tools.sim", "kalshi", "--synthetic", str(n)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("export PM_MCP_KALSHI_URL="):
            url = line.strip().split("=", 1)[1]
            break
    if url is None:
        proc.kill()
        raise SystemExit("the Kalshi simulator did not start")
    return proc, url


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


async def bench_kalshi(n: int, rounds: int) -> dict:
    t0 = time.perf_counter()
    proc, url = start_sim_process(n)
    sim_start = time.perf_counter() - t0
    try:
        base_rss = rss_mb()
        settings = Settings(kalshi_url=url, home=REPO / ".bench-home", catalog_ttl_s=3600)
        async with VenueHttp("kalshi", url, timeout_s=60) as http:
            a = KalshiAdapter(settings, http)
            t = time.perf_counter()
            await a.catalog_markets(0)  # loads the catalog (compact rows + index), builds no Market
            load_s = time.perf_counter() - t
            n_markets = a.catalog_size
            n_events = len({r.event_ticker for r in a._index.rows})
            loaded_rss = rss_mb()
            local: list[float] = []
            hits: dict[str, int] = {}
            for _ in range(rounds):
                for q in QUERIES:
                    t = time.perf_counter()
                    got = await a.local_search(q, limit=20)
                    local.append((time.perf_counter() - t) * 1000)
                    hits[q] = len(got)
            full: list[float] = []
            for q in QUERIES:
                t = time.perf_counter()
                await a.search(q, limit=20)
                full.append((time.perf_counter() - t) * 1000)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"markets": n_markets, "sim_start_s": sim_start, "load_s": load_s, "pages": -(-n_events // 200),
            "local_median_ms": statistics.median(local), "local_p95_ms": pct(local, 0.95),
            "local_max_ms": max(local), "queries": len(local), "full_median_ms": statistics.median(full),
            "full_p95_ms": pct(full, 0.95), "rss_base_mb": base_rss, "rss_loaded_mb": loaded_rss, "hits": hits}


def bench_manifold_book(rounds: int) -> dict:
    raws = json.loads((REPO / "tests/fixtures/manifold/search_markets_fed_2026-08.json").read_text())
    raws.append(json.loads((REPO / "tests/fixtures/manifold/synthetic_fullmarket_binary.json").read_text()))
    times = []
    for _ in range(rounds):
        for raw in raws:
            t = time.perf_counter()
            mp.book_for(raw, "Yes")
            times.append((time.perf_counter() - t) * 1000)
    return {"books": len(times), "median_ms": statistics.median(times), "p95_ms": pct(times, 0.95)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markets", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--report", default=str(REPO / "tools/bench/kalshi_manifold.md"))
    args = p.parse_args(argv)
    k = asyncio.run(bench_kalshi(args.markets, args.rounds))
    b = bench_manifold_book(50)
    print(json.dumps({"kalshi": k, "manifold_book": b}, indent=1, default=str))
    if args.report:
        Path(args.report).write_text(report(args, k, b))
        print(f"report written to {args.report}", file=sys.stderr)
    return 0


def report(args, k: dict, b: dict) -> str:
    zero_hit = [q for q, n in k["hits"].items() if n == 0]
    return f"""# Kalshi catalog and Manifold book: benchmark

Measured by `tools/bench/kalshi_manifold.py --markets {args.markets} --rounds {args.rounds}` on
{platform.machine()} / {os.cpu_count()} cores / Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
(1-minute load average {os.getloadavg()[0]:.1f} at the end of the run).
The Kalshi simulator runs in its own process with {args.markets:,} SYNTHETIC open markets (recorded data
plus `--synthetic {args.markets}`); every request goes over loopback HTTP. Other engineers' tests may have
been running on the same 2 cores, so treat the figures as upper bounds.

## Kalshi: catalog of open events (no keyword search in API v2)

| figure | value |
|---|---|
| markets in the catalog | {k['markets']:,} |
| catalog load (`GET /events?status=open&with_nested_markets=true`, 200 events/page, ~{k['pages']} pages) | {k['load_s']:.2f} s |
| local search, median per query ({k['queries']} queries: {len(QUERIES)} phrases x {args.rounds}) | {k['local_median_ms']:.2f} ms |
| local search, p95 / max | {k['local_p95_ms']:.2f} ms / {k['local_max_ms']:.2f} ms |
| full `search()` (local index + v1 series search over loopback, in parallel), median / p95 | {k['full_median_ms']:.2f} ms / {k['full_p95_ms']:.2f} ms |
| RSS of the adapter process: before / after loading the catalog | {k['rss_base_mb']:.0f} MB / {k['rss_loaded_mb']:.0f} MB |

Queries without a hit: {', '.join(repr(q) for q in zero_hit) or 'none'}. The catalog loads once per
`PM_MCP_CATALOG_TTL_S` (a refresh replaces it atomically; a failed refresh keeps the old one).
The local search is an inverted index (token -> markets, prefix matches by bisecting the sorted
vocabulary) with a top-k heap, so a query costs what its matches cost, not the catalog size.

## Manifold: book synthesized from the CPMM pool

| figure | value |
|---|---|
| one book (10 ask + 10 bid levels, Decimal, 40-digit precision powers), median / p95 | {b['median_ms']:.2f} ms / {b['p95_ms']:.2f} ms ({b['books']} books) |
"""


if __name__ == "__main__":
    raise SystemExit(main())
