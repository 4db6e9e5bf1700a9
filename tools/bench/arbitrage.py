"""Arbitrage benchmarks (figures go to tools/bench/REPORT.md, section "Arbitrage").

    .venv/bin/python tools/bench/arbitrage.py            # both benchmarks
    .venv/bin/python tools/bench/arbitrage.py dutch      # Dutch-book scan only
    .venv/bin/python tools/bench/arbitrage.py match      # cross-venue matching only
    .venv/bin/python tools/bench/arbitrage.py dutch --baseline REV --pairs 9   # before/after: REV vs this tree

1. Dutch-book scan: 3,000 mutually exclusive events with 30,000 outcomes (10 per event), each outcome
   with a 4-level YES book, Polymarket fees on half the events; 12 Dutch books planted (8 buy-every-YES,
   4 buy-every-NO). Times ``scan_dutch_books`` (quick top-of-book check on every set + the merged
   level walk and exact re-pricing where it can pay); checks that exactly the planted ones are found.
2. Cross-venue candidate matching: 20,000 Polymarket-style x 20,000 Kalshi-style titles, of which
   2,000 are known equivalent pairs phrased differently on each side (templates: crypto thresholds,
   Fed decisions, nominations, games, CPI prints, Senate races; numbers written as "$64,000" vs "64k"
   vs "64K", dates as "March 11" vs "Mar 11, 2026" vs "2026-03-11", "Federal Reserve" vs "Fed",
   "Democratic" vs "Dem", "Newsom, Gavin", "Lakers at Celtics", extra words like "YoY", "12pm ET"), plus the
   real look-alike pair from the recorded fixtures (Kalshi KXFEDDECISION-26SEP-C25 vs Manifold
   lqtROphAhp), the rest near-miss distractors (same templates with other numbers, dates, names) and
   generic titles from tools/sim/synthetic.py's vocabulary. Reports time, recall@3 on the known
   pairs and top-1 accuracy.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# a worker of a paired run imports pm_mcp from the checkout it is given (--source DIR) instead of this tree's
SOURCE = Path(sys.argv[sys.argv.index("--source") + 1]).resolve() if "--source" in sys.argv[:-1] else ROOT
sys.path.insert(0, str(SOURCE))

from pm_mcp.domain.arbitrage import (  # noqa: E402
    ExclusiveSet,
    SetMember,
    scan_dutch_books,
)
from pm_mcp.domain.fees import polymarket_schedule  # noqa: E402
from pm_mcp.domain.matching import MatchItem, match_candidates  # noqa: E402
from pm_mcp.domain.models import BookLevel, FeeSchedule, Market, MarketStatus, OrderBook, Outcome  # noqa: E402

NOW = datetime(2026, 9, 1, tzinfo=UTC)
D = Decimal


# ----------------------------------------------------------------------------- Dutch book


def _book(rng: random.Random, mid: str, fair: Decimal) -> OrderBook:
    spread = D(rng.randint(1, 3)) / 100
    ask0 = min(D("0.99"), max(D("0.01"), fair + spread))
    bid0 = min(ask0 - D("0.01"), max(D("0.01"), fair - spread))
    asks = [BookLevel(price=min(D("0.99"), ask0 + D(k) / 100), size=D(rng.randint(20, 400))) for k in range(4)]
    bids = [BookLevel(price=max(D("0.01"), bid0 - D(k) / 100), size=D(rng.randint(20, 400))) for k in range(4)]
    asks = list({l.price: l for l in asks}.values())
    bids = list({l.price: l for l in bids}.values())
    return OrderBook(venue="polymarket", market_id=mid, outcome="Yes", asks=asks, bids=bids)


def dutch_sets(n_events: int = 3000, per_event: int = 10, planted_yes: int = 8, planted_no: int = 4,
               seed: int = 11) -> tuple[list[ExclusiveSet], set[str]]:
    rng = random.Random(seed)
    fee = polymarket_schedule(D("0.04"))
    sets: list[ExclusiveSet] = []
    planted: set[str] = set()
    plant_at = {i: "yes" for i in rng.sample(range(n_events), planted_yes)}
    for i in rng.sample([j for j in range(n_events) if j not in plant_at], planted_no):
        plant_at[i] = "no"
    for e in range(n_events):
        fees = fee if e % 2 == 0 else FeeSchedule()
        # fair probabilities summing to 1 (+ a little overround so that ordinary sets are not arbitrage)
        weights = [rng.random() + 0.05 for _ in range(per_event)]
        total = sum(weights)
        fair = [D(str(round(w / total, 3))) for w in weights]
        members = []
        for k in range(per_event):
            mid = f"e{e}m{k}"
            label = "Other" if k == per_event - 1 else f"Candidate {e}-{k}"
            m = Market(id=mid, venue="polymarket", title=label, outcomes=[Outcome(label="Yes"), Outcome(label="No")],
                       status=MarketStatus.OPEN, close_time=NOW + timedelta(days=30), fees=fees, neg_risk=True,
                       min_order_size=D(5), tick_size=D("0.01"))
            book = _book(rng, mid, fair[k])
            kind = plant_at.get(e)
            if kind == "yes":  # knock every ask down: asks sum ~0.85
                book = OrderBook(venue="polymarket", market_id=mid, outcome="Yes", bids=book.bids[:1],
                                 asks=[BookLevel(price=max(D("0.01"), (fair[k] * D("0.85")).quantize(D("0.001"))),
                                                 size=D(100))] + [l for l in book.asks if l.price > fair[k]][:2])
            elif kind == "no":  # lift every bid: bids sum ~1.15
                book = OrderBook(venue="polymarket", market_id=mid, outcome="Yes", asks=book.asks[-1:],
                                 bids=[BookLevel(price=min(D("0.98"), (fair[k] * D("1.15")).quantize(D("0.001"))),
                                                 size=D(100))])
            members.append(SetMember(market=m, label=label, yes_outcome="Yes", no_outcome="No", yes_book=book))
        s = ExclusiveSet(key=f"polymarket:e{e}", venue="polymarket", title=f"Event {e}", members=members,
                         neg_risk=True)
        if e in plant_at:
            planted.add(s.key)
        sets.append(s)
    return sets, planted


def bench_dutch(repeats: int = 15) -> dict:
    sets, planted = dutch_sets()
    outcomes = sum(len(s.members) for s in sets)
    times = []
    found = []
    cpu = []
    for _ in range(repeats):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        found = scan_dutch_books(sets, now=NOW)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # building the sets from normalised events + books (what the tool does before scanning)
    from pm_mcp.domain.arbitrage import exclusive_set_from_event
    from pm_mcp.domain.models import Event

    events = [(Event(id=s.key, venue="polymarket", title=s.title, markets=[m.market for m in s.members],
                     neg_risk=True, mutually_exclusive=True),
               {(m.market.id, "yes"): m.yes_book for m in s.members}) for s in sets]
    build = []
    for _ in range(5):
        gc.collect()
        t0 = time.perf_counter()
        for ev, books in events:
            exclusive_set_from_event(ev, books, augmented=False)
        build.append(time.perf_counter() - t0)
    keys = {o.legs[0].market_id.split("m")[0] for o in found}
    hit = {f"polymarket:{k}" for k in keys}
    return {"events": len(sets), "outcomes": outcomes, "planted": len(planted), "found": len(found),
            "found_planted": len(hit & planted), "false_positives": len(hit - planted),
            "median_ms": round(statistics.median(times) * 1000, 1), "min_ms": round(min(times) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1), "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
            "repeats": repeats, "build_sets_median_ms": round(statistics.median(build) * 1000, 1),
            "example": found[0].title + f" size {found[0].size} profit {found[0].profit}" if found else None}


# ----------------------------------------------------------------------------- matching

FIRST = ["Gavin", "Josh", "Pete", "Gretchen", "Kamala", "Alexandria", "Wes", "Andy", "Jared", "Ro", "Cory", "Amy",
         "Raphael", "Chris", "JB", "Roy", "Jon", "Mark", "Stephen", "Ruben", "Tim", "Marco", "Ron", "Nikki", "Vivek",
         "Glenn", "Brian", "Sarah", "Byron", "Kristi", "Tucker", "Donald", "Rand", "Ted", "Tom", "Elise", "Katie",
         "Maura", "Phil", "Laura"]
LAST = ["Newsom", "Shapiro", "Buttigieg", "Whitmer", "Harris", "Ocasio-Cortez", "Moore", "Beshear", "Polis",
        "Khanna", "Booker", "Klobuchar", "Warnock", "Murphy", "Pritzker", "Cooper", "Ossoff", "Kelly", "Smith",
        "Gallego", "Walz", "Rubio", "DeSantis", "Haley", "Ramaswamy", "Youngkin", "Kemp", "Sanders", "Donalds",
        "Noem", "Carlson", "Trump", "Paul", "Cruz", "Cotton", "Stefanik", "Britt", "Healey", "Murphy", "Kelly"]
COINS = [("Bitcoin", "BTC", 40_000, 160_000, 1000), ("Ethereum", "ETH", 1_500, 8_000, 50),
         ("Solana", "SOL", 50, 500, 5), ("Dogecoin", "DOGE", 1, 2, 1)]
TEAMS = ["Lakers", "Celtics", "Warriors", "Knicks", "Heat", "Bulls", "Nets", "Suns", "Bucks", "Nuggets", "Chiefs",
         "Eagles", "Cowboys", "Packers", "Bills", "Ravens", "49ers", "Lions", "Arsenal", "Chelsea", "Liverpool",
         "Tottenham", "Everton", "Brighton", "Yankees", "Dodgers", "Mets", "Astros", "Braves", "Cubs"]
STATES = ["Georgia", "Arizona", "Michigan", "Pennsylvania", "Wisconsin", "Nevada", "North Carolina", "Ohio", "Texas",
          "Florida", "Maine", "Iowa", "Alaska", "Montana", "New Hampshire", "Minnesota", "Virginia", "Colorado"]
COUNTRIES = ["US", "UK", "Germany", "France", "Japan", "Canada", "Brazil", "India", "Mexico", "Italy", "Spain"]
MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December"]
MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _pair(rng: random.Random) -> tuple[str, str, datetime]:
    """One question phrased the Polymarket way and the Kalshi way, and when it closes."""
    kind = rng.randrange(6)
    y = rng.choice([2026, 2027, 2028])
    mo = rng.randrange(12)
    d = rng.randint(1, 28)
    close = datetime(y, mo + 1, d, tzinfo=UTC)
    if kind == 0:
        name, tick, lo, hi, step = rng.choice(COINS)
        n = rng.randrange(lo, hi, step)
        a = rng.choice([f"Will the price of {name} be above ${n:,} on {MONTH_NAMES[mo]} {d}?",
                        f"{name} above ${n:,} on {MONTH_NAMES[mo]} {d}, {y}?"])
        k = f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else f"${n}"
        b = rng.choice([f"{tick} price over {k} on {MONTH_ABBR[mo]} {d}, {y}?",
                        f"Will {tick} close above {k} on {y}-{mo + 1:02d}-{d:02d}?",
                        f"{tick}/USD at or above {k.upper()} at 12pm ET, {MONTH_ABBR[mo]} {d}"])
    elif kind == 1:
        bp = rng.choice([25, 50, 75])
        verb_a, verb_b = rng.choice([("decreases interest rates", "Cut rates"), ("increases interest rates", "Hike rates")])
        a = f"Fed {verb_a} by {bp} bps after {MONTH_NAMES[mo]} {y} meeting?"
        b = f"Will the Federal Reserve {verb_b} by {bp}bps at their {MONTH_NAMES[mo]} {y} meeting?"
    elif kind == 2:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        party, abbr = rng.choice([("Democratic", "Dem"), ("Republican", "GOP")])
        yy = rng.choice([2028, 2032])
        close = datetime(yy, 11, 7, tzinfo=UTC)
        a = f"Will {name} win the {yy} {party} presidential nomination?"
        b = rng.choice([f"{party} nominee {yy}: {name}?", f"Who will be the {yy} {party} presidential nominee? {name}",
                        f"{yy} {abbr} presidential nominee - {name.split()[1]}, {name.split()[0]}"])
    elif kind == 3:
        t1, t2 = rng.sample(TEAMS, 2)
        a = f"Will the {t1} beat the {t2} on {MONTH_NAMES[mo]} {d}?"
        city = rng.choice(["", "", "Home team ", "Pro game: "])
        b = rng.choice([f"{city}{t1} vs {t2} winner ({MONTH_ABBR[mo]} {d}, {y}): {t1}",
                        f"{t2} at {t1} on {MONTH_ABBR[mo]} {d}th - will {t1} win?"])
    elif kind == 4:
        c = rng.choice(COUNTRIES)
        x = D(rng.randint(10, 60)) / 10
        a = f"Will {c} CPI inflation be above {x}% in {MONTH_NAMES[mo]} {y}?"
        b = rng.choice([f"{c} inflation over {x}% for {MONTH_ABBR[mo]} {y}?",
                        f"{c} YoY CPI print for {MONTH_NAMES[mo]} {y} greater than {x} percent"])
    else:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        st = rng.choice(STATES)
        yy = rng.choice([2026, 2028])
        close = datetime(yy, 11, 3, tzinfo=UTC)
        a = f"Will {name} win the {st} Senate race in {yy}?"
        b = rng.choice([f"{st} Senate winner {yy}: {name}", f"Who wins the {yy} U.S. Senate seat in {st}? {name}"])
    return a, b, close


def _generic(rng: random.Random) -> tuple[str, datetime]:
    try:
        from tools.sim.synthetic import _title  # the market engineers' vocabulary
        t = _title(rng)
    except Exception:  # pragma: no cover - the generator moved
        t = f"Will item {rng.randrange(10**6)} happen?"
    return t, NOW + timedelta(days=rng.randint(1, 900))


REAL_PAIRS = [
    # (A: Kalshi, B: Manifold) from tests/fixtures: the closest real look-alike in the recordings
    ("kalshi/get_markets_kxfeddecision_2026-08.json", "KXFEDDECISION-26SEP-C25",
     "manifold/search_markets_fed_2026-08.json", "lqtROphAhp"),
]


def _real_pairs() -> list[tuple[str, str, datetime, datetime]]:
    out = []
    for ka, kid, mb, mid in REAL_PAIRS:
        for base in (ROOT / "tests" / "fixtures", Path("/work/shared/fixtures")):
            pa, pb = base / ka, base / mb
            if pa.is_file() and pb.is_file():
                km = next(m for m in json.loads(pa.read_text())["markets"] if m["ticker"] == kid)
                mm = next(m for m in json.loads(pb.read_text()) if m["id"] == mid)
                out.append((km["title"], mm["question"],
                            datetime.fromisoformat(km["close_time"].replace("Z", "+00:00")),
                            datetime.fromtimestamp(mm["closeTime"] / 1000, tz=UTC)))
                break
    return out


def matching_corpus(n: int = 20_000, pairs: int = 2_000, near: int = 9_000, seed: int = 5):
    """A and B lists of MatchItems and the known (a index, b index) pairs. Every question is unique:
    a near miss never repeats a known pair's wording (a repeat would be the same question)."""
    rng = random.Random(seed)
    a: list[MatchItem] = []
    b: list[MatchItem] = []
    known: list[tuple[int, int]] = []
    used: set[str] = set()
    for ta, tb, ca, cb in _real_pairs():
        known.append((len(a), len(b)))
        used.update((ta, tb))
        a.append(MatchItem(f"real-a-{len(a)}", ta, ca))
        b.append(MatchItem(f"real-b-{len(b)}", tb, cb))
    while len(known) < pairs:
        ta, tb, close = _pair(rng)
        if ta in used or tb in used:
            continue
        used.update((ta, tb))
        known.append((len(a), len(b)))
        a.append(MatchItem(f"pm-{len(a)}", ta, close))
        b.append(MatchItem(f"ka-{len(b)}", tb, close))
    # near misses: same templates, other numbers/dates/names, each on one side only
    for side in (a, b):
        added = 0
        while added < near:
            ta, tb, close = _pair(rng)
            if ta in used or tb in used:
                continue
            used.update((ta, tb))
            side.append(MatchItem(f"nm-{len(side)}", ta if side is a else tb, close))
            added += 1
    for side in (a, b):
        while len(side) < n:
            t, close = _generic(rng)
            side.append(MatchItem(f"g-{len(side)}", t, close))
    # shuffle B so that known pairs are not aligned by position
    order = list(range(len(b)))
    rng.shuffle(order)
    pos = {old: new for new, old in enumerate(order)}
    b = [b[i] for i in order]
    known = [(i, pos[j]) for i, j in known]
    return a, b, known


