"""The live Polymarket broker against the loopback CLOB simulator (a strict counterparty).

The simulator recovers the EIP-712 signer, checks the L2 HMAC, the tick, the amounts, the 5-share
minimum and the balance, and matches against its book. Fills are verified from the venue's order
and trade records. Under accept-then-drop, 500-after-accept and a hang longer than our timeout
exactly one order exists at the venue after our broker plus a get_order lookup.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pm_mcp.domain.models import Market, Outcome
from pm_mcp.venues.base import (
    Blocked,
    OrderRejected,
    OrderRequest,
    OrderSide,
    OrderStatus,
    TimeInForce,
    UnknownOrderState,
)
from pm_mcp.venues.http import VenueHttp
from pm_mcp.venues.polymarket.broker import PolymarketBroker
from pm_mcp.venues.polymarket.signing import ApiCreds, PrivateKey
from pm_mcp.venues.send_journal import OrderJournal
from tools.sim import start_sim
from tools.sim.polymarket import set_book
from tools.sim.polymarket_trading import fill_resting, orders, register_wallet, set_geoblocked
from tools.sim.trading_faults import inject_order_fault

pytestmark = pytest.mark.anyio

PK = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # Hardhat #1 (public test key)
EOA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
SAFE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
TOKEN_YES = "1111111111111111111111111111111111111111111111111111111111111111111111111"
TOKEN_NO = "2222222222222222222222222222222222222222222222222222222222222222222222222"
NEG_TOKEN = "3333333333333333333333333333333333333333333333333333333333333333333333333"


def market(tick="0.01", neg_risk=False, token=TOKEN_YES, min_size="5") -> Market:
    return Market(id="0xcond", venue="polymarket", title="Will it rain?", condition_id="0xcond",
                  outcomes=[Outcome(label="Yes", token_id=token), Outcome(label="No", token_id=TOKEN_NO)],
                  tick_size=Decimal(tick), min_order_size=Decimal(min_size), neg_risk=neg_risk)


def req(cid, price, size, *, side=OrderSide.BUY, tif=TimeInForce.GTC, m=None, outcome="Yes") -> OrderRequest:
    return OrderRequest(client_order_id=cid, venue="polymarket", market=m or market(), outcome=outcome, side=side,
                        limit_price=Decimal(price), size=Decimal(size), time_in_force=tif)


@pytest.fixture
def sim():
    with start_sim("polymarket") as s:
        set_book(s, TOKEN_YES, bids=[("0.50", "100")], asks=[("0.52", "10"), ("0.53", "100")], market="0xcond")
        set_book(s, NEG_TOKEN, bids=[("0.101", "50")], asks=[("0.104", "60")], market="0xneg", tick_size="0.001",
                 neg_risk=True)
        register_wallet(s, EOA, balance="1000")
        yield s


def broker(sim, *, timeout=5.0, sig_type=0, funder=None, creds=None, journal=None):
    http = VenueHttp("polymarket", sim.url + "/clob", timeout_s=timeout, attempts=2, backoff_s=0.01)
    return PolymarketBroker(http=http, key=PrivateKey(PK), signature_type=sig_type, funder=funder, creds=creds,
                            journal=journal or OrderJournal())


async def test_order_accepted_and_fills_verified_from_venue(sim):
    b = broker(sim)
    st = await b.submit(req("c1", "0.53", "20"))
    assert st.status == OrderStatus.FILLED
    assert st.filled_size == Decimal(20)
    assert st.average_price == Decimal("0.525")  # 10 @ 0.52 + 10 @ 0.53, read from the trade records
    assert sorted(f.price for f in st.fills) == [Decimal("0.52"), Decimal("0.53")]
    assert st.venue_order_id and st.venue_order_id.startswith("0x") and len(st.venue_order_id) == 66
    venue_orders = orders(sim)
    assert [o["id"] for o in venue_orders] == [st.venue_order_id]
    ba = await b.balance_allowance()
    assert Decimal(ba["balance"]) == (Decimal(1000) - Decimal("10.50")) * 10**6
    # the credentials were derived with an L1 signature (create after a failed derive)
    assert sim.count(path="/clob/auth/api-key", method="POST") == 1


async def test_sell_right_after_a_buy_refreshes_the_clob_balance_cache_first(sim):
    """The CLOB caches conditional-token balances and a fill does not raise that cache, so a SELL of
    shares just bought is refused until GET /balance-allowance/update (users' issue: sells fail right
    after a fill). The broker refreshes the cache before every SELL."""
    b = broker(sim)
    bought = await b.submit(req("b1", "0.53", "20"))
    assert bought.status == OrderStatus.FILLED
    # the simulator is as strict as the CLOB: the same SELL body posted without the refresh is refused
    creds = await b.ensure_creds()
    body, _ = b.prepare(req("raw-sell", "0.50", "10", side=OrderSide.SELL), creds.api_key)
    r = await b._signed("POST", "/order", body=body, retry=False, expect=(400,))
    assert r.status_code == 400 and "not enough balance / allowance" in r.text
    # through the broker it works: refresh first, then the order
    sold = await b.submit(req("s1", "0.50", "10", side=OrderSide.SELL))
    assert sold.status == OrderStatus.FILLED and sold.filled_size == Decimal(10)
    updates = sim.state["pm_trading"]["balance_updates"]
    assert updates[-1] == {"asset_type": "CONDITIONAL", "token_id": TOKEN_YES}
    paths = [e.path for e in sim.log]
    assert paths.index("/clob/balance-allowance/update") < len(paths) - 1 - paths[::-1].index("/clob/order")


async def test_neg_risk_market_is_signed_for_the_neg_risk_exchange(sim):
    b = broker(sim)
    st = await b.submit(req("n1", "0.104", "5.5", m=market(tick="0.001", neg_risk=True, token=NEG_TOKEN)))
    assert st.status == OrderStatus.FILLED and st.filled_size == Decimal("5.5")
    # the same order signed for the standard exchange is refused by the venue
    with pytest.raises(OrderRejected, match="invalid signature"):
        await b.submit(req("n2", "0.104", "5", m=market(tick="0.001", neg_risk=False, token=NEG_TOKEN)))


@pytest.mark.parametrize("sig_type", [1, 2, 3])
async def test_proxy_safe_and_deposit_wallets(sim, sig_type):
    register_wallet(sim, EOA, funder=SAFE, signature_type=sig_type, balance="50")
    b = broker(sim, sig_type=sig_type, funder=SAFE)
    st = await b.submit(req(f"w{sig_type}", "0.52", "10"))
    assert st.status == OrderStatus.FILLED
    o = orders(sim)[0]
    assert o["maker_address"] == SAFE


async def test_wrong_wallet_type_is_a_clear_signature_error(sim):
    register_wallet(sim, EOA, funder=SAFE, signature_type=2)
    b = broker(sim, sig_type=1, funder=SAFE)  # the account is a Safe, we claim a proxy
    with pytest.raises(OrderRejected) as exc:
        await b.submit(req("bad-type", "0.52", "10"))
    assert "invalid signature" in str(exc.value) and "SIGNATURE_TYPE" in str(exc.value)
    assert orders(sim) == []


async def test_venue_rejections_are_explained(sim):
    b = broker(sim)
    # stale tick: our market data says 0.001, the venue now trades on 0.01
    with pytest.raises(OrderRejected, match="tick size"):
        await b.submit(req("t1", "0.515", "10", m=market(tick="0.001")))
    # stale minimum: the venue's book now says 10 shares
    set_book(sim, TOKEN_YES, bids=[("0.50", "100")], asks=[("0.52", "100")], min_order_size="10")
    with pytest.raises(OrderRejected, match="minimum size"):
        await b.submit(req("t2", "0.52", "6"))
    # balance / allowance
    register_wallet(sim, EOA, balance="1")
    with pytest.raises(OrderRejected, match="pUSD"):
        await b.submit(req("t3", "0.52", "10"))
    register_wallet(sim, EOA, balance="100", approved=False)
    with pytest.raises(OrderRejected, match="approve"):
        await b.submit(req("t4", "0.52", "10"))
    assert orders(sim) == []


async def test_our_own_checks_stop_bad_orders_before_sending(sim):
    b = broker(sim)
    with pytest.raises(OrderRejected, match="not on the 0.01 tick"):
        await b.submit(req("o1", "0.525", "10"))
    with pytest.raises(OrderRejected, match="minimum is 5 shares"):
        await b.submit(req("o2", "0.52", "4.99"))
    with pytest.raises(OrderRejected, match="more than 2 decimals"):
        await b.submit(req("o3", "0.52", "10.001"))
    with pytest.raises(OrderRejected, match="outcomes are"):
        await b.submit(req("o4", "0.52", "10", outcome="Maybe"))
    assert sim.count(path="/clob/order$", method="POST") == 0


async def test_bad_api_secret_and_geoblock(sim):
    good = broker(sim)
    creds = await good.ensure_creds()
    bad = broker(sim, creds=ApiCreds(creds.api_key, "c2VjcmV0LXRoYXQtaXMtd3Jvbmc=", creds.passphrase))
    with pytest.raises(OrderRejected, match="API credentials") as exc:
        await bad.submit(req("h1", "0.52", "10"))
    assert "c2VjcmV0LXRoYXQtaXMtd3Jvbmc" not in str(exc.value) and creds.passphrase not in str(exc.value)
    set_geoblocked(sim)
    with pytest.raises(Blocked, match="region"):
        await good.submit(req("g1", "0.52", "10"))
    assert orders(sim) == []


@pytest.mark.parametrize("fault", ["accept_then_drop", "accept_then_500", "accept_then_hang"])
async def test_exactly_one_order_under_faults(sim, fault):
    inject_order_fault(sim, fault, seconds=2.5)
    b = broker(sim, timeout=1.0)
    with pytest.raises(UnknownOrderState) as exc:
        await b.submit(req("f1", "0.53", "20"))
    assert "look it up" in str(exc.value).lower()
    if fault == "accept_then_hang":
        import anyio
        await anyio.sleep(1.8)  # the venue finishes the request it was holding
    # the venue has the order; our lookup (by the journaled hash) finds it and its fills
    st = await b.get_order("f1")
    assert st is not None and st.status == OrderStatus.FILLED and st.filled_size == 20
    # a second submit of the same client order id does not create a second order
    again = await b.submit(req("f1", "0.53", "20"))
    assert again.venue_order_id == st.venue_order_id
    assert len(orders(sim)) == 1
    assert sim.count(path="/clob/order$", method="POST") == 1


async def test_unsent_order_is_resent_identically_after_a_crash(sim, tmp_path):
    from pm_mcp.store import Store

    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        b = broker(sim, journal=OrderJournal(store))
        creds = await b.ensure_creds()
        body, order_hash = b.prepare(req("k1", "0.53", "20"), creds.api_key)
        # the process journaled the order and died before the request left
        await b.journal.put("polymarket", "k1", order_hash, {"body": body})
        assert await b.get_order("k1") is None  # the venue has nothing
        b2 = broker(sim, journal=OrderJournal(store), creds=creds)  # the restarted process
        st = await b2.submit(req("k1", "0.53", "20"))
        assert st.venue_order_id == order_hash and st.status == OrderStatus.FILLED
        assert len(orders(sim)) == 1
    finally:
        await store.close()


async def test_resting_order_partial_fill_open_orders_and_cancel(sim):
    b = broker(sim)
    st = await b.submit(req("r1", "0.45", "30"))
    assert st.status == OrderStatus.OPEN and st.filled_size == 0
    opened = await b.open_orders()
    assert [(o.client_order_id, o.status) for o in opened] == [("r1", OrderStatus.OPEN)]
    fill_resting(sim, st.venue_order_id, "12")
    st = await b.get_order("r1")
    assert st.status == OrderStatus.PARTIALLY_FILLED and st.filled_size == 12
    assert st.fills[0].price == Decimal("0.45")
    st = await b.cancel("r1")
    assert st.status == OrderStatus.CANCELLED and st.filled_size == 12
    assert await b.open_orders() == []
    ba = await b.balance_allowance()
    assert Decimal(ba["balance"]) == (Decimal(1000) - Decimal("5.40")) * 10**6  # reservation released


async def test_fok_and_fak(sim):
    b = broker(sim)
    with pytest.raises(OrderRejected, match="fill-or-kill"):
        await b.submit(req("k-fok", "0.52", "11", tif=TimeInForce.FOK))  # only 10 at 0.52
    st = await b.submit(req("k-fak", "0.52", "11", tif=TimeInForce.FAK))
    assert (st.status, st.filled_size) == (OrderStatus.CANCELLED, 10)  # 10 filled, the last share killed
    assert st.average_price == Decimal("0.52")
    assert await b.open_orders() == []
