"""Discipline enforced at the proposal, not only at sizing: propose_order holds every buy to the stake cap of
the highest tier the market allows (assess_market's verdict and the rule clarity, read from the market by the
server; the same ceiling size_position(market=...) reports), whether or not the assistant sized first.

Through the real server (paper mode, approval page) against the Polymarket simulator (the recorded Newsom 2028
market, 559652; a SYNTHETIC market with vague rules added here) and the Manifold simulator (SynthBin001,
SYNTHETIC, traded in mana). The default policy: bankroll $1,000 and M$1,000, so the tiers cap a stake at
1% (low), 2% (medium), 3.5% (high) of it.
"""

from __future__ import annotations

import copy
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest

from conftest import connect
from tools.sim import start_sims
from tools.sim.polymarket import add_market, set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
VAGUE = "990077"  # SYNTHETIC: the Newsom market's books and times, with rules that do not say how it resolves
VAGUE_YES = "990077001"
VAGUE_RULES = "This market resolves however seems fair at the time."
FRACTION = {"low": D("0.01"), "medium": D("0.02"), "high": D("0.035")}  # pm_mcp.domain.sizing.CONFIDENCE_TIERS


@pytest.fixture
def env(pm_env):
    with start_sims("polymarket", "manifold") as group:
        sim = group["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        set_book(sim, YES, bids=[("0.38", "100"), ("0.37", "100")],
                 asks=[("0.40", "10"), ("0.42", "10"), ("0.45", "100")], tick_size="0.01")
        base = copy.deepcopy(sim.state["markets"][NEWSOM])
        base.update({"id": VAGUE, "slug": "vague-rules-market", "conditionId": "0x" + "cd" * 32,
                     "question": "Will the vague thing happen?", "description": VAGUE_RULES,
                     "clobTokenIds": json.dumps([VAGUE_YES, "990077002"])})
        add_market(sim, base)
        set_book(sim, VAGUE_YES, bids=[("0.38", "500")], asks=[("0.40", "500")], tick_size="0.01")
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket,manifold", "PM_MCP_CONFIRM": "page"}


