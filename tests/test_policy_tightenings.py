"""Stored risk-policy tightenings (#16): a person's tighten_risk_policy is kept in the store, so every engine on the
database (replicas) and every later start applies it; the policy in force is the operator's settings under that
person's tightenings, never looser than the settings (a stored value looser than a setting lowered since loses to the
setting), and mana keeps caps of its own. In-process with the real parts (the store on SQLite and on PostgreSQL from
tests/pg_server.py, the market service and the Polymarket adapter on the loopback simulator, the paper broker); the
pure fold (pm_mcp.domain.policy.with_tightenings) is unit- and property-tested below."""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_execution_engine import buy, settings_for, sim  # noqa: F401 - sim: a fixture

import pm_mcp.execution  # noqa: F401 - startup hook + migrations
import pm_mcp.markets.service  # noqa: F401
from pm_mcp import principal
from pm_mcp.app import app_lifespan
from pm_mcp.domain.intents import IntentStatus
from pm_mcp.domain.policy import RiskPolicy, with_tightenings
from pm_mcp.execution import propose_intent
from pm_mcp.execution.engine import ExecutionEngine, ExecutionError
from pm_mcp.principal import Principal

A = Principal("oauth:alice", authenticated=True)
B = Principal("oauth:bob", authenticated=True)


def base(**kw) -> RiskPolicy:
    data = dict(bankroll=D(1000), max_order_usd=D(100), max_event_fraction=D("0.2"), max_daily_usd=D(500),
                kelly_fraction=D("0.25"), allowed_venues=["polymarket", "kalshi", "manifold"], live_enabled=False)
    data.update(kw)
    return RiskPolicy(**data)


# --- the pure fold ---------------------------------------------------------------------------------------------------
def test_each_limit_is_the_strictest_of_the_setting_and_every_tightening():
    p = with_tightenings(base(), [("USD", {"max_order_usd": "40"}), ("USD", {"max_order_usd": "60",
                                                                              "max_daily_usd": "80"}),
                                  ("USD", {"allowed_venues": ["kalshi", "polymarket"]}),
                                  ("USD", {"allowed_venues": ["kalshi"]})])
    assert (p.max_order_usd, p.max_daily_usd, p.allowed_venues) == (D(40), D(80), ["kalshi"])
    assert p.bankroll == D(1000) and p.kelly_fraction == D("0.25")  # untouched limits stay the setting


def test_a_stored_value_looser_than_a_lowered_setting_loses_to_the_setting():
    stored = [("USD", {"max_order_usd": "40", "allowed_venues": ["kalshi", "manifold"]})]
    lowered = with_tightenings(base(max_order_usd=D(25), allowed_venues=["kalshi"]), stored)
    assert lowered.max_order_usd == D(25) and lowered.allowed_venues == ["kalshi"]  # manifold was never re-enabled
    raised = with_tightenings(base(max_order_usd=D(250)), stored)
    assert raised.max_order_usd == D(40)  # a raised setting does not undo the person's own tightening


def test_amounts_stay_in_their_currency_and_fractions_and_venues_are_shared():
    mana = base(currency="MANA")
    stored = [("USD", {"max_order_usd": "5", "kelly_fraction": "0.1"}), ("MANA", {"max_daily_usd": "30",
                                                                                  "allowed_venues": ["manifold"]})]
    usd_p, mana_p = with_tightenings(base(), stored), with_tightenings(mana, stored)
    assert (usd_p.max_order_usd, usd_p.max_daily_usd) == (D(5), D(500))  # mana's daily cap is not USD's
    assert (mana_p.max_order_usd, mana_p.max_daily_usd) == (D(100), D(30))  # nor USD's per-order cap mana's
    assert usd_p.kelly_fraction == mana_p.kelly_fraction == D("0.1")
    assert usd_p.allowed_venues == mana_p.allowed_venues == ["manifold"]
    assert mana_p.currency == "MANA"


def test_live_can_only_be_switched_off():
    live = base(live_enabled=True)
    assert with_tightenings(live, [("USD", {"live_enabled": False})]).live_enabled is False
    assert with_tightenings(base(), [("USD", {"live_enabled": True})]).live_enabled is False


