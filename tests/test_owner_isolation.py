"""Per-user data (#16 item 4): the OAuth subject owns its intents, orders, fills, positions, watches and alerts,
standing orders, tightened policy, daily spend and event exposure, verified readings and track record. In-process
with the real parts (the store on SQLite and on PostgreSQL from tests/pg_server.py, the market service and the
Polymarket adapter on the loopback simulator, the paper broker, the watch runner and standing orders); the people
are set with ``pm_mcp.principal.use`` as the OAuth layer sets them around each request.

What must hold: B cannot list, read, confirm, cancel or watch A's rows, and every such try fails exactly like an
unknown id; one person's trades never use another's caps; background work (sync, settlement, watches, standing
orders) acts for the row's owner; rows written before owners existed are the local person's."""

from __future__ import annotations

import asyncio
import json
import re
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal as D

import pytest
from test_execution_engine import NEWSOM, YES, buy, settings_for, sim  # noqa: F401 - sim: a fixture
from test_standing import intent as old_intent

import pm_mcp.execution  # noqa: F401 - startup hook + migrations
import pm_mcp.execution.watches  # noqa: F401 - migrations: watches, alerts
import pm_mcp.markets.service  # noqa: F401
from pm_mcp import principal
from pm_mcp import store as store_mod
from pm_mcp.app import app_lifespan
from pm_mcp.domain.intents import IntentStatus
from pm_mcp.domain.watches import WatchKind, WatchRefused, WatchSpec
from pm_mcp.execution import propose_intent
from pm_mcp.execution.engine import ExecutionEngine, ExecutionError
from pm_mcp.execution.journal import EVERYONE, now_utc
from pm_mcp.execution.portfolio import portfolio, track_record
from pm_mcp.execution.runner import sync_once
from pm_mcp.execution.watches import WatchStore, create_watch
from pm_mcp.markets.readings import ReadingStore
from pm_mcp.principal import Principal
from pm_mcp.store_pg import open_store
from tools.sim.polymarket import set_book

pytestmark = pytest.mark.anyio

A = Principal("oauth:alice", authenticated=True)
B = Principal("oauth:bob", authenticated=True)


@asynccontextmanager
async def running(sim, tmp_path, database_url, **kw):  # noqa: F811 - sim: the fixture's value
    async with app_lifespan(settings_for(sim, tmp_path, database_url=database_url, **kw), background=False) as state:
        engine: ExecutionEngine = state.execution
        await engine.ready()
        yield state, engine


async def confirm(engine: ExecutionEngine, rec):
    return await engine.confirm(rec.intent.id, via="page", order_hash=rec.intent.order_hash)


async def refusal(coro) -> str:
    """The message of the ExecutionError ``coro`` raises (it must raise one)."""
    with pytest.raises(ExecutionError) as info:
        await coro
    return str(info.value)


def unknown_like(message: str, real_id: str, made_up: str) -> str:
    return message.replace(real_id, made_up)


