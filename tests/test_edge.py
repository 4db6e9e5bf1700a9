from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_mcp.domain.edge import EdgeError, compute_edge
from pm_mcp.domain.fees import kalshi_schedule, polymarket_schedule
from pm_mcp.domain.models import BookLevel


def L(p, s):
    return BookLevel(price=D(p), size=D(s))


ASKS = [L("0.45", 50), L("0.46", 100), L("0.50", 1000)]
BIDS = [L("0.44", 30), L("0.40", 70)]


def test_explicit_price_no_fees():
    r = compute_edge(D("0.62"), price=D("0.45"), size=D(100))
    assert r.ev_per_contract == D("0.17") and r.ev_total_usd == D("17") and r.edge_pp == D("17.00")
    assert r.break_even_probability == D("0.45") and r.cost_usd == D("45.00")
    assert r.roi == (D(17) / D(45)).quantize(D("0.000001"))
    assert r.kelly_fraction == (D("0.17") / D("0.55")).quantize(D("0.000001"))
    assert r.source == "price" and r.warnings == []


def test_kalshi_fees_reduce_edge():
    # 100 @ 0.50: fee $1.75 -> effective 0.5175
    r = compute_edge(D("0.55"), price=D("0.50"), size=D(100), fees=kalshi_schedule())
    assert r.fees_usd == D("1.75") and r.effective_price == D("0.5175")
    assert r.ev_per_contract == D("0.0325") and r.edge_pp == D("3.25") and r.ev_total_usd == D("3.25")


def test_book_walk_average_and_thin_book():
    r = compute_edge(D("0.6"), levels=ASKS, size=D(120))
    assert r.average_price == (D("54.70") / 120).quantize(D("0.000001")) and r.levels_used == 2
    r = compute_edge(D("0.6"), levels=ASKS, size=D(2000))
    assert r.filled_size == 1150 and r.unfilled_size == 850
    assert any("too thin" in w and "850 unfilled" in w for w in r.warnings)


def test_budget_buy_polymarket():
    sched = polymarket_schedule(D("0.04"))
    r = compute_edge(D("0.6"), levels=ASKS, budget=D(50), fees=sched)
    assert r.cost_usd + r.fees_usd <= 50 and r.requested_budget == 50
    assert r.filled_size > 0 and r.filled_size % D("0.01") == 0
    exact_ev = D("0.6") * r.filled_size - r.cost_usd - r.fees_usd
    assert abs(r.ev_total_usd - exact_ev) <= D("0.000001") * r.filled_size


def test_sell_side():
    r = compute_edge(D("0.30"), side="sell", levels=BIDS, size=D(50))
    avg = (D("0.44") * 30 + D("0.40") * 20) / 50
    assert r.average_price == avg.quantize(D("0.000001"))
    assert r.ev_per_contract == (avg - D("0.30")).quantize(D("0.000001"))
    assert r.kelly_fraction == ((avg - D("0.30")) / avg).quantize(D("0.000001"))
    r = compute_edge(D("0.50"), side="sell", price=D("0.44"), size=D(10))
    assert r.ev_per_contract < 0 and any("gives up expected value" in w for w in r.warnings)


def test_no_edge_warning_and_min_order():
    r = compute_edge(D("0.40"), price=D("0.45"), size=D(2), min_order_size=D(5))
    assert r.edge_pp == D("-5.00") and r.kelly_fraction < 0
    assert any("no edge" in w for w in r.warnings) and any("venue minimum" in w for w in r.warnings)


@pytest.mark.parametrize("kwargs,msg", [
    (dict(p=D("62"), price=D("0.45")), "0.62 for 62%"),
    (dict(p=D("-0.1"), price=D("0.45")), "0.62 for 62%"),
    (dict(p=D("0.6")), "exactly one of"),
    (dict(p=D("0.6"), price=D("1.5")), "strictly between 0 and 1"),
    (dict(p=D("0.6"), price=D("0.5"), size=D(1), budget=D(1)), "not both"),
    (dict(p=D("0.6"), price=D("0.5"), budget=D(10), side="sell"), "only applies to a buy"),
    (dict(p=D("0.6"), levels=[]), "no asks"),
    (dict(p=D("0.6"), levels=list(reversed(ASKS))), "best first"),
])
def test_bad_input(kwargs, msg):
    p = kwargs.pop("p")
    with pytest.raises(EdgeError, match=msg):
        compute_edge(p, **kwargs)


prices = st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2)
probs = st.decimals(min_value=D("0"), max_value=D("1"), places=3)


@settings(max_examples=200, deadline=None)
@given(p=probs, price=prices, size=st.decimals(min_value=D("0.01"), max_value=D(5000), places=2),
       fees=st.sampled_from([None, kalshi_schedule(), polymarket_schedule(D("0.04"))]))
def test_edge_identities(p, price, size, fees):
    r = compute_edge(p, price=price, size=size, fees=fees)
    assert r.filled_size == size and r.average_price == price
    assert r.effective_price >= price  # fees only make buying dearer
    assert abs(r.ev_per_contract - (p - r.effective_price)) <= D("0.000001")
    # positive EV <=> p above break-even <=> positive Kelly
    assert (r.ev_per_contract > 0) == (r.kelly_fraction > 0) or abs(r.ev_per_contract) <= D("0.000001")
    s = compute_edge(p, side="sell", price=price, size=size, fees=fees)
    assert s.effective_price <= price
