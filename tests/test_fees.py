from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm_mcp.domain import fees as domain_fees
from pm_mcp.domain.fees import (
    NO_FEES,
    fee_per_share_upper_bound,
    formula_of,
    order_fee,
    raw_fee,
    trade_fee,
)
from pm_mcp.domain.models import FeeSchedule
from pm_mcp.venues.kalshi.fees import FORMULA as KALSHI_FORMULA
from pm_mcp.venues.kalshi.fees import kalshi_fee, kalshi_schedule
from pm_mcp.venues.polymarket.fees import FORMULA as POLYMARKET_FORMULA
from pm_mcp.venues.polymarket.fees import polymarket_fee, polymarket_schedule


@pytest.mark.parametrize("price,expected", [("0.50", "1.75"), ("0.10", "0.63"), ("0.01", "0.07")])
def test_kalshi_published_examples(price, expected):
    # Kalshi fee schedule: 100 contracts; 0.07 x 100 x P x (1-P) rounded up to the cent
    assert kalshi_fee(D(100), D(price)) == D(expected)
    assert trade_fee(kalshi_schedule(), D(100), D(price)) == D(expected)


def test_kalshi_maker_and_multiplier():
    assert trade_fee(kalshi_schedule(), D(100), D("0.5"), maker=True) == 0  # series without maker fees
    assert trade_fee(kalshi_schedule(maker_fees=True), D(100), D("0.5"), maker=True) == D("0.44")  # 0.4375 up
    assert trade_fee(kalshi_schedule(multiplier=D("0.5")), D(100), D("0.5")) == D("0.88")  # 0.875 up


def test_kalshi_order_rounds_once_not_per_level():
    sched = kalshi_schedule()
    fills = [(D(1), D("0.50")), (D(1), D("0.51")), (D(1), D("0.52"))]
    per_level = sum(trade_fee(sched, s, p) for s, p in fills)
    assert per_level == D("0.06")  # each 0.0175.. rounds up to 0.02
    assert order_fee(sched, fills) == D("0.06")  # 0.0524 -> 0.06 (ceil)
    fills = [(D(10), D("0.50")), (D(10), D("0.50"))]
    assert order_fee(sched, fills) == D("0.35") and sum(trade_fee(sched, s, p) for s, p in fills) == D("0.36")


@pytest.mark.parametrize("rate,price,expected", [
    ("0.05", "0.50", "1.25"),   # 100 shares, docs fee table peak at 50%
    ("0.04", "0.30", "0.84"),   # politics rate: 100 x 0.04 x 0.21
    ("0.07", "0.90", "0.63"),   # crypto rate: 100 x 0.07 x 0.09
    ("0.03", "0.99", "0.0297"),
])
def test_polymarket_formula(rate, price, expected):
    assert polymarket_fee(D(100), D(price), D(rate)) == D(expected)
    assert trade_fee(polymarket_schedule(D(rate)), D(100), D(price)) == D(expected)
    assert trade_fee(polymarket_schedule(D(rate)), D(100), D(price), maker=True) == 0  # makers pay 0


def test_polymarket_precision_and_exponent():
    # 5 decimal places; below half of 0.00001 rounds to zero
    assert polymarket_fee(D("0.01"), D("0.01"), D("0.03")) == D("0")  # raw 0.00000297
    assert polymarket_fee(D("1"), D("0.01"), D("0.03")) == D("0.00030")  # raw 0.000297
    assert polymarket_fee(D(100), D("0.5"), D("0.25"), D(2)) == D("1.5625")
    assert trade_fee(NO_FEES, D(100), D("0.5")) == 0


prices = st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2)
sizes = st.decimals(min_value=D("0"), max_value=D("100000"), places=2)


@given(size=sizes, price=prices)
def test_fee_formulas(size, price):
    k = trade_fee(kalshi_schedule(), size, price)
    raw_k = D("0.07") * size * price * (1 - price)
    assert raw_k <= k < raw_k + D("0.01") or (size == 0 and k == 0)
    pm = trade_fee(polymarket_schedule(D("0.04")), size, price)
    raw_p = size * D("0.04") * price * (1 - price)
    assert abs(pm - raw_p) <= D("0.000005")
    # symmetric in p <-> 1-p, peaks at 0.5
    assert trade_fee(kalshi_schedule(), size, 1 - price) == k
    assert fee_per_share_upper_bound(kalshi_schedule(), price) <= fee_per_share_upper_bound(kalshi_schedule(), D("0.5"))
    assert raw_fee(kalshi_schedule(), size, price) == raw_k


def test_the_generic_formulas_by_name_compute_what_the_venues_schedules_do():
    assert KALSHI_FORMULA.kind == "pq:ceiling:0.01" and POLYMARKET_FORMULA.kind == "pq:half_up:0.00001"
    for venue_schedule in (kalshi_schedule(), kalshi_schedule(maker_fees=True, multiplier=D("0.5")),
                           polymarket_schedule(D("0.04")), polymarket_schedule(D("0.25"), D(2), taker_only=False)):
        formula = formula_of(venue_schedule)
        generic = venue_schedule.model_copy(update={"kind": formula.kind})
        for size, price in [(D(100), D("0.5")), (D(1), D("0.01")), (D("0.01"), D("0.01")), (D(37), D("0.43"))]:
            for maker in (False, True):
                assert trade_fee(generic, size, price, maker=maker) == trade_fee(venue_schedule, size, price,
                                                                                 maker=maker)
    assert formula_of(NO_FEES) is None and formula_of(FeeSchedule(kind="something new")) is None


def test_schedules_stored_with_the_venue_as_kind_still_load_and_compute_the_same():
    # the catalog cache and journaled intents hold FeeSchedule JSON with kind "kalshi" / "polymarket"
    k = FeeSchedule.model_validate_json('{"kind":"kalshi","taker_rate":"0.07","maker_rate":"0","exponent":"1",'
                                        '"taker_only":true,"note":null}')
    assert formula_of(k) == KALSHI_FORMULA and trade_fee(k, D(100), D("0.01")) == D("0.07")
    p = FeeSchedule.model_validate({"kind": "polymarket", "taker_rate": "0.03"})
    assert formula_of(p) == POLYMARKET_FORMULA and trade_fee(p, D(1), D("0.01")) == D("0.00030")


def test_the_domain_compatibility_builders_equal_the_venue_packages():
    assert domain_fees.kalshi_schedule() == kalshi_schedule()
    assert domain_fees.kalshi_schedule(True, D("0.5")) == kalshi_schedule(True, D("0.5"))
    assert domain_fees.polymarket_schedule(D("0.04")) == polymarket_schedule(D("0.04"))
    assert domain_fees.polymarket_schedule(D("0.04"), D(2), False) == polymarket_schedule(D("0.04"), D(2), False)
