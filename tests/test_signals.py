"""The pure signal analysis (pm_mcp.domain.signals) and the Data API client's parsing and bounded pagination
(pm_mcp.venues.polymarket.data) on the recorded rows of tests/fixtures/polymarket/data_v2_*.json and the
simulator (tools/sim/polymarket_data.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm_mcp.domain.signals import (
    MIN_RESOLVED,
    TIER_NAMES,
    Activity,
    Holder,
    HolderSignal,
    WalletPosition,
    bot_check,
    calibration,
    decay_weight,
    holder_signal,
    summarize_holders,
    tier_move,
    wallet_record,
)
from pm_mcp.venues.base import VenueUnavailable
from pm_mcp.venues.http import VenueHttp
from pm_mcp.venues.polymarket.data import PolymarketData, parse_activity, parse_holder, parse_position
from tools.sim import start_sim
from tools.sim.polymarket_data import add_wallet

FIX = Path(__file__).parent / "fixtures" / "polymarket"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def load(name):
    return json.loads((FIX / name).read_text(encoding="utf-8"))


def closed(i: int, won: bool, entry: str = "0.4", cost: str = "100") -> WalletPosition:
    e, c = Decimal(entry), Decimal(cost)
    pnl = c / e - c if won else -c
    return WalletPosition(wallet="0xw", condition_id=f"0x{i:064x}", status="CLOSED", avg_price=e, cost_usd=c,
                          current_price=Decimal(1 if won else 0), realized_pnl_usd=pnl)


# --- parsing the recorded rows -------------------------------------------------------------------------------
def test_recorded_positions_activity_trades_and_holders_parse_as_decimal():
    ps = [parse_position(r) for r in load("data_v2_positions.json")]
    assert [p.outcome for p in ps] == ["No", "Yes"] and ps[0].size == Decimal("400000.0")
    assert ps[0].unrealized_pnl_usd == Decimal("101800.0") and not ps[0].resolved
    assert ps[0].last_event_at == datetime.fromtimestamp(1787499970, UTC)
    acts = [parse_activity(r) for r in load("data_v2_activity.json")]
    assert acts[0].usd == Decimal("13.285715") and acts[0].side == "BUY"
    trades = [parse_activity(r) for r in load("data_v2_trades.json")]
    assert trades[1].side == "SELL" and trades[1].price == Decimal("0.84")
    groups = load("signals/data_v2_holders.json")
    h = parse_holder(groups[1]["holders"][0], groups[1]["token_id"])
    assert h.shares == Decimal("7493500.0") and h.name == "12Alexander12" and h.outcome_index == 1
    assert parse_holder(groups[0]["holders"][0]).name == ""  # display_username_public false


def test_recorded_two_sided_wallet_nets_its_marks_and_has_no_record():
    ps = [parse_position(r) for r in load("data_v2_positions.json")]
    r = wallet_record(ps[0].wallet, ps, [], portfolio_value=Decimal("684953.8942"))
    assert r.pnl_unrealised_usd == 0 and r.pnl_resolved_usd == 0 and r.verdict == "no_record"
    assert r.portfolio_value_usd == Decimal("684953.89") and r.open_value_usd == Decimal("400000.00")


# --- holders ---------------------------------------------------------------------------------------------------
def test_holders_shares_of_listed_and_of_open_interest_and_concentration():
    hs = [Holder(wallet=f"0x{i}", shares=Decimal(s)) for i, s in enumerate(["600", "300", "100"])]
    o = summarize_holders(hs, "Yes", limit=2, open_interest=Decimal("2000"))
    assert [h.share_of_listed for h in o.holders] == [Decimal("0.6000"), Decimal("0.3000")]
    assert o.holders[0].share_of_open_interest == Decimal("0.3000") and o.hhi == Decimal("0.4600")
    assert o.concentration == "highly concentrated" and o.top5_share == Decimal("1.0000")
    flat = summarize_holders([Holder(wallet=f"0x{i}", shares=Decimal(10)) for i in range(20)], "No")
    assert flat.concentration == "dispersed" and flat.holders[0].share_of_open_interest is None
    assert summarize_holders([], "No").concentration == "no holders listed"


# --- a record --------------------------------------------------------------------------------------------------
def test_a_record_of_three_is_not_a_record_and_twenty_winners_are_proven():
    assert wallet_record("0xw", [], [closed(i, True) for i in range(3)]).verdict == "no_record"
    r = wallet_record("0xw", [], [closed(i, i % 4 != 0) for i in range(40)])
    assert r.resolved_markets == 40 >= MIN_RESOLVED and r.verdict == "proven" and r.follow_worthy
    assert r.calibration.win_rate == 0.75 and r.calibration.mean_entry_price == 0.4 and r.calibration.z > 2
    coin = wallet_record("0xw", [], [closed(i, i % 5 < 2) for i in range(40)])  # wins 40% at 0.40: luck
    assert coin.verdict == "unproven"
    lose = wallet_record("0xw", [], [closed(i, i % 5 == 0) for i in range(40)])
    assert lose.verdict == "losing" and lose.pnl_resolved_usd < 0


def test_resolved_realised_early_and_unrealised_are_kept_apart():
    sold_early = WalletPosition(wallet="0xw", condition_id="0xa", status="CLOSED", current_price=Decimal("0.55"),
                                realized_pnl_usd=Decimal("12.5"))
    settled = WalletPosition(wallet="0xw", condition_id="0xb", status="OPEN", size=Decimal(10), current_price=ONE,
                             avg_price=Decimal("0.3"), cost_usd=Decimal(3), unrealized_pnl_usd=Decimal(7),
                             redeemable=True)
    mark = WalletPosition(wallet="0xw", condition_id="0xc", status="OPEN", size=Decimal(10),
                          current_price=Decimal("0.6"), value_usd=Decimal(6), unrealized_pnl_usd=Decimal(2))
    r = wallet_record("0xw", [settled, mark], [sold_early])
    assert (r.pnl_resolved_usd, r.pnl_realised_unresolved_usd, r.pnl_unrealised_usd) == (
        Decimal("7.00"), Decimal("12.50"), Decimal("2.00"))
    assert r.resolved_markets == 1 and r.open_value_usd == Decimal("6.00")


ONE = Decimal(1)


def test_calibration_needs_entry_prices_inside_zero_one():
    assert calibration([closed(1, True, entry="1")]) is None
    c = calibration([closed(1, True, "0.5"), closed(2, False, "0.5")])
    assert c.brier == 0.25 and c.excess == 0.0


# --- bots --------------------------------------------------------------------------------------------------------
def test_a_market_maker_pattern_is_flagged_with_reasons_and_a_person_is_not():
    t0 = NOW - timedelta(days=3)
    mm = [Activity(timestamp=t0 + timedelta(seconds=20 * i), side=("BUY", "SELL")[i % 2], usd=Decimal(50),
                   size=Decimal(100), condition_id=f"0x{(i // 2) % 4}", outcome_index=0) for i in range(300)]
    b = bot_check(mm)
    assert b.likelihood == "high" and len(b.reasons) >= 3
    assert any("cadence" in r for r in b.reasons) and any("size regularity" in r for r in b.reasons)
    person = [Activity(timestamp=t0 + timedelta(hours=7 * i), side="BUY", usd=Decimal(10 + 37 * i % 400),
                       condition_id=f"0x{i}") for i in range(30)]
    assert bot_check(person).likelihood == "low"
    proven_bot = wallet_record("0xw", [], [closed(i, i % 4 != 0) for i in range(40)], mm)
    assert proven_bot.verdict == "proven" and not proven_bot.follow_worthy and "bot" in proven_bot.verdict_reason


# --- the signal and the tier -------------------------------------------------------------------------------------
def _records(*wallets: str):
    good = wallet_record("0xw", [], [closed(i, i % 4 != 0) for i in range(40)])
    return {w: good.model_copy(update={"wallet": w}) for w in wallets}


def test_signal_counts_only_proven_holders_with_decay():
    yes = [Holder(wallet="0xa", shares=Decimal(1000)), Holder(wallet="0xb", shares=Decimal(1000))]
    no = [Holder(wallet="0xwhale", shares=Decimal(50000))]
    sig = holder_signal([("Yes", yes), ("No", no)], _records("0xa", "0xb"), {("0xa", "Yes"): 1.0, ("0xb", "Yes"): 14.0},
                        {"Yes": Decimal("0.3"), "No": Decimal("0.7")})
    assert sig.proven_wallets == 2 and sig.direction == "Yes" and sig.strength == 1.0
    assert [h.weight for h in sig.holdings] == [round(0.5 ** (1 / 14), 3), 0.5]
    assert sig.weighted_usd["No"] == 0 and "lean 'Yes'" in sig.note
    stale = holder_signal([("Yes", yes)], _records("0xa", "0xb"), {("0xa", "Yes"): 90.0, ("0xb", "Yes"): 90.0}, {})
    assert "stale" in stale.note and tier_move(stale, "Yes", "medium", "high").steps == 0
    one = holder_signal([("Yes", yes[:1])], _records("0xa"), {}, {})
    assert "anecdote" in one.note and tier_move(one, "Yes", "low", "high").steps == 0
    assert decay_weight(None) == 0.5 and decay_weight(0) == 1.0


def _lean(direction: str | None) -> HolderSignal:
    return HolderSignal(checked_wallets=5, proven_wallets=3, direction=direction, strength=0.9, mean_weight=0.9)


def test_tier_moves_one_step_within_the_cap_and_never_from_none():
    assert tier_move(_lean("Yes"), "Yes", "medium", "high").tier_after == "high"
    assert tier_move(_lean("Yes"), "Yes", "high", "high").tier_after == "high"
    assert tier_move(_lean("Yes"), "Yes", "high", "medium").tier_after == "medium"  # above the cap: down to it
    assert tier_move(_lean("Yes"), "Yes", "medium", None).steps == 0
    assert tier_move(_lean("Yes"), "Yes", "none", "very_high").tier_after == "none"
    assert tier_move(_lean("No"), "Yes", "medium", "high").tier_after == "low"
    assert tier_move(None, "Yes", "medium", "high").steps == 0
    with pytest.raises(ValueError, match="max_tier 'huge'"):
        tier_move(_lean("Yes"), "Yes", "low", "huge")


@given(st.sampled_from(TIER_NAMES), st.sampled_from((*TIER_NAMES, None)), st.sampled_from(("Yes", "No", None)),
       st.floats(0, 1), st.floats(0, 1), st.integers(0, 5))
def test_tier_move_never_passes_a_cap_and_moves_one_step_at_most(tier, cap, lean, strength, weight, proven):
    sig = HolderSignal(checked_wallets=5, proven_wallets=proven, direction=lean, strength=strength, mean_weight=weight)
    t = tier_move(sig, "Yes", tier, cap)
    i, j = TIER_NAMES.index(tier), TIER_NAMES.index(t.tier_after)
    assert t.probability_unchanged and t.steps == j - i
    if cap is not None:
        assert j <= TIER_NAMES.index(cap)  # never past the cap
        assert j >= i - 1 or j == TIER_NAMES.index(cap)  # one step down at most, unless down to the cap
    else:
        assert abs(j - i) <= 1
    if j > i:
        assert cap is not None and j <= TIER_NAMES.index(cap) and tier != "none"


# --- the client on the simulator: bounded pagination and partial answers ------------------------------------------
def test_client_paginates_bounds_and_reports_a_failed_later_page():
    async def main(sim):
        big = add_wallet(sim, "unit-big", resolved=1200)
        async with VenueHttp("polymarket", sim.url + "/data", attempts=1) as http:
            api = PolymarketData(http)
            full = await api.positions(big, status="CLOSED", max_items=5000)
            cut = await api.positions(big, status="CLOSED", max_items=700)
            sim.inject("status", status=429, times=None, path="/data/v2/positions")
            with pytest.raises(VenueUnavailable):
                await api.positions(big, status="CLOSED")
            sim.clear_faults()
            api.page_size = 100
            sim.inject("status", status=503, times=None, path="/data/v2/activity")
            with pytest.raises(VenueUnavailable):
                await api.activity(big)
            return full, cut

    with start_sim("polymarket") as sim:
        full, cut = asyncio.run(main(sim))
    assert len(full.items) == 1200 and full.pages == 3 and not full.cut and full.notes("x") == []
    assert len(cut.items) == 700 and cut.cut and "bounded" in cut.notes("closed positions")[0]


def test_a_later_page_failing_keeps_what_was_read_and_says_so():
    async def main(sim):
        big = add_wallet(sim, "unit-big2", resolved=300)
        async with VenueHttp("polymarket", sim.url + "/data", attempts=1) as http:
            api = PolymarketData(http, page_size=100)
            page1 = await api.positions(big, status="CLOSED", max_items=100)
            orig, calls = http.get_json, 0

            async def rate_limited_after_the_first_page(path, params=None, **kw):
                nonlocal calls
                calls += 1
                if calls > 1:
                    sim.inject("status", status=429, times=1, path="/data/v2/positions")
                return await orig(path, params, **kw)

            http.get_json = rate_limited_after_the_first_page
            partial = await api.positions(big, status="CLOSED", max_items=1000)
            return page1, partial

    with start_sim("polymarket") as sim:
        page1, partial = asyncio.run(main(sim))
    assert len(page1.items) == 100 and page1.cut
    assert len(partial.items) == 100 and partial.problem and "stopped after 100 rows" in partial.notes("c")[0]