async def test_b_cannot_list_read_confirm_or_cancel_as_intents_and_orders(sim, tmp_path, database_url):  # noqa: F811
    async with running(sim, tmp_path, database_url) as (state, engine):
        with principal.use(A):
            done = await confirm(engine, await propose_intent(state, [buy()], forecast_p="0.5",
                                                              forecast_source="alice-model"))
            assert done.status == IntentStatus.EXECUTED and done.owner == A.owner
            [order] = await engine.journal.orders_for_intent(done.intent.id)
            assert order.owner == A.owner and order.status == "partially_filled"  # 20 filled, 5 rest
            pending = await propose_intent(state, [buy(size="5", limit="0.39")])  # A's proposal, not yet approved
        with principal.use(B):
            # nothing of A's in any list
            assert (await engine.journal.list_orders("paper", status=None, offset=0, limit=50)) == ([], 0)
            assert await engine.journal.open_orders("paper") == []
            assert await engine.journal.positions("paper") == []
            assert await engine.journal.intents_with_status(*IntentStatus) == []
            snap = await portfolio(engine)
            assert snap.positions == [] and snap.open_orders == 0 and snap.daily_spent == 0 and snap.exposure == []
            assert (await track_record(engine)).forecasts == []
            # A's ids read like ids that never existed
            assert await engine.journal.load_order(order.id) is None
            assert await engine.journal.load_order(order.client_order_id) is None
            assert await engine.journal.orders_for_intent(done.intent.id) == []
            assert await engine.journal.fills_for_order(order.id) == []
            made_up_intent, made_up_order = "i-000000000000", "o-000000000000"
            for real, fake, call in (
                    (pending.intent.id, made_up_intent, lambda i: engine.get_intent(i)),
                    (pending.intent.id, made_up_intent,
                     lambda i: engine.confirm(i, via="page", order_hash=pending.intent.order_hash)),
                    (pending.intent.id, made_up_intent, lambda i: engine.cancel(i)),
                    (done.intent.id, made_up_intent, lambda i: engine.cancel(i)),
                    (order.id, made_up_order, lambda i: engine.cancel(i))):
                assert unknown_like(await refusal(call(real)), real, fake) == await refusal(call(fake))
            # a compare-and-set on A's intent does not move it either
            assert not await engine.journal.transition(pending.intent.id, (IntentStatus.PROPOSED,),
                                                       IntentStatus.REJECTED, reason="bob")
            # B's own order is B's, beside A's
            mine = await confirm(engine, await propose_intent(state, [buy(size="5", limit="0.43")]))
            assert mine.status == IntentStatus.EXECUTED
            orders, total = await engine.journal.list_orders("paper", status=None, offset=0, limit=50)
            assert total == 1 and orders[0].intent_id == mine.intent.id and orders[0].owner == B.owner
        with principal.use(A):  # A still has everything, untouched by B's tries
            assert (await engine.get_intent(pending.intent.id)).status == IntentStatus.PROPOSED
            assert [o.id for o in (await engine.journal.list_orders("paper", status=None, offset=0, limit=50))[0]] \
                == [order.id]
            assert (await engine.journal.position("paper", "polymarket", NEWSOM, "Yes")).size == D(20)
            [f] = (await track_record(engine)).forecasts
            assert f.intent_id == done.intent.id and f.source == "alice-model"
            cancelled, _ = await engine.cancel(pending.intent.id)
            assert cancelled.status == IntentStatus.REJECTED
        # the local person (OAuth off) sees neither
        assert await engine.journal.load_order(order.id) is None
        assert await engine.journal.positions("paper") == []
        # positions: one row per owner for the same market and outcome
        everyone = await engine.journal.positions("paper", owner=EVERYONE)
        assert sorted((p.owner, p.size) for p in everyone) == [(A.owner, D(20)), (B.owner, D(5))]


async def test_caps_and_tightened_policy_are_per_owner(sim, tmp_path, database_url):  # noqa: F811
    # one order of 25 at <= 0.43 costs at most ~$10.75 plus fees: a second one the same day passes $15 (the bankroll is
    # large enough that the market's tier cap, 2% of it for the position, is not what refuses first)
    async with running(sim, tmp_path, database_url, max_daily_usd=D(15), bankroll=D(5000)) as (state, engine):
        with principal.use(A):
            first = await confirm(engine, await propose_intent(state, [buy()]))
            assert first.status == IntentStatus.EXECUTED
            spent_a = await engine.daily_spent()
            exposure_a = await engine.exposure("30829")
            assert spent_a > D(10) and exposure_a > D(10)
            second = await propose_intent(state, [buy()])
            assert second.status == IntentStatus.REJECTED and "daily" in (second.reason or "").lower()
            await engine.tighten(max_order_usd=D(3))
            assert engine.policy.max_order_usd == D(3)
        with principal.use(B):  # A's spend, exposure and tightening are not B's
            assert await engine.daily_spent() == 0 and await engine.exposure("30829") == 0
            assert engine.policy.max_order_usd == engine.base_policy.max_order_usd
            rec = await propose_intent(state, [buy()])
            assert rec.status == IntentStatus.PROPOSED and rec.intent.policy.ok
            assert (await confirm(engine, rec)).status == IntentStatus.EXECUTED
        with principal.use(A):  # B's trade did not change A's figures
            assert await engine.daily_spent() == spent_a and await engine.exposure("30829") == exposure_a
            small = await propose_intent(state, [buy(size="10", limit="0.40")])
            assert small.status == IntentStatus.REJECTED  # A's own tightening ($3 per order) still holds
        assert engine.policy.max_order_usd == engine.base_policy.max_order_usd  # and the local person's is the default


