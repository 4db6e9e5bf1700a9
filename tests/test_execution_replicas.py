"""Two execution engines on one database (two connections to one SQLite file, or to one PostgreSQL database), each
with its real store, market service, Polymarket adapter on the loopback simulator and paper broker: an approved intent
is sent once whichever engine confirms, executes or reconciles it, and a submit claim decides which engine may send a
journaled order (a stalled holder whose claim passed to another engine does not send it again)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from pg_server import shared_server
from test_execution_engine import NEWSOM, buy, settings_for, sim  # noqa: F401 - sim: a fixture

import pm_mcp.execution  # noqa: F401 - startup hook + migrations
import pm_mcp.execution.engine as engine_mod
import pm_mcp.markets.service  # noqa: F401
from pm_mcp.app import app_lifespan
from pm_mcp.domain.intents import IntentStatus
from pm_mcp.execution import propose_intent
from pm_mcp.execution.engine import RECONCILE_LOCK, ExecutionEngine, ExecutionError, client_order_id_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def pg_url():
    server = shared_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server.new_database()


@asynccontextmanager
async def two_engines(sim, tmp_path, database_url):  # noqa: F811 - sim: the fixture's value
    """Engines A and B on one database (SQLite: one file in one home; PostgreSQL: one database)."""
    async with AsyncExitStack() as stack:
        engines = []
        for _ in range(2):
            state = await stack.enter_async_context(app_lifespan(
                settings_for(sim, tmp_path, database_url=database_url), background=False))
            engine: ExecutionEngine = state.execution
            await engine.ready()
            engines.append((state, engine))
        yield engines


async def paper_orders(engine: ExecutionEngine) -> int:
    row = await (await engine.journal.conn.execute("SELECT COUNT(*) FROM paper_orders")).fetchone()
    return int(row[0])


async def test_two_engines_confirm_and_execute_one_intent_at_once_one_order(sim, tmp_path, database_url):  # noqa: F811
    async with two_engines(sim, tmp_path, database_url) as [(sa, a), (_sb, b)]:
        rec = await propose_intent(sa, [buy(size="5", limit="0.40")])
        results = await asyncio.gather(a.confirm(rec.intent.id, via="page", order_hash=rec.intent.order_hash),
                                       b.confirm(rec.intent.id, via="page", order_hash=rec.intent.order_hash),
                                       return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], ExecutionError) and "used once" in str(lost[0])
        assert won[0].status == IntentStatus.EXECUTED
        # an approved intent executed by both at once (the start-up reconcile of one, the other's own path)
        rec2 = await propose_intent(sa, [buy(size="6", limit="0.40")])
        assert await a.journal.transition(rec2.intent.id, (IntentStatus.PROPOSED,), IntentStatus.CONFIRMED)
        after = await asyncio.gather(a.execute(rec2.intent.id), b.execute(rec2.intent.id))
        assert IntentStatus.EXECUTED in {x.status for x in after}
        # and an EXECUTING intent whose first leg nobody journaled yet: both journal it at once, one row wins
        rec3 = await propose_intent(sa, [buy(size="7", limit="0.40")])
        assert await a.journal.transition(rec3.intent.id, (IntentStatus.PROPOSED,), IntentStatus.CONFIRMED)
        assert await a.journal.transition(rec3.intent.id, (IntentStatus.CONFIRMED,), IntentStatus.EXECUTING)
        await asyncio.gather(a.execute(rec3.intent.id), b.execute(rec3.intent.id))
        for r in (rec, rec2, rec3):
            orders = await a.journal.orders_for_intent(r.intent.id)
            assert len(orders) == 1 and orders[0].client_order_id == client_order_id_for(r.intent.id, 0)
        assert (await b.get_intent(rec3.intent.id)).status in (IntentStatus.EXECUTED, IntentStatus.EXECUTING)
        await b.sync()
        assert (await b.get_intent(rec3.intent.id)).status == IntentStatus.EXECUTED
        assert await paper_orders(a) == 3


async def test_a_claimed_order_is_sent_by_its_holder_only_until_the_claim_passes(sim, tmp_path, database_url,  # noqa: F811
                                                                                  monkeypatch):
    monkeypatch.setenv(engine_mod.CLAIM_TTL_ENV, "1")
    async with two_engines(sim, tmp_path, database_url) as [(sa, a), (_sb, b)]:
        rec = await propose_intent(sa, [buy(size="5", limit="0.40")])
        assert await a.journal.transition(rec.intent.id, (IntentStatus.PROPOSED,), IntentStatus.CONFIRMED)
        assert await a.journal.transition(rec.intent.id, (IntentStatus.CONFIRMED,), IntentStatus.EXECUTING)
        order, mine = await a._journal_order(rec.intent, 0, rec.intent.legs[0])  # A journaled it ... and stalls
        assert mine
        again, mine_b = await b._journal_order(rec.intent, 0, rec.intent.legs[0])  # B cannot journal the leg again
        assert not mine_b and again.id == order.id
        await b.sync()  # A's claim is live: B neither sends nor marks it
        assert (await b.journal.load_order(order.id)).status == "pending"
        assert await paper_orders(a) == 0
        await asyncio.sleep(1.2)  # A's claim expires while it stalls
        await b.sync()  # B takes the order over: asks the venue (nothing), sends it once
        got = await b.journal.load_order(order.id)
        assert got.status == "filled", got
        assert (await b.get_intent(rec.intent.id)).status == IntentStatus.EXECUTED
        assert await paper_orders(a) == 1
        # A wakes up and goes on with its send: its claim is gone, so nothing is sent from A
        market = await a._fresh_market(NEWSOM, "polymarket")
        after = await a._submit(order, rec.intent.legs[0], market)
        assert after.status == "filled" and await paper_orders(a) == 1
        kinds = [r[0] for r in await (await a.journal.conn.execute(
            "SELECT kind FROM journal WHERE ref = ? ORDER BY seq", (order.id,))).fetchall()]
        assert "order.claim_lost" in kinds and kinds.count("order.resend_after_lookup") == 1


async def test_reconcile_runs_on_one_engine_at_a_time(sim, tmp_path, database_url):  # noqa: F811
    async with two_engines(sim, tmp_path, database_url) as [(sa, a), (sb, b)]:
        rec = await propose_intent(sa, [buy(size="5", limit="0.40")])
        assert await a.journal.transition(rec.intent.id, (IntentStatus.PROPOSED,), IntentStatus.CONFIRMED)
        assert await a.journal.transition(rec.intent.id, (IntentStatus.CONFIRMED,), IntentStatus.EXECUTING)
        order, _ = await a._journal_order(rec.intent, 0, rec.intent.legs[0])
        await a.close()  # A stops cleanly: its claim is freed
        assert await sa.store.try_lock(RECONCILE_LOCK, a.holder, 60)  # A holds the reconcile lock
        try:
            assert not await sb.store.try_lock(RECONCILE_LOCK, b.holder, 60)
            await b.sync()  # skipped: A is reconciling
            assert (await b.journal.load_order(order.id)).status == "pending"
        finally:
            await sa.store.unlock(RECONCILE_LOCK, a.holder)
        await b.sync()
        assert (await b.journal.load_order(order.id)).status == "filled"
        assert await paper_orders(b) == 1


async def test_the_runner_lease_is_held_by_one_process_at_a_time(tmp_path, database_url):
    """pm_mcp.execution.watches.RunnerLease (watches and standing orders run on the one holder) on two connections
    to one database: one holder; the other takes it when it is released or expires."""
    from pm_mcp.execution.watches import RunnerLease
    from pm_mcp.store_pg import open_store

    stores = [await open_store(tmp_path / f"local-{i}.sqlite3" if database_url else tmp_path / "one.sqlite3",
                               database_url) for i in range(2)]
    try:
        a, b = (RunnerLease(s, ttl_s=1.0) for s in stores)
        assert await a.acquire() and not await b.acquire()
        assert await a.acquire()  # renewed by its holder
        assert await b.holder_now() == a.holder
        await a.release()
        assert await b.acquire() and not await a.acquire()
        await asyncio.sleep(1.2)  # B stops renewing (a stalled or hung holder): its lease expires
        assert await a.acquire() and not await b.acquire()
    finally:
        for s in stores:
            await s.close()


async def test_on_postgresql_a_dead_holders_claim_passes_at_once_from_any_host(sim, tmp_path, pg_url):  # noqa: F811
    """The holder's PostgreSQL session tells whether it lives: its connection gone (the process killed, on whichever
    host: this test's two engines share one pid, so the host:pid check alone would wait for the claim to expire).
    (On SQLite a claim passes when its process is gone on this host, or at its expiry.)"""
    database_url = pg_url
    async with two_engines(sim, tmp_path, database_url) as [(sa, a), (_sb, b)]:
        rec = await propose_intent(sa, [buy(size="5", limit="0.40")])
        assert await a.journal.transition(rec.intent.id, (IntentStatus.PROPOSED,), IntentStatus.CONFIRMED)
        assert await a.journal.transition(rec.intent.id, (IntentStatus.CONFIRMED,), IntentStatus.EXECUTING)
        order, mine = await a._journal_order(rec.intent, 0, rec.intent.legs[0])
        assert mine and ":pg" in a.holder
        await b.sync()
        assert (await b.journal.load_order(order.id)).status == "pending"  # A's session lives: not taken
        await sa.store.conn.close()  # A's connection ends, as when its process is killed
        await b.sync()
        assert (await b.journal.load_order(order.id)).status == "filled"
        assert (await b.get_intent(rec.intent.id)).status == IntentStatus.EXECUTED
        assert await paper_orders(b) == 1


async def test_a_standing_orders_execution_is_sent_once_when_its_runner_stalls_and_another_takes_over(
        sim, tmp_path, database_url, monkeypatch):  # noqa: F811
    """The runner lease passes from A (stalled inside an execution of a standing order) to B, whose runner executes
    the same child intent (pm_mcp.execution.standing: the new lease holder resumes an execution under way): the
    intent's compare-and-set and the leg's submit claim let only one of them send it."""
    from datetime import timedelta

    from pm_mcp.execution.journal import now_utc
    from pm_mcp.execution.standing import child_id

    monkeypatch.setenv(engine_mod.CLAIM_TTL_ENV, "1")
    async with two_engines(sim, tmp_path, database_url) as [(_sa, a), (_sb, b)]:
        parent = await a.propose([buy(size="5", limit="0.40")], trigger={"kind": "price_below", "level": "0.45"},
                                 valid_until=now_utc() + timedelta(days=1), channel="page")
        armed = await a.confirm(parent.intent.id, via="page", order_hash=parent.intent.order_hash)
        assert armed.status == IntentStatus.ARMED
        # the trigger, as the runner's lease holder records it: ARMED -> TRIGGERED and the execution's child intent
        cid = child_id(parent.intent.id, 1)
        child = parent.intent.model_copy(update={"id": cid, "parent_id": parent.intent.id, "created_at": now_utc(),
                                                 "expires_at": now_utc() + timedelta(minutes=5)})
        assert await a.journal.transition(parent.intent.id, (IntentStatus.ARMED,), IntentStatus.TRIGGERED,
                                          trigger_no=1)
        await a.journal.insert_intent(child, IntentStatus.CONFIRMED, channel="page", reason="test trigger")
        # A starts the execution and stalls after journaling the order
        assert await a.journal.transition(cid, (IntentStatus.CONFIRMED,), IntentStatus.EXECUTING)
        order, mine = await a._journal_order(child, 0, child.legs[0])
        assert mine
        # B holds the lease now and resumes the execution: A's claim is live, so B waits ...
        assert (await b.execute(cid)).status == IntentStatus.EXECUTING
        assert await paper_orders(b) == 0
        await asyncio.sleep(1.2)  # ... until A's claim expires: B asks the venue (nothing) and sends once
        assert (await b.execute(cid)).status == IntentStatus.EXECUTED
        # A wakes up: its claim is gone, it sends nothing
        after = await a._submit(order, child.legs[0], await a._fresh_market(NEWSOM, "polymarket"))
        assert after.status == "filled"
        assert await paper_orders(a) == 1
        assert len(await a.journal.orders_for_intent(cid)) == 1