@pytest.mark.parametrize("limits, says", [({"max_leverage": "2"}, "max_leverage"), ({"max_order_usd": "x"}, "x"),
                                          ({"max_order_usd": "-1"}, "positive"), ({"max_order_usd": "NaN"}, "NaN"),
                                          ({"allowed_venues": "kalshi"}, "not a list"), ({"currency": "USD"}, "currency")])
def test_an_unreadable_stored_limit_is_refused_not_dropped(limits, says):
    with pytest.raises(ValueError, match=says):
        with_tightenings(base(), [("USD", limits)])


_amount = st.decimals(min_value=D("0.01"), max_value=D(2000), places=2)
_row = st.tuples(st.sampled_from(["USD", "MANA"]), st.fixed_dictionaries({}, optional={
    "max_order_usd": _amount, "max_daily_usd": _amount, "bankroll": _amount,
    "max_event_fraction": st.decimals(min_value=D("0.01"), max_value=D(1), places=2),
    "allowed_venues": st.lists(st.sampled_from(["polymarket", "kalshi", "manifold", "other"]), max_size=3)}))


@settings(max_examples=200, deadline=None)
@given(st.lists(_row, max_size=6), st.randoms())
def test_never_looser_than_the_settings_or_any_tightening_and_order_does_not_matter(rows, rnd):
    policy = base()
    p = with_tightenings(policy, rows)
    for name in ("max_order_usd", "max_daily_usd", "bankroll", "max_event_fraction"):
        assert getattr(p, name) <= getattr(policy, name)
        for currency, limits in rows:
            if name in limits and (currency == "USD" or name == "max_event_fraction"):
                assert getattr(p, name) <= limits[name]
    assert set(p.allowed_venues) <= set(policy.allowed_venues)
    for _, limits in rows:
        if "allowed_venues" in limits:
            assert set(p.allowed_venues) <= set(limits["allowed_venues"])
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert with_tightenings(policy, shuffled) == p


# --- through the engine, on both backends ----------------------------------------------------------------------------
@asynccontextmanager
async def engines(sim, tmp_path, database_url, n=1, **kw):  # noqa: F811 - sim: the fixture's value
    """``n`` engines on one database (SQLite: one file in one home; PostgreSQL: one database), as replicas are."""
    async with AsyncExitStack() as stack:
        out = []
        for _ in range(n):
            state = await stack.enter_async_context(app_lifespan(
                settings_for(sim, tmp_path, database_url=database_url, **kw), background=False))
            engine: ExecutionEngine = state.execution
            await engine.ready()
            out.append((state, engine))
        yield out


@pytest.mark.anyio
async def test_a_tightening_on_one_engine_binds_on_the_other(sim, tmp_path, database_url):  # noqa: F811
    async with engines(sim, tmp_path, database_url, n=2) as [(_sa, a), (sb, _b)]:
        with principal.use(A):
            assert (await propose_intent(sb, [buy(size="10", limit="0.40")])).status == IntentStatus.PROPOSED
            await a.tighten(max_order_usd=D(3))
            rec = await propose_intent(sb, [buy(size="10", limit="0.40")])  # ~$4 on engine B
            assert rec.status == IntentStatus.REJECTED and "per-order cap $3" in rec.reason
            assert (await propose_intent(sb, [buy(size="5", limit="0.40")])).status == IntentStatus.PROPOSED
        with principal.use(B):  # bob's policy is the operator's
            assert (await propose_intent(sb, [buy(size="10", limit="0.40")])).status == IntentStatus.PROPOSED


@pytest.mark.anyio
async def test_two_engines_tightening_at_once_both_hold(sim, tmp_path, database_url):  # noqa: F811
    import asyncio

    async with engines(sim, tmp_path, database_url, n=2) as [(_sa, a), (_sb, b)]:
        with principal.use(A):
            # different limits (a tightening looser than one already stored is refused, so two values of one limit
            # would make the outcome depend on which write lands first)
            await asyncio.gather(a.tighten(max_order_usd=D(9), bankroll=D(800)),
                                 b.tighten(max_daily_usd=D(30)))
            for engine in (a, b):  # neither write replaced the other: the strictest of both, on both
                usd, _ = await engine.load_policies()
                assert (usd.max_order_usd, usd.bankroll, usd.max_daily_usd) == (D(9), D(800), D(30))


