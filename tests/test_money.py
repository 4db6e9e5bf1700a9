from decimal import ROUND_FLOOR
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm_mcp.domain.money import (
    MoneyError,
    buy_limit_on_tick,
    ceil_to,
    floor_dp,
    floor_to,
    is_on_tick,
    normalize,
    pct,
    price_in_open_unit,
    probability,
    round_to_tick,
    sell_limit_on_tick,
    to_decimal,
    usd,
)


def test_to_decimal_exact():
    assert to_decimal("0.1") == D("0.1")
    assert to_decimal(0.1) == D("0.1")  # shortest repr, not the binary expansion
    assert to_decimal(3) == D(3)
    assert to_decimal(" 1_000.5 ") == D("1000.5")
    assert to_decimal(D("2.50")) == D("2.50")


@pytest.mark.parametrize("bad", ["abc", "", "62%", float("nan"), float("inf"), "NaN", True, None, [1]])
def test_to_decimal_rejects(bad):
    with pytest.raises(MoneyError):
        to_decimal(bad, "stake")


def test_probability_bounds_and_advice():
    assert probability("0") == 0 and probability(1) == 1 and probability("0.62") == D("0.62")
    with pytest.raises(MoneyError, match="0.62 for 62%"):
        probability(62)
    with pytest.raises(MoneyError):
        probability("-0.01")


def test_price_open_unit():
    assert price_in_open_unit("0.5") == D("0.5")
    for bad in ("0", "1", "1.2"):
        with pytest.raises(MoneyError, match="strictly between 0 and 1"):
            price_in_open_unit(bad)


def test_tick_rounding_safe_side():
    assert buy_limit_on_tick(D("0.456"), D("0.01")) == D("0.45")  # never pay more than agreed
    assert sell_limit_on_tick(D("0.451"), D("0.01")) == D("0.46")  # never sell for less
    assert buy_limit_on_tick(D("0.45"), D("0.01")) == D("0.45")
    assert buy_limit_on_tick(D("0.4567"), D("0.001")) == D("0.456")
    assert str(buy_limit_on_tick(D("0.5"), D("0.01"))) == "0.50"
    assert is_on_tick(D("0.45"), D("0.01")) and not is_on_tick(D("0.455"), D("0.01"))
    with pytest.raises(MoneyError):
        round_to_tick(D("0.5"), D(0), ROUND_FLOOR)


def test_steps_and_display():
    assert floor_to(D("83.339"), D("0.01")) == D("83.33")
    assert floor_to(D("83.9"), D(1)) == D(83)
    assert floor_to(D("12"), D(5)) == D(10)
    assert ceil_to(D("83.301"), D("0.01")) == D("83.31")
    assert floor_dp(D("-1.239"), 2) == D("-1.24")
    assert usd(D("1234.565")) == "$1,234.56" and usd(D("-3.5")) == "-$3.50"
    assert pct(D("0.1234")) == "12.3%"
    assert str(normalize(D("1E+1"))) == "10" and str(normalize(D("2.500"))) == "2.5"


prices = st.decimals(min_value=D("0.0001"), max_value=D("0.9999"), places=4)
ticks = st.sampled_from([D("0.01"), D("0.001"), D("0.1")])


@given(p=prices, tick=ticks)
def test_tick_rounding_properties(p, tick):
    b = buy_limit_on_tick(p, tick)
    s = sell_limit_on_tick(p, tick)
    assert b <= p <= s
    assert p - b < tick and s - p < tick
    assert is_on_tick(b, tick) and is_on_tick(s, tick)
