"""Search-quality benchmark (issue #14): graded relevance of search_markets' first page.

    .venv/bin/python -m tools.bench.search_quality              # run: dev and held-out figures, cold and warm
    .venv/bin/python -m tools.bench.search_quality --json out.json
    .venv/bin/python -m tools.bench.search_quality freeze       # expand the rules into labels (once, before tuning)
    .venv/bin/python -m tools.bench.search_quality freeze --queries tools/bench/search_queries_blind.json
    .venv/bin/python -m tools.bench.search_quality --queries tools/bench/search_queries_blind.json   # blind: aggregates only
    .venv/bin/python -m tools.bench.search_quality timing       # ranked local search over 50,000 markets
    .venv/bin/python -m tools.bench.search_quality fanout       # every query, three venues at 150 ms each

The world: what the three venue simulators serve with ``world=True`` (tools/sim): the recorded responses
of tests/fixtures (Polymarket Gamma, Kalshi v2 + its v1 search, Manifold) and the SYNTHETIC events of
tools/sim/world.py (ids carry "syn"/"SYN"). Searches go through the real MarketService and the real
venue adapters over loopback HTTP, so the venues' own search behaviour (Polymarket's event search, Kalshi's
catalog + v1 series search that matches any word, Manifold's term search) is part of what is measured.

Labels (tools/bench/search_queries.json): per query, graded rules written by hand (3 = what the person
asked for, 2 = relevant, 1 = related, 0 = not relevant: everything unlabelled) and the labels frozen from
them over the world before the ranking was changed. Every third query is held out (never used to tune).
Split "fresh" (f01-f19): a second blind batch, written and frozen 2026-12-02 before the ranker ever ran on it
(the first held-out third had been looked at by then); report it apart, never tune on it.

Metrics on page 1 (limit 10), per split:
- nDCG@10: gain 2^g - 1 per row; a row from an event already shown on the page gains nothing (ten
  strike rows of one question are one answer); the ideal list has each event's best eligible member once.
  A grouped row counts as its shown member.
- venue coverage: among queries where some venue has a grade >= 2 market (eligible for the status
  filter), the share whose first page shows a grade >= 2 row from every such venue.
- irrelevant on page 1: the share of queries whose first page has a grade-0 row.
"Cold": a fresh server (empty catalog) per query. "Warm": one server whose catalog was refreshed from
every venue first (what a server that has been running a while has).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QUERIES = Path(__file__).with_name("search_queries.json")
VENUES = ("polymarket", "kalshi", "manifold")
PAGE = 10


# --- the world ---------------------------------------------------------------------------------------
def world_markets() -> list:
    """Every market the simulators serve with world=True, parsed as the adapters parse them."""
    from datetime import UTC, datetime

    from pm_mcp.venues.kalshi import parse as kp
    from pm_mcp.venues.manifold import parse as mp
    from pm_mcp.venues.polymarket import parse as pp
    from tools.sim.base import build_sim

    now = datetime.now(UTC)
    out = []
    st = build_sim("polymarket", world=True).state
    for mid, m in st["markets"].items():
        eid = st["market_event"].get(mid)
        out.append(pp.parse_gamma_market(m, st["events"].get(eid) if eid else None))
    st = build_sim("kalshi", world=True).state
    extra = st.get("v1_objects", {"markets": {}, "events": {}})
    for ticker, m in [*st["markets"].items(), *extra["markets"].items()]:
        if kp.is_mve(m):
            continue
        ev = st["events"].get(m["event_ticker"]) or extra["events"].get(m["event_ticker"])
        out.append(kp.parse_market(m, event=ev, now=now))
    st = build_sim("manifold", world=True).state
    for m in st["markets"].values():
        out.append(mp.parse_market(m, now=now))
    return out


def label_text(m) -> str:
    return " | ".join([m.title, m.event_title or "", m.group_label or "",
                       " / ".join(o.label for o in m.outcomes)]).lower()


def group_keys(markets) -> dict[tuple[str, str], tuple[str, str]]:
    """(venue, id) -> its event's key when the event has several markets, else its own."""
    sizes: dict[tuple[str, str], int] = {}
    for m in markets:
        if m.event_id:
            sizes[(m.venue, m.event_id)] = sizes.get((m.venue, m.event_id), 0) + 1
    return {(m.venue, m.id): ((m.venue, "ev:" + m.event_id) if m.event_id and sizes[(m.venue, m.event_id)] > 1
                              else (m.venue, m.id)) for m in markets}


