from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_mcp.domain.book import walk_book
from pm_mcp.domain.fees import kalshi_schedule, order_fee, polymarket_schedule
from pm_mcp.domain.models import BookLevel


def L(p, s):
    return BookLevel(price=D(p), size=D(s))


ASKS = [L("0.45", 50), L("0.46", 100), L("0.50", 1000)]
BIDS = [L("0.44", 30), L("0.40", 70)]


def test_size_walk():
    w = walk_book(ASKS, size=D(120))
    assert w.filled_size == 120 and w.levels_used == 2 and w.worst_price == D("0.46")
    assert w.cost == D("54.70") and w.average_price == D("54.70") / 120 and w.unfilled_size == 0


def test_size_walk_thin_book_reports_remainder():
    w = walk_book(ASKS, size=D(2000))
    assert w.filled_size == 1150 and w.unfilled_size == 850 and w.levels_used == 3


def test_limit_price_stops_walk():
    w = walk_book(ASKS, size=D(500), limit_price=D("0.46"))
    assert w.filled_size == 150 and w.unfilled_size == 350 and w.worst_price == D("0.46")
    w = walk_book(BIDS, size=D(100), side="sell", limit_price=D("0.42"))
    assert w.filled_size == 30 and w.average_price == D("0.44")


def test_sell_walk():
    w = walk_book(BIDS, size=D(50), side="sell")
    assert w.filled_size == 50 and w.cost == D("0.44") * 30 + D("0.40") * 20


def test_budget_walk_includes_fees_and_floors_size():
    sched = kalshi_schedule()
    w = walk_book(ASKS, budget=D(100), fees=sched, size_step=D(1))
    assert w.cost + w.fees <= 100 and w.unspent_budget == 100 - w.cost - w.fees
    assert w.filled_size == w.filled_size.to_integral_value()
    # one more contract would not fit
    more = walk_book(ASKS, size=w.filled_size + 1, fees=sched)
    assert more.cost + more.fees > 100
    assert w.fees == order_fee(sched, [(D(50), D("0.45")), (D(100), D("0.46")), (w.filled_size - 150, D("0.50"))])


def test_empty_book_and_zero_levels():
    w = walk_book([], size=D(10))
    assert w.filled_size == 0 and w.average_price is None and w.unfilled_size == 10
    w = walk_book([L("0.3", 0), L("0.4", 5)], size=D(10))
    assert w.filled_size == 5 and w.levels_used == 1


@pytest.mark.parametrize("kwargs,msg", [
    (dict(size=D(1), budget=D(1)), "exactly one"),
    (dict(), "exactly one"),
    (dict(size=D(-1)), ">= 0"),
    (dict(budget=D(10), side="sell"), "only applies to a buy"),
    (dict(size=D(1), side="hold"), "side"),
])
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        walk_book(ASKS, **kwargs)


def test_unsorted_or_bad_levels():
    with pytest.raises(ValueError, match="best first"):
        walk_book(list(reversed(ASKS)), size=D(1))
    with pytest.raises(ValueError, match="best first"):
        walk_book(list(reversed(BIDS)), size=D(1), side="sell")
    with pytest.raises(ValueError, match="between 0 and 1"):
        walk_book([L("1.2", 5)], size=D(1))


level_st = st.tuples(st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2),
                     st.decimals(min_value=D("0"), max_value=D("500"), places=2))


@st.composite
def books(draw, buy=True):
    raw = draw(st.lists(level_st, max_size=8))
    raw.sort(key=lambda t: t[0], reverse=not buy)
    return [BookLevel(price=p, size=s) for p, s in raw]


fee_st = st.sampled_from([None, kalshi_schedule(), polymarket_schedule(D("0.04"))])


@settings(max_examples=200, deadline=None)
@given(levels=books(), size=st.decimals(min_value=0, max_value=3000, places=2),
       limit=st.one_of(st.none(), st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2)), fees=fee_st)
def test_size_walk_never_fills_past_levels_or_limit(levels, size, limit, fees):
    w = walk_book(levels, size=size, limit_price=limit, fees=fees)
    eligible = sum((lv.size for lv in levels if limit is None or lv.price <= limit), D(0))
    assert w.filled_size <= size and w.filled_size <= eligible
    assert w.filled_size + w.unfilled_size == size
    assert w.filled_size == min(size, eligible)  # it takes everything it may
    if w.filled_size > 0:
        assert limit is None or w.worst_price <= limit
        assert levels[0].price <= w.average_price <= w.worst_price
    assert w.fees >= 0


@settings(max_examples=200, deadline=None)
@given(levels=books(), budget=st.decimals(min_value=0, max_value=2000, places=2), fees=fee_st,
       step=st.sampled_from([D("0.01"), D(1)]))
def test_budget_walk_never_overspends(levels, budget, fees, step):
    w = walk_book(levels, budget=budget, fees=fees, size_step=step)
    assert w.cost + w.fees <= budget
    assert w.filled_size % step == 0
    assert w.filled_size <= sum((lv.size for lv in levels), D(0))
    assert w.unspent_budget >= 0


@settings(max_examples=100, deadline=None)
@given(levels=books(buy=False), size=st.decimals(min_value=0, max_value=3000, places=2))
def test_sell_walk_never_below_limit(levels, size):
    limit = D("0.5")
    w = walk_book(levels, size=size, side="sell", limit_price=limit)
    assert w.filled_size <= size
    if w.filled_size:
        assert w.worst_price >= limit


@settings(max_examples=150, deadline=None)
@given(levels=books(), budget=st.decimals(min_value=0, max_value=2000, places=2), fees=fee_st,
       step=st.sampled_from([D("0.01"), D(1)]))
def test_budget_walk_buys_as_much_as_fits(levels, budget, fees, step):
    w = walk_book(levels, budget=budget, fees=fees, size_step=step)
    total = sum((lv.size for lv in levels), D(0))
    if w.filled_size < total:
        more = walk_book(levels, size=w.filled_size + step, fees=fees)
        assert more.unfilled_size > 0 or more.cost + more.fees > budget
