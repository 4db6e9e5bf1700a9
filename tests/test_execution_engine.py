"""The execution engine in-process, with its real parts: the SQLite store, the market service and the
Polymarket adapter talking to the loopback simulator, the paper broker. Covers paper fills, resting
orders, FOK/FAK, positions and settlement, single-use confirmations bound to the order hash, expiry,
re-checks at execution, policy refusals, unknown submit outcomes resolved by lookup (never resent) and
start-up reconciliation after a crash between journaling and sending."""

from __future__ import annotations

from contextlib import asynccontextmanager
from decimal import Decimal as D

import pytest
from pg_server import shared_server

import pm_mcp.execution  # noqa: F401 - startup hook + migrations
import pm_mcp.execution.engine as engine_mod
import pm_mcp.markets.service  # noqa: F401
from pm_mcp.app import app_lifespan
from pm_mcp.domain.intents import IntentStatus
from pm_mcp.execution import LegSpec, propose_intent
from pm_mcp.execution.engine import ExecutionEngine, ExecutionError
from pm_mcp.execution.paper import PaperBroker
from pm_mcp.execution.portfolio import portfolio, track_record
from pm_mcp.execution.runner import sync_once
from pm_mcp.settings import Settings
from pm_mcp.venues.base import UnknownOrderState, VenueUnavailable
from tools.sim import start_sim
from tools.sim.polymarket import set_book

pytestmark = pytest.mark.anyio

NEWSOM = "559652"
EVENT = "30829"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"


@pytest.fixture
def sim():
    with start_sim("polymarket", plugins=[]) as s:
        m = s.state["markets"][NEWSOM]
        m["orderPriceMinTickSize"] = 0.01
        set_book(s, YES, bids=[("0.38", "100"), ("0.37", "100")],
                 asks=[("0.40", "10"), ("0.42", "10"), ("0.45", "100")], tick_size="0.01")
        yield s


# the tests whose journal work (intents, orders, fills, positions, the send journal, restart reconciliation) also
# runs on the PostgreSQL backend (tests/pg_server.py; skipped without its binaries); the others on SQLite only
BOTH_BACKENDS = {
    "test_paper_fill_walks_the_book_with_fees_and_rests_the_remainder",
    "test_sell_needs_the_shares_and_realises_pnl",
    "test_confirmation_is_single_use_bound_to_the_hash_and_channel",
    "test_lost_answers_are_resolved_by_lookup_exactly_one_order",
    "test_restart_reconciles_journaled_orders_without_duplicates",
    "test_bundle_is_confirmed_once_and_stops_at_a_partial_leg",
}
_database_url: str | None = None  # the current test's PostgreSQL database (settings_for), None = SQLite


