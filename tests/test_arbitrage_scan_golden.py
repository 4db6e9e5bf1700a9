"""The Dutch-book scan gives the same opportunities with the same numbers before and after its speed work.

The golden file (tests/fixtures/arbitrage/dutch_scan_golden.json) was written by the scan as it was before
the speed work (commit 9b0c9d3), from:

- the recorded exclusive events (Polymarket's Democratic nominee 2028 neg-risk event, Kalshi's next Pope,
  Ramp-or-Brex, Fed decision and Tottenham-Nottingham game, Manifold's multiple-choice market), with books
  built from their recorded quotes, as recorded and with every ask knocked down / every bid lifted so that
  the walk, the fees, baskets and every-NO bundles all run;
- the benchmark's 3,000 generated neg-risk events (tools/bench/arbitrage.py) and 400 more of another seed.

Regenerate only on purpose: ``PM_MCP_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_arbitrage_scan_golden.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

from pm_mcp.domain.arbitrage import (
    ExclusiveSet,
    SetMember,
    detect_dutch_book,
    dutch_book_quick_check,
    exclusive_set_from_event,
    exclusive_set_from_multiple_choice,
    scan_dutch_books,
)
from pm_mcp.domain.fees import kalshi_schedule, polymarket_schedule
from pm_mcp.domain.models import BookLevel, Event, Market, OrderBook
from pm_mcp.venues.kalshi.parse import parse_event as kalshi_event
from pm_mcp.venues.manifold.parse import parse_market as manifold_market
from pm_mcp.venues.polymarket.parse import parse_gamma_event
from tools.bench.arbitrage import NOW, dutch_sets

FIX = Path(__file__).parent / "fixtures"
GOLDEN = FIX / "arbitrage" / "dutch_scan_golden.json"
RECORDED_AT = datetime(2026, 5, 1, tzinfo=UTC)  # the recordings are open markets at this time


def _recorded_events() -> list[Event]:
    out = [parse_gamma_event(e) for e in json.loads((FIX / "polymarket" / "gamma_events_negrisk_dem_nominee_2028.json")
                                                    .read_text())]
    nested = json.loads((FIX / "kalshi" / "get_events_nested_markets_2026-05.json").read_text())["events"]
    out += [kalshi_event(e, now=RECORDED_AT) for e in nested]
    fed = json.loads((FIX / "kalshi" / "get_markets_kxfeddecision_2026-08.json").read_text())["markets"]
    out.append(kalshi_event({"event_ticker": "KXFEDDECISION-26SEP", "title": "Fed decision in September 2026?",
                             "mutually_exclusive": True}, fed, now=RECORDED_AT))
    epl = json.loads((FIX / "kalshi" / "markets_array_epl_event_2026-03.json").read_text())
    out.append(kalshi_event({"event_ticker": epl[0]["event_ticker"], "title": "Tottenham vs Nottingham Winner?",
                             "mutually_exclusive": True}, epl, now=RECORDED_AT))
    return out


def _levels(top: D | None, step: D, n: int = 3) -> list[BookLevel]:
    if top is None:
        return []
    out = []
    for k in range(n):
        p = top + step * k
        if D(0) < p < D(1):
            out.append(BookLevel(price=p, size=D(40 + 30 * k)))
    return out


def _books(markets: list[Market], ask_x: D, bid_x: D, q=lambda p: p.quantize(D("0.001"))) -> dict:
    books = {}
    for m in markets:
        for o in m.outcomes:
            ask = q(o.best_ask * ask_x) if o.best_ask is not None else None
            bid = q(o.best_bid * bid_x) if o.best_bid is not None else None
            books[(m.id, o.label.lower())] = OrderBook(venue=m.venue, market_id=m.id, outcome=o.label,
                                                       asks=_levels(ask, D("0.01")), bids=_levels(bid, D("-0.01")))
    return books


def _recorded_sets() -> list[ExclusiveSet]:
    sets = []
    for ev in _recorded_events():
        for ask_x, bid_x in ((D(1), D(1)), (D("0.8"), D(1)), (D(1), D("1.25")), (D("0.5"), D("1.6"))):
            books = _books(ev.markets, ask_x, bid_x)
            sets.append(exclusive_set_from_event(ev, books))
            sets.append(exclusive_set_from_event(ev, books, augmented=False))
            if ev.venue == "kalshi":
                for m in ev.markets:
                    m.fees = kalshi_schedule()
                sets.append(exclusive_set_from_event(ev, books))
    raw = json.loads((FIX / "manifold" / "synthetic_fullmarket_multiple_choice.json").read_text())
    mc = manifold_market(raw, now=RECORDED_AT)
    for ask_x, bid_x in ((D(1), D(1)), (D("0.8"), D(1)), (D(1), D("1.25"))):
        books = {}
        for o in mc.outcomes:
            p = o.price or D("0.1")
            books[o.label.lower()] = OrderBook(venue=mc.venue, market_id=mc.id, outcome=o.label,
                                               asks=_levels((p * ask_x + D("0.01")).quantize(D("0.01")), D("0.01")),
                                               bids=_levels((p * bid_x - D("0.01")).quantize(D("0.01")), D("-0.01")))
        sets.append(exclusive_set_from_multiple_choice(mc, books))
    return sets


def _random_sets(seed: int, n: int = 300) -> list[ExclusiveSet]:
    """Small sets with missing quotes, one-sided books, fees of both kinds, to reach every branch."""
    rng = random.Random(seed)
    fees = [polymarket_schedule(D("0.04")), kalshi_schedule(), polymarket_schedule(D("0.02"))]
    out = []
    for e in range(n):
        k = rng.randint(2, 6)
        members = []
        for i in range(k):
            m = Market(id=f"r{seed}-{e}-{i}", venue="polymarket", title=f"Member {i}" if i < k - 1 else "Other",
                       outcomes=[{"label": "Yes"}, {"label": "No"}], fees=rng.choice(fees),
                       min_order_size=D(rng.choice([1, 5])), neg_risk=True)
            ask = D(rng.randint(1, 60)) / 100 if rng.random() > 0.05 else None
            bid = D(rng.randint(1, 60)) / 100 if rng.random() > 0.05 else None
            book = OrderBook(venue="polymarket", market_id=m.id, outcome="Yes", asks=_levels(ask, D("0.01")),
                             bids=_levels(bid, D("-0.01")))
            members.append(SetMember(market=m, label=m.title, yes_outcome="Yes", no_outcome="No", yes_book=book))
        out.append(ExclusiveSet(key=f"r{seed}:{e}", venue="polymarket", title=f"Random {e}", members=members,
                                neg_risk=True, augmented=rng.choice([False, False, True, None])))
    return out


def results() -> dict:
    recorded = [o.model_dump(mode="json") for s in _recorded_sets()
                for o in detect_dutch_book(s, now=RECORDED_AT, baskets=True)]
    rand = [o.model_dump(mode="json") for seed in (1, 2) for o in scan_dutch_books(_random_sets(seed), now=NOW,
                                                                                      baskets=True)]
    bench = [o.model_dump(mode="json") for sets in (dutch_sets()[0], dutch_sets(400, 6, planted_yes=8, planted_no=6, seed=12)[0])
             for o in scan_dutch_books(sets, now=NOW)]
    quick = [list(dutch_book_quick_check(s)) for s in _recorded_sets() + _random_sets(3)]
    out = {}
    for name, opps in (("recorded", recorded), ("random", rand), ("bench", bench)):
        out[name] = {"count": len(opps),
                     "digest": hashlib.sha256(json.dumps(opps, sort_keys=True).encode()).hexdigest(),
                     "summary": [[o["id"], o["kind"], o["size"], o["capacity"], o["cost"], o["profit"], o["risk_free"]]
                                 for o in opps]}
    out["quick"] = hashlib.sha256(json.dumps(quick).encode()).hexdigest()
    return out


def test_the_scan_gives_the_recorded_results():
    got = results()
    if os.environ.get("PM_MCP_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1) + "\n")
    want = json.loads(GOLDEN.read_text())
    for name in ("recorded", "random", "bench"):
        assert got[name]["summary"] == want[name]["summary"], name
        assert got[name]["digest"] == want[name]["digest"], name
    assert got["quick"] == want["quick"]
    # the corpus reaches what it is meant to: opportunities of both kinds, baskets, recorded ones among them
    assert want["recorded"]["count"] >= 5 and want["random"]["count"] >= 20 and want["bench"]["count"] >= 20
    kinds = {row[1] for name in ("recorded", "random") for row in want[name]["summary"]}
    assert kinds == {"dutch_book", "basket"}