def freeze(path: Path = QUERIES) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    markets = world_markets()
    for q in data["queries"]:
        labels: dict[str, int] = {}
        for m in markets:
            text = label_text(m)
            g = 0
            for rule in q["rules"]:
                if "re" in rule and re.search(rule["re"], text):
                    g = max(g, rule["g"])
                elif "ev" in rule and re.search(rule["ev"], m.event_id or m.id):
                    g = max(g, rule["g"])
                elif "id" in rule and rule["id"] == m.id:
                    g = max(g, rule["g"])
            if g:
                labels[f"{m.venue}:{m.id}"] = g
        q["labels"] = dict(sorted(labels.items()))
    data["frozen_over"] = f"{len(markets)} markets (tools/sim world=True)"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"labels frozen over {len(markets)} markets for {len(data['queries'])} queries -> {path}")


# --- metrics -----------------------------------------------------------------------------------------
def _eligible(m, status: str) -> bool:
    return status == "any" or m.status.value == status


def score_page(q: dict, rows: list[tuple[str, str]], markets_by_key: dict, groups: dict) -> dict:
    labels = q["labels"]
    status = q.get("status", "open")
    dcg, seen, venues_ok, irrelevant = 0.0, set(), set(), False
    for i, (venue, mid) in enumerate(rows[:PAGE]):
        g = labels.get(f"{venue}:{mid}", 0)
        grp = groups.get((venue, mid), (venue, mid))
        if g == 0:
            irrelevant = True
        if g >= 2:
            venues_ok.add(venue)
        if grp in seen:
            continue
        seen.add(grp)
        dcg += (2 ** g - 1) / math.log2(i + 2)
    best: dict = {}
    rel_venues = set()
    for key, g in labels.items():
        venue, mid = key.split(":", 1)
        m = markets_by_key.get((venue, mid))
        if m is None or not _eligible(m, status):
            continue
        grp = groups.get((venue, mid), (venue, mid))
        best[grp] = max(best.get(grp, 0), g)
        if g >= 2:
            rel_venues.add(venue)
    ideal = sorted(best.values(), reverse=True)[:PAGE]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return {"ndcg": dcg / idcg if idcg else (1.0 if not rows else 0.0), "irrelevant": irrelevant,
            "coverage": (rel_venues <= venues_ok) if rel_venues else None, "rows": len(rows[:PAGE]),
            "rel_venues": sorted(rel_venues), "page_venues": "".join(v[0] for v, _ in rows[:PAGE]),
            "page": [f"{v}:{mid}" for v, mid in rows[:PAGE]]}


def summarise(results: list[dict]) -> dict:
    cov = [r["coverage"] for r in results if r["coverage"] is not None]
    return {"queries": len(results), "ndcg10": round(statistics.fmean(r["ndcg"] for r in results), 3),
            "venue_coverage": round(sum(cov) / len(cov), 3) if cov else None,
            "irrelevant_on_page1": round(sum(r["irrelevant"] for r in results) / len(results), 3),
            "mean_rows": round(statistics.fmean(r["rows"] for r in results), 1)}


# --- running the searches ----------------------------------------------------------------------------
async def _service(sims, home: Path):
    from pm_mcp.markets.catalog import Catalog
    from pm_mcp.markets.service import MarketService, build_adapters
    from pm_mcp.settings import Settings
    from pm_mcp.store import Store
    from pm_mcp.venues.http import HttpPool

    env = {k.removeprefix("PM_MCP_").lower(): v for k, v in sims.env().items()}
    settings = Settings(home=home, venues=",".join(VENUES), http_timeout_s=5, catalog_ttl_s=10 ** 9, **env)
    store = await Store.open(settings.db_path)
    cat = await Catalog.open(settings.db_path, settings.catalog_ttl_s)
    pool = HttpPool(timeout_s=5)
    svc = MarketService(settings, build_adapters(settings, pool), cat)

    async def close():
        await svc.aclose()
        await pool.aclose()
        await cat.close()
        await store.close()
    return svc, close


def _rows(result) -> list[tuple[str, str]]:
    return [(h.market.venue, h.market.id) for h in result.hits]