@pytest.mark.anyio
async def test_an_intent_proposed_before_a_tightening_elsewhere_is_not_sent(sim, tmp_path, database_url):  # noqa: F811
    async with engines(sim, tmp_path, database_url, n=2) as [(sa, a), (_sb, b)]:
        with principal.use(A):
            rec = await propose_intent(sa, [buy(size="10", limit="0.40")])
            assert rec.status == IntentStatus.PROPOSED
            await b.tighten(max_order_usd=D(2))
            done = await a.confirm(rec.intent.id, via="page", order_hash=rec.intent.order_hash)
            assert done.status == IntentStatus.FAILED and "per-order cap" in done.reason
            assert await a.journal.orders_for_intent(rec.intent.id) == []


@pytest.mark.anyio
async def test_a_tightening_survives_a_restart_and_a_lowered_setting_wins(sim, tmp_path, database_url):  # noqa: F811
    async with engines(sim, tmp_path, database_url) as [(_s, engine)]:
        with principal.use(A):
            p = await engine.tighten(max_order_usd=D(40), max_daily_usd=D(60), allowed_venues=["polymarket"])
            assert (p.max_order_usd, p.max_daily_usd) == (D(40), D(60))
            mana = await engine.tighten(currency="MANA", max_order_usd=D(7))  # mana's own per-order cap
            assert mana.currency == "MANA" and mana.max_order_usd == D(7)
            with pytest.raises(ValueError, match="only be tightened"):
                await engine.tighten(max_order_usd=D(41))  # looser than the stored 40: refused, nothing stored
            rows = await engine.journal.tightenings()
            assert [(r["currency"], r["limits"]) for r in rows] == [
                ("USD", {"max_order_usd": "40", "max_daily_usd": "60"}), ("MANA", {"max_order_usd": "7"})]
            assert all(r["replica"] == engine.holder and r["created_at"] for r in rows)
    # allowed_venues=["polymarket"] equals the configured list here, so it was not stored (nothing changed)
    # restart with a lower per-order cap (a bankroll large enough that the market's tier cap, 2% of it, is not the
    # limit that refuses first)
    async with engines(sim, tmp_path, database_url, max_order_usd=D(20), bankroll=D(5000)) as [(state, engine)]:
        with principal.use(A):
            usd, mana = await engine.load_policies()
            assert (usd.max_order_usd, usd.max_daily_usd) == (D(20), D(60))  # the setting 20 beats the stored 40
            assert mana.max_order_usd == D(7) and mana.max_daily_usd == engine.base_mana_policy.max_daily_usd
            assert (await propose_intent(state, [buy(size="25", limit="0.43")])).status == IntentStatus.PROPOSED
            rec = await propose_intent(state, [buy(size="50", limit="0.43")])  # ~$21.50: over the setting's 20
            assert rec.status == IntentStatus.REJECTED and "per-order cap $20" in rec.reason
        with principal.use(B):
            assert (await engine.load_policies())[0].max_daily_usd == engine.base_policy.max_daily_usd


@pytest.mark.anyio
async def test_a_stored_tightening_that_cannot_be_read_refuses(sim, tmp_path, database_url):  # noqa: F811
    async with engines(sim, tmp_path, database_url) as [(state, engine)]:
        with principal.use(A):
            await engine.journal.insert_tightening("USD", {"max_leverage": "2"})
            with pytest.raises(ExecutionError, match="max_leverage"):
                await propose_intent(state, [buy(size="5", limit="0.40")])
            assert not await engine.journal.intents_with_status(*IntentStatus)
        with principal.use(B):  # only that person's
            assert (await propose_intent(state, [buy(size="5", limit="0.40")])).status == IntentStatus.PROPOSED