async def test_background_sync_and_settlement_act_for_the_orders_owner(sim, tmp_path, database_url):  # noqa: F811
    async with running(sim, tmp_path, database_url) as (state, engine):
        with principal.use(A):
            done = await confirm(engine, await propose_intent(state, [buy()]))
            [order] = await engine.journal.orders_for_intent(done.intent.id)
            assert order.remaining == D(5)
        # the book now crosses A's resting 5 @ 0.43; the runner's pass runs as nobody in particular
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.41", "50")], tick_size="0.01")
        await sync_once(engine)
        with principal.use(A):
            after = await engine.journal.load_order(order.id)
            assert after.status == "filled" and after.filled_size == D(25)
            assert (await engine.journal.position("paper", "polymarket", NEWSOM, "Yes")).size == D(25)
            assert len(await engine.journal.fills_for_order(order.id)) >= 3
        assert await engine.journal.positions("paper") == []  # nothing landed on the local person
        with principal.use(B):
            assert await engine.journal.positions("paper") == []
        rows = await (await state.store.conn.execute("SELECT DISTINCT owner FROM fills")).fetchall()
        assert [r[0] for r in rows] == [A.owner]
        # the market resolves YES: A's position is paid out as A's
        sim.state["markets"][NEWSOM].update(closed=True, outcomePrices='["1", "0"]')
        await sync_once(engine)
        with principal.use(A):
            pos = await engine.journal.position("paper", "polymarket", NEWSOM, "Yes")
            assert pos.size == 0 and pos.data.get("settled") and pos.realized_pnl > 0
        rows = await (await state.store.conn.execute("SELECT owner FROM positions")).fetchall()
        assert [r[0] for r in rows] == [A.owner]