async def run(json_out: Path | None = None, queries: Path = QUERIES) -> dict:
    """Score every query of ``queries``. The blind file (search_queries_blind.json, split "blind") runs on its
    own (its warm server sees only its queries, so the other splits' figures do not move) and its per-query
    rows are never kept: aggregates only, until a later round declares part of it examined."""
    from tools.sim import start_sims

    data = json.loads(queries.read_text(encoding="utf-8"))
    markets = world_markets()
    by_key = {(m.venue, m.id): m for m in markets}
    groups = group_keys(markets)
    report: dict = {"world": len(markets), "modes": {}}
    with start_sims(*VENUES, world=True) as sims, tempfile.TemporaryDirectory() as d:
        per_mode: dict[str, list[dict]] = {"cold": [], "warm": []}
        for i, q in enumerate(data["queries"]):  # cold: a fresh server per query
            svc, close = await _service(sims, Path(d) / f"cold{i}")
            try:
                res = await svc.search(q["query"], limit=PAGE, status=q.get("status", "open"))
            finally:
                await close()
            per_mode["cold"].append({**score_page(q, _rows(res), by_key, groups), "id": q["id"],
                                     "split": q["split"], "query": q["query"]})
        svc, close = await _service(sims, Path(d) / "warm")
        try:
            for v in VENUES:
                await svc.refresh_catalog(v)
            for q in data["queries"]:
                await svc.search(q["query"], limit=PAGE, status=q.get("status", "open"))  # a first run
                res = await svc.search(q["query"], limit=PAGE, status=q.get("status", "open"))
                per_mode["warm"].append({**score_page(q, _rows(res), by_key, groups), "id": q["id"],
                                         "split": q["split"], "query": q["query"]})
        finally:
            await close()
    for mode, results in per_mode.items():
        report["modes"][mode] = {split: summarise([r for r in results if r["split"] == split])
                                 for split in ("dev", "heldout", "fresh", "blind")
                                 if any(r["split"] == split for r in results)}
        report["modes"][mode]["all"] = summarise(results)
    report["per_query"] = {m: [r for r in rs if r["split"] != "blind"] for m, rs in per_mode.items()}
    if json_out:
        json_out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


DETAIL_SPLITS = ("dev", "heldout", "fresh")  # never "blind": its pages are not to be read while tuning


def print_detail(report: dict, splits: list[str], markets_by_key: dict | None = None) -> None:
    """Per query of ``splits``: the page's rows with their grade, and the relevant venues the page misses."""
    refused = [s for s in splits if s not in DETAIL_SPLITS]
    if refused:
        raise SystemExit(f"no per-query detail for {', '.join(refused)} (only {', '.join(DETAIL_SPLITS)})")
    labels = {q["id"]: q["labels"] for q in json.loads(QUERIES.read_text(encoding="utf-8"))["queries"]}
    if markets_by_key is None:
        markets_by_key = {(m.venue, m.id): m for m in world_markets()}
    for mode, results in report["per_query"].items():
        for r in results:
            if r["split"] not in splits:
                continue
            missing = "".join(v[0] for v in r["rel_venues"] if v[0] not in r["page_venues"])
            print(f"{mode:5} {r['id']} {r['query']!r} nDCG {r['ndcg']:.3f} page {r['page_venues'] or '-'}"
                  f"{'  IRRELEVANT' if r['irrelevant'] else ''}{'  missing ' + missing if missing else ''}")
            for key in r["page"]:
                venue, mid = key.split(":", 1)
                m = markets_by_key.get((venue, mid))
                title = f"{m.title} | {m.event_title or ''} | {m.group_label or ''}" if m else "?"
                print(f"        g{labels[r['id']].get(key, 0)} {key}  {title[:110]}")


def print_report(report: dict) -> None:
    print(f"world: {report['world']} markets")
    for mode, splits in report["modes"].items():
        for split, s in splits.items():
            print(f"{mode:5} {split:8} n={s['queries']:2}  nDCG@10 {s['ndcg10']:.3f}  venue coverage "
                  f"{s['venue_coverage']}  irrelevant-on-page-1 {s['irrelevant_on_page1']:.3f}  rows {s['mean_rows']}")