def bench_match(repeats: int = 5) -> dict:
    a, b, known = matching_corpus()
    times = []
    cands = []
    cpu = []
    for _ in range(repeats):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        cands = match_candidates(a, b)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    by_a: dict[int, list] = {}
    for c in cands:
        by_a.setdefault(c.a, []).append(c)
    hits = sum(1 for i, j in known if any(c.b == j for c in by_a.get(i, [])))
    top1 = sum(1 for i, j in known if by_a.get(i) and by_a[i][0].b == j)
    real = known[:len(_real_pairs())]
    real_hits = [any(c.b == j for c in by_a.get(i, [])) for i, j in real]
    return {"a": len(a), "b": len(b), "known_pairs": len(known), "candidates": len(cands),
            "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "cpu_median_s": round(statistics.median(cpu), 3),
            "recall_at_3": round(hits / len(known), 4), "top1_accuracy": round(top1 / len(known), 4),
            "real_pairs_found": f"{sum(real_hits)}/{len(real_hits)}", "repeats": repeats}


# ----------------------------------------------------------------------------- paired before/after


def worker() -> None:
    """One tree's side of a paired run: builds the sets once, then answers "scan N" lines on stdin with the
    N scan times and a digest of what the scan found (the two trees must find the same)."""
    sets, _ = dutch_sets()
    scan_dutch_books(sets, now=NOW)
    print(json.dumps({"ready": str(SOURCE)}), flush=True)
    for line in sys.stdin:
        n = int(line.split()[1])
        times, cpu, found = [], [], []
        for _ in range(n):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            found = scan_dutch_books(sets, now=NOW)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        digest = [[o.id, str(o.size), str(o.capacity), str(o.profit), str(o.cost)] for o in found]
        print(json.dumps({"times": times, "cpu": cpu, "found": digest}), flush=True)


