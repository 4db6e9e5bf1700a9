"""Arbitrage detectors: planted Dutch books, fees that remove the edge, exhaustiveness, YES+NO,
cross-venue verdicts, resolution trades, and property tests (equal payoff in every outcome)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pm_mcp.domain.arbitrage import (
    ArbFilter,
    ArbKind,
    Equivalence,
    Exhaustiveness,
    VenueSide,
    Verdict,
    assess_exhaustive,
    bundle_payoff,
    detect_cross_venue,
    detect_dutch_book,
    detect_resolution,
    detect_yes_no,
    exclusive_set_from_event,
    exclusive_set_from_multiple_choice,
    rank,
    scan_dutch_books,
)
from pm_mcp.domain.book import walk_book
from pm_mcp.domain.fees import kalshi_schedule, order_fee, polymarket_schedule
from pm_mcp.domain.models import BookLevel, Event, FeeSchedule, Market, MarketStatus, OrderBook, Outcome

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
FIX = Path(__file__).parent / "fixtures"


def lv(pairs):
    return [BookLevel(price=D(str(p)), size=D(str(s))) for p, s in pairs]


def binary(mid, title, *, venue="polymarket", asks=(), bids=(), no_asks=None, no_bids=None, fees=None,
           close_days=10, min_size=D(1), status=MarketStatus.OPEN):
    m = Market(id=mid, venue=venue, title=title, outcomes=[Outcome(label="Yes"), Outcome(label="No")],
               status=status, close_time=NOW + timedelta(days=close_days), fees=fees or FeeSchedule(),
               min_order_size=min_size, size_step=D(1) if venue == "kalshi" else D("0.01"))
    yes = OrderBook(venue=venue, market_id=mid, outcome="Yes", asks=lv(asks), bids=lv(bids))
    no = None
    if no_asks is not None or no_bids is not None:
        no = OrderBook(venue=venue, market_id=mid, outcome="No", asks=lv(no_asks or ()), bids=lv(no_bids or ()))
    return m, yes, no


def event_set(members, *, title="Who wins?", venue="polymarket", neg_risk=True, exclusive=True, augmented=False):
    ev = Event(id="ev1", venue=venue, title=title, markets=[m for m, _, _ in members], neg_risk=neg_risk,
               mutually_exclusive=exclusive)
    books = {}
    for m, y, n in members:
        books[(m.id, "yes")] = y
        if n is not None:
            books[(m.id, "no")] = n
    return exclusive_set_from_event(ev, books, augmented=augmented)


# ------------------------------------------------------------------ planted Dutch books


def planted():
    # merged walk by hand: 0..50 asks .30+.30+.30 (+0.10/unit), 50..80 .30+.32+.30 (+0.08),
    # 80..100 .30+.32+.40 (-0.02), 100..150 .35+.32+.40 (-0.07), then candidate B's book ends.
    # best size 80 (profit 5.0 + 2.4 = 7.4); profit at 150 = 7.4 - 0.4 - 3.5 = 3.5 > 0 -> capacity 150
    return [binary("a", "Alice", asks=[(".30", 100), (".35", 200)]),
            binary("b", "Bob", asks=[(".30", 50), (".32", 100)]),
            binary("c", "Other", asks=[(".30", 80), (".40", 100)])]


def test_planted_dutch_book_found_with_right_size_capacity_and_profit():
    s = event_set(planted())
    opps = detect_dutch_book(s, now=NOW)
    assert len(opps) == 1
    o = opps[0]
    assert o.kind is ArbKind.DUTCH_BOOK and o.risk_free and not o.flags
    assert o.size == D(80) and o.capacity == D(150)
    assert o.profit == D("7.4") and o.profit_at_capacity == D("3.5")
    assert o.cost == D("72.6") and o.payout == D(80)
    assert {leg.market_id: leg.limit_price for leg in o.legs} == {"a": D(".30"), "b": D(".32"), "c": D(".30")}
    assert all(leg.side == "buy" and leg.size == D(80) for leg in o.legs)
    assert set(o.payoff_by_state.values()) == {D(80)}
    # the worst single failure: the cheapest-to-lose leg... is the one whose outcome then wins: you hold
    # the other two legs (48.6 spent) and they pay nothing
    assert o.worst_case_one_leg_fails == -(o.cost - min(l.cost + l.fees for l in o.legs))
    assert o.days_to_resolution == D(10) and o.annualised_return == (o.return_pct * 365 / 10).quantize(D("0.0001"))


def test_capacity_at_the_zero_crossing():
    # 0..100 +0.10/unit (profit 10), then .50+.50+.30 = -0.30/unit: zero at 100 + 10/0.3 = 133.33..
    s = event_set([binary("a", "A", asks=[(".30", 100), (".50", 100)]),
                   binary("b", "B", asks=[(".30", 100), (".50", 100)]),
                   binary("c", "Other", asks=[(".30", 300)])])
    (o,) = detect_dutch_book(s, now=NOW)
    assert o.size == D(100) and o.profit == D(10)
    assert o.capacity == D("133.33")
    assert D(0) < o.profit_at_capacity < D("0.01")
    # one more step is no longer profitable
    legs = [walk_book(lv([(".30", 100), (".50", 100)]), size=D("133.34")) for _ in range(2)]
    third = walk_book(lv([(".30", 300)]), size=D("133.34"))
    assert D("133.34") - sum(w.cost for w in legs) - third.cost < 0


def test_fees_that_remove_the_edge_are_respected():
    asks = [(".32", 100)], [(".32", 100)], [(".33", 100)]  # 0.97: 3 cents of edge before fees
    free = event_set([binary(k, k, venue="kalshi", asks=a) for k, a in zip(("x", "y", "Other"), asks)],
                     venue="kalshi", neg_risk=False)
    (o,) = detect_dutch_book(free, now=NOW)
    assert o.profit == D(3) and o.size == D(100)
    # Kalshi taker fees ~0.07 x p(1-p) = ~1.5 cents per leg: 4.6 cents > 3 cents of edge
    fee = kalshi_schedule()
    taxed = event_set([binary(k, k, venue="kalshi", asks=a, fees=fee) for k, a in zip(("x", "y", "Other"), asks)],
                      venue="kalshi", neg_risk=False)
    assert detect_dutch_book(taxed, now=NOW) == []


def test_fees_that_leave_an_edge_are_charged_exactly():
    fee = polymarket_schedule(D("0.04"))
    s = event_set([binary("a", "A", asks=[(".25", 40), (".27", 60)], fees=fee),
                   binary("b", "B", asks=[(".30", 100)], fees=fee),
                   binary("c", "Other", asks=[(".35", 70), (".36", 500)], fees=fee)])
    (o,) = detect_dutch_book(s, now=NOW)
    # independent re-pricing with the venue's order fee (raw fees summed, rounded once)
    spent = D(0)
    for leg, book in zip(sorted(o.legs, key=lambda l: l.market_id), (
            [(".25", 40), (".27", 60)], [(".30", 100)], [(".35", 70), (".36", 500)])):
        fills, left = [], o.size
        for p, q in book:
            take = min(D(str(q)), left)
            if take > 0:
                fills.append((take, D(p)))
            left -= take
        assert leg.fees == order_fee(fee, fills)
        spent += sum(s_ * p for s_, p in fills) + order_fee(fee, fills)
    assert o.cost == spent and o.profit == o.size - spent > 0
    assert o.fees > 0


def test_mirror_buy_every_no_when_bids_sum_above_one():
    # YES bids .40 + .35 + .30 = 1.05 > 1: NO asks derived at .60/.65/.70 = 1.95 < n-1 = 2
    s = event_set([binary("a", "A", asks=[(".45", 10)], bids=[(".40", 50), (".38", 50)]),
                   binary("b", "B", asks=[(".40", 10)], bids=[(".35", 60)]),
                   binary("c", "Other", asks=[(".35", 10)], bids=[(".30", 100)])])
    opps = detect_dutch_book(s, now=NOW)
    (o,) = [x for x in opps if "NO" in x.title]
    assert all(leg.outcome == "No" and leg.derived_book for leg in o.legs)
    # 0..50: 2 - (.60+.65+.70) = +0.05; 50..60: .62 -> +0.03; then B's bids end
    assert o.size == D(60) and o.capacity == D(60)
    assert o.profit == D("2.5") + D("0.3")
    assert set(o.payoff_by_state.values()) == {D(120)}  # n-1 = 2 per unit
    for state in o.states:
        assert bundle_payoff(o, state) == D(120)


def test_no_dutch_book_on_fair_prices():
    s = event_set([binary("a", "A", asks=[(".40", 100)], bids=[(".38", 100)]),
                   binary("b", "B", asks=[(".35", 100)], bids=[(".33", 100)]),
                   binary("c", "Other", asks=[(".27", 100)], bids=[(".25", 100)])])
    assert detect_dutch_book(s, now=NOW) == []


def test_minimum_order_size_above_capacity_is_not_reported():
    s = event_set([binary("a", "A", asks=[(".30", 3)], min_size=D(5)),
                   binary("b", "B", asks=[(".30", 100)], min_size=D(5)),
                   binary("c", "Other", asks=[(".30", 100)], min_size=D(5))])
    assert detect_dutch_book(s, now=NOW) == []


# ------------------------------------------------------------------ exhaustiveness


def test_kalshi_exclusive_set_without_other_is_a_basket_not_a_dutch_book():
    s = event_set([binary("P1", "Pizzaballa", venue="kalshi", asks=[(".07", 100)]),
                   binary("P2", "Parolin", venue="kalshi", asks=[(".05", 100)]),
                   binary("P3", "Tagle", venue="kalshi", asks=[(".05", 100)])],
                  title="Who will the next Pope be?", venue="kalshi", neg_risk=False)
    status, _ = assess_exhaustive(s)
    assert status is Exhaustiveness.UNVERIFIED
    # mutually exclusive says at most one wins, not that one will: not arbitrage, not listed
    assert detect_dutch_book(s, now=NOW) == []
    (o,) = detect_dutch_book(s, now=NOW, baskets=True)
    assert o.kind is ArbKind.BASKET and not o.risk_free
    assert any(f.startswith("not_exhaustive") for f in o.flags)
    assert o.payoff_by_state["none of the listed"] == 0
    # its "profit" is its worst case: the whole cost is lost if none of them wins
    assert o.profit == -o.cost and o.profit < 0
    assert o.headline.startswith(f"pays ${o.payout:.2f} only if one of these 3 wins") and "loses" in o.headline
    assert o.worst_case_one_leg_fails <= -o.cost
    # never kept as arbitrage; kept only when baskets are asked for by kind
    assert rank([o], ArbFilter(risk_free_only=True)) == [] and rank([o], ArbFilter()) == []
    assert rank([o], ArbFilter(kinds={"basket"})) == [o]


def test_augmented_neg_risk_and_placeholders_are_not_exhaustive():
    members = planted()
    s = event_set(members, augmented=True)
    assert assess_exhaustive(s)[0] is Exhaustiveness.NOT_EXHAUSTIVE
    assert detect_dutch_book(s, now=NOW) == []
    (o,) = detect_dutch_book(s, now=NOW, baskets=True)
    assert o.kind is ArbKind.BASKET and not o.risk_free and "augmented" in " ".join(o.flags)
    ph = event_set([binary("a", "Alice", asks=[(".3", 10)]), binary("b", "Person B", asks=[(".3", 10)]),
                    binary("c", "Other", asks=[(".3", 10)])])
    assert assess_exhaustive(ph)[0] is Exhaustiveness.NOT_EXHAUSTIVE


def test_neg_risk_event_whose_augmentation_is_unknown_is_not_a_dutch_book():
    # the recorded Democratic-nominee event is augmented; when the data does not say, do not assume
    s = event_set(planted(), augmented=None)
    assert assess_exhaustive(s)[0] is Exhaustiveness.UNVERIFIED
    assert detect_dutch_book(s, now=NOW) == []
    (o,) = detect_dutch_book(s, now=NOW, baskets=True)
    assert not o.risk_free and o.payoff_by_state["none of the listed"] == 0 and o.kind is ArbKind.BASKET


def test_every_no_of_an_exclusive_set_needs_no_exhaustiveness():
    # YES bids sum above 1 on a Kalshi exclusive set without "Other": n-1 NO shares pay if one wins, n if none
    s = event_set([binary("P1", "Pizzaballa", venue="kalshi", bids=[(".45", 100)], asks=[(".47", 100)]),
                   binary("P2", "Parolin", venue="kalshi", bids=[(".40", 100)], asks=[(".42", 100)]),
                   binary("P3", "Tagle", venue="kalshi", bids=[(".30", 100)], asks=[(".32", 100)])],
                  title="Who will the next Pope be?", venue="kalshi", neg_risk=False)
    (o,) = detect_dutch_book(s, now=NOW)
    assert o.kind is ArbKind.DUTCH_BOOK and "NO" in o.title
    assert min(o.payoff_by_state.values()) - o.cost == o.profit > 0
    assert o.payoff_by_state["none of the listed"] > o.payoff_by_state["Parolin"]
    assert o.risk_free


def test_three_way_game_with_tie_is_exhaustive():
    s = event_set([binary("t", "Tottenham", venue="kalshi", asks=[(".30", 10)]),
                   binary("d", "Tie", venue="kalshi", asks=[(".30", 10)]),
                   binary("n", "Nottingham", venue="kalshi", asks=[(".30", 10)])],
                  title="Tottenham vs Nottingham Winner?", venue="kalshi", neg_risk=False)
    assert assess_exhaustive(s)[0] is Exhaustiveness.EXHAUSTIVE
    (o,) = detect_dutch_book(s, now=NOW)
    assert o.risk_free


def test_closed_member_is_left_out_and_flagged():
    members = planted()
    members[1] = binary("b", "Bob", asks=[(".30", 50)], status=MarketStatus.CLOSED)
    s = event_set(members)
    assert len(s.members) == 2 and s.flags
    for o in detect_dutch_book(s, now=NOW):
        assert not o.risk_free


def test_manifold_multiple_choice_set():
    m = Market(id="mc", venue="manifold", title="Which team wins?", mutually_exclusive=True,
               outcomes=[Outcome(label="Red"), Outcome(label="Blue"), Outcome(label="Other")],
               status=MarketStatus.OPEN, close_time=NOW + timedelta(days=3))
    books = {k.lower(): OrderBook(venue="manifold", market_id="mc", outcome=k, asks=lv([(p, 50)]))
             for k, p in (("Red", ".40"), ("Blue", ".30"), ("Other", ".20"))}
    (o,) = detect_dutch_book(exclusive_set_from_multiple_choice(m, books), now=NOW)
    assert o.risk_free and o.profit == D(5) and o.size == D(50)


# ------------------------------------------------------------------ recorded books


def _kalshi_markets(path):
    data = json.loads(path.read_text())
    out = []
    for r in data:
        m = Market(id=r["ticker"], venue="kalshi", title=r["yes_sub_title"], event_id=r["event_ticker"],
                   outcomes=[Outcome(label="Yes", side="yes"), Outcome(label="No", side="no")],
                   status=MarketStatus.OPEN, fees=kalshi_schedule(), size_step=D(1),
                   close_time=datetime.fromisoformat(r["close_time"].replace("Z", "+00:00")))
        yes = OrderBook(venue="kalshi", market_id=m.id, outcome="Yes",
                        asks=lv([(r["yes_ask_dollars"], 100)]), bids=lv([(r["yes_bid_dollars"], 100)]))
        out.append((m, yes, None))
    return out


def _fixture(venue, name):
    for base in (FIX / venue,):
        if (base / name).is_file():
            return base / name
    raise FileNotFoundError(f"fixture {venue}/{name} missing from tests/fixtures")


def test_recorded_kalshi_game_is_not_an_arbitrage_but_a_planted_skew_is():
    members = _kalshi_markets(_fixture("kalshi", "markets_array_epl_event_2026-03.json"))
    title = "Tottenham vs Nottingham Winner?"
    s = event_set(members, title=title, venue="kalshi", neg_risk=False)
    # recorded: asks .39 + .29 + .35 = 1.03, bids .37 + .27 + .32 = 0.96: no edge either way
    assert detect_dutch_book(s, now=NOW) == []
    # the same event with the away ask knocked down to .25 (asks 0.93): an edge of 7 cents before
    # fees; Kalshi fees (0.07 p(1-p) ~1.6c + 1.4c + 1.3c) leave ~2.7c per unit
    m, y, _ = members[2]
    skew = OrderBook(venue="kalshi", market_id=m.id, outcome="Yes", asks=lv([(".25", 100)]), bids=y.bids)
    s2 = event_set(members[:2] + [(m, skew, None)], title=title, venue="kalshi", neg_risk=False)
    (o,) = detect_dutch_book(s2, now=NOW)
    assert o.risk_free and o.size == D(100) and o.capacity == D(100)
    fees = sum(order_fee(kalshi_schedule(), [(D(100), p)]) for p in (D(".39"), D(".29"), D(".25")))
    assert o.profit == D(100) - D(93) - fees


def test_recorded_kalshi_orderbook_walk_gives_no_yes_no_arbitrage():
    path = _fixture("kalshi", "get_orderbook_epl_2026-03.json")
    ob = json.loads(path.read_text())["orderbook_fp"]
    yes_bids = sorted(((D(p), D(q)) for p, q in ob["yes_dollars"]), reverse=True)
    no_bids = sorted(((D(p), D(q)) for p, q in ob["no_dollars"]), reverse=True)
    m = Market(id="KXEPLGAME-26MAR22TOTNFO-TOT", venue="kalshi", title="Tottenham", status=MarketStatus.OPEN,
               outcomes=[Outcome(label="Yes"), Outcome(label="No")], fees=kalshi_schedule(), size_step=D(1),
               close_time=NOW + timedelta(days=5))
    yes = OrderBook(venue="kalshi", market_id=m.id, outcome="Yes", bids=lv(yes_bids),
                    asks=[BookLevel(price=1 - p, size=q) for p, q in no_bids])
    no = OrderBook(venue="kalshi", market_id=m.id, outcome="No", bids=lv(no_bids),
                   asks=[BookLevel(price=1 - p, size=q) for p, q in yes_bids])
    # a consistent exchange book never crosses itself
    assert detect_yes_no(m, yes, no, now=NOW) == []


# ------------------------------------------------------------------ YES + NO


def test_yes_no_buy_both_below_one():
    m, yes, no = binary("m", "Fed cuts", asks=[(".45", 100), (".50", 100)], bids=[(".40", 10)],
                        no_asks=[(".50", 60), (".52", 100)], no_bids=[(".45", 10)])
    opps = detect_yes_no(m, yes, no, now=NOW)
    (o,) = opps
    # 0..60 .45 + .50 (+.05), 60..100 .45 + .52 (+.03): best at 100 with 3 + 1.2; then .50 + .52
    # (-.02) until the NO book ends at 160: still 4.2 - 1.2 = 3.0 > 0, so the capacity is the depth
    assert o.kind is ArbKind.YES_NO and o.size == D(100) and o.profit == D("4.2")
    assert o.capacity == D(160) and o.profit_at_capacity == D(3)


def test_yes_no_sell_both_above_one_mints_a_complete_set():
    m, yes, no = binary("m", "Fed cuts", asks=[(".60", 10)], bids=[(".55", 30)],
                        no_asks=[(".50", 10)], no_bids=[(".48", 20), (".44", 100)])
    (o,) = detect_yes_no(m, yes, no, now=NOW)
    assert all(leg.side == "sell" for leg in o.legs)
    assert o.complete_sets_minted == o.size == D(20)
    assert o.profit == D(20) * (D(".55") + D(".48") - 1)
    assert set(o.payoff_by_state.values()) == {D(0)}  # the minted set covers both sold tokens


# ------------------------------------------------------------------ cross venue


def _side(venue, mid, asks, no_asks, fees=None, close_days=10):
    m, y, n = binary(mid, f"{venue} Fed cut", venue=venue, asks=asks, no_asks=no_asks, fees=fees,
                     close_days=close_days)
    return VenueSide(m, y, n)


def test_cross_venue_equivalent_pair_buys_yes_here_and_no_there():
    a = _side("polymarket", "pa", [(".40", 100)], [(".62", 100)])
    b = _side("kalshi", "kb", [(".63", 100)], [(".55", 50), (".57", 100)])
    opps, uncertain = detect_cross_venue(a, b, Equivalence(Verdict.EQUIVALENT), now=NOW)
    assert uncertain is None
    (o,) = opps
    assert [(l.venue, l.outcome) for l in o.legs] == [("polymarket", "Yes"), ("kalshi", "No")]
    assert o.size == D(100) and o.profit == D(50) * D(".05") + D(50) * D(".03")
    assert set(o.payoff_by_state.values()) == {D(100)}


def test_cross_venue_inverted_mapping_buys_yes_on_both():
    # B's YES is A's NO ("Fed holds" vs "Fed cuts")
    a = _side("polymarket", "pa", [(".40", 100)], [(".62", 100)])
    b = _side("kalshi", "kb", [(".55", 100)], [(".45", 100)])
    opps, _ = detect_cross_venue(a, b, Equivalence(Verdict.EQUIVALENT, inverted=True), now=NOW)
    (o,) = opps
    assert [(l.venue, l.outcome) for l in o.legs] == [("polymarket", "Yes"), ("kalshi", "Yes")]
    assert o.profit == D(5)
    for state in o.states:
        assert bundle_payoff(o, state) == D(100)
    # the same books read without the inversion would be a false arbitrage on "No": it buys A NO + B YES
    plain, _ = detect_cross_venue(a, b, Equivalence(Verdict.EQUIVALENT), now=NOW)
    assert all(o.id != p.id for p in plain)


def test_cross_venue_uncertain_or_not_equivalent_is_listed_apart():
    a = _side("polymarket", "pa", [(".40", 100)], [(".62", 100)])
    b = _side("kalshi", "kb", [(".63", 100)], [(".50", 100)], close_days=40)
    for verdict, diffs in ((Verdict.NOT_EQUIVALENT, ["deadline: Dec 31 vs Jan 31"]),
                           (Verdict.UNCERTAIN, ["source: BLS vs unspecified"])):
        opps, pair = detect_cross_venue(a, b, Equivalence(verdict, differences=diffs), now=NOW)
        assert opps == []
        assert pair is not None and pair.verdict == verdict.value and pair.differences == diffs
        assert pair.indicative_edge == D("0.10")


# ------------------------------------------------------------------ resolution


def test_resolution_trade_close_to_deadline():
    m, yes, _ = binary("r", "Incumbent wins", asks=[(".96", 100), (".97", 100), (".995", 500)], close_days=8,
                       fees=polymarket_schedule(D("0.04")))
    o = detect_resolution(m, "Yes", yes, now=NOW, rule_flags=["ambiguous: 'credible reporting'"])
    assert o is not None and not o.risk_free and o.kind is ArbKind.RESOLUTION
    # .995 + fee < 1 too (fee 0.04*.995*.005 = 0.0002): every level earns if right
    assert o.size == D(700)
    assert o.payoff_by_state == {"as priced": D(700), "upset": D(0)}
    assert o.worst_case_one_leg_fails == -o.cost
    assert o.days_to_resolution == D(8)
    assert o.annualised_return == (o.return_pct * 365 / 8).quantize(D("0.0001"))
    assert "ambiguous: 'credible reporting'" in o.flags and o.flags[0].startswith("tail_risk")
    # too cheap, too far or past its deadline: nothing
    assert detect_resolution(m, "Yes", yes, now=NOW, min_price=D(".97")) is None
    assert detect_resolution(m, "Yes", yes, now=NOW, max_days=D(5)) is None
    assert detect_resolution(m, "Yes", yes, now=NOW + timedelta(days=9)) is None


# ------------------------------------------------------------------ ranking, scanning


def test_rank_and_filters():
    big = detect_dutch_book(event_set(planted()), now=NOW)[0]
    m, yes, no = binary("m", "Fed", venue="kalshi", asks=[(".45", 10)], no_asks=[(".50", 10)])
    small = detect_yes_no(m, yes, no, now=NOW)[0]
    assert [o.id for o in rank([small, big])] == [big.id, small.id]
    assert rank([small, big], ArbFilter(venues={"kalshi"})) == [small]
    assert rank([small, big], ArbFilter(kinds={"yes_no"})) == [small]
    assert rank([small, big], ArbFilter(min_profit=D(1))) == [big]
    assert rank([small, big], ArbFilter(min_capacity=D(100))) == [big]


def test_scan_only_reports_the_planted_set():
    sets = [event_set([binary(f"{i}{k}", k, asks=[(p, 100)]) for k, p in (("A", ".40"), ("B", ".35"), ("Other", ".30"))])
            for i in range(20)]
    sets.append(event_set(planted()))
    found = scan_dutch_books(sets, now=NOW)
    assert [o.title for o in found] == ["Who wins?: buy every YES (3 legs)"]


# ------------------------------------------------------------------ properties

prices = st.integers(min_value=1, max_value=99).map(lambda c: D(c) / 100)
sizes = st.integers(min_value=1, max_value=300).map(D)
book_st = st.lists(st.tuples(prices, sizes), min_size=1, max_size=4).map(
    lambda ls: sorted({p: s for p, s in ls}.items()))
fee_st = st.sampled_from([FeeSchedule(), polymarket_schedule(D("0.04")), polymarket_schedule(D("0.02")),
                          kalshi_schedule()])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books=st.lists(book_st, min_size=2, max_size=5), fees=fee_st, venue=st.sampled_from(["polymarket", "kalshi"]))
def test_property_dutch_book_pays_the_same_in_every_outcome(books, fees, venue):
    # scale the prices so that the top of the books often sums below 1
    n = len(books)
    members = []
    for i, book in enumerate(books):
        asks = [(min(D("0.99"), max(D("0.01"), (p / n).quantize(D("0.01")))), s) for p, s in book]
        asks = sorted({p: s for p, s in asks}.items())
        members.append(binary(f"m{i}", "Other" if i == 0 else f"c{i}", venue=venue, asks=asks, fees=fees))
    s = event_set(members, venue=venue)
    for o in detect_dutch_book(s, now=NOW):
        payoffs = {bundle_payoff(o, state) for state in o.states}
        assert payoffs == {o.size}, "the bundle must pay the same whichever outcome wins"
        assert o.profit == o.size - o.cost and o.profit > 0
        assert o.size <= o.capacity
        assert o.profit_at_capacity is not None and o.profit_at_capacity > 0
        for leg, (m, y, _) in zip(o.legs, members):
            w = walk_book(y.asks, size=leg.size, limit_price=leg.limit_price, fees=fees)
            assert w.unfilled_size == 0, "a limit order at the leg's price fills the leg"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books=st.lists(book_st, min_size=2, max_size=4))
def test_property_size_and_capacity_are_optimal_on_the_grid(books):
    # no fees, whole contracts: compare with brute force over every integer size
    n = len(books)
    members = []
    for i, book in enumerate(books):
        asks = sorted({min(D("0.99"), max(D("0.01"), (p / n).quantize(D("0.01")))): s for p, s in book}.items())
        members.append(binary(f"m{i}", "Other" if i == 0 else f"c{i}", venue="kalshi", asks=asks))
    depth = min(sum(s for _, s in m[1].asks and [(l.price, l.size) for l in m[1].asks]) for m in members)

    def profit(q):
        return q - sum(walk_book(m[1].asks, size=q).cost for m in members)

    grid = {q: profit(D(q)) for q in range(1, int(depth) + 1)}
    best = max(grid.values()) if grid else D(0)
    found = detect_dutch_book(event_set(members, venue="kalshi"), now=NOW)
    buy_yes = [o for o in found if "YES" in o.title]
    if best <= 0:
        assert buy_yes == []
        return
    (o,) = buy_yes
    assert o.profit == best
    positive = [q for q, p in grid.items() if p > 0]
    assert o.capacity == D(max(positive))


@settings(max_examples=80, deadline=None)
@given(a=book_st, b=book_st, inverted=st.booleans(), fees=fee_st)
def test_property_cross_venue_payoff_is_equal(a, b, inverted, fees):
    sa = _side("polymarket", "pa", [(p / 2, s) for p, s in a], [(p / 2, s) for p, s in b], fees=fees)
    sb = _side("kalshi", "kb", [(p / 2, s) for p, s in b], [(p / 2, s) for p, s in a], fees=kalshi_schedule())
    opps, _ = detect_cross_venue(sa, sb, Equivalence(Verdict.EQUIVALENT, inverted=inverted), now=NOW)
    for o in opps:
        assert {bundle_payoff(o, s) for s in o.states} == {o.size}
        assert o.profit == o.size - o.cost > 0


def test_play_money_stays_play_money_and_never_mixes_with_dollars():
    m = Market(id="mc", venue="manifold", title="Which team wins?", mutually_exclusive=True, currency="MANA",
               outcomes=[Outcome(label="Red"), Outcome(label="Blue"), Outcome(label="Other")],
               status=MarketStatus.OPEN, close_time=NOW + timedelta(days=3))
    books = {k.lower(): OrderBook(venue="manifold", market_id="mc", outcome=k, asks=lv([(p, 50)]))
             for k, p in (("Red", ".40"), ("Blue", ".30"), ("Other", ".20"))}
    (o,) = detect_dutch_book(exclusive_set_from_multiple_choice(m, books), now=NOW)
    assert o.currency == "MANA" and o.profit == D(5)
    from pm_mcp.surface.arbitrage import _opp_line

    line = _opp_line(1, o)
    assert "profit M$5.00 on M$45.00" in line and " $" not in line.replace("M$", "")
    # a bundle whose legs trade in dollars and in mana has no payoff that can be summed: not built
    from pm_mcp.domain.arbitrage import LegBook, build_opportunity

    def leg(cur, outcome, price):
        return LegBook(venue="x", market_id=outcome, market_title=outcome, outcome="Yes", side="buy",
                       levels=tuple(lv([(price, 50)])), fees=FeeSchedule(), pays_in=frozenset([outcome]),
                       currency=cur)
    legs = [leg("USD", "a", ".40"), leg("MANA", "b", ".40")]
    assert build_opportunity(ArbKind.DUTCH_BOOK, "mixed", legs, ["a", "b"], now=NOW, resolves_at=None) is None
    same = [leg("USD", "a", ".40"), leg("USD", "b", ".40")]
    assert build_opportunity(ArbKind.DUTCH_BOOK, "usd", same, ["a", "b"], now=NOW, resolves_at=None).currency == "USD"