async def ok(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def refused(client, tool: str, args: dict) -> str:
    r = await client.call_tool(tool, args)
    assert r.is_error, r.content[0].text
    return r.content[0].text


def buy(market: str, **kw) -> dict:
    return {"market": market, "outcome": "Yes", "side": "buy", "limit_price": "0.43", **kw}


def intents(env: dict) -> int:
    conn = sqlite3.connect(Path(env["PM_MCP_HOME"]) / "pm_mcp.sqlite3")
    try:
        return conn.execute("SELECT COUNT(*) FROM intents").fetchone()[0]
    finally:
        conn.close()


async def tier_of(client, market: str) -> str:
    venue, _, ref = market.partition(":")
    card, _ = await ok(client, "assess_market", {"market": ref, "venue": venue})
    return card["scorecard"]["tier_cap"]["max_tier"]


async def test_a_stake_over_the_tier_cap_is_refused_and_one_within_shows_the_cap(env):
    async with connect(env) as client:
        tier = await tier_of(client, f"polymarket:{NEWSOM}")
        assert tier in FRACTION, tier  # the recorded market can be traded at all
        cap = FRACTION[tier] * 1000
        sized, _ = await ok(client, "size_position", {"p": "0.6", "market": f"polymarket:{NEWSOM}"})
        assert f"'{tier}'" in sized["tier_cap"] and D(str(sized["stake_usd"])) <= cap, sized  # the same ceiling

        # $100 fits the per-order cap ($100) but not the tier's: refused, nothing stored, the reason in words
        before = intents(env)
        msg = await refused(client, "propose_order", buy(f"polymarket:{NEWSOM}", options={"stake": "100"}))
        assert "propose_order: tier cap: stake $100.00 (worst case incl. fees)" in msg, msg
        assert f"is over the ${cap:.2f} cap of tier '{tier}'" in msg, msg
        assert "the most assess_market allows for this market: assess_market says" in msg, msg
        assert "Nothing was proposed" in msg and f"options.stake={cap:.2f}" in msg, msg
        assert "characters)" not in msg and "shortened" not in msg, msg  # shown whole
        assert intents(env) == before

        # a what-if sizing (explicit numbers, no market) is advice only: its stake does not get past the cap
        what_if, _ = await ok(client, "size_position", {"p": "0.6", "method": "flat",
                                                        "what_if": {"price": "0.41", "amount_usd": "60"}})
        assert what_if["what_if"] and D(str(what_if["stake_usd"])) > cap, what_if
        msg = await refused(client, "propose_order", buy(f"polymarket:{NEWSOM}",
                                                          options={"stake": str(what_if["stake_usd"])}))
        assert "tier cap: stake $" in msg

        # within the cap: proposed, and the intent, its text and the approval page show which cap bound
        p, text = await ok(client, "propose_order", buy(f"polymarket:{NEWSOM}", size="10"))
        assert p["status"] == "proposed" and p["policy_ok"], text
        t = p["tier_cap"]
        assert t["applies"] and t["tier"] == tier and D(str(t["cap"])) == cap and t["currency"] == "USD", t
        assert D(str(t["stake"])) == D(str(p["worst_case_cost"])) and t["binding"] == "tier_cap", t
        assert "assess_market says" in t["reason"], t
        assert f"Tier cap: ${cap:.2f} (tier '{tier}'" in text and "the tightest limit: the tier cap" in text, text
        async with httpx.AsyncClient() as h:
            page = (await h.get(p["approval_url"])).text
        line = re.search(r'<p id="tier-cap">([^<]+)</p>', page)
        assert line and f"Tier cap: ${cap:.2f} (tier &#x27;{tier}&#x27;" in line.group(1), page
        got, _ = await ok(client, "get_order", {"ref": p["intent_id"]})
        assert got["intent"]["tier_cap"] == t  # stored with the intent


async def test_a_stated_confidence_lowers_the_cap_and_never_raises_it(env):
    async with connect(env) as client:
        tier = await tier_of(client, f"polymarket:{NEWSOM}")
        cap = FRACTION[tier] * 1000
        msg = await refused(client, "propose_order", buy(f"polymarket:{NEWSOM}",
                                                          options={"stake": "15", "confidence": "low"}))
        assert "over the $10.00 cap of tier 'low'" in msg and "your stated confidence allows" in msg, msg
        p, _ = await ok(client, "propose_order", buy(f"polymarket:{NEWSOM}", options={"stake": "9",
                                                                                     "confidence": "low"}))
        assert p["tier_cap"]["tier"] == "low" and p["tier_cap"]["confidence"] == "low"
        assert p["tier_cap"]["market_tier"] == tier
        msg = await refused(client, "propose_order", buy(f"polymarket:{NEWSOM}", options={
            "stake": str(cap + 5), "confidence": "very_high"}))
        assert f"over the ${cap:.2f} cap of tier '{tier}'" in msg, msg  # very_high does not lift the market's tier
        msg = await refused(client, "propose_order", buy(f"polymarket:{NEWSOM}", options={"confidence": "sure"}))
        assert "confidence" in msg and "very_high" in msg, msg


async def test_rules_too_unclear_to_settle_allow_no_new_position(env):
    async with connect(env) as client:
        assert await tier_of(client, f"polymarket:{VAGUE}") == "none"
        sized, _ = await ok(client, "size_position", {"p": "0.9", "market": f"polymarket:{VAGUE}"})
        assert D(str(sized["stake_usd"])) == 0 and "assessment" in sized["capped_by"], sized
        msg = await refused(client, "propose_order", buy(f"polymarket:{VAGUE}", size="5"))
        assert "over the $0.00 cap of tier 'none'" in msg and "settlement clarity" in msg, msg
        assert "No new position may be opened on this market" in msg and "submit_reading" in msg, msg


async def test_a_standing_order_is_held_to_the_cap_over_every_execution(env):
    async with connect(env) as client:
        tier = await tier_of(client, f"polymarket:{NEWSOM}")
        cap = FRACTION[tier] * 1000
        size = int(cap * D("0.7") / D("0.43"))  # one execution fits the cap, two do not
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        terms = {"trigger": {"kind": "price_below", "level": "0.36"}, "valid_until": until}
        p, text = await ok(client, "propose_order", buy(f"polymarket:{NEWSOM}", size=str(size), options={
            "standing": {**terms, "repeat": 1}}))
        assert p["tier_cap"]["applies"] and D(str(p["tier_cap"]["stake"])) <= cap, text
        msg = await refused(client, "propose_order", buy(f"polymarket:{NEWSOM}", size=str(size), options={
            "standing": {**terms, "repeat": 2}}))
        assert f"cap of tier '{tier}'" in msg, msg


async def test_a_mana_markets_cap_is_in_mana(env):
    async with connect(env) as client:
        tier = await tier_of(client, "manifold:SynthBin001")
        assert tier in FRACTION, tier
        cap = FRACTION[tier] * 1000  # PM_MCP_MANA_BANKROLL default M$1,000
        msg = await refused(client, "propose_order", {"market": "manifold:SynthBin001", "outcome": "Yes",
                                                      "side": "buy", "limit_price": "0.60",
                                                      "options": {"stake": str(cap + 10)}})
        assert f"over the M${cap:.2f} cap of tier '{tier}'" in msg and "of the M$1,000.00 bankroll" in msg, msg
        assert "$" not in msg.replace("M$", ""), msg  # mana is never shown as dollars
        p, text = await ok(client, "propose_order", {"market": "manifold:SynthBin001", "outcome": "Yes",
                                                     "side": "buy", "limit_price": "0.60",
                                                     "options": {"stake": str(cap - 1)}})
        assert p["tier_cap"]["currency"] == "MANA" and D(str(p["tier_cap"]["cap"])) == cap, p["tier_cap"]
        assert f"Tier cap: M${cap:.2f}" in text, text


async def test_a_tightened_bankroll_lowers_the_cap(env):
    async with connect(env) as client:
        tier = await tier_of(client, f"polymarket:{NEWSOM}")
        old, new = FRACTION[tier] * 1000, FRACTION[tier] * 500
        await ok(client, "tighten_risk_policy", {"bankroll": "500"})
        msg = await refused(client, "propose_order", buy(f"polymarket:{NEWSOM}", options={"stake": str(old - 1)}))
        assert f"over the ${new:.2f} cap of tier '{tier}'" in msg and "of the $500.00 bankroll" in msg, msg


async def test_the_cap_holds_a_position_not_each_order(env):
    """Splitting a stake into several orders does not get past the tier cap: what is already at stake on the market
    (positions at cost, open buy orders) counts beside a new order, at the proposal and again when an approved
    intent is sent (two proposals made before either was approved)."""
    env = {**env, "PM_MCP_CONFIRM": "host"}
    async with connect(env) as client:
        tier = await tier_of(client, f"polymarket:{NEWSOM}")
        cap = FRACTION[tier] * 1000
        size = str(int(cap * D("0.6") / D("0.43")))  # each order about 60% of the cap at its limit
        first, _ = await ok(client, "propose_order", buy(f"polymarket:{NEWSOM}", size=size))
        assert D(str(first["tier_cap"]["held"])) == 0, first["tier_cap"]
        done, text = await ok(client, "confirm_order", {"intent_id": first["intent_id"]})
        assert done["intent"]["status"] == "executed", text

        msg = await refused(client, "propose_order", buy(f"polymarket:{NEWSOM}", size=size))
        held = re.search(r"beside \$([\d.,]+) already at stake on this market", msg)
        assert held and f"is over the ${cap:.2f} cap of tier '{tier}'" in msg, msg
        most = re.search(r"Propose at most \$([\d.]+) .*options\.stake=([\d.]+) ", msg)
        room = D(most.group(1))
        assert most.group(2) == most.group(1) and D(0) < room <= cap - D(held.group(1)) + D("0.01"), msg
        small, text = await ok(client, "propose_order", buy(f"polymarket:{NEWSOM}", size="5"))  # the minimum fits
        assert cap - room - D("0.01") <= D(str(small["tier_cap"]["held"])) <= cap - room, small["tier_cap"]
        assert "already at stake on this market" in text, text

        # two proposals that each fit alone, made before either was approved: the second one sent is refused
        a, _ = await ok(client, "propose_order", buy(f"polymarket:{NEWSOM}", size=str(int(room * D("0.6") / D("0.43")))))
        b, _ = await ok(client, "propose_order", buy(f"polymarket:{NEWSOM}", size=str(int(room * D("0.6") / D("0.43")))))
        done, text = await ok(client, "confirm_order", {"intent_id": a["intent_id"]})
        assert done["intent"]["status"] == "executed", text
        r = await client.call_tool("confirm_order", {"intent_id": b["intent_id"]})
        got, text = await ok(client, "get_order", {"ref": b["intent_id"]})
        assert got["intent"]["status"] == "failed", (text, r.content[0].text)
        assert "the tier cap now refuses it" in text, text
