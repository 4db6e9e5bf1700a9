"""The live Manifold broker against the loopback Manifold simulator (CPMM fills, limit bets)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pm_mcp.domain.models import Market, Outcome
from pm_mcp.venues.base import OrderRejected, OrderRequest, OrderSide, OrderStatus, TimeInForce, UnknownOrderState
from pm_mcp.venues.http import VenueHttp
from pm_mcp.venues.manifold.broker import ManifoldBroker
from pm_mcp.venues.send_journal import OrderJournal
from tools.sim import start_sim
from tools.sim.manifold_trading import bets, register_user
from tools.sim.trading_faults import inject_order_fault

pytestmark = pytest.mark.anyio
API_KEY = "mf-test-key-0123456789abcdef"

BINARY = Market(id="SynthBin001", venue="manifold", title="synthetic binary", tick_size=Decimal("0.01"),
                outcomes=[Outcome(label="YES", side="YES"), Outcome(label="NO", side="NO")])
MULTI = Market(id="SynthMc0001", venue="manifold", title="synthetic multiple choice", tick_size=Decimal("0.01"),
               outcomes=[Outcome(label="Kevin Hassett", answer_id="ansA000001"),
                         Outcome(label="Kevin Warsh", answer_id="ansB000002")])


def req(cid, price, size, *, m=BINARY, outcome="YES", side=OrderSide.BUY, tif=TimeInForce.GTC) -> OrderRequest:
    return OrderRequest(client_order_id=cid, venue="manifold", market=m, outcome=outcome, side=side,
                        limit_price=Decimal(price), size=Decimal(size), time_in_force=tif)


@pytest.fixture
def sim():
    with start_sim("manifold") as s:
        register_user(s, API_KEY, balance=1000)
        yield s


def broker(sim, key=API_KEY, timeout=5.0) -> ManifoldBroker:
    http = VenueHttp("manifold", sim.url, timeout_s=timeout, attempts=2, backoff_s=0.01)
    return ManifoldBroker(http=http, api_key=key, journal=OrderJournal())


async def test_limit_bet_fills_at_or_better_than_the_limit(sim):
    b = broker(sim)
    st = await b.submit(req("m1", "0.50", "10"))
    assert st.status == OrderStatus.FILLED
    assert st.filled_size >= 10 and st.average_price <= Decimal("0.50")
    placed = bets(sim)
    assert len(placed) == 1 and placed[0]["orderAmount"] == 5 and placed[0]["limitProb"] == 0.5
    me = await b.me()
    assert me["balance"] == pytest.approx(995)


async def test_partial_fill_rests_then_cancel_returns_the_rest(sim):
    b = broker(sim)
    st = await b.submit(req("m2", "0.45", "200"))
    assert st.status == OrderStatus.PARTIALLY_FILLED and 0 < st.filled_size < 200
    bet = bets(sim)[0]
    assert bet["probAfter"] == pytest.approx(0.45, abs=1e-6)  # filled exactly up to the limit
    assert [o.client_order_id for o in await b.open_orders()] == ["m2"]
    st = await b.cancel("m2")
    assert st.status == OrderStatus.CANCELLED
    assert (await b.me())["balance"] == pytest.approx(1000 - bet["amount"])
    assert await b.open_orders() == []


async def test_multiple_choice_needs_the_answer_and_preview_places_nothing(sim):
    b = broker(sim)
    preview = await b.preview(req("p1", "0.40", "10", m=MULTI, outcome="Kevin Warsh"))
    assert preview["answerId"] == "ansB000002" and preview["shares"] > 0 and "betId" not in preview
    assert bets(sim) == []
    st = await b.submit(req("m3", "0.40", "10", m=MULTI, outcome="Kevin Warsh"))
    assert st.status == OrderStatus.FILLED and bets(sim)[0]["answerId"] == "ansB000002"


async def test_rejections(sim):
    b = broker(sim)
    with pytest.raises(OrderRejected, match="whole percents"):
        await b.submit(req("e1", "0.455", "10"))
    with pytest.raises(OrderRejected, match="outcomes are"):
        await b.submit(req("e2", "0.40", "10", m=MULTI, outcome="Nobody"))
    with pytest.raises(OrderRejected, match="not enough mana"):
        await b.submit(req("e3", "0.90", "5000"))
    with pytest.raises(OrderRejected, match="API key"):
        await broker(sim, key="wrong").submit(req("e4", "0.50", "10"))
    assert bets(sim) == []


async def test_sell_is_a_bet_on_the_other_side_with_the_same_limit(sim):
    b = broker(sim)
    await b.submit(req("s0", "0.50", "20"))
    st = await b.submit(req("s1", "0.35", "10", side=OrderSide.SELL))
    sell = bets(sim)[-1]
    assert (sell["outcome"], sell["limitProb"], sell["orderAmount"]) == ("NO", 0.35, 6.5)
    assert st.filled_size > 0 and all(f.price >= Decimal("0.35") for f in st.fills)


@pytest.mark.parametrize("fault", ["accept_then_drop", "accept_then_500", "accept_then_hang"])
async def test_exactly_one_bet_under_faults(sim, fault):
    inject_order_fault(sim, fault, seconds=2.5)
    b = broker(sim, timeout=1.0)
    with pytest.raises(UnknownOrderState):
        await b.submit(req("f1", "0.50", "10"))
    if fault == "accept_then_hang":
        import anyio
        await anyio.sleep(1.8)
    st = await b.get_order("f1")  # found by matching what we journaled: no client order id on Manifold
    assert st is not None and st.status == OrderStatus.FILLED
    again = await b.submit(req("f1", "0.50", "10"))
    assert again.venue_order_id == st.venue_order_id
    assert len(bets(sim)) == 1
    assert sim.count(path="/v0/bet$", method="POST") == 1