def pytest_generate_tests(metafunc):
    if "store_backend" in metafunc.fixturenames:
        both = metafunc.function.__name__ in BOTH_BACKENDS
        metafunc.parametrize("store_backend", ["sqlite", "postgres"] if both else ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def store_backend(request):
    global _database_url
    if request.param == "postgres":
        server = shared_server()
        if isinstance(server, str):
            pytest.skip(server)
        _database_url = server.new_database()
    yield request.param
    _database_url = None


def settings_for(sim, tmp_path, **kw) -> Settings:
    urls = {k.removeprefix("PM_MCP_").lower(): v for k, v in sim.env().items()}
    base = dict(home=tmp_path / "home", venues="polymarket", http_timeout_s=3.0, confirm="auto", approval_port=0,
                sync_interval_s=3600,  # the background runner passes once at start; the tests sync by hand
                database_url=_database_url, **urls)
    base.update(kw)
    return Settings(**base)


@asynccontextmanager
async def running(sim, tmp_path, **kw):
    async with app_lifespan(settings_for(sim, tmp_path, **kw), background=False) as state:
        engine: ExecutionEngine = state.execution
        await engine.ready()
        yield state, engine


def buy(size="25", limit="0.43", tif="GTC", **kw) -> LegSpec:
    return LegSpec(market=NEWSOM, venue="polymarket", outcome="Yes", side="buy", limit_price=limit, size=size,
                   time_in_force=tif, **kw)


async def confirm(engine: ExecutionEngine, rec, via="page"):
    return await engine.confirm(rec.intent.id, via=via, order_hash=rec.intent.order_hash)


async def test_paper_fill_walks_the_book_with_fees_and_rests_the_remainder(sim, tmp_path):
    async with running(sim, tmp_path) as (state, engine):
        rec = await propose_intent(state, [buy()], forecast_p="0.5", forecast_source="analyst")
        assert rec.status == IntentStatus.PROPOSED and rec.intent.policy.ok
        done = await confirm(engine, rec)
        assert done.status == IntentStatus.EXECUTED
        [order] = await engine.journal.orders_for_intent(rec.intent.id)
        # 10 @ 0.40 + 10 @ 0.42 fill; the 0.45 level is above the limit; 5 rest
        assert order.status == "partially_filled"
        assert order.filled_size == D(20)
        assert order.avg_price == D("0.41")
        # Polymarket taker fee 0.04 x p(1-p) per share, summed then rounded once to 5 dp
        raw = D(10) * D("0.04") * D("0.40") * D("0.60") + D(10) * D("0.04") * D("0.42") * D("0.58")
        assert order.fees_paid == raw.quantize(D("0.00001"))
        pos = await engine.journal.position("paper", "polymarket", NEWSOM, "Yes")
        assert pos.size == D(20)
        assert pos.avg_cost == (D("8.20") + order.fees_paid) / 20
        # a later book that crosses the resting bid fills it at our limit (maker: no fee on this market)
        set_book(sim, YES, bids=[("0.40", "50")], asks=[("0.41", "3"), ("0.43", "50")], tick_size="0.01")
        await portfolio(engine)  # reads are read-only: the resting order is still resting
        assert (await engine.journal.load_order(order.id)).status == "partially_filled"
        await engine.sync()
        order = await engine.journal.load_order(order.id)
        assert order.status == "filled" and order.filled_size == D(25)
        fills = await engine.journal.fills_for_order(order.id)
        assert [D(f["size"]) for f in fills] == [D(10), D(10), D(5)]
        assert D(fills[-1]["price"]) == D("0.43") and D(fills[-1]["fee"]) == 0
        snap = await portfolio(engine)
        [p] = snap.positions
        assert p.size == D(25) and p.mark_price == D("0.405")  # mid of the 0.40 bid and the 0.41 ask
        assert snap.exposure[0].event_id == EVENT and snap.exposure[0].cap == D(150)
        assert snap.exposure[0].exposure == p.cost_basis


async def test_fok_and_fak(sim, tmp_path):
    async with running(sim, tmp_path) as (state, engine):
        rec = await propose_intent(state, [buy(size="30", tif="FOK")])
        done = await confirm(engine, rec)
        [order] = await engine.journal.orders_for_intent(rec.intent.id)
        assert order.status == "cancelled" and order.filled_size == 0
        assert done.status == IntentStatus.FAILED and "fill-or-kill" in done.reason
        assert await engine.journal.position("paper", "polymarket", NEWSOM, "Yes") is None
        rec = await propose_intent(state, [buy(size="30", tif="FAK")])
        done = await confirm(engine, rec)
        [order] = await engine.journal.orders_for_intent(rec.intent.id)
        assert order.filled_size == D(20) and order.status == "cancelled" and not order.is_open
        assert done.status == IntentStatus.EXECUTED
        # the FAK remainder does not rest: a crossing book later fills nothing more
        set_book(sim, YES, bids=[("0.40", "50")], asks=[("0.41", "100")], tick_size="0.01")
        await engine.sync()
        assert (await engine.journal.load_order(order.id)).filled_size == D(20)


async def test_sell_needs_the_shares_and_realises_pnl(sim, tmp_path):
    async with running(sim, tmp_path) as (state, engine):
        sell = LegSpec(market=NEWSOM, venue="polymarket", outcome="Yes", side="sell", limit_price="0.35", size="5")
        with pytest.raises(ExecutionError, match="hold 0"):
            await propose_intent(state, [sell])
        await confirm(engine, await propose_intent(state, [buy(size="10", limit="0.40")]))
        pos = await engine.journal.position("paper", "polymarket", NEWSOM, "Yes")
        assert pos.size == D(10)
        rec = await propose_intent(state, [sell])
        done = await confirm(engine, rec)
        assert done.status == IntentStatus.EXECUTED
        pos = await engine.journal.position("paper", "polymarket", NEWSOM, "Yes")
        assert pos.size == D(5)
        # sold 5 at the 0.38 bid, fee 5 x 0.04 x 0.38 x 0.62 = 0.04712
        assert pos.realized_pnl == D(5) * (D("0.38") - pos.avg_cost) - D("0.04712")


async def test_settlement_on_resolution_and_track_record(sim, tmp_path):
    async with running(sim, tmp_path) as (state, engine):
        await confirm(engine, await propose_intent(state, [buy(size="10", limit="0.40")], forecast_p="0.7",
                                                   forecast_source="model-a"))
        await confirm(engine, await propose_intent(state, [buy(size="10", limit="0.40")]))  # no forecast
        tr = await track_record(engine)
        assert [f.resolved for f in tr.forecasts] == [False]
        m = sim.state["markets"][NEWSOM]
        m["closed"], m["outcomePrices"] = True, '["1", "0"]'
        snap = await portfolio(engine)  # a read settles nothing
        assert [p.status for p in snap.positions] == ["open"]
        await sync_once(engine)  # the background runner's pass does
        snap = await portfolio(engine)
        [p] = snap.positions
        assert p.status == "settled" and p.settled_outcome == "Yes" and p.size == 0
        cost = D(20) * D("0.40") + 2 * D(10) * D("0.04") * D("0.40") * D("0.60")
        assert p.realized_pnl == D(20) - cost
        tr = await track_record(engine)
        [f] = tr.forecasts
        assert f.hit is True and f.brier == (D("0.7") - 1) ** 2
        assert tr.by_source[0].source == "model-a" and tr.by_source[0].brier == D("0.09")


async def test_confirmation_is_single_use_bound_to_the_hash_and_channel(sim, tmp_path):
    async with running(sim, tmp_path) as (state, engine):
        rec = await propose_intent(state, [buy(size="5", limit="0.40")])
        with pytest.raises(ExecutionError, match="order hash differs"):
            await engine.confirm(rec.intent.id, via="page", order_hash="0" * 64)
        with pytest.raises(ExecutionError, match="not enabled"):
            await engine.confirm(rec.intent.id, via="host", order_hash=rec.intent.order_hash)
        assert (await engine.get_intent(rec.intent.id)).status == IntentStatus.PROPOSED
        assert await engine.journal.count_orders() == 0
        await confirm(engine, rec)
        with pytest.raises(ExecutionError, match="used once"):
            await confirm(engine, rec)
        assert await engine.journal.count_orders() == 1
        # the same order proposed again is a new intent with the same order hash, confirmed separately
        again = await propose_intent(state, [buy(size="5", limit="0.40")])
        assert again.intent.id != rec.intent.id and again.intent.order_hash == rec.intent.order_hash


async def test_intents_expire(sim, tmp_path):
    async with running(sim, tmp_path, intent_ttl_s=1) as (state, engine):
        rec = await propose_intent(state, [buy(size="5", limit="0.40")])
        import anyio

        await anyio.sleep(1.1)
        with pytest.raises(ExecutionError, match="expired"):
            await confirm(engine, rec)
        assert (await engine.get_intent(rec.intent.id)).status == IntentStatus.EXPIRED
        assert await engine.journal.count_orders() == 0


async def test_policy_refusal_names_rule_limit_value_and_cannot_be_confirmed(sim, tmp_path):
    async with running(sim, tmp_path, max_order_usd=D(5)) as (state, engine):
        rec = await propose_intent(state, [buy(size="20", limit="0.40")])
        assert rec.status == IntentStatus.REJECTED
        [v] = rec.intent.policy.violations
        assert (v.rule, v.limit) == ("max_order_usd", "5") and D(v.value) == rec.intent.worst_case_cost
        assert "exceeds the per-order cap $5.00" in v.message
        with pytest.raises(ExecutionError):
            await confirm(engine, rec)
        assert await engine.journal.count_orders() == 0


@pytest.mark.parametrize("change", ["rules", "tick", "closed", "policy", "daily"])
async def test_execution_rechecks_at_the_moment_of_execution(sim, tmp_path, change):
    async with running(sim, tmp_path) as (state, engine):
        rec = await propose_intent(state, [buy(size="10", limit="0.40")])
        m = sim.state["markets"][NEWSOM]
        if change == "rules":
            m["description"] = m["description"] + " Clarification: an early withdrawal resolves No."
        elif change == "tick":
            m["orderPriceMinTickSize"] = 0.03
        elif change == "closed":
            m["acceptingOrders"] = False
        elif change == "policy":
            await engine.tighten(max_order_usd=D(2))
        else:
            await engine.tighten(max_daily_usd=D(5))
            await confirm(engine, await propose_intent(state, [buy(size="5", limit="0.40")]))
        done = await confirm(engine, rec)
        assert done.status == IntentStatus.FAILED
        expected = {"rules": "rules hash differs", "tick": "tick size is now 0.03", "closed": "is now paused",
                    "policy": "per-order cap", "daily": "daily cap"}[change]
        assert expected in done.reason and "not sent" in done.reason
        assert await engine.journal.orders_for_intent(rec.intent.id) == []


class FaultyBroker:
    """The real paper broker behind a fault: the order lands (or not), then the answer is lost."""

    def __init__(self, inner: PaperBroker, fault: str):
        self.inner, self.fault = inner, fault
        self.venue, self.mode = inner.venue, "paper"
        self.submits = 0

    async def submit(self, order):
        self.submits += 1
        if self.fault == "drop_request":
            raise UnknownOrderState(self.venue, "the connection dropped before the venue answered")
        await self.inner.submit(order)
        if self.fault == "accept_then_drop":
            raise UnknownOrderState(self.venue, "the connection dropped after sending")
        if self.fault == "500_after_accept":
            raise VenueUnavailable(self.venue, "HTTP 500", status=500, retryable=True)
        raise TimeoutError("read timeout")

    async def get_order(self, cid, vid=None):
        return await self.inner.get_order(cid, vid)

    async def cancel(self, cid, vid=None):
        return await self.inner.cancel(cid, vid)

    async def open_orders(self):
        return await self.inner.open_orders()


@pytest.mark.parametrize("fault", ["accept_then_drop", "500_after_accept", "timeout"])
async def test_lost_answers_are_resolved_by_lookup_exactly_one_order(sim, tmp_path, fault, monkeypatch):
    monkeypatch.setattr(engine_mod, "UNKNOWN_LOOKUP_BACKOFF", (0.01, 0.02))
    async with running(sim, tmp_path) as (state, engine):
        paper = PaperBroker("polymarket", engine.journal, engine._fresh_book)
        faulty = FaultyBroker(paper, fault)
        engine._brokers["polymarket"] = faulty
        rec = await propose_intent(state, [buy(size="10", limit="0.40")])
        done = await confirm(engine, rec)
        assert done.status == IntentStatus.EXECUTED
        [order] = await engine.journal.orders_for_intent(rec.intent.id)
        assert order.status == "filled" and order.filled_size == D(10)
        assert faulty.submits == 1
        rows = await (await engine.journal.conn.execute("SELECT COUNT(*) FROM paper_orders")).fetchone()
        assert rows[0] == 1


async def test_a_request_that_never_landed_is_not_resent(sim, tmp_path, monkeypatch):
    monkeypatch.setattr(engine_mod, "UNKNOWN_LOOKUP_BACKOFF", (0.01, 0.02))
    async with running(sim, tmp_path) as (state, engine):
        faulty = FaultyBroker(PaperBroker("polymarket", engine.journal, engine._fresh_book), "drop_request")
        engine._brokers["polymarket"] = faulty
        rec = await propose_intent(state, [buy(size="10", limit="0.40")])
        done = await confirm(engine, rec)
        assert done.status == IntentStatus.EXECUTING
        [order] = await engine.journal.orders_for_intent(rec.intent.id)
        assert order.status == "unknown" and "NOT resent" in order.message
        await engine.sync()  # reads ask the venue again; still nothing; still not resent
        assert faulty.submits == 1
        monkeypatch.setattr(engine_mod, "NOT_PLACED_AFTER", engine_mod.timedelta(seconds=0))
        await engine.sync()
        order = await engine.journal.load_order(order.id)
        assert order.status == "rejected" and "not placed" in order.message
        assert (await engine.get_intent(rec.intent.id)).status == IntentStatus.FAILED
        assert faulty.submits == 1


async def test_restart_reconciles_journaled_orders_without_duplicates(sim, tmp_path):
    # 1) crash after journaling, before sending: the restart sends it (once)
    # 2) crash after the venue accepted, before we recorded the answer: the restart adopts it (no resend)
    async with running(sim, tmp_path) as (state, engine):
        a = await propose_intent(state, [buy(size="5", limit="0.40")])
        b = await propose_intent(state, [buy(size="6", limit="0.40")])
        for rec in (a, b):
            assert await engine.journal.transition(rec.intent.id, (IntentStatus.PROPOSED,), IntentStatus.CONFIRMED)
            assert await engine.journal.transition(rec.intent.id, (IntentStatus.CONFIRMED,), IntentStatus.EXECUTING)
        await engine._journal_order(a.intent, 0, a.intent.legs[0])
        ob, _ = await engine._journal_order(b.intent, 0, b.intent.legs[0])
        market = await engine._fresh_market(NEWSOM, "polymarket")
        await engine.broker("polymarket").submit(engine._request(ob, market))  # landed; answer "lost"
    async with running(sim, tmp_path) as (state, engine):
        assert len(engine.reconcile_report) == 2
        for rec, size in ((a, 5), (b, 6)):
            after = await engine.get_intent(rec.intent.id)
            assert after.status == IntentStatus.EXECUTED, after
            [order] = await engine.journal.orders_for_intent(rec.intent.id)
            assert order.status == "filled" and order.filled_size == D(size)
        rows = await (await engine.journal.conn.execute("SELECT COUNT(*) FROM paper_orders")).fetchone()
        assert rows[0] == 2
        # the one that never left was sent after the lookup; the one that landed was adopted, not resent
        resent = await (await engine.journal.conn.execute(
            "SELECT ref FROM journal WHERE kind = 'order.resend_after_lookup'")).fetchall()
        [oa] = await engine.journal.orders_for_intent(a.intent.id)
        assert [r[0] for r in resent] == [oa.id]
        pos = await engine.journal.position("paper", "polymarket", NEWSOM, "Yes")
        assert pos.size == D(11)


async def test_a_confirmed_intent_past_expiry_at_restart_is_not_sent(sim, tmp_path):
    async with running(sim, tmp_path, intent_ttl_s=1) as (state, engine):
        rec = await propose_intent(state, [buy(size="5", limit="0.40")])
        assert await engine.journal.transition(rec.intent.id, (IntentStatus.PROPOSED,), IntentStatus.CONFIRMED)
    import anyio

    await anyio.sleep(1.1)
    async with running(sim, tmp_path, intent_ttl_s=1) as (state, engine):
        after = await engine.get_intent(rec.intent.id)
        assert after.status == IntentStatus.EXPIRED and "not sent" in after.reason
        assert await engine.journal.count_orders() == 0


async def test_bundle_is_confirmed_once_and_stops_at_a_partial_leg(sim, tmp_path):
    async with running(sim, tmp_path) as (state, engine):
        legs = [buy(size="10", limit="0.40", tif="FOK"), buy(size="25", limit="0.42", tif="FOK"),
                buy(size="5", limit="0.45")]
        rec = await propose_intent(state, legs)
        assert rec.intent.is_bundle and "A bundle of 3 orders" in rec.intent.plain
        done = await confirm(engine, rec)
        orders = await engine.journal.orders_for_intent(rec.intent.id)
        assert [o.status for o in orders] == ["filled", "cancelled"]  # leg 3 never sent
        assert done.status == IntentStatus.FAILED
        assert "leg 2 was not placed" in done.reason and "exposure now: the first 1 leg" in done.reason
        # the one-sided exposure comes with its unwind, as a proposal only the person can confirm
        assert "Unwind proposed as intent i-" in done.reason and "NOT sent unless the person confirms" in done.reason
        unwind_id = done.reason.split("Unwind proposed as intent ", 1)[1].split(":", 1)[0]
        unwind = await engine.get_intent(unwind_id)
        assert unwind.status == IntentStatus.PROPOSED
        [leg] = unwind.intent.legs
        assert (leg.side, leg.outcome, leg.size, leg.time_in_force) == ("sell", "Yes", D(10), "FAK")
        assert await engine.journal.orders_for_intent(unwind_id) == []  # nothing sent


async def test_tighten_only(sim, tmp_path):
    async with running(sim, tmp_path) as (state, engine):
        await engine.tighten(max_order_usd=D(50))
        with pytest.raises(ValueError, match="only be tightened"):
            await engine.tighten(max_order_usd=D(60))
        with pytest.raises(ValueError, match="narrowed"):
            await engine.tighten(allowed_venues=["kalshi"])
        assert engine.policy.max_order_usd == D(50)
