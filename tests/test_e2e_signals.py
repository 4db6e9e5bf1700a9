"""End-to-end: get_market_holders and get_wallet_record through the official MCP client against the real
`pm-mcp` process, on the Polymarket simulator's Data API (recorded rows of tests/fixtures/polymarket/data_v2_*
and the SYNTHETIC holders and wallets of tools/sim/polymarket_data.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import connect
from tools.sim import start_sims
from tools.sim.polymarket_data import add_wallet, synthetic_wallet

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"  # the recorded Newsom 2028 market; its holder table is SYNTHETIC
RECORDED_WALLET = "0x7c3db723f1d4d8cb9c550095203b686cb11e5c6b"  # data_v2_positions.json / value.json


@pytest.fixture
def sims():
    with start_sims("polymarket", "kalshi") as group:
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket,kalshi", "PM_MCP_HTTP_TIMEOUT_S": "3"}


async def ok(client, tool, args):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def err(client, tool, args) -> str:
    r = await client.call_tool(tool, args)
    assert r.is_error, r.content[0].text
    return r.content[0].text


async def test_holders_records_a_bot_and_a_tier_moved_within_its_cap(env, sims):
    async with connect(env) as client:
        # a market's holders: per outcome, largest first, concentration, short wallet forms in the text
        out, text = await ok(client, "get_market_holders", {"market": NEWSOM})
        yes, no = out["outcomes"]
        assert (yes["outcome"], no["outcome"]) == ("Yes", "No")
        assert [h["wallet"] for h in yes["holders"]][:1] == [synthetic_wallet("proven_a")]
        assert no["holders"][0]["wallet"] == synthetic_wallet("whale")
        assert Decimal(no["holders"][0]["share_of_listed"]) == Decimal("0.5970")  # 20000 / 33500
        assert no["concentration"] == "highly concentrated" and out["signal"] is None
        assert synthetic_wallet("whale")[:6] in text and "Data API requests" in text

        # a wallet's record: resolved P&L apart from unrealised marks; 60 resolved markets; proven
        rec, text = await ok(client, "get_wallet_record", {"wallet": synthetic_wallet("proven_a")})
        r = rec["record"]
        assert r["verdict"] == "proven" and r["resolved_markets"] == 60 and r["follow_worthy"] is True
        assert Decimal(r["pnl_resolved_usd"]) > 0 and Decimal(r["pnl_unrealised_usd"]) == Decimal("472.50")
        assert "unrealised marks" in text and "(not a record)" in text

        # the recorded wallet: two open sides of one market, marks +101800 / -101800 net to 0; no record
        rec, _ = await ok(client, "get_wallet_record", {"wallet": RECORDED_WALLET.upper().replace("0X", "0x")})
        r = rec["record"]
        assert r["open_positions"] == 2 and Decimal(r["pnl_unrealised_usd"]) == 0
        assert Decimal(r["portfolio_value_usd"]) == Decimal("684953.89") and r["verdict"] == "no_record"

        # a bot-like wallet: profitable, but flagged, and so not follow-worthy
        rec, text = await ok(client, "get_wallet_record", {"wallet": synthetic_wallet("bot")})
        r = rec["record"]
        assert r["bot"]["likelihood"] == "high" and r["follow_worthy"] is False
        assert any("cadence" in x for x in r["bot"]["reasons"]) and any("both sides" in x for x in r["bot"]["reasons"])
        # a record of 3 is not a record
        rec, text = await ok(client, "get_wallet_record", {"wallet": synthetic_wallet("short")})
        assert rec["record"]["verdict"] == "no_record" and "not a record" in text

        # the signal: three proven holders on Yes; the bot, the short record and the loser on No do not count
        args = {"market": NEWSOM, "signal": True, "side": "Yes", "tier": "medium", "max_tier": "high"}
        out, text = await ok(client, "get_market_holders", args)
        s, t = out["signal"], out["tier_move"]
        assert s["proven_wallets"] == 3 and s["direction"] == "Yes" and s["checked_wallets"] == 7
        assert {h["wallet"] for h in s["holdings"]} == {synthetic_wallet(x) for x in ("proven_a", "proven_b",
                                                                                      "proven_c")}
        assert 1 < s["newest_age_days"] < 3 and s["mean_weight"] > 0.8
        assert (t["tier_before"], t["tier_after"], t["steps"]) == ("medium", "high", 1)
        assert "probability is unchanged" in text
        # never past the cap; against the signal one step down
        out, _ = await ok(client, "get_market_holders", {**args, "max_tier": "medium"})
        assert out["tier_move"]["tier_after"] == "medium" and out["tier_move"]["steps"] == 0
        out, _ = await ok(client, "get_market_holders", {**args, "side": "No"})
        assert (out["tier_move"]["tier_after"], out["tier_move"]["steps"]) == ("low", -1)
        out, _ = await ok(client, "get_market_holders", {**args, "max_tier": None})
        assert out["tier_move"]["steps"] == 0 and "name max_tier" in out["tier_move"]["reason"]


async def test_bad_input_large_histories_and_a_failing_data_api(env, sims):
    pm = sims["polymarket"]
    big = add_wallet(pm, "big", resolved=1000, win_rate=0.6, trades=30)
    async with connect(env) as client:
        text = await err(client, "get_wallet_record", {"wallet": "0x123"})
        assert "wallet" in text and "0x123" in text and "40-hex" in text
        rec, text = await ok(client, "get_wallet_record", {"wallet": "0x" + "ab" * 20})
        assert rec["record"]["open_positions"] == 0 and "proxy/deposit wallet" in text
        text = await err(client, "get_market_holders", {"market": "KXEPLGAME-26MAR22TOTNFO-TOT", "venue": "kalshi"})
        assert "Data API" in text
        text = await err(client, "get_market_holders", {"market": NEWSOM, "side": "Maybe", "tier": "low"})
        assert "side" in text and "'Yes'" in text

        # thousands of positions: paginated, bounded, and the cut is said
        pm.reset_log()
        rec, text = await ok(client, "get_wallet_record", {"wallet": big, "max_positions": 600})
        assert rec["record"]["closed_positions"] == 600 and any("bounded" in c for c in rec["record"]["cut"])
        assert pm.count(path="/data/v2/positions") == 3  # open: 1 page; closed: 500 + 100
        rec, _ = await ok(client, "get_wallet_record", {"wallet": big})
        assert rec["record"]["resolved_markets"] == 1000 and not rec["record"]["cut"]

        # the Data API rate-limits the positions: a clear partial answer, never a made-up record or signal
        pm.inject("status", status=429, retry_after=0, times=None, path=r"/data/v2/positions")
        rec, text = await ok(client, "get_wallet_record", {"wallet": synthetic_wallet("proven_a")})
        r = rec["record"]
        assert r["verdict"] == "no_record" and r["follow_worthy"] is False and "could not be read" in text
        args = {"market": NEWSOM, "signal": True, "side": "Yes", "tier": "medium", "max_tier": "high"}
        out, text = await ok(client, "get_market_holders", args)
        assert out["signal"]["proven_wallets"] == 0 and len(out["signal"]["skipped"]) == 7
        assert out["tier_move"]["steps"] == 0 and "no signal" in text
        pm.clear_faults()
        pm.inject("status", status=503, times=None, path=r"/data/v2/holders")
        text = await err(client, "get_market_holders", {"market": NEWSOM})
        assert text.startswith("Polymarket") and "503" in text or "unavailable" in text.lower()
