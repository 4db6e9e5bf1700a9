"""Bundle arbitrage on ladders (pm_mcp.domain.arbitrage): two rungs of one ladder whose prices break the
logical order. P(above 3.50%) must not exceed P(above 3.25%); P(by June) must not exceed P(by December).
Planted violations are found with the payoff in every outcome; look-alikes (another subject, another
measure, a correct order) are never paired or invented."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from pm_mcp.domain.arbitrage import ArbKind, VenueSide, bundle_payoff, implication_of, scan_ladders
from pm_mcp.domain.fees import kalshi_schedule
from pm_mcp.domain.models import BookLevel, Market, MarketStatus, OrderBook, Outcome

NOW = datetime(2026, 11, 1, tzinfo=UTC)
STRIKE = ("If the upper bound of the federal funds target range after the FOMC meeting on December 9, 2026 is above "
          "{v}%, as published in the FOMC statement on federalreserve.gov, then the market resolves to Yes.")
BY_DATE = ("If SpaceX launches Starship to orbit by {d}, as reported on spacex.com, then the market resolves to Yes.")


def market(mid, rules, title, event="EV", fees=None):
    return Market(id=mid, venue="kalshi", title=title, event_id=event, rule_text=rules, status=MarketStatus.OPEN,
                  close_time=NOW + timedelta(days=60), size_step=D(1), fees=fees or kalshi_schedule(),
                  outcomes=[Outcome(label="Yes"), Outcome(label="No")])


def side(m, yes_ask, no_ask, size="100"):
    def book(outcome, price):
        return OrderBook(venue=m.venue, market_id=m.id, outcome=outcome, asks=[BookLevel(price=D(price), size=D(size))])
    return VenueSide(m, book("Yes", yes_ask), book("No", no_ask))


def strikes(lo_yes, hi_no):
    lo = market("T3.25", STRIKE.format(v="3.25"), "Upper bound above 3.25% after December 2026?")
    hi = market("T3.50", STRIKE.format(v="3.50"), "Upper bound above 3.50% after December 2026?")
    return side(lo, lo_yes, "0.99"), side(hi, "0.99", hi_no)


def test_a_broken_strike_ladder_pays_at_least_one_dollar_in_every_outcome():
    lo, hi = strikes("0.50", "0.38")  # YES(>3.25) .50 + NO(>3.50) .38 = .88 before Kalshi's fees
    imp = implication_of(hi.market, lo.market)
    assert imp is not None and imp.stronger is hi.market and imp.weaker is lo.market
    (o,) = scan_ladders([lo, hi], now=NOW)
    assert o.kind is ArbKind.LADDER and o.risk_free and o.profit > 0
    assert [(leg.market_id, leg.outcome) for leg in o.legs] == [("T3.25", "Yes"), ("T3.50", "No")]
    assert o.payoff_by_state == {"both happen": o.size, "only the weaker": 2 * o.size, "neither": o.size}
    assert all(bundle_payoff(o, s) - o.cost >= o.profit for s in o.states)
    assert o.fees > 0  # Kalshi's taker fee is in the cost


def test_a_ladder_in_order_is_not_an_opportunity():
    lo, hi = strikes("0.62", "0.45")  # .62 + .45 > 1
    assert scan_ladders([lo, hi], now=NOW) == []


def test_a_date_ladder():
    june = market("JUN", BY_DATE.format(d="June 30, 2026"), "Starship to orbit by June 30, 2026?")
    dec = market("DEC", BY_DATE.format(d="December 31, 2026"), "Starship to orbit by December 31, 2026?")
    imp = implication_of(june, dec)
    assert imp is not None and imp.stronger is june and imp.weaker is dec
    (o,) = scan_ladders([side(june, "0.99", "0.40"), side(dec, "0.45", "0.99")], now=NOW)
    assert [(leg.market_id, leg.outcome) for leg in o.legs] == [("DEC", "Yes"), ("JUN", "No")]


def test_look_alikes_are_never_paired():
    base = market("T3.25", STRIKE.format(v="3.25"), "Upper bound above 3.25% after December 2026?")
    other_meeting = market("SEP", STRIKE.format(v="3.50").replace("December 9", "September 16"),
                           "Upper bound above 3.50% after September 2026?")
    other_subject = market("ECB", STRIKE.format(v="3.50").replace("federal funds target range", "ECB deposit rate")
                           .replace("FOMC", "ECB").replace("federalreserve.gov", "ecb.europa.eu"),
                           "ECB deposit rate above 3.50% after December 2026?")
    assert implication_of(base, other_meeting) is None
    assert implication_of(base, other_subject) is None
    below = market("B3.50", STRIKE.format(v="3.50").replace("is above", "is below"),
                   "Upper bound below 3.50% after December 2026?")
    assert implication_of(base, below) is None  # opposite directions: not one ladder
    # and the scan of a mixed set invents nothing even at prices that would pay
    sides = [side(base, "0.30", "0.30"), side(other_meeting, "0.30", "0.30"), side(other_subject, "0.30", "0.30")]
    assert scan_ladders(sides, now=NOW) == []


@settings(max_examples=60, deadline=None)
@given(st.decimals("0.01", "0.99", places=2), st.decimals("0.01", "0.99", places=2))
def test_property_a_ladder_opportunity_never_loses(yes_lo, no_hi):
    lo, hi = strikes(str(yes_lo), str(no_hi))
    for o in scan_ladders([lo, hi], now=NOW):
        assert min(bundle_payoff(o, s) for s in o.states) - o.cost == o.profit > 0
