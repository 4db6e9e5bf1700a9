"""Ladder (bundle) arbitrage through the real server: two strikes of one Kalshi ladder priced out of order
are found with their payoff in every outcome, proposed as one bundle, confirmed once and filled in paper;
the same ladder priced in order gives nothing.

The two markets are SYNTHETIC: the recorded Kalshi market object (tests/fixtures/kalshi/
market_object_epl_2026-03.json) re-dated and given the rules of a Fed upper-bound strike ladder, as Kalshi
writes them ("If ..., then the market resolves to Yes.")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from mcp.types import ElicitResult

from conftest import connect
from tools.sim import start_sim
from tools.sim.kalshi import add_market, set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

EVENT = "KXFEDUB-PLANTED"
RULES = ("If the upper bound of the federal funds target range after the FOMC meeting on December 9, 2026 is above "
         "{v}%, as published in the FOMC statement on federalreserve.gov, then the market resolves to Yes.")


def plant(sim, *, no_bid_low: str, yes_bid_high: str) -> None:
    base = json.loads((Path(__file__).parent / "fixtures" / "kalshi" / "market_object_epl_2026-03.json").read_text())
    base = base.get("market", base)
    close = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {"event_ticker": EVENT, "series_ticker": "KXFEDUB", "title": "Fed upper bound after December 2026?",
             "mutually_exclusive": False, "category": "Economics"}
    for strike in ("3.25", "3.50"):
        ticker = f"{EVENT}-T{strike}"
        add_market(sim, {**base, "ticker": ticker, "event_ticker": EVENT, "status": "active",
                         "title": f"Fed upper bound above {strike}% after December 2026?",
                         "yes_sub_title": f"Above {strike}%", "subtitle": f"Above {strike}%",
                         "rules_primary": RULES.format(v=strike), "rules_secondary": "", "close_time": close,
                         "expected_expiration_time": close, "expiration_time": close,
                         "latest_expiration_time": close}, event)
    # YES(>3.25) ask = 1 - NO bid; NO(>3.50) ask = 1 - YES bid
    set_book(sim, f"{EVENT}-T3.25", [("0.30", "100")], [(no_bid_low, "100")])
    set_book(sim, f"{EVENT}-T3.50", [(yes_bid_high, "100")], [("0.20", "100")])


async def _accept(context, params):
    return ElicitResult(action="accept", content={"approve": True})


async def test_a_ladder_priced_out_of_order_is_found_proposed_and_filled(pm_env):
    with start_sim("kalshi") as sim:
        # YES(>3.25) ask 0.50 + NO(>3.50) ask 1 - 0.60 = 0.40: 0.90 for a pair that pays at least $1
        plant(sim, no_bid_low="0.50", yes_bid_high="0.60")
        env = {**pm_env, **sim.env(), "PM_MCP_VENUES": "kalshi", "PM_MCP_CONFIRM": "auto"}
        async with connect(env, elicitation_callback=_accept) as client:
            r = await client.call_tool("find_arbitrage", {"markets": [EVENT], "kinds": ["ladder"]})
            assert not r.is_error, r.content[0].text
            out = r.structured_content
            assert out["total"] == 1, r.content[0].text
            opp = out["opportunities"][0]
            assert opp["kind"] == "ladder" and opp["risk_free"] is True, r.content[0].text
            assert [(leg["market_id"], leg["outcome"]) for leg in opp["legs"]] == [
                (f"{EVENT}-T3.25", "Yes"), (f"{EVENT}-T3.50", "No")]
            size = D(str(opp["size"]))
            assert {k: D(str(v)) for k, v in opp["payoff_by_state"].items()} == {
                "both happen": size, "only the weaker": 2 * size, "neither": size}
            assert D(str(opp["profit"])) == size - D(str(opp["cost"])) > 0 and D(str(opp["fees"])) > 0
            r = await client.call_tool("propose_bundle", {"opportunity_id": opp["id"]})
            assert not r.is_error, r.content[0].text
            r = await client.call_tool("confirm_order", {"intent_id": r.structured_content["intent"]["intent_id"]})
            assert not r.is_error, r.content[0].text
            done = r.structured_content
            assert done["intent"]["status"] == "executed", r.content[0].text
            assert [D(str(o["filled_size"])) for o in done["orders"]] == [size, size]


async def test_the_same_ladder_in_order_gives_nothing(pm_env):
    with start_sim("kalshi") as sim:
        plant(sim, no_bid_low="0.35", yes_bid_high="0.45")  # 0.65 + 0.55 > 1
        env = {**pm_env, **sim.env(), "PM_MCP_VENUES": "kalshi"}
        async with connect(env) as client:
            r = await client.call_tool("find_arbitrage", {"markets": [EVENT]})
            assert not r.is_error, r.content[0].text
            assert not [o for o in r.structured_content["opportunities"] if o["kind"] == "ladder"], r.content[0].text
