"""The live Kalshi broker against the loopback Kalshi simulator (RSA-PSS verified on every call)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pm_mcp.domain.models import Market, Outcome
from pm_mcp.venues.base import OrderRejected, OrderRequest, OrderSide, OrderStatus, TimeInForce, UnknownOrderState
from pm_mcp.venues.http import VenueHttp
from pm_mcp.venues.kalshi.broker import KalshiBroker
from pm_mcp.venues.kalshi.signing import KalshiKey
from pm_mcp.venues.send_journal import OrderJournal
from tools.sim import start_sim
from tools.sim.kalshi import set_book
from tools.sim.kalshi_trading import fill_resting, orders, register_key
from tools.sim.trading_faults import inject_order_fault

pytestmark = pytest.mark.anyio
TICKER = "KXEPLGAME-26MAR22TOTNFO-TOT"
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


def _pem() -> bytes:
    return rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())


PEM = _pem()
OTHER_PEM = _pem()


def market(tick="0.01") -> Market:
    return Market(id=TICKER, venue="kalshi", title="Tottenham vs Nottingham Forest: Tottenham",
                  outcomes=[Outcome(label="Yes", ticker=TICKER, side="yes"), Outcome(label="No", ticker=TICKER, side="no")],
                  tick_size=Decimal(tick), min_order_size=Decimal(1))


def req(cid, price, size, *, outcome="Yes", side=OrderSide.BUY, tif=TimeInForce.GTC, m=None) -> OrderRequest:
    return OrderRequest(client_order_id=cid, venue="kalshi", market=m or market(), outcome=outcome, side=side,
                        limit_price=Decimal(price), size=Decimal(size), time_in_force=tif)


@pytest.fixture
def sim():
    with start_sim("kalshi") as s:
        set_book(s, TICKER, yes_bids=[("0.37", "50")], no_bids=[("0.61", "30"), ("0.60", "100")])
        register_key(s, KEY_ID, KalshiKey(PEM).public_pem(), balance="100")
        yield s


def broker(sim, pem=PEM, timeout=5.0, journal=None) -> KalshiBroker:
    http = VenueHttp("kalshi", sim.url + "/trade-api/v2", timeout_s=timeout, attempts=2, backoff_s=0.01)
    return KalshiBroker(http=http, key_id=KEY_ID, key=KalshiKey(pem), journal=journal or OrderJournal())


async def test_buy_yes_fills_verified_from_fills_endpoint(sim):
    b = broker(sim)
    st = await b.submit(req("k1", "0.40", "40"))
    assert st.status == OrderStatus.FILLED and st.filled_size == 40
    assert sorted((f.price, f.size) for f in st.fills) == [(Decimal("0.39"), 30), (Decimal("0.40"), 10)]
    assert st.average_price == Decimal("0.3925")
    assert st.fees_paid == Decimal("0.67")  # ceil-to-cent 0.07*C*P*(1-P) per fill: 0.50 + 0.17
    assert len(orders(sim)) == 1 and orders(sim)[0]["client_order_id"] == "k1"
    bal = await b.balance()
    assert bal["balance"] == Decimal("100") - Decimal("15.70") - Decimal("0.67")
    pos = await b.positions()
    assert [(p["ticker"], p["position_fp"]) for p in pos] == [(TICKER, "40.00")]


async def test_buy_no_is_an_ask_on_the_yes_book(sim):
    b = broker(sim)
    st = await b.submit(req("k2", "0.63", "10", outcome="No"))
    assert st.status == OrderStatus.FILLED
    assert [f.price for f in st.fills] == [Decimal("0.63")]  # reported in NO terms
    o = orders(sim)[0]
    assert (o["book_side"], o["yes_price_dollars"]) == ("ask", "0.3700")


async def test_rejections_are_clear(sim):
    with pytest.raises(OrderRejected, match="PM_MCP_KALSHI_ENV"):  # signed with a key Kalshi does not know
        await broker(sim, pem=OTHER_PEM).submit(req("r1", "0.40", "1"))
    b = broker(sim)
    with pytest.raises(OrderRejected, match="grid"):  # caught before sending
        await b.submit(req("r2", "0.385", "1"))
    with pytest.raises(OrderRejected, match="price grid"):  # stale tick in our data: the venue refuses
        await b.submit(req("r3", "0.385", "1", m=market(tick="0.005")))
    with pytest.raises(OrderRejected, match="not enough cash"):
        await b.submit(req("r4", "0.40", "1000"))
    with pytest.raises(OrderRejected, match="whole"):
        await b.submit(req("r5", "0.40", "1.5"))
    assert orders(sim) == []


@pytest.mark.parametrize("fault", ["accept_then_drop", "accept_then_500", "accept_then_hang"])
async def test_exactly_one_order_under_faults(sim, fault):
    inject_order_fault(sim, fault, seconds=2.5)
    b = broker(sim, timeout=1.0)
    with pytest.raises(UnknownOrderState):
        await b.submit(req("f1", "0.40", "40"))
    if fault == "accept_then_hang":
        import anyio
        await anyio.sleep(1.8)
    st = await b.get_order("f1")  # found by client_order_id: we never saw the venue's order id
    assert st is not None and st.status == OrderStatus.FILLED and st.filled_size == 40
    again = await b.submit(req("f1", "0.40", "40"))
    assert again.venue_order_id == st.venue_order_id
    assert len(orders(sim)) == 1
    assert sim.count(path="/portfolio/events/orders$", method="POST") == 1


async def test_venue_idempotency_without_our_journal(sim):
    """Even a broker that lost its journal cannot create a second order: Kalshi answers 409."""
    await broker(sim).submit(req("i1", "0.30", "5"))
    st = await broker(sim).submit(req("i1", "0.30", "5"))  # fresh journal
    assert st.client_order_id == "i1" and st.status == OrderStatus.OPEN
    assert len(orders(sim)) == 1


async def test_resting_partial_fill_open_orders_cancel(sim):
    b = broker(sim)
    st = await b.submit(req("g1", "0.30", "20"))
    assert st.status == OrderStatus.OPEN
    assert [o.client_order_id for o in await b.open_orders()] == ["g1"]
    fill_resting(sim, st.venue_order_id, "5")
    st = await b.get_order("g1")
    assert st.status == OrderStatus.PARTIALLY_FILLED and st.filled_size == 5 and st.fills[0].price == Decimal("0.30")
    st = await b.cancel("g1")
    assert st.status == OrderStatus.CANCELLED and st.filled_size == 5
    assert await b.open_orders() == []
    assert (await b.balance())["balance"] == Decimal("100") - Decimal("1.50")


def test_demo_environment_selection(tmp_path, monkeypatch):
    from pm_mcp.settings import Settings
    from pm_mcp.venues.kalshi.setup import KALSHI_DEMO_URL, kalshi_base_url

    monkeypatch.setenv("PM_MCP_HOME", str(tmp_path))
    monkeypatch.delenv("PM_MCP_KALSHI_URL", raising=False)
    assert kalshi_base_url(Settings(kalshi_env="demo")) == KALSHI_DEMO_URL
    assert kalshi_base_url(Settings(kalshi_env="prod")) == "https://api.elections.kalshi.com/trade-api/v2"
    assert kalshi_base_url(Settings(kalshi_env="demo", kalshi_url="http://127.0.0.1:5/trade-api/v2")) == \
        "http://127.0.0.1:5/trade-api/v2"
