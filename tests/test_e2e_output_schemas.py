"""Every tool's real structuredContent validates against the output schema tools/list advertises (the slim
schemas of pm_mcp.surface.schema), checked with jsonschema here rather than trusted to the client, and keeps
its content: every field of the answer is one the schema names, and every field the schema names is there.
Real server; the Polymarket simulator for market data; anvil with the ERC-8004 registries for lookup_agent."""

from __future__ import annotations

import jsonschema
import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
PM = {"market": NEWSOM, "venue": "polymarket"}
RECORDED_WALLET = "0x7c3db723f1d4d8cb9c550095203b686cb11e5c6b"


def check(tool, schema: dict, content) -> None:
    assert isinstance(content, dict) and content, (tool, content)
    jsonschema.validate(content, schema, cls=jsonschema.Draft202012Validator)
    assert set(content) == set(schema.get("properties", {})), (tool, set(content) ^ set(schema["properties"]))


@pytest.fixture
def env(pm_env):
    with start_sims("polymarket") as group:
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "3"}


async def test_every_tool_answers_within_its_output_schema(env):
    async with connect(env) as client:
        schemas = {t.name: t.output_schema for t in (await client.list_tools()).tools}
        seen: set[str] = set()

        async def call(tool: str, args: dict) -> dict:
            r = await client.call_tool(tool, args)
            assert not r.is_error, (tool, r.content[0].text)
            check(tool, schemas[tool], r.structured_content)
            seen.add(tool)
            return r.structured_content

        await call("size_position", {"p": 0.6, "what_if": {"price": 0.45}})
        await call("size_position", {"p": 0.6, **PM})
        await call("compute_edge", {"p": 0.6, **PM, "size": 5})
        await call("get_risk_policy", {})
        await call("search_markets", {"query": "newsom"})
        await call("get_market", PM)
        await call("get_order_book", {**PM, "outcome": "Yes"})
        await call("get_price_history", {**PM, "outcome": "Yes"})
        await call("parse_rules", PM)
        await call("compare_rules", {"a": NEWSOM, "a_venue": "polymarket", "b": NEWSOM, "b_venue": "polymarket"})
        await call("assess_market", PM)
        intent = await call("propose_order", {**PM, "outcome": "Yes", "side": "buy", "limit_price": 0.3, "size": 5})
        await call("confirm_order", {"intent_id": intent["intent_id"]})  # no dialog here: says how to approve
        await call("get_order", {"ref": intent["intent_id"]})
        await call("list_orders", {})
        await call("cancel_order", {"ref": intent["intent_id"]})
        await call("get_portfolio", {})
        await call("get_track_record", {})
        await call("tighten_risk_policy", {})
        await call("doctor", {})
        scan = await call("find_arbitrage", {"markets": [NEWSOM], "kinds": ["yes_no", "basket"]})
        watch = await call("create_watch", {"kind": "price_below", **PM, "outcome": "Yes", "level": 0.01})
        await call("list_watches", {})
        await call("get_alerts", {})
        await call("delete_watch", {"watch_id": watch["watch"]["id"]})
        await call("get_market_holders", {**PM, "signal": True})
        await call("get_wallet_record", {"wallet": RECORDED_WALLET})
        title = (await client.call_tool("get_market", PM)).structured_content["market"]["title"]
        await call("submit_reading", {**PM, "reading": [{"field": "condition", "quote": title[:40],
                                                          "value": "the title's question"}]})
        opportunities = scan.get("opportunities") or []
        if opportunities:
            # the smallest size: a basket is a directional bet, held to the market's tier cap (tests/test_e2e_tier_cap.py)
            await call("propose_bundle", {"opportunity_id": opportunities[0]["id"], "size": 5})
        missing = set(schemas) - seen - {"lookup_agent", "propose_bundle"}
        assert not missing, f"tools not exercised here: {missing}"


async def test_lookup_agent_answers_within_its_output_schema(chain_env):
    env, agent = chain_env
    async with connect(env) as client:
        schema = {t.name: t.output_schema for t in (await client.list_tools()).tools}["lookup_agent"]
        r = await client.call_tool("lookup_agent", {"agent": f"31337:{agent}"})
        assert not r.is_error, r.content[0].text
        check("lookup_agent", schema, r.structured_content)


def test_the_check_can_fail():
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"anyOf": [{"type": "string"},
                                                                                       {"type": "null"}]}}}
    check("t", schema, {"a": "1", "b": None})
    with pytest.raises(jsonschema.ValidationError):
        check("t", schema, {"a": 1, "b": None})
    with pytest.raises(AssertionError):
        check("t", schema, {"a": "1"})
