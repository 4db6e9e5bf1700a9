"""Cross-venue arbitrage with the real rule comparison (pm_mcp.domain.rules_compare.compare_rules):
only "equivalent" pairs become opportunities; a different deadline or source, or an oracle that
settles differently, keeps a look-alike apart; an inverted YES/NO mapping buys YES on both."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from pm_mcp.domain.arbitrage import VenueSide, Verdict, bundle_payoff, detect_cross_venue, equivalence_of, rule_flags
from pm_mcp.domain.fees import kalshi_schedule
from pm_mcp.domain.models import BookLevel, FeeSchedule, Market, MarketStatus, OrderBook, Outcome

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CLOSE = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
POLY = ('This market will resolve to "Yes" if the year-over-year US CPI inflation for November 2026, as published '
        'by the Bureau of Labor Statistics (https://www.bls.gov), is above 4.0%. Otherwise, this market will '
        'resolve to "No". The market closes on December 31, 2026.')
KALSHI = ('If the year-over-year CPI inflation for November 2026, as reported by the Bureau of Labor Statistics '
          '(https://www.bls.gov), is above 4.0%, then the market resolves to Yes. The market closes on '
          'December 31, 2026.')


def market(venue, mid, title, rules, *, yes_asks, no_asks):
    m = Market(id=mid, venue=venue, title=title, rule_text=rules, status=MarketStatus.OPEN, close_time=CLOSE,
               outcomes=[Outcome(label="Yes"), Outcome(label="No")],
               fees=kalshi_schedule() if venue == "kalshi" else FeeSchedule())
    yes = OrderBook(venue=venue, market_id=mid, outcome="Yes",
                    asks=[BookLevel(price=D(p), size=D(s)) for p, s in yes_asks])
    no = OrderBook(venue=venue, market_id=mid, outcome="No",
                   asks=[BookLevel(price=D(p), size=D(s)) for p, s in no_asks])
    return VenueSide(m, yes, no)


def test_same_contract_on_the_same_oracle_is_an_opportunity():
    # two Kalshi listings of one contract (same oracle): YES at .40 here, NO at .52 there
    a = market("kalshi", "KXCPI-A", "CPI above 4% for Nov 2026?", KALSHI, yes_asks=[(".40", 100)], no_asks=[(".62", 100)])
    b = market("kalshi", "KXCPI-B", "CPI above 4.0% in November 2026?", KALSHI, yes_asks=[(".60", 100)],
               no_asks=[(".52", 100)])
    eq = equivalence_of(a.market, b.market)
    assert eq.verdict is Verdict.EQUIVALENT and not eq.inverted
    opps, unc = detect_cross_venue(a, b, eq, now=NOW)
    assert unc is None
    (o,) = opps
    assert [(l.market_id, l.outcome) for l in o.legs] == [("KXCPI-A", "Yes"), ("KXCPI-B", "No")]
    assert {bundle_payoff(o, s) for s in o.states} == {o.size} and o.profit > 0


def test_polymarket_vs_kalshi_same_words_is_an_opportunity_flagged_for_the_oracle_difference():
    a = market("polymarket", "p1", "Will US CPI inflation be above 4% in November 2026?", POLY,
               yes_asks=[(".40", 100)], no_asks=[(".62", 100)])
    b = market("kalshi", "K1", "CPI above 4% for Nov 2026?", KALSHI, yes_asks=[(".60", 100)], no_asks=[(".52", 100)])
    eq = equivalence_of(a.market, b.market)
    assert eq.verdict is Verdict.EQUIVALENT
    assert any("oracle" in d for d in eq.differences)
    opps, pair = detect_cross_venue(a, b, eq, now=NOW)
    assert pair is None and opps
    best = max(opps, key=lambda o: o.profit)
    # YES on Polymarket at .40 + NO on Kalshi at .52 = .92 before Kalshi's fee
    assert [(l.venue, l.outcome) for l in best.legs] == [("polymarket", "Yes"), ("kalshi", "No")]
    assert best.profit > 0
    assert not best.risk_free and any(f.startswith("different_oracles") for f in best.flags)


def test_a_different_deadline_is_not_an_opportunity():
    a = market("kalshi", "KXCPI-A", "CPI above 4% for Nov 2026?", KALSHI, yes_asks=[(".40", 100)], no_asks=[(".62", 100)])
    later = KALSHI.replace("December 31, 2026", "January 31, 2027")
    b = market("kalshi", "KXCPI-B", "CPI above 4% for Nov 2026?", later, yes_asks=[(".60", 100)], no_asks=[(".52", 100)])
    eq = equivalence_of(a.market, b.market)
    assert eq.verdict is Verdict.NOT_EQUIVALENT
    opps, pair = detect_cross_venue(a, b, eq, now=NOW)
    assert opps == [] and pair.verdict == "not_equivalent"
    assert any("deadline" in d for d in pair.differences)


def test_a_different_source_is_not_an_opportunity():
    a = market("kalshi", "KXCPI-A", "CPI above 4% for Nov 2026?", KALSHI, yes_asks=[(".40", 100)], no_asks=[(".62", 100)])
    other = KALSHI.replace("Bureau of Labor Statistics (https://www.bls.gov)", "Truflation (https://truflation.com)")
    b = market("kalshi", "KXCPI-B", "CPI above 4% for Nov 2026?", other, yes_asks=[(".60", 100)], no_asks=[(".52", 100)])
    eq = equivalence_of(a.market, b.market)
    assert eq.verdict is not Verdict.EQUIVALENT
    opps, pair = detect_cross_venue(a, b, eq, now=NOW)
    assert opps == [] and any("source" in d for d in pair.differences)


def test_inverted_mapping_is_detected_and_bought_yes_and_yes():
    a = market("kalshi", "KXCPI-A", "CPI above 4% for Nov 2026?", KALSHI, yes_asks=[(".40", 100)], no_asks=[(".62", 100)])
    inv = KALSHI.replace("is above 4.0%", "is 4.0% or below")
    b = market("kalshi", "KXCPI-B", "CPI at most 4% for Nov 2026?", inv, yes_asks=[(".55", 100)], no_asks=[(".47", 100)])
    eq = equivalence_of(a.market, b.market)
    assert eq.verdict is Verdict.EQUIVALENT and eq.inverted
    opps, _ = detect_cross_venue(a, b, eq, now=NOW)
    (o,) = opps  # YES .40 + YES .55 = .95 < 1; the plain reading (A YES + B NO .47) would pay in one state only
    assert [(l.market_id, l.outcome) for l in o.legs] == [("KXCPI-A", "Yes"), ("KXCPI-B", "Yes")]
    assert {bundle_payoff(o, s) for s in o.states} == {o.size}
    assert o.profit == o.size - o.cost > 0


def test_rule_flags_for_tail_trades():
    vague = market("polymarket", "p9", "Will the deal close by Dec 31?",
                   "Resolves Yes if credible reporting confirms the deal closed, at the discretion of the market "
                   "creator.", yes_asks=[(".97", 10)], no_asks=[(".05", 10)]).market
    flags = rule_flags(vague)
    assert any("credible" in f or "discretion" in f for f in flags)
    assert rule_flags(vague.model_copy(update={"rule_text": ""})) == ["rules: no rule text to check"]
