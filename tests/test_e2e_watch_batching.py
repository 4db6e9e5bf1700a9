"""Batched polling across the three venues (real server, the three simulators with the synthetic world).

Many watches on a few markets per venue: each pass reads every watched Polymarket book in one CLOB POST /books,
every Kalshi book in one GET /markets/orderbooks?tickers=..., each Manifold market once (Manifold has no batch read
of full markets; all its outcomes' books come from that one read), and the markets a change kind needs fresh in one
Gamma GET /markets?id=... / Kalshi GET /markets?tickers=... . The single-book endpoints are not used at all."""

from __future__ import annotations

import asyncio

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

POLY = ["7839525", "11062440", "9812074"]  # SYNTHETIC world members (2028 nominee event)
KALSHI = ["KXNEWPOPE-70-PPIZ", "KXNEWPOPE-70-PPAR", "KXNEWPOPE-70-FAMB"]
MANIFOLD = ["SynthBin001", "synDEM28WIN85a35882", "synTRUMPIMPEACH0b645d5b"]


@pytest.fixture
def sims():
    with start_sims("polymarket", "kalshi", "manifold", world=True) as group:
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket,kalshi,manifold", "PM_MCP_HTTP_TIMEOUT_S": "3",
            "PM_MCP_WATCH_INTERVAL_S": "1"}


async def create(client, venue: str, market: str, **args) -> dict:
    r = await client.call_tool("create_watch", {"market": market, "venue": venue, **args})
    assert not r.is_error, (venue, market, r.content[0].text)
    return r.structured_content["watch"]


async def test_many_watches_many_markets_one_batched_read_per_venue_and_pass(env, sims):
    async with connect(env, mode="legacy") as client:
        n = 0
        for venue, ids in (("polymarket", POLY), ("kalshi", KALSHI), ("manifold", MANIFOLD)):
            for mid in ids:
                for outcome in ("Yes", "No"):
                    await create(client, venue, mid, kind="price_below", outcome=outcome, level="0.001")
                    await create(client, venue, mid, kind="spread_above", outcome=outcome, level="0.99")
                    n += 2
            await create(client, venue, ids[0], kind="settlement_change")
            n += 1
        assert n == 39
        await asyncio.sleep(2.5)  # the first passes fill the runner's market cache
        for sim in sims.values():
            sim.reset_log()
        await asyncio.sleep(5)
        poly, kalshi, mani = sims["polymarket"], sims["kalshi"], sims["manifold"]
        counts = {
            "poly_books": poly.count(path=r"^/clob/books$", method="POST"),
            "poly_book": poly.count(path=r"^/clob/book$"),
            "poly_markets_batch": poly.count(path=r"^/gamma/markets$"),
            "poly_market_one": poly.count(path=r"^/gamma/markets/\d+$"),
            "kalshi_books": kalshi.count(path=r"/markets/orderbooks$"),
            "kalshi_book": kalshi.count(path=r"/markets/[^/]+/orderbook$"),
            "kalshi_markets_batch": kalshi.count(path=r"/trade-api/v2/markets$"),
            "kalshi_market_one": kalshi.count(path=r"/trade-api/v2/markets/KX[^/]*$"),
            "manifold_market": mani.count(path=r"^/v0/market/[^/]+$"),
        }
        r = await client.call_tool("list_watches", {})
        notes = [w["note"] for w in r.structured_content["watches"] if w["note"]]
    assert not notes, notes  # every watch was checked (none is "not checked since")
    passes = counts["poly_books"]
    assert 3 <= passes <= 7, counts  # ~5 passes, one batched book read each (18 book watches would be 90)
    assert counts["poly_book"] == 0 and counts["kalshi_book"] == 0, counts
    assert 3 <= counts["kalshi_books"] <= 7, counts
    # settlement_change needs its market fresh every pass: one batched market read per pass, no single reads
    assert 3 <= counts["poly_markets_batch"] <= 7 and counts["poly_market_one"] == 0, counts
    assert 3 <= counts["kalshi_markets_batch"] <= 7 and counts["kalshi_market_one"] == 0, counts
    # Manifold: one read per market per pass (3 markets), plus the settlement watch's fresh market read
    assert 9 <= counts["manifold_market"] <= 4 * 7, counts