# --- timing: ranked local search over 50,000 markets -----------------------------------------------------
async def timing(n: int = 50_000, rounds: int = 20) -> dict:
    from tools.bench.market_bench import _load_catalog
    from tools.sim.synthetic import QUERIES as SYN_QUERIES

    with tempfile.TemporaryDirectory() as d:
        store, cat, load_s = await _load_catalog(Path(d) / "pm.db", n)
        from pm_mcp.markets import ranking
        from pm_mcp.markets.catalog import CatalogFilters

        times = []
        flt = CatalogFilters(statuses=["open"])
        for _ in range(rounds):
            for q in SYN_QUERIES:
                t0 = time.perf_counter()
                hits = await cat.search(q, flt, limit=ranking.CANDIDATES)
                ranking.rank(q, [h.market for h in hits])
                times.append((time.perf_counter() - t0) * 1000)
        await cat.close()
        await store.close()
    times.sort()
    return {"markets": n, "searches": len(times), "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(len(times) * 0.95)], 2), "load_s": round(load_s, 1)}


# --- fan-out: every query of the set against the world at a fixed latency per venue ---------------------------
async def fanout(latency_s: float = 0.15, runs: int = 3) -> dict:
    """Per query: the median wall time of the three-venue search against the slowest of the three one-venue
    searches of the same query (each venue at ``latency_s`` per request), and the requests it made; a
    search that asks a venue again with a word left out (ranking.relaxed_queries) pays one more round trip."""
    from tools.sim import start_sims

    data = json.loads(QUERIES.read_text(encoding="utf-8"))
    ratios, extra, retried, fans = [], [], 0, []
    with start_sims(*VENUES, world=True) as sims, tempfile.TemporaryDirectory() as d:
        svc, close = await _service(sims, Path(d) / "fan")
        try:
            for q in data["queries"]:  # warm connections and the Kalshi adapter's catalog
                await svc.search(q["query"], limit=PAGE, status=q.get("status", "open"))
            for v in VENUES:
                await svc.catalog.mark_refreshed(v, 0)  # no background refresh during the runs
            for sim in sims.values():
                sim.set_latency(latency_s)
            for q in data["queries"]:
                args = {"limit": PAGE, "status": q.get("status", "open")}
                single = {v: [] for v in VENUES}
                fan = []
                for _ in range(runs):
                    for v in VENUES:
                        t0 = time.perf_counter()
                        await svc.search(q["query"], venues=[v], **args)
                        single[v].append(time.perf_counter() - t0)
                    before = sum(s.count() for s in sims.values())
                    t0 = time.perf_counter()
                    await svc.search(q["query"], **args)
                    fan.append(time.perf_counter() - t0)
                    made = sum(s.count() for s in sims.values()) - before
                slowest = max(statistics.median(x) for x in single.values())
                ratios.append(statistics.median(fan) / slowest)
                fans.append(statistics.median(fan) * 1000)
                extra.append(made - len(VENUES))
                retried += made > len(VENUES)
        finally:
            await close()
    return {"latency_ms": latency_s * 1000, "queries": len(ratios), "runs": runs,
            "median_ratio_to_slowest": round(statistics.median(ratios), 3),
            "median_fanout_ms": round(statistics.median(fans), 1),
            "p90_ratio": round(sorted(ratios)[int(len(ratios) * 0.9)], 3),
            "queries_with_retries": retried, "mean_extra_requests": round(statistics.fmean(extra), 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench.search_quality")
    p.add_argument("what", nargs="?", default="run", choices=["run", "freeze", "timing", "fanout"])
    p.add_argument("--json", type=Path)
    p.add_argument("--queries", type=Path, default=QUERIES, help="freeze / run: the queries file (default search_queries.json; "
                   "search_queries_blind.json gives the blind split's aggregates only)")
    p.add_argument("--detail", action="append", default=[], metavar="SPLIT",
                   help="print each query's page for this split (dev, heldout, fresh; repeatable)")
    args = p.parse_args(argv)
    if args.what == "freeze":
        freeze(args.queries)
    elif args.what == "timing":
        print(json.dumps(asyncio.run(timing())))
    elif args.what == "fanout":
        print(json.dumps(asyncio.run(fanout())))
    else:
        if args.detail:
            print_detail({"per_query": {}}, args.detail)  # refuse an unknown split before running
        report = asyncio.run(run(args.json, args.queries))
        print_report(report)
        if args.detail:
            print_detail(report, args.detail)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
