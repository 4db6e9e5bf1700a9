"""Ranked local search over 50,000 markets, two revisions paired in one run (issue #14: p50 <= 5 ms).

    .venv/bin/python -m tools.bench.search_local --baseline REV [--after REV] [--pairs 9] [--rounds 4]
    .venv/bin/python -m tools.bench.search_local --baseline REV --queries partial   # the catalog's partial stage

What one search is: ``Catalog.search(query, status=open, limit=ranking.CANDIDATES)`` then ``ranking.rank``
over the candidates, as ``MarketService.search`` does for the local catalog (tools/bench/search_quality.py
``timing`` measures the same thing in one process).

How: each revision (``--baseline`` and ``--after``, default the working tree) is checked out with
``git worktree`` into a temporary directory and gets its own worker process, which loads the same 50,000
synthetic markets (tools/sim/synthetic.py) into its own catalog and then waits. A pair is one batch
(``--rounds`` x the 15 synthetic queries) on each worker, in alternating order (ABBA), so both see the
same machine load; per batch the p50 of its searches; per pair the ratio after / before. Reported: the
median of each side's batch p50s, the median ratio and its range, and the load average.
The first batch of each worker is a warm-up (not counted). The machine is shared: read the ratio first.
``--queries partial``: instead of the 15 synthetic queries (which all have full matches), 8 specific ones of 3-4
words that few or no markets match in full (PARTIAL_QUERIES), so every search reaches the catalog's partial stage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
N = 50_000
# 3-4 words of the synthetic vocabulary that (almost) no generated title holds all together: the partial stage
PARTIAL_QUERIES = ["tesla acquire ipo 2027", "nvidia split before july", "ossoff resign senate race",
                   "arsenal sign merger march", "japan ban album june", "solana default recession 2027",
                   "lakers release trade deal", "harris visit ceasefire q3"]


def _worker(root: Path, n: int, queries: str = "synthetic") -> None:
    """Load a catalog with the code under ``root``, then answer "batch R" lines with the searches' times."""
    sys.path.insert(0, str(root))
    import asyncio

    async def main() -> None:
        from pm_mcp.markets import catalog as catalog_mod
        from pm_mcp.markets import ranking
        from pm_mcp.store import Store
        from tools.sim.synthetic import QUERIES as SYNTHETIC_QUERIES
        from tools.sim.synthetic import iter_normalized_markets

        qs = PARTIAL_QUERIES if queries == "partial" else SYNTHETIC_QUERIES

        assert Path(catalog_mod.__file__).resolve().is_relative_to(root.resolve()), catalog_mod.__file__
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "pm.db"
            store = await Store.open(path)
            cat = await catalog_mod.Catalog.open(path, 300)
            batch = []
            for m in iter_normalized_markets(n):
                batch.append(m)
                if len(batch) == 2000:
                    await cat.upsert(batch)
                    batch = []
            if batch:
                await cat.upsert(batch)
            flt = catalog_mod.CatalogFilters(statuses=["open"])
            print("ready", flush=True)
            for line in sys.stdin:
                rounds = int(line.split()[1])
                times = []
                for _ in range(rounds):
                    for q in qs:
                        t0 = time.perf_counter()
                        hits = await cat.search(q, flt, limit=ranking.CANDIDATES)
                        ranking.rank(q, [h.market for h in hits])
                        times.append((time.perf_counter() - t0) * 1000)
                print(json.dumps(times), flush=True)
            await cat.close()
            await store.close()

    asyncio.run(main())


def _checkout(rev: str, into: Path) -> Path:
    if rev == "WORKTREE":
        return ROOT
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(into), rev], check=True)
    return into


def _start(root: Path, n: int, queries: str = "synthetic") -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "worker", "--root", str(root), "--n", str(n),
                          "--queries", queries],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(root))
    assert p.stdout is not None
    if p.stdout.readline().strip() != "ready":
        raise SystemExit(f"worker for {root} did not start")
    return p


def _batch(p: subprocess.Popen, rounds: int) -> float:
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(f"batch {rounds}\n")
    p.stdin.flush()
    return statistics.median(json.loads(p.stdout.readline()))


def compare(baseline: str, after: str, pairs: int, rounds: int, n: int, queries: str = "synthetic") -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="search_local."))
    roots = [_checkout(baseline, tmp / "baseline"), _checkout(after, tmp / "after")]
    workers = []
    try:
        workers = [_start(r, n, queries) for r in roots]
        for w in workers:
            _batch(w, rounds)  # warm-up
        before, afters, ratios = [], [], []
        for i in range(pairs):
            order = (0, 1) if i % 2 == 0 else (1, 0)
            got = {}
            for k in order:
                got[k] = _batch(workers[k], rounds)
            before.append(got[0])
            afters.append(got[1])
            ratios.append(got[1] / got[0])
        return {"baseline": baseline, "after": after, "markets": n, "pairs": pairs,
                "queries": queries,
                "searches_per_batch": rounds * (len(PARTIAL_QUERIES) if queries == "partial" else 15), "baseline_p50_ms": round(statistics.median(before), 2),
                "after_p50_ms": round(statistics.median(afters), 2),
                "median_ratio": round(statistics.median(ratios), 3),
                "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
                "baseline_batches": [round(x, 2) for x in before], "after_batches": [round(x, 2) for x in afters],
                "loadavg": [round(x, 2) for x in os.getloadavg()]}
    finally:
        for w in workers:
            w.kill()
            w.wait()
        for r in roots:
            if r != ROOT:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(r)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench.search_local")
    ap.add_argument("what", nargs="?", default="compare", choices=["compare", "worker"])
    ap.add_argument("--baseline", default="HEAD")
    ap.add_argument("--after", default="WORKTREE", help="a revision, or WORKTREE (this checkout as it is)")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--root", type=Path)
    ap.add_argument("--queries", default="synthetic", choices=["synthetic", "partial"])
    args = ap.parse_args(argv)
    if args.what == "worker":
        _worker(args.root, args.n, args.queries)
        return 0
    print(json.dumps(compare(args.baseline, args.after, args.pairs, args.rounds, args.n, args.queries)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
