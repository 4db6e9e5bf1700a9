"""Currencies never mix: Manifold's mana is play money. A Manifold trade is checked against the mana caps
(PM_MCP_MANA_*), shows M$, and leaves every USD figure (caps, daily spend, portfolio totals) untouched.
Through the real server, paper mode, against the Manifold simulator (SynthBin001: a SYNTHETIC binary market,
see tests/fixtures/manifold/SOURCES.md)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

MARKET = "SynthBin001"


@pytest.fixture
def env(pm_env):
    with start_sims("manifold") as group:
        # USD caps far below the mana order: if mana were counted as dollars, the order would be refused
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "manifold", "PM_MCP_CONFIRM": "host",
               "PM_MCP_MAX_ORDER_USD": "5", "PM_MCP_MAX_DAILY_USD": "5", "PM_MCP_BANKROLL": "20"}


async def call(client, tool, args):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def test_a_mana_trade_uses_mana_caps_and_leaves_usd_untouched(env):
    async with connect(env) as client:
        # M$9: over every USD cap here, within the mana tier cap (the market's 'low' tier: 1% of M$1,000)
        prop, text = await call(client, "propose_order", {"venue": "manifold", "market": MARKET, "outcome": "Yes",
                                                          "side": "buy", "limit_price": "0.60", "stake": "9"})
        assert prop["policy_ok"], text
        assert "M$" in prop["plain"] and "$9" not in prop["plain"].replace("M$9", "")
        done, text = await call(client, "confirm_order", {"intent_id": prop["intent_id"]})
        got, text = await call(client, "get_order", {"ref": prop["intent_id"]})
        assert got["orders"][0]["status"] in ("filled", "partially_filled"), text
        snap, text = await call(client, "get_portfolio", {})
        assert D(str(snap["cost_basis"])) == 0 and D(str(snap["daily_spent"])) == 0, text
        mana = snap["by_currency"]["MANA"]
        assert D(str(mana["cost_basis"])) > 0 and D(str(mana["daily_spent"])) > 0
        assert D(str(mana["daily_cap"])) == 500  # PM_MCP_MANA_MAX_DAILY default
        assert [p["currency"] for p in snap["positions"]] == ["MANA"]
        assert all(e["currency"] == "MANA" for e in snap["exposure"])
        first = text.splitlines()[0]
        assert "cost basis $0.00" in first and "spent today $0.00 of $5.00" in first, text
        assert "MANA (play money, never added to USD): cost basis M$" in text, text


async def test_mana_caps_refuse_in_mana(env):
    async with connect({**env, "PM_MCP_MANA_MAX_ORDER": "6"}) as client:
        prop, text = await call(client, "propose_order", {"venue": "manifold", "market": MARKET, "outcome": "Yes",
                                                          "side": "buy", "limit_price": "0.60", "stake": "9"})
        assert not prop["policy_ok"]
        [v] = [v for v in prop["policy_violations"] if v["rule"] == "max_order_usd"]
        assert "M$6.00" in v["message"] and "$" not in v["message"].replace("M$", ""), v


async def test_edge_and_sizing_of_a_mana_market_speak_mana(env):
    """Per-share prices, fees, EV and stakes of a Manifold market are M$, never $ (mana is not money)."""
    async with connect(env) as client:
        edge, text = await call(client, "compute_edge", {"venue": "manifold", "market": MARKET, "p": "0.7"})
        assert edge["currency"] == "MANA", edge
        assert "M$" in text and "$" not in text.replace("M$", ""), text
        size, text = await call(client, "size_position", {"venue": "manifold", "market": MARKET, "p": "0.7"})
        assert size["currency"] == "MANA", size
        assert "M$" in text and "$" not in text.replace("M$", ""), text


async def test_assess_market_of_a_mana_market_speaks_mana(env):
    """The scorecard's book depth and its thin-book flag are in the market's own currency: M$ for mana."""
    async with connect(env) as client:
        out, text = await call(client, "assess_market", {"venue": "manifold", "market": MARKET})
        assert "$" not in text.replace("M$", ""), text
        book_lines = [ln for ln in text.splitlines() if ln.startswith("Book ")]
        assert all("M$" in ln for ln in book_lines), text


def _no_dollars(text: str) -> bool:
    return "$" not in text.replace("M$", "")


async def test_edge_of_a_mana_market_warns_of_unspent_budget_in_mana(env):
    """A budget bigger than the thin book: the unspent part is mana (M$), not dollars."""
    async with connect(env) as client:
        edge, text = await call(client, "compute_edge", {"market": f"manifold:{MARKET}", "p": "0.55", "budget": 50})
        assert any("unspent" in w for w in edge["warnings"]), text
        assert "M$" in text and _no_dollars(text), text
        assert all(_no_dollars(w) for w in edge["warnings"]), edge["warnings"]


async def test_a_manifold_what_if_edge_speaks_mana(env):
    """No market, but venue manifold: the price and EV of the what-if are M$."""
    async with connect(env) as client:
        edge, text = await call(client, "compute_edge", {"p": "0.9", "budget": 10,
                                                         "what_if": {"venue": "manifold", "price": "0.4"}})
        assert edge["currency"] == "MANA", edge
        assert "M$0.4" in text and _no_dollars(text), text


async def test_a_manifold_order_off_the_price_range_names_mana(env):
    async with connect(env) as client:
        r = await client.call_tool("propose_order", {"venue": "manifold", "market": MARKET, "outcome": "Yes",
                                                     "side": "buy", "limit_price": 40, "size": 1})
        text = r.content[0].text
        assert r.is_error and "limit_price" in text and "40" in text, text
        assert "M$ per share" in text and _no_dollars(text), text


BOOLEAN_CASES = [
    ("compute_edge", {"p": True, "price": "0.4"}, "p"),
    ("compute_edge", {"p": "0.5", "price": True}, "price"),
    ("compute_edge", {"p": "0.5", "price": "0.4", "budget": True}, "budget"),
    ("compute_edge", {"p": "0.5", "price": "0.4", "size": False}, "size"),
    ("compute_edge", {"p": "0.5", "book": {"asks": [{"price": True, "size": 5}]}}, "book.asks[0].price"),
    ("size_position", {"p": True, "price": "0.4"}, "p"),
    ("size_position", {"p": "0.6", "price": True}, "price"),
    ("size_position", {"p": "0.6", "price": "0.4", "method": "flat", "amount_usd": True}, "amount_usd"),
    # propose_order's numbers are Decimal arguments: the SDK's validation already refuses a boolean by name
    ("propose_order", {"venue": "manifold", "market": MARKET, "outcome": "Yes", "side": "buy",
                       "limit_price": True, "size": 1}, "limit_price"),
    ("propose_order", {"venue": "manifold", "market": MARKET, "outcome": "Yes", "side": "buy",
                       "limit_price": "0.6", "size": True}, "size"),
]


async def test_a_boolean_is_not_a_number(env):
    """JSON true is not the number 1: a probability, price or amount given as a boolean is refused by name
    (compute_edge(p=true) used to be taken as p = 1), and the server keeps running."""
    async with connect(env) as client:
        for tool, args, name in BOOLEAN_CASES:
            r = await client.call_tool(tool, args)
            text = r.content[0].text
            assert r.is_error, (tool, args, text)
            assert f"'{name}'" in text or f"{name} must" in text, (tool, name, text)
            assert "boolean" in text.lower() or "True is not a number" in text, (tool, name, text)
        ok = await client.call_tool("compute_edge", {"p": "0.5", "price": "0.4"})
        assert not ok.is_error, ok.content[0].text


async def test_sizing_on_a_thin_book_uses_the_price_the_stake_pays(env):
    """SynthBin001's best ask is 0.405 but its levels are thin: a stake walks up the book. The tier and Kelly edge
    are taken at the average the stake pays, never the best ask, so the edge used is no larger than the one
    compute_edge finds for the very shares bought."""
    async with connect(env) as client:
        size, text = await call(client, "size_position", {"market": f"manifold:{MARKET}", "p": "0.55"})
        assert D(str(size["contracts"])) > 0, text
        best = D("0.405")
        sized_on = D(str(size["effective_price"]))
        assert sized_on > best, text  # not the best ask
        assert D(str(size["edge"])) == D("0.55") - sized_on, size
        assert "walks the book" in text and "thin book" in text, text
        edge, etext = await call(client, "compute_edge", {"market": f"manifold:{MARKET}", "p": "0.55",
                                                          "size": str(size["contracts"])})
        assert D(str(edge["filled_size"])) == D(str(size["contracts"])), etext
        paid = D(str(edge["effective_price"]))
        assert paid <= sized_on, (text, etext)  # the edge sized on never overstates what the stake gets
        assert D(str(size["price"])) == D(str(edge["average_price"])), (size, edge)