async def until(read, timeout_s: float = 20.0):
    """Poll ``read()`` until it returns something truthy (the server's own runner works in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        got = await read()
        if got or asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(0.1)


async def test_watches_alerts_and_readings_are_per_owner(sim, tmp_path, database_url):  # noqa: F811
    # the server's own runner checks the watches every 0.2 s, as nobody in particular
    async with running(sim, tmp_path, database_url, watch_interval_s=0.2) as (state, engine):
        ws = WatchStore(state.store)
        with principal.use(A):
            done = await confirm(engine, await propose_intent(state, [buy()]))
            [order] = await engine.journal.orders_for_intent(done.intent.id)
            w, _already, _now = await create_watch(state, WatchSpec(kind=WatchKind.ORDER_DONE, venue="", market_id="",
                                                                   order_id=order.id), expires_at=None, cooldown_s=None)
            assert w.owner == A.owner
        with principal.use(B):
            # B cannot watch A's order: the same words as for an order that does not exist
            msgs = []
            for oid in (order.id, "o-000000000000"):
                with pytest.raises(WatchRefused) as info:
                    await create_watch(state, WatchSpec(kind=WatchKind.ORDER_DONE, venue="", market_id="", order_id=oid),
                                       expires_at=None, cooldown_s=None)
                msgs.append(str(info.value).replace(oid, "<id>"))
            assert msgs[0] == msgs[1]
            assert await ws.get(w.id) is None and await ws.list(None) == []
            await ws.delete(w.id)  # deleting someone else's watch does nothing
        # the order ends (A cancels it); the runner's pass (no principal) reads the order as the watch's owner
        with principal.use(A):
            await engine.cancel(order.id)
        fired = await until(lambda: ws.alerts_after(0, owner=EVERYONE))
        assert [(a["watch_id"], a["owner"]) for a in fired] == [(w.id, A.owner)]
        with principal.use(B):
            assert await ws.alerts_after(0) == [] and await ws.alerts_for(w.id) == []
            assert await ws.read_pointer() == 0
        with principal.use(A):
            assert (await ws.get(w.id)).status == "done"
            [alert] = await ws.alerts_after(await ws.read_pointer())
            await ws.set_read_pointer(alert["seq"])
            assert await ws.alerts_after(await ws.read_pointer()) == []
        with principal.use(B):
            assert await ws.read_pointer() == 0  # A's read pointer is A's
        assert await ws.read_pointer() == 0 and await ws.alerts_after(0) == []  # and the local person's is theirs
        # verified readings: A's reading does not stand in for B's
        from pm_mcp.domain.reading import VerifiedReading

        reading = VerifiedReading(venue="polymarket", market_id=NEWSOM, rules_hash="h1", items=[])
        with principal.use(A):
            await ReadingStore(state.store).put(reading)
            assert (await ReadingStore(state.store).get("polymarket", NEWSOM, "h1"))[0] is not None
        with principal.use(B):
            assert await ReadingStore(state.store).get("polymarket", NEWSOM, "h1") == (None, None)
        assert await ReadingStore(state.store).get("polymarket", NEWSOM, "h1") == (None, None)


async def test_a_standing_order_triggers_and_executes_as_its_owner(sim, tmp_path, database_url):  # noqa: F811
    # the book's ask is 0.45 now: above the trigger; the server's runner checks every 0.2 s
    set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.45", "100")], tick_size="0.01")
    async with running(sim, tmp_path, database_url, watch_interval_s=0.2) as (state, engine):
        with principal.use(A):
            rec = await engine.propose([buy(size="5", limit="0.43")], trigger={"kind": "price_below", "level": "0.41"},
                                       valid_until=now_utc() + timedelta(hours=1))
            armed = await confirm(engine, rec)
            assert armed.status == IntentStatus.ARMED
            # the runner (as nobody in particular) makes the standing order's trigger watch: A's
            assert await until(lambda: WatchStore(state.store).get("w-" + rec.intent.id)) is not None
        with principal.use(B):
            assert await WatchStore(state.store).list(None) == []
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "100")], tick_size="0.01")  # 0.40 <= 0.41: fires

        async def executed():
            with principal.use(A):
                parent = await engine.get_intent(rec.intent.id)
            return parent if parent.status == IntentStatus.EXECUTED else None

        parent = await until(executed)
        with principal.use(A):
            parent = await engine.get_intent(rec.intent.id)
            assert parent.status == IntentStatus.EXECUTED, parent
            child = await engine.get_intent(rec.intent.id + "-1")
            assert child.owner == A.owner and child.status == IntentStatus.EXECUTED
            [o] = await engine.child_orders(rec.intent.id)
            assert o.owner == A.owner and o.filled_size == D(5)
        with principal.use(B):
            assert await engine.child_orders(rec.intent.id) == []
            assert "no intent" in await refusal(engine.get_intent(rec.intent.id + "-1"))
        rows = await (await state.store.conn.execute("SELECT DISTINCT owner FROM orders")).fetchall()
        assert [r[0] for r in rows] == [A.owner]


# --- the migration ------------------------------------------------------------------------------------------
OWNED = {"core": 1, "watches": 1, "readings": 1}  # the versions before owners


async def test_rows_written_before_owners_belong_to_local(tmp_path, database_url, monkeypatch):
    path = tmp_path / "home" / "pm.sqlite3"
    full = dict(store_mod._MIGRATIONS)
    monkeypatch.setattr(store_mod, "_MIGRATIONS", {k: v[:OWNED[k]] if k in OWNED else v for k, v in full.items()})
    old = await open_store(path, database_url)
    try:
        assert {k: v for k, v in (await old.schema_versions()).items() if k in OWNED} == OWNED
        c = old.conn
        it = old_intent()  # "i-abc", as a server before owners stored it
        await c.execute(
            "INSERT INTO intents (id, created_at, expires_at, status, mode, venue, market_id, outcome, side,"
            " limit_price, size, worst_case_cost, fees, order_hash, data) VALUES"
            " ('i-old', '2026-01-01T00:00:00+00:00', '2026-01-01T00:05:00+00:00', 'executed', 'paper', 'polymarket',"
            " 'm1', 'Yes', 'buy', '0.4', '10', '4', '0', 'h', ?)",
            (json.dumps({"intent": it.model_dump(mode="json"), "channel": "page", "reason": None, "rules": {}}),))
        await c.execute(
            "INSERT INTO orders (id, intent_id, client_order_id, created_at, updated_at, status, mode, venue, market_id,"
            " outcome, side, limit_price, size, data) VALUES ('o-old', 'i-old', 'c-old', '2026-01-01T00:00:00+00:00',"
            " '2026-01-01T00:00:00+00:00', 'open', 'paper', 'polymarket', 'm1', 'Yes', 'buy', '0.4', '10', '{}')")
        await c.execute("INSERT INTO positions (mode, venue, market_id, outcome, size, avg_cost, updated_at) VALUES"
                        " ('paper', 'polymarket', 'm1', 'Yes', '10', '0.4', '2026-01-01T00:00:00+00:00')")
        await c.execute(
            "INSERT INTO watches (id, created_at, expires_at, status, kind, venue, market_id, spec, description,"
            " cooldown_s) VALUES ('w-old', '2026-01-01T00:00:00+00:00', '2099-01-01T00:00:00+00:00', 'active',"
            " 'price_below', 'polymarket', 'm1', ?, 'old watch', 0)",
            (WatchSpec(kind=WatchKind.PRICE_BELOW, venue="polymarket", market_id="m1", outcome="Yes",
                       level=D("0.3")).model_dump_json(),))
        await c.execute("INSERT INTO alerts (watch_id, fire_no, at, text, data) VALUES"
                        " ('w-old', 1, '2026-01-01T00:00:00+00:00', 'fired', '{}')")
        await c.execute("INSERT INTO verified_readings (venue, market_id, rules_hash, created_at, data) VALUES"
                        " ('polymarket', 'm1', 'h1', '2026-01-01T00:00:00+00:00', ?)",
                        ('{"venue": "polymarket", "market_id": "m1", "rules_hash": "h1", "items": []}',))
        await old.kv_set("watch_alerts_read_seq", "1")
    finally:
        await old.close()
    monkeypatch.setattr(store_mod, "_MIGRATIONS", full)
    s = await open_store(path, database_url)
    try:
        versions = await s.schema_versions()
        assert all(versions[k] == len(full[k]) > OWNED[k] for k in OWNED)
        for table in ("intents", "orders", "fills", "positions", "watches", "alerts", "verified_readings"):
            rows = await (await s.conn.execute(f"SELECT DISTINCT owner FROM {table}")).fetchall()
            assert [r[0] for r in rows] in ([], ["local"]), table
        from pm_mcp.execution.journal import Journal

        j, ws = Journal(s), WatchStore(s)
        # the local person (OAuth off: everything as before) still sees them all
        got = await j.load_intent("i-old")
        assert got.owner == "local" and got.intent.order_hash == it.order_hash
        assert (await j.load_order("o-old")).owner == "local"
        assert [p.size for p in await j.positions("paper")] == [D(10)]
        assert (await ws.get("w-old")).owner == "local" and len(await ws.alerts_for("w-old")) == 1
        assert await ws.read_pointer() == 1  # the local kv key reads as before
        assert (await ReadingStore(s).get("polymarket", "m1", "h1"))[0] is not None
        with principal.use(A):  # an OAuth user sees none of them
            assert await j.load_intent("i-old") is None and await j.load_order("o-old") is None
            assert await j.positions("paper") == [] and await ws.get("w-old") is None
            assert await ws.alerts_after(0) == [] and await ws.read_pointer() == 0
            assert await ReadingStore(s).get("polymarket", "m1", "h1") == (None, None)
        # the client order id stays unique across owners (exactly once does not depend on who asks)
        with principal.use(A):
            cur = await s.conn.execute(
                "INSERT OR IGNORE INTO orders (id, client_order_id, created_at, updated_at, status, mode, venue,"
                " market_id, outcome, side, limit_price, size, data, owner) VALUES ('o-new', 'c-old', 'x', 'x',"
                " 'pending', 'paper', 'polymarket', 'm1', 'Yes', 'buy', '0.4', '1', '{}', ?)", (A.owner,))
            assert cur.rowcount == 0
    finally:
        await s.close()


async def test_owner_key_keeps_the_local_key():
    assert store_mod.owner_key("k") == "k"
    with principal.use(A):
        assert store_mod.owner_key("k") == "k@owner:oauth:alice" != store_mod.owner_key("k", "oauth:bob")
    assert re.fullmatch(r"k@owner:.+", store_mod.owner_key("k", "x"))
