"""Discipline enforced, not advisory: given a market, size_position takes the fees, size step, minimum,
status, currency and the assess_market tier cap from it (the assistant does not have to remember them);
closed markets are refused for sizing and edge; answers carry the mode marker. Through the real server
against the Kalshi and Manifold simulators (recorded Kalshi markets; SynthBin001 is SYNTHETIC)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from conftest import connect
from tools.sim import start_sims
from tools.sim.kalshi import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

MARS = "KXELONMARS-99"  # recorded, open until 2099
TOT = "KXEPLGAME-26MAR22TOTNFO-TOT"  # recorded; its close (2026-04-05) has passed


@pytest.fixture
def env(pm_env):
    with start_sims("kalshi", "manifold") as group:
        set_book(group["kalshi"], MARS, yes_bids=[("0.10", "500")], no_bids=[("0.86", "500")])
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "kalshi,manifold"}


async def ok(client, tool, args):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def refused(client, tool, args) -> str:
    r = await client.call_tool(tool, args)
    assert r.is_error, r.content[0].text
    return r.content[0].text


async def test_size_position_takes_fees_step_and_tier_cap_from_the_market(env):
    async with connect(env) as client:
        out, text = await ok(client, "size_position", {"p": "0.40", "market": MARS, "venue": "kalshi"})
        assert out["fees_from_market"] and not out["what_if"] and out["market_id"] == MARS
        assert "Kalshi" in out["fee_model"] and D(str(out["fee_usd"])) > 0, text  # no fee_rate was passed
        assert D(str(out["contracts"])) == D(str(out["contracts"])).to_integral_value()  # whole contracts
        assert out["tier_cap"] and "assess_market" in out["tier_cap"], out
        assert out["confidence_used"] == "default (medium)"
        assert text.startswith("[PAPER] kalshi:" + MARS), text
        # the same numbers without the market are a labelled what-if, and say what they assumed
        out, text = await ok(client, "size_position", {"p": "0.40", "price": "0.14"})
        assert out["what_if"] and not out["fees_from_market"] and "What-if" in text


async def test_closed_markets_are_refused_for_sizing_and_edge(env):
    async with connect(env) as client:
        msg = await refused(client, "size_position", {"p": "0.6", "market": TOT, "venue": "kalshi"})
        assert "closed" in msg and TOT in msg
        msg = await refused(client, "compute_edge", {"p": "0.6", "market": TOT, "venue": "kalshi"})
        assert "closed" in msg


async def test_mana_is_sized_in_mana(env):
    async with connect(env) as client:
        out, text = await ok(client, "size_position", {"p": "0.7", "market": "SynthBin001", "venue": "manifold",
                                                       "confidence": "high"})
        assert out["currency"] == "MANA" and out["confidence_used"] == "high"
        assert "M$" in text and "bankroll M$1,000.00" in out["policy"], (text, out["policy"])
