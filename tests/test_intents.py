"""Pure intent pricing: ticks, steps, fees, plain words, the order hash and execution re-checks."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_mcp.domain.intents import (
    IntentError,
    IntentStatus,
    build_intent,
    compute_order_hash,
    price_leg,
    recheck_leg,
)
from pm_mcp.domain.models import Market, MarketStatus, Outcome
from pm_mcp.domain.policy import PolicyCheck
from pm_mcp.venues.kalshi.fees import kalshi_schedule
from pm_mcp.venues.polymarket.fees import polymarket_schedule

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OK = PolicyCheck(ok=True)


def kalshi_market(**kw) -> Market:
    base = dict(id="KXFEDDEC-25", venue="kalshi", venue_name="Kalshi", title="Fed cuts in December",
                event_id="KXFED",
                outcomes=[Outcome(label="Yes", ticker="KXFEDDEC-25", side="yes"),
                          Outcome(label="No", ticker="KXFEDDEC-25", side="no")],
                status=MarketStatus.OPEN, tick_size=D("0.01"), min_order_size=D(1), size_step=D(1), fees=kalshi_schedule(),
                close_time=NOW + timedelta(days=30))
    base.update(kw)
    return Market(**base)


def poly_market(**kw) -> Market:
    base = dict(id="5123", venue="polymarket", venue_name="Polymarket", title="Will it rain?",
                event_id="ev1",
                outcomes=[Outcome(label="Yes", token_id="111"), Outcome(label="No", token_id="222")],
                status=MarketStatus.OPEN, tick_size=D("0.001"), min_order_size=D(5),
                fees=polymarket_schedule(D("0.04")))
    base.update(kw)
    return Market(**base)


def test_kalshi_buy_plain_words_and_exact_numbers():
    leg = price_leg(kalshi_market(), outcome="yes", side="buy", limit_price="0.43", size=120)
    # gross 120 x 0.43 = 51.60; fee = ceil_to_cent(0.07 x 120 x 0.43 x 0.57) = ceil(2.05884) = 2.06
    assert leg.gross == D("51.60")
    assert leg.fees == D("2.06")
    assert leg.worst_case_cost == D("53.66")
    assert leg.worst_case_loss == D("53.66")
    assert leg.payout_if_wins == D(120)
    assert leg.outcome == "Yes"  # the label as the venue spells it
    assert leg.plain == ("Buy 120 Yes shares of 'Fed cuts in December' on Kalshi at no more than $0.43 each; "
                         "worst-case cost $53.66 incl. $2.06 fees; you win $120.00 if Yes")


def test_a_limit_off_the_tick_is_refused_with_the_nearest_valid_prices():
    m = kalshi_market()
    with pytest.raises(IntentError, match="not on this market's 0.01 tick; the nearest valid prices are 0.43 and 0.44"):
        price_leg(m, outcome="Yes", side="buy", limit_price="0.437", size=10)
    with pytest.raises(IntentError, match="0.43 and 0.44"):
        price_leg(m, outcome="Yes", side="sell", limit_price="0.431", size=10)
    pm = poly_market()
    with pytest.raises(IntentError, match="0.435 and 0.436"):
        price_leg(pm, outcome="Yes", side="buy", limit_price="0.4355", size=10)
    leg = price_leg(pm, outcome="Yes", side="buy", limit_price="0.435", size=10)
    assert leg.limit_price == D("0.435") and not leg.notes and "$0.435 each" in leg.plain


def test_size_floored_to_venue_step():
    assert price_leg(kalshi_market(), outcome="Yes", side="buy", limit_price="0.5", size="120.7").size == D(120)
    leg = price_leg(poly_market(), outcome="Yes", side="buy", limit_price="0.5", size="10.009")
    assert leg.size == D("10.00")
    # 4.35 is exact in Decimal (a float would make it 4.3499999...)
    leg = price_leg(poly_market(min_order_size=D(1)), outcome="Yes", side="buy", limit_price="0.5", size=4.35)
    assert leg.size == D("4.35")


def test_polymarket_fee_in_cost():
    leg = price_leg(poly_market(), outcome="No", side="buy", limit_price="0.40", size="100")
    # 100 x 0.04 x 0.4 x 0.6 = 0.96
    assert leg.fees == D("0.96000")
    assert leg.worst_case_cost == D("40.96")


@settings(max_examples=200, deadline=None)
@given(stake=st.decimals(min_value=D(3), max_value=D(500), places=2),
       limit=st.integers(min_value=1, max_value=99))
def test_stake_never_exceeded_and_maximal(stake, limit):
    m = kalshi_market()
    price = D(limit) / 100
    try:
        leg = price_leg(m, outcome="Yes", side="buy", limit_price=price, stake=stake)
    except IntentError as exc:
        assert "minimum" in str(exc)
        return
    assert leg.worst_case_cost <= stake
    bigger = price_leg(m, outcome="Yes", side="buy", limit_price=price, size=leg.size + 1)
    assert bigger.worst_case_cost > stake


def test_below_minimum_names_the_minimum():
    with pytest.raises(IntentError, match="minimum of 5 shares"):
        price_leg(poly_market(), outcome="Yes", side="buy", limit_price="0.5", size=4)
    with pytest.raises(IntentError, match="minimum"):
        price_leg(poly_market(), outcome="Yes", side="buy", limit_price="0.5", stake="1")


def test_bad_inputs_say_what_to_fix():
    m = kalshi_market()
    with pytest.raises(IntentError, match="'Yes', 'No'"):
        price_leg(m, outcome="Maybe", side="buy", limit_price="0.5", size=1)
    with pytest.raises(IntentError, match="strictly between 0 and 1"):
        price_leg(m, outcome="Yes", side="buy", limit_price="43", size=1)
    with pytest.raises(IntentError, match="exactly one of size"):
        price_leg(m, outcome="Yes", side="buy", limit_price="0.5")
    with pytest.raises(IntentError, match="exactly one of size"):
        price_leg(m, outcome="Yes", side="buy", limit_price="0.5", size=1, stake=1)
    with pytest.raises(IntentError, match="only applies to a buy"):
        price_leg(m, outcome="Yes", side="sell", limit_price="0.5", stake=10)
    with pytest.raises(IntentError, match="resolved"):
        price_leg(kalshi_market(status=MarketStatus.RESOLVED), outcome="Yes", side="buy", limit_price="0.5", size=1)
    with pytest.raises(IntentError, match="closed for trading"):
        price_leg(kalshi_market(close_time=NOW - timedelta(minutes=1)), outcome="Yes", side="buy",
                  limit_price="0.5", size=1, now=NOW)
    with pytest.raises(IntentError, match="not on this market's 0.01 tick; the nearest valid price is 0.01"):
        price_leg(m, outcome="Yes", side="buy", limit_price="0.005", size=1)


def test_sell_leg():
    leg = price_leg(kalshi_market(), outcome="No", side="sell", limit_price="0.60", size=50)
    fee = D("0.84")  # ceil(0.07 x 50 x 0.6 x 0.4 = 0.84)
    assert leg.fees == fee
    assert leg.worst_case_cost == fee
    assert leg.payout_if_wins == D("30.00") - fee
    assert leg.plain.startswith("Sell 50 No shares of 'Fed cuts in December' on Kalshi at no less than $0.60 each")


def test_order_hash_covers_exactly_the_order_fields():
    m = kalshi_market()
    leg = price_leg(m, outcome="Yes", side="buy", limit_price="0.43", size=120)
    a = build_intent([leg], intent_id="i-1", mode="paper", policy=OK, now=NOW, ttl_s=300)
    b = build_intent([leg], intent_id="i-2", mode="paper", policy=OK, now=NOW + timedelta(seconds=7), ttl_s=60,
                     forecast_p="0.6", forecast_source="me")
    assert a.order_hash == b.order_hash  # id, time, expiry, forecast are not order fields
    assert len(a.order_hash) == 64 and a.hash_matches()
    variants = [
        price_leg(m, outcome="No", side="buy", limit_price="0.43", size=120),
        price_leg(m, outcome="Yes", side="sell", limit_price="0.43", size=120),
        price_leg(m, outcome="Yes", side="buy", limit_price="0.42", size=120),
        price_leg(m, outcome="Yes", side="buy", limit_price="0.43", size=121),
        price_leg(m, outcome="Yes", side="buy", limit_price="0.43", size=120, time_in_force="FOK"),
        price_leg(kalshi_market(id="OTHER"), outcome="Yes", side="buy", limit_price="0.43", size=120),
    ]
    hashes = {compute_order_hash("paper", [v]) for v in variants}
    assert a.order_hash not in hashes and len(hashes) == len(variants)
    assert compute_order_hash("live", [leg]) != a.order_hash
    # a tampered copy no longer matches its hash
    tampered = a.model_copy(update={"legs": [leg.model_copy(update={"size": D(1200)})]})
    assert not tampered.hash_matches()
    # equal numbers in another spelling hash the same (canonical serialisation)
    assert compute_order_hash("paper", [leg.model_copy(update={"limit_price": D("0.430")})]) == a.order_hash


def test_intent_expiry_and_forecast_validation():
    leg = price_leg(kalshi_market(), outcome="Yes", side="buy", limit_price="0.43", size=10)
    i = build_intent([leg], intent_id="i", mode="paper", policy=OK, now=NOW, ttl_s=300)
    assert not i.expired(NOW + timedelta(seconds=299))
    assert i.expired(NOW + timedelta(seconds=300))
    with pytest.raises(IntentError, match="forecast_p"):
        build_intent([leg], intent_id="i", mode="paper", policy=OK, now=NOW, ttl_s=300, forecast_p="1.2")
    assert IntentStatus.PROPOSED == "proposed"


def test_bundle_totals_and_words():
    m = kalshi_market()
    legs = [price_leg(m, outcome="Yes", side="buy", limit_price="0.43", size=10),
            price_leg(m, outcome="No", side="buy", limit_price="0.50", size=10)]
    i = build_intent(legs, intent_id="b", mode="paper", policy=OK, now=NOW, ttl_s=300)
    assert i.is_bundle
    assert i.worst_case_cost == legs[0].worst_case_cost + legs[1].worst_case_cost
    assert "A bundle of 2 orders" in i.plain and "1. Buy 10 Yes" in i.plain and "2. Buy 10 No" in i.plain


def test_recheck_leg():
    m = kalshi_market()
    leg = price_leg(m, outcome="Yes", side="buy", limit_price="0.43", size=10, rules_hash="aaa")
    assert recheck_leg(leg, m, rules_hash="aaa", now=NOW).ok
    r = recheck_leg(leg, m, rules_hash="bbb", now=NOW)
    assert not r.ok and "rules hash differs" in r.problems[0]
    r = recheck_leg(leg, m.model_copy(update={"tick_size": D("0.02")}), rules_hash="aaa", now=NOW)
    assert "tick size is now 0.02" in r.problems[0]
    r = recheck_leg(leg, m.model_copy(update={"min_order_size": D(20)}), rules_hash="aaa", now=NOW)
    assert "minimum order is now 20" in r.problems[0]
    r = recheck_leg(leg, m.model_copy(update={"status": MarketStatus.CLOSED}), rules_hash="aaa", now=NOW)
    assert "closed" in r.problems[0]
