"""Market-data benchmarks (figures go to tools/bench/REPORT.md, "Market data" section).

    .venv/bin/python -m tools.bench.market_bench            # all three
    .venv/bin/python -m tools.bench.market_bench local      # local search over 50,000 markets
    .venv/bin/python -m tools.bench.market_bench fanout     # 3 venues at 150 ms each
    .venv/bin/python -m tools.bench.market_bench rss        # RSS after loading 50,000 markets

1. local: load 50,000 synthetic markets (tools/sim/synthetic.py) into the catalog (SQLite FTS5 in a
   tmp dir), then time Catalog.search for 15 queries x 20 rounds (filters included on some): median,
   p95, max per query.
2. fanout: the three venue simulators (real loopback HTTP) with 150 ms added latency each; the real
   adapters behind MarketService.search (catalog on). Wall time per search vs the slowest venue's
   own single-venue search time (measured the same way), 15 runs: ratio of medians.
3. rss: a fresh process that imports the server, opens the store and loads the 50,000-market catalog;
   its peak RSS (ru_maxrss) and current RSS from /proc/self/status.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N = 50_000


async def _load_catalog(path: Path, n: int = N):
    from pm_mcp.markets.catalog import Catalog
    from pm_mcp.store import Store
    from tools.sim.synthetic import iter_normalized_markets

    store = await Store.open(path)
    cat = await Catalog.open(path, ttl_s=300)
    t0 = time.perf_counter()
    batch = []
    for m in iter_normalized_markets(n):  # generated and written in batches: bounded memory
        batch.append(m)
        if len(batch) == 2000:
            await cat.upsert(batch)
            batch = []
    if batch:
        await cat.upsert(batch)
    load_s = time.perf_counter() - t0
    return store, cat, load_s


async def bench_local() -> dict:
    from datetime import UTC, datetime

    from pm_mcp.markets.catalog import CatalogFilters
    from tools.sim.synthetic import QUERIES

    with tempfile.TemporaryDirectory() as d:
        store, cat, load_s = await _load_catalog(Path(d) / "db.sqlite3")
        filters = [None, CatalogFilters(statuses=["open"]), CatalogFilters(venues=["kalshi"], min_volume=1000),
                   CatalogFilters(closes_before=datetime(2027, 6, 1, tzinfo=UTC), category="Politics")]
        times: list[float] = []
        hits = []
        for _ in range(2):  # warm-up
            for q in QUERIES:
                await cat.search(q, limit=20)
        for r in range(20):
            for i, q in enumerate(QUERIES):
                f = filters[(i + r) % len(filters)]
                t0 = time.perf_counter()
                res = await cat.search(q, f, limit=20)
                times.append((time.perf_counter() - t0) * 1000)
                hits.append(len(res))
        await cat.close()
        await store.close()
    times.sort()
    return {"markets": N, "load_s": round(load_s, 2), "queries": len(times),
            "median_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * len(times))], 2),
            "max_ms": round(times[-1], 2), "mean_hits": round(statistics.mean(hits), 1)}


async def bench_fanout(latency: float = 0.15, runs: int = 15) -> dict:
    from pm_mcp.markets.catalog import Catalog
    from pm_mcp.markets.service import MarketService, build_adapters
    from pm_mcp.settings import Settings
    from pm_mcp.store import Store
    from pm_mcp.venues.http import HttpPool
    from tools.sim import start_sims

    venues = ("polymarket", "kalshi", "manifold")
    query = "fed"
    with start_sims(*venues) as sims, tempfile.TemporaryDirectory() as d:
        env = {k.removeprefix("PM_MCP_").lower(): v for k, v in sims.env().items()}
        settings = Settings(home=Path(d), venues=",".join(venues), http_timeout_s=5, catalog_ttl_s=10 ** 9, **env)
        store = await Store.open(settings.db_path)
        cat = await Catalog.open(settings.db_path, settings.catalog_ttl_s)
        pool = HttpPool(timeout_s=5)
        svc = MarketService(settings, build_adapters(settings, pool), cat)
        # warm: connections, the Kalshi adapter's open-market catalog, the local catalog (no refresh in runs)
        for v in venues:
            await svc.search(query, venues=[v])
            await cat.mark_refreshed(v, 0)
        await svc.search(query)
        for s in sims.values():
            s.set_latency(latency)
        single: dict[str, list[float]] = {v: [] for v in venues}
        fan: list[float] = []
        for _ in range(runs):
            for v in venues:
                t0 = time.perf_counter()
                await svc.search(query, venues=[v])
                single[v].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            res = await svc.search(query)
            fan.append(time.perf_counter() - t0)
            assert not res.warnings, res.warnings
        requests = {v: sims[v].count() for v in venues}
        await svc.aclose()
        await pool.aclose()
        await cat.close()
        await store.close()
    med_single = {v: statistics.median(x) * 1000 for v, x in single.items()}
    slowest = max(med_single.values())
    med_fan = statistics.median(fan) * 1000
    return {"latency_ms": latency * 1000, "runs": runs,
            "single_venue_median_ms": {v: round(x, 1) for v, x in med_single.items()},
            "fanout_median_ms": round(med_fan, 1), "fanout_max_ms": round(max(fan) * 1000, 1),
            "ratio_to_slowest": round(med_fan / slowest, 3), "sim_requests": requests}


RSS_CHILD = """
import asyncio, json, resource, sys, tempfile
from pathlib import Path
sys.path.insert(0, {root!r})
import pm_mcp.server  # the server's imports, as in production
import pm_mcp.surface.market
from tools.bench.market_bench import _load_catalog

def rss_kb():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])

async def main():
    before = rss_kb()
    with tempfile.TemporaryDirectory() as d:
        store, cat, load_s = await _load_catalog(Path(d) / 'db.sqlite3')
        n = await cat.count()
        hits = await cat.search('fed cut rates', limit=20)
        after = rss_kb()
        await cat.close(); await store.close()
    print(json.dumps({{"markets": n, "rss_before_mb": round(before / 1024, 1), "rss_after_load_mb": round(after / 1024, 1),
                       "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                       "load_s": round(load_s, 2), "hits": len(hits)}}))
asyncio.run(main())
"""


def bench_rss() -> dict:
    out = subprocess.run([sys.executable, "-c", RSS_CHILD.format(root=str(ROOT))], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    which = argv or ["local", "fanout", "rss"]
    results = {}
    if "local" in which:
        results["local"] = asyncio.run(bench_local())
        print("local search:", json.dumps(results["local"]), flush=True)
    if "fanout" in which:
        results["fanout"] = asyncio.run(bench_fanout())
        print("fan-out search:", json.dumps(results["fanout"]), flush=True)
    if "rss" in which:
        results["rss"] = bench_rss()
        print("memory:", json.dumps(results["rss"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