def paired(rev: str, pairs: int, per_run: int = 5) -> None:
    """Before/after in one run: ``rev`` checked out into a git worktree (tools/bench/.work/) against this
    tree, one worker process each (the sets built once per worker); the pairs interleaved, and who goes
    first alternating, so machine load hits both alike. A pair compares the median of ``per_run`` scans."""
    import os
    import subprocess

    base = Path(__file__).resolve().parent / ".work" / f"arb-baseline-{rev[:12]}"
    if not base.exists():
        subprocess.run(["git", "worktree", "add", "-f", "--detach", str(base), rev], cwd=str(ROOT), check=True,
                       capture_output=True)
    me = Path(__file__).resolve()
    procs = {name: subprocess.Popen([sys.executable, str(me), "--worker", "--source", str(src)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(src))
             for name, src in (("before", base), ("after", ROOT))}
    for p in procs.values():
        json.loads(p.stdout.readline())

    def run(name: str, n: int) -> dict:
        p = procs[name]
        p.stdin.write(f"scan {n}\n")
        p.stdin.flush()
        return json.loads(p.stdout.readline())

    for name in procs:  # warm-up
        run(name, 3)
    before, after, ratios, cpu_b, cpu_a = [], [], [], [], []
    same = True
    for i in range(pairs):
        order = ("before", "after") if i % 2 == 0 else ("after", "before")
        got = {name: run(name, per_run) for name in order}
        same = same and got["before"]["found"] == got["after"]["found"]
        b, a = (statistics.median(got[k]["times"]) for k in ("before", "after"))
        before.append(b)
        after.append(a)
        ratios.append(a / b)
        cpu_b.append(statistics.median(got["before"]["cpu"]))
        cpu_a.append(statistics.median(got["after"]["cpu"]))
        print(f"pair {i + 1}: before {b * 1000:.1f} ms, after {a * 1000:.1f} ms, ratio {a / b:.3f} (CPU "
              f"{cpu_b[-1] * 1000:.1f} / {cpu_a[-1] * 1000:.1f} ms)", flush=True)
    for p in procs.values():
        p.stdin.close()
        p.wait(timeout=60)
    print("dutch_book_scan_paired", json.dumps({
        "baseline": rev, "pairs": pairs, "scans_per_pair_side": per_run,
        "median_before_ms": round(statistics.median(before) * 1000, 1),
        "median_after_ms": round(statistics.median(after) * 1000, 1),
        "median_ratio": round(statistics.median(ratios), 3),
        "median_cpu_before_ms": round(statistics.median(cpu_b) * 1000, 1),
        "median_cpu_after_ms": round(statistics.median(cpu_a) * 1000, 1), "same_opportunities": same,
        "found": len(got["after"]["found"]), "load": [round(x, 2) for x in os.getloadavg()]}))


def main(argv: list[str]) -> None:
    import argparse
    import os

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="*", help="dutch and/or match (default: both)")
    ap.add_argument("--baseline", help="a git revision to compare the Dutch-book scan with (paired, interleaved)")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker()
    print("load average", os.getloadavg(), "cores", os.cpu_count())
    if args.baseline:
        if args.pairs < 9:
            ap.error("--pairs must be >= 9")
        return paired(args.baseline, args.pairs)
    what = set(args.what) or {"dutch", "match"}
    if what - {"dutch", "match"}:
        ap.error(f"unknown benchmark(s) {sorted(what - {'dutch', 'match'})}: choose dutch, match")
    if "dutch" in what:
        print("dutch_book_scan", json.dumps(bench_dutch(), default=str))
    if "match" in what:
        print("cross_venue_matching", json.dumps(bench_match(), default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
