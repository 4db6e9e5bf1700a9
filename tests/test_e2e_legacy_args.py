"""The old argument names are a contract: the detail arguments now grouped into one object (size_position's and
compute_edge's what_if, propose_order's options (standing inside), find_arbitrage's and search_markets' filters,
create_watch's options, get_market_holders' tier_move, lookup_agent's options, get_price_history's span) are still
accepted at the top level, with the same answer as the grouped form; they are no longer advertised; the same field
given both ways with different values is refused, naming it. A venue no longer advertised at the top level
(propose_order, compare_rules, create_watch, size_position, compute_edge) is still accepted there, and a market
given as venue:id says the same. Real server, Polymarket simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
PM = {"market": NEWSOM, "venue": "polymarket"}
UNTIL = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
RULE_TEXT = ("This market resolves to Yes if Gavin Newsom wins the 2028 US presidential election, as called by the "
             "Associated Press. Otherwise it resolves to No.")
# what differs between two calls with the same arguments: ids, clocks, links
VOLATILE = {"id", "intent_id", "watch_id", "scan_id", "opportunity_id", "order_hash", "approval_url",
            "how_to_confirm", "expires_at", "created_at", "as_of", "next_cursor", "checked_at", "seconds",
            "plain", "last_sync_at", "uri", "last_checked_at", "order_id", "valid_until"}

# (tool, old form, grouped form)
PAIRS = [
    ("size_position", {"p": 0.62, "price": 0.45, "venue": "polymarket", "min_order_size": 5, "rules_clarity": 0.9,
                       "event_exposure_usd": 10, "assessment": "caution"},
     {"p": 0.62, "what_if": {"price": 0.45, "venue": "polymarket", "min_order_size": 5, "rules_clarity": 0.9,
                             "event_exposure_usd": 10, "assessment": "caution"}}),
    ("size_position", {"p": 0.7, "method": "unit", "amount_usd": 20, "units": 2, "asks": [{"price": 0.5, "size": 100}]},
     {"p": 0.7, "method": "unit", "what_if": {"amount_usd": 20, "units": 2, "asks": [{"price": 0.5, "size": 100}]}}),
    ("size_position", {"p": 0.7, "price": 0.5, "confidence": "high", "amount_usd": 30},
     {"p": 0.7, "what_if": {"price": 0.5, "confidence": "high", "amount_usd": 30}}),
    ("size_position", {**PM, "p": 0.7, "confidence": "low"},
     {"market": f"polymarket:{NEWSOM}", "p": 0.7, "what_if": {"confidence": "low"}}),
    ("size_position", {"p": 0.7, "method": "kelly", "price": 0.5, "odds": 1, "kelly_fraction": 0.1},
     {"p": 0.7, "method": "kelly", "what_if": {"price": 0.5, "odds": 1, "kelly_fraction": 0.1}}),
    ("compute_edge", {"p": 0.6, "book": {"asks": [{"price": 0.4, "size": 50}, {"price": 0.45, "size": 50}]},
                      "size": 80},
     {"p": 0.6, "size": 80, "what_if": {"book": {"asks": [{"price": 0.4, "size": 50}, {"price": 0.45, "size": 50}]}}}),
    ("compute_edge", {"p": 0.3, "side": "sell", "price": 0.35}, {"p": 0.3, "side": "sell", "what_if": {"price": 0.35}}),
    ("compute_edge", {"p": 0.6, "price": 0.4, "venue": "polymarket"},
     {"p": 0.6, "what_if": {"price": 0.4, "venue": "polymarket"}}),
    ("compute_edge", {**PM, "p": 0.6, "outcome": "Yes"}, {"market": f"polymarket:{NEWSOM}", "p": 0.6, "outcome": "Yes"}),
    ("search_markets", {"query": "newsom", "min_volume": 1, "closes_after": "2020-01-01", "status": "any", "limit": 3},
     {"query": "newsom", "filters": {"min_volume": 1, "closes_after": "2020-01-01", "status": "any", "limit": 3}}),
    ("get_price_history", {**PM, "outcome": "Yes", "max_points": 7},
     {**PM, "outcome": "Yes", "span": {"max_points": 7}}),
    ("find_arbitrage", {"markets": [NEWSOM], "kinds": ["yes_no"], "min_profit": 0, "max_markets": 5,
                        "venues": ["polymarket"]},
     {"markets": [NEWSOM], "kinds": ["yes_no"], "filters": {"min_profit": 0, "max_markets": 5,
                                                            "venues": ["polymarket"]}}),
    ("find_arbitrage", {"markets": [NEWSOM], "kinds": ["yes_no"], "limit": 1},
     {"markets": [NEWSOM], "kinds": ["yes_no"], "filters": {"limit": 1}}),
    ("create_watch", {"kind": "price_below", **PM, "outcome": "Yes", "level": 0.01, "side": "bid",
                      "cooldown_s": 60},
     {"kind": "price_below", **PM, "outcome": "Yes", "level": 0.01, "options": {"side": "bid", "cooldown_s": 60}}),
    ("create_watch", {"kind": "price_above", **PM, "outcome": "Yes", "level": 0.99},
     {"kind": "price_above", "market": NEWSOM, "outcome": "Yes", "level": 0.99, "options": {"venue": "polymarket"}}),
    ("create_watch", {"kind": "arbitrage", "query": "newsom"}, {"kind": "arbitrage", "options": {"query": "newsom"}}),
    ("compare_rules", {"a": NEWSOM, "a_venue": "polymarket", "b_text": RULE_TEXT},
     {"a": f"polymarket:{NEWSOM}", "b_text": RULE_TEXT}),
    ("get_market_holders", {**PM, "side": "Yes", "tier": "medium", "max_tier": "high", "signal": True},
     {**PM, "signal": True, "tier_move": {"side": "Yes", "tier": "medium", "max_tier": "high"}}),
    ("propose_order", {**PM, "outcome": "Yes", "side": "buy", "limit_price": 0.36, "size": 10,
                       "trigger": {"kind": "price_below", "level": 0.30}, "valid_until": UNTIL},
     {**PM, "outcome": "Yes", "side": "buy", "limit_price": 0.36, "size": 10,
      "standing": {"trigger": {"kind": "price_below", "level": 0.30}, "valid_until": UNTIL}}),
    ("propose_order", {**PM, "outcome": "Yes", "side": "buy", "limit_price": 0.36, "size": 10,
                       "standing": {"trigger": {"kind": "price_below", "level": 0.30}, "valid_until": UNTIL}},
     {"market": f"polymarket:{NEWSOM}", "outcome": "Yes", "side": "buy", "limit_price": 0.36, "size": 10,
      "options": {"standing": {"trigger": {"kind": "price_below", "level": 0.30}, "valid_until": UNTIL}}}),
    ("propose_order", {**PM, "outcome": "Yes", "side": "buy", "limit_price": 0.36, "stake": 5, "time_in_force": "FOK",
                       "forecast_p": 0.4, "forecast_source": "me"},
     {"market": f"polymarket:{NEWSOM}", "outcome": "Yes", "side": "buy", "limit_price": 0.36,
      "options": {"stake": 5, "time_in_force": "FOK", "forecast_p": 0.4, "forecast_source": "me"}}),
]
# refused the same way in both forms (the words each answer must carry)
REFUSED = [
    ("propose_order", {**PM, "outcome": "Yes", "side": "buy", "limit_price": 0.36, "size": 10, "repeat": 50,
                       "trigger": {"kind": "price_below", "level": 0.30}, "valid_until": UNTIL},
     {**PM, "outcome": "Yes", "side": "buy", "limit_price": 0.36, "size": 10,
      "standing": {"repeat": 50, "trigger": {"kind": "price_below", "level": 0.30},
                   "valid_until": UNTIL}}, "repeat"),
    ("lookup_agent", {"agent": "8453:1", "limit": 0}, {"agent": "8453:1", "options": {"limit": 0}}, "limit"),
    ("find_arbitrage", {"markets": [NEWSOM], "tail_min_price": 2}, {"markets": [NEWSOM],
                                                                     "filters": {"tail_min_price": 2}},
     "tail_min_price"),
]


def stable(value):
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


@pytest.fixture
def env(pm_env):
    with start_sims("polymarket") as group:
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "3"}


async def test_old_argument_names_give_the_same_answer(env):
    async with connect(env) as client:
        advertised = {t.name: set(t.input_schema.get("properties", {})) for t in (await client.list_tools()).tools}
        for tool, old, new in PAIRS:
            hidden = set(old) - set(new)
            assert hidden and not hidden & advertised[tool], (tool, hidden)  # accepted, not advertised
            a = await client.call_tool(tool, old)
            b = await client.call_tool(tool, new)
            assert not a.is_error and not b.is_error, (tool, a.content[0].text, b.content[0].text)
            assert stable(a.structured_content) == stable(b.structured_content), tool
        for tool, old, new, word in REFUSED:
            a = await client.call_tool(tool, old)
            b = await client.call_tool(tool, new)
            assert a.is_error and b.is_error, (tool, a.content[0].text, b.content[0].text)
            assert word in a.content[0].text and word in b.content[0].text, (a.content[0].text, b.content[0].text)


async def test_a_field_given_both_ways_is_refused_by_name(env):
    async with connect(env) as client:
        r = await client.call_tool("size_position", {"p": 0.6, "price": 0.45, "what_if": {"price": 0.5}})
        assert r.is_error and "'price'" in r.content[0].text and "what_if" in r.content[0].text
        same = await client.call_tool("size_position", {"p": 0.6, "price": 0.45, "what_if": {"price": 0.45}})
        assert not same.is_error, same.content[0].text
        r = await client.call_tool("size_position", {"p": 0.6, "what_if": {"prise": 0.45}})
        assert r.is_error and "prise" in r.content[0].text and "has no field" in r.content[0].text
        assert "its fields are price, asks" in r.content[0].text, r.content[0].text


async def test_an_order_names_its_venue_and_a_guess_is_taught_by_the_error(env):
    """propose_order's market is a URL or venue:id (or the old venue argument); a bare id is refused, saying how;
    a venue named twice differently is refused; a value outside a Literal lists the allowed ones; a field a
    grouped object does not have lists those it has."""
    order = {"outcome": "Yes", "side": "buy", "limit_price": 0.36, "size": 10}
    async with connect(env) as client:
        r = await client.call_tool("propose_order", {"market": NEWSOM, **order})
        assert r.is_error and "venue:id" in r.content[0].text and "polymarket:" in r.content[0].text, r.content[0].text
        r = await client.call_tool("propose_order", {"market": f"kalshi:{NEWSOM}", "venue": "polymarket", **order})
        assert r.is_error and "kalshi" in r.content[0].text and "polymarket" in r.content[0].text, r.content[0].text
        r = await client.call_tool("propose_order", {"market": f"polymarket:{NEWSOM}", **order, "side": "hold"})
        assert r.is_error and "'side'" in r.content[0].text and "buy, sell" in r.content[0].text, r.content[0].text
        r = await client.call_tool("size_position", {"p": 0.6, "method": "kelley", "what_if": {"price": 0.5}})
        assert r.is_error and "execution_kelly" in r.content[0].text, r.content[0].text  # unlisted, still taught
        r = await client.call_tool("propose_order", {"market": f"polymarket:{NEWSOM}", **order,
                                                     "options": {"tif": "FOK"}})
        assert r.is_error and "'tif'" in r.content[0].text and "time_in_force" in r.content[0].text, r.content[0].text
