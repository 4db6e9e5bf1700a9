"""Position arithmetic (pm_mcp.domain.positions): fees in the cost basis, realised P&L on sells."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm_mcp.domain.positions import PositionState, event_key


def test_buy_then_sell_realises_pnl_after_fees():
    p = PositionState().after_fill("buy", D("0.40"), D("10"), D("0.20"))
    assert p.size == 10 and p.avg_cost == D("0.42")  # (4.00 + 0.20) / 10
    p = p.after_fill("sell", D("0.50"), D("4"), D("0.04"))
    assert p.size == 6 and p.avg_cost == D("0.42")
    assert p.realized_pnl == D("4") * (D("0.50") - D("0.42")) - D("0.04")


def test_bad_side_is_refused_and_event_key_falls_back_to_the_market():
    with pytest.raises(ValueError, match="side"):
        PositionState().after_fill("hold", D("0.5"), D("1"), D("0"))
    assert event_key(None, "m1") == "m1" and event_key("e1", "m1") == "e1"


prices = st.decimals(min_value="0.01", max_value="0.99", places=2)
sizes = st.decimals(min_value="0", max_value="1000", places=2)
fees = st.decimals(min_value="0", max_value="5", places=2)


@given(st.lists(st.tuples(st.sampled_from(["buy", "sell"]), prices, sizes, fees), max_size=30))
def test_size_never_negative_and_cost_basis_includes_every_buy_fee(fills):
    p = PositionState()
    for side, price, size, fee in fills:
        before = p
        p = p.after_fill(side, price, size, fee)
        assert p.size >= 0
        if side == "buy" and size > 0:
            assert p.size * p.avg_cost == pytest.approx(before.size * before.avg_cost + size * price + fee)
