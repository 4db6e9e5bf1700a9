"""A member against its event, through the real server on the recorded Kalshi events (books SYNTHETIC, see
tools/sim/planted_arbitrage.py): two Pope candidates whose YES bids sum above 1 in an event Kalshi declares
mutually exclusive are found with their payoff in every outcome, proposed as one bundle and filled in paper;
the same markets and prices in an event Kalshi does not declare exclusive give nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from mcp.types import ElicitResult

from conftest import connect
from tools.sim import start_sim
from tools.sim.planted_arbitrage import (
    LOOKALIKE_EVENT,
    POPE_EVENT,
    POPE_HIGH,
    plant_member_lookalike,
    plant_member_vs_event,
)

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


async def _accept(context, params):
    return ElicitResult(action="accept", content={"approve": True})


async def test_members_priced_above_their_event_are_found_proposed_and_filled(pm_env):
    with start_sim("kalshi") as sim:
        plant_member_vs_event(sim)
        env = {**pm_env, **sim.env(), "PM_MCP_VENUES": "kalshi", "PM_MCP_CONFIRM": "auto"}
        async with connect(env, elicitation_callback=_accept) as client:
            r = await client.call_tool("find_arbitrage", {"markets": [POPE_EVENT], "kinds": ["member_vs_event"]})
            assert not r.is_error, r.content[0].text
            out = r.structured_content
            assert out["total"] == 1, r.content[0].text
            opp = out["opportunities"][0]
            assert opp["kind"] == "member_vs_event" and opp["risk_free"] is True, r.content[0].text
            assert sorted((leg["market_id"], leg["outcome"]) for leg in opp["legs"]) == sorted(
                (t, "No") for t in POPE_HIGH)
            size = D(str(opp["size"]))
            payoff = {k: D(str(v)) for k, v in opp["payoff_by_state"].items()}
            # one of the two is the next Pope: one NO pays; neither is: both pay
            assert sorted(payoff.values()) == [size, size, 2 * size] and payoff["none of these"] == 2 * size
            assert D(str(opp["profit"])) == size - D(str(opp["cost"])) > 0 and D(str(opp["fees"])) > 0
            r = await client.call_tool("propose_bundle", {"opportunity_id": opp["id"]})
            assert not r.is_error, r.content[0].text
            r = await client.call_tool("confirm_order", {"intent_id": r.structured_content["intent"]["intent_id"]})
            assert not r.is_error, r.content[0].text
            done = r.structured_content
            assert done["intent"]["status"] == "executed", r.content[0].text
            assert [D(str(o["filled_size"])) for o in done["orders"]] == [size, size]


async def test_the_same_prices_on_an_event_not_declared_exclusive_give_nothing(pm_env):
    with start_sim("kalshi") as sim:
        plant_member_vs_event(sim)
        plant_member_lookalike(sim)
        env = {**pm_env, **sim.env(), "PM_MCP_VENUES": "kalshi"}
        async with connect(env) as client:
            r = await client.call_tool("find_arbitrage", {"markets": [LOOKALIKE_EVENT]})
            assert not r.is_error, r.content[0].text
            assert r.structured_content["scanned"]["exclusive_sets"] == 0, r.content[0].text
            assert r.structured_content["total"] == 0, r.content[0].text
            r = await client.call_tool("find_arbitrage", {"markets": [POPE_EVENT]})  # the declared one: found
            assert [o["kind"] for o in r.structured_content["opportunities"]].count("member_vs_event") == 1
