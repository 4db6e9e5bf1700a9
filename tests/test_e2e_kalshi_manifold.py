"""End-to-end: the real `pm-mcp` process over stdio (official MCP client) against the Kalshi and Manifold
loopback simulators: search finds both venues' markets, pasted URLs resolve, the Kalshi book shows YES
asks derived from NO bids.

Queries are chosen so the answers do not depend on the day the tests run: the Kalshi Pope markets close
in 2070 (recorded), the Manifold synthetic markets are kept open 90 days ahead by the simulator.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import connect  # tests/conftest.py (pytest puts tests/ on sys.path)
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

TOT = "KXEPLGAME-26MAR22TOTNFO-TOT"


@pytest.fixture
def sims():
    with start_sims("kalshi", "manifold") as group:
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "kalshi,manifold"}


async def call(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def test_search_finds_kalshi_and_manifold_markets(env, sims):
    async with connect(env) as client:
        out, text = await call(client, "search_markets", {"query": "next pope", "limit": 10})
        kalshi = [r for r in out["results"] if r["venue"] == "kalshi"]
        assert kalshi and all(r["id"].startswith("KXNEWPOPE-70-") for r in kalshi)
        assert all(r["status"] == "open" for r in out["results"])
        assert "venue=kalshi id=KXNEWPOPE-70-" in text and not out["warnings"]
        assert not any(r["id"].startswith("KXMVE") for r in out["results"])

        out, text = await call(client, "search_markets", {"query": "fed cut", "limit": 20,
                                                          "venues": ["manifold"]})
        ids = [r["id"] for r in out["results"]]
        assert "SynthBin001" in ids and "venue=manifold id=SynthBin001" in text
        m = next(r for r in out["results"] if r["id"] == "SynthBin001")
        assert Decimal(m["outcomes"][0]["price"]) == Decimal("0.4")  # from the CPMM pool

        # both venues in one search; the simulators were really asked
        out, _ = await call(client, "search_markets", {"query": "fed", "limit": 25, "status": "any"})
        venues = {r["venue"] for r in out["results"]}
        assert venues == {"kalshi", "manifold"}, out["warnings"]
    assert sims["kalshi"].count(path="^/v1/search/series$") >= 1
    assert sims["manifold"].count(path="^/v0/search-markets$") >= 2


async def test_get_market_on_pasted_urls(env):
    async with connect(env) as client:
        out, text = await call(client, "get_market", {
            "market": "https://kalshi.com/markets/kxnewpope/who-will-the-next-pope-be/KXNEWPOPE-70-PPIZ"})
        m = out["market"]
        assert m["venue"] == "kalshi" and m["id"] == "KXNEWPOPE-70-PPIZ" and m["mutually_exclusive"]
        assert "Pierbattista Pizzaballa" in m["rule_text"] and m["rule_sources"]["rules_primary"]
        assert m["url"] == "https://kalshi.com/markets/kxnewpope/who-will-the-next-pope-be/kxnewpope-70"
        assert Decimal(m["tick_size"]) == Decimal("0.01") and m["fees"]["kind"] == "kalshi"
        assert m["close_time"].startswith("2070-01-01T15:00:00")
        yes_book = next(b for b in out["books"] if b["outcome"] == "Yes")
        assert yes_book["derived"] and Decimal(yes_book["best_ask"]) == 1 - Decimal("0.93")
        # the rules in the labelled venue-text block (pm_mcp.domain.untrusted), every line "> "-quoted
        assert "venue text (untrusted, quoted as written): rules\n> " + m["rule_text"].strip()[:40] in text
        assert "derived from the other side" in text
        assert " contracts" in text.split("Volume ", 1)[1].split("\n", 1)[0]  # Kalshi counts contracts, not USD

        # an event URL with several markets: a clear error listing them, and the server keeps running
        r = await client.call_tool("get_market", {
            "market": "https://kalshi.com/markets/kxeplgame/epl-game/kxeplgame-26mar22totnfo"})
        assert r.is_error and "3 markets" in r.content[0].text and TOT in r.content[0].text

        out, text = await call(client, "get_market", {
            "market": "https://manifold.markets/pmmcp_synthetic/will-the-fed-cut-rates-at-the-december-2026"})
        m = out["market"]
        assert m["venue"] == "manifold" and m["id"] == "SynthBin001" and m["fees"]["kind"] == "none"
        assert m["rule_text"].startswith("Resolves YES if the FOMC")
        assert [o["label"] for o in m["outcomes"]] == ["Yes", "No"]
        assert all(b["derived"] for b in out["books"])  # synthesized from the pool
        assert " mana" in text.split("Volume ", 1)[1].split("\n", 1)[0]  # Manifold volume is play money

        out, _ = await call(client, "get_market", {"market": "manifold:who-will-chair-the-fed-on-jan-1-2027"})
        assert [o["answer_id"] for o in out["market"]["outcomes"]] == ["ansA000001", "ansB000002", "ansC000003"]


async def test_kalshi_order_book_shows_derived_yes_asks(env):
    async with connect(env) as client:
        out, text = await call(client, "get_order_book", {"market": TOT, "outcome": "Yes", "depth": 5})
        assert out["venue"] == "kalshi" and out["derived"]
        assert Decimal(out["best_bid"]) == Decimal("0.37") and Decimal(out["best_ask"]) == Decimal("0.39")
        assert [Decimal(a["price"]) for a in out["asks"]] == [Decimal(p) for p in
                                                            ("0.39", "0.40", "0.41", "0.42", "0.43")]
        assert Decimal(out["asks"][0]["size"]) == Decimal("79")  # the best NO bid's size
        assert out["more_ask_levels"] == 33 - 5
        assert "asks derived from the opposite side's bids" in text
        out, _ = await call(client, "get_order_book", {"market": TOT, "outcome": "No", "venue": "kalshi"})
        assert Decimal(out["best_bid"]) == Decimal("0.61") and Decimal(out["best_ask"]) == Decimal("0.63")
        r = await client.call_tool("get_order_book", {"market": TOT, "outcome": "Tottenham"})
        assert r.is_error and "'Yes'" in r.content[0].text
        out, _ = await call(client, "get_price_history", {"market": TOT, "outcome": "Yes", "interval": "1d"})
        assert out["total_points"] >= 20 and Decimal(out["last"]) == Decimal("0.39")


async def test_a_blocked_kalshi_leaves_manifold_answering(env, sims):
    sims["kalshi"].inject("html403", times=None)
    async with connect(env) as client:
        out, text = await call(client, "search_markets", {"query": "fed cut"})
        assert {r["venue"] for r in out["results"]} == {"manifold"}
        assert "blocked" in out["warnings"]["kalshi"] and "warning (kalshi)" in text
        r = await client.call_tool("get_market", {"market": "KXNEWPOPE-70-PPIZ", "venue": "kalshi"})
        assert r.is_error and "HTML page" in r.content[0].text
        sims["kalshi"].clear_faults()
        out, _ = await call(client, "get_market", {"market": "KXNEWPOPE-70-PPIZ", "venue": "kalshi"})
        assert out["market"]["id"] == "KXNEWPOPE-70-PPIZ"  # the same server process, recovered
