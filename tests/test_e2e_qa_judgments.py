"""Judgments a careful person would catch in one session, end to end: the real `pm-mcp` process over stdio
against the venue simulators' SYNTHETIC world (tools/sim/world.py). Each test failed before its fix.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

BTC_HIT = "https://polymarket.com/event/syn-what-price-will-bitcoin-hit-in-2026"


@pytest.fixture
def sims():
    with start_sims("polymarket", "kalshi", world=True) as group:
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket,kalshi", "PM_MCP_HTTP_TIMEOUT_S": "5"}


async def test_touch_strikes_are_not_a_risk_free_ladder(env):
    """'Will Bitcoin reach $50,000 / $60,000 in 2026?' with Bitcoin above both: reaching $60,000 means falling
    to it, so it does not imply reaching $50,000. Buying YES $50,000 + NO $60,000 loses both legs when the
    price dips to $60,000 but not to $50,000 (the market prices that at about 14%); it was sold as RISK-FREE."""
    async with connect(env) as client:
        r = await client.call_tool("find_arbitrage", {"markets": [BTC_HIT], "kinds": ["ladder"]})
        assert not r.is_error, r.content[0].text
        out, text = r.structured_content, r.content[0].text
        assert out["scanned"]["markets"] == 4, text  # the four strikes were read
        ladders = [o for o in out["opportunities"] if o["kind"] == "ladder"]
        assert not ladders, text
        assert "RISK-FREE" not in text


SUPER_BOWL = "https://polymarket.com/event/syn-super-bowl-lxi-champion"
PREMIER_LEAGUE = "https://polymarket.com/event/syn-premier-league-winner-2026-27"


async def test_a_neg_risk_event_priced_far_below_one_dollar_is_not_a_risk_free_dutch_book(env):
    """The world's 'Super Bowl LXI Champion' lists four teams; every YES costs about $0.66 together. It was sold
    as a RISK-FREE Dutch book (profit $400 on $800) on the neg-risk flag alone, although any other team
    winning loses every leg. A set priced that far below $1 is a basket, with 'none of the listed' at $0; a
    neg-risk set priced within a few cents of $1 is still a Dutch book."""
    async with connect(env) as client:
        r = await client.call_tool("find_arbitrage", {"markets": [SUPER_BOWL], "kinds": ["dutch_book"]})
        assert not r.is_error, r.content[0].text
        out, text = r.structured_content, r.content[0].text
        assert out["scanned"]["exclusive_sets"] == 1, text
        assert not [o for o in out["opportunities"] if o["risk_free"]], text
        assert "RISK-FREE" not in text
        r = await client.call_tool("find_arbitrage", {"markets": [SUPER_BOWL], "kinds": ["basket"]})
        (basket,) = r.structured_content["opportunities"]
        assert basket["kind"] == "basket" and not basket["risk_free"], r.content[0].text
        assert Decimal(basket["payoff_by_state"]["none of the listed"]) == 0
        assert "none of them wins" in " ".join(basket["flags"]), basket["flags"]
        r = await client.call_tool("find_arbitrage", {"markets": [PREMIER_LEAGUE], "kinds": ["dutch_book"]})
        (book,) = r.structured_content["opportunities"]
        assert book["kind"] == "dutch_book" and book["risk_free"], r.content[0].text


async def test_assess_market_says_which_currency_its_depth_amounts_are_in(pm_env):
    """assess_market's books carry bid_depth_usd / ask_depth_usd; on Manifold those amounts are mana (the text
    says M$4.91), and nothing in the structured part said so: a client reading it took play money for dollars.
    The scorecard now names its currency (and the unit of its volume: Kalshi counts contracts)."""
    with start_sims("kalshi", "manifold", world=True) as group:
        env = {**pm_env, **group.env(), "PM_MCP_VENUES": "kalshi,manifold", "PM_MCP_HTTP_TIMEOUT_S": "5"}
        async with connect(env) as client:
            r = await client.call_tool("assess_market", {"market": "SynthBin001", "venue": "manifold"})
            assert not r.is_error, r.content[0].text
            card = r.structured_content["scorecard"]
            assert card["currency"] == "MANA" and card["volume_unit"] == "MANA", card
            assert "M$" in r.content[0].text and Decimal(card["books"][0]["bid_depth_usd"]) > 0
            r = await client.call_tool("assess_market", {"market": "KXFEDDECISION-26DEC-CUT25BPS1", "venue": "kalshi"})
            card = r.structured_content["scorecard"]
            assert card["currency"] == "USD" and card["volume_unit"] == "contracts", card


async def test_an_error_naming_two_arguments_keeps_the_allowed_values(pm_env):
    """Two bad arguments at once: the clipping of long echoed values took the text between the quotes of two
    values for a value and cut it, hiding what is allowed ("'price' is not one of price_below,
    price_above,... (154 characters)'level'"). Each value is named, with the whole list of allowed kinds."""
    async with connect(pm_env) as client:
        r = await client.call_tool("create_watch", {"kind": "price", "market": "8041063", "level": "abc"})
        assert r.is_error
        text = r.content[0].text
        assert "characters)" not in text, text
        assert "'price' is not one of" in text and "arbitrage" in text and "'abc' is not a number" in text, text
        # a long value is still clipped, and the server keeps running
        r = await client.call_tool("get_market", {"market": "x" * 5000, "venue": "kalshi"})
        assert r.is_error and "(5,000 characters)" in r.content[0].text, r.content[0].text


async def test_a_scan_of_nothing_does_not_read_as_no_arbitrage(env):
    """find_arbitrage with no query on a fresh server reads the markets it has already seen: none. It answered
    'No opportunity survives fees and depth in what was scanned', which a person reads as 'there is none'."""
    async with connect(env) as client:
        r = await client.call_tool("find_arbitrage", {})
        assert not r.is_error, r.content[0].text
        out, text = r.structured_content, r.content[0].text
        assert out["scanned"]["markets"] == 0 and out["total"] == 0
        assert "No opportunity survives" not in text, text
        assert "Nothing was scanned" in text and "pass query" in text, text
        assert any("nothing was scanned" in w for w in out["warnings"]), out["warnings"]
        # once a search has shown markets, the same call scans them
        await client.call_tool("search_markets", {"query": "premier league winner"})
        r = await client.call_tool("find_arbitrage", {})
        assert r.structured_content["scanned"]["markets"] > 0, r.content[0].text
        assert "Nothing was scanned" not in r.content[0].text
