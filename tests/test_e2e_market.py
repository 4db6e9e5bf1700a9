"""End-to-end: the real `pm-mcp` process over stdio (official MCP client) against the loopback venue
simulators (Polymarket, and Kalshi/Manifold when their simulator modules exist).

Covers: search on every venue, what people paste resolves, each fault knob's documented behaviour
(retry then success, partial results with a per-venue warning, or a clear error), the server staying
up, the market resource, the PNG chart, the text budget of a 20-result answer, and compute_edge
fetching the live book through MarketService.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import struct
from decimal import Decimal

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
NEWSOM_URL = ("https://polymarket.com/event/democratic-presidential-nominee-2028/"
              "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568")
NEWSOM_CONDITION = "0x0f49db97f71c68b1e42a6d16e3de93d85dbf7d4148e3f018eb79e88554be9f75"
NEWSOM_YES_TOKEN = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
OTHER_VENUES = [v for v in ("kalshi", "manifold") if importlib.util.find_spec(f"tools.sim.{v}") is not None]
VENUES = ["polymarket", *OTHER_VENUES]


@pytest.fixture
def sims():
    with start_sims(*VENUES) as group:
        yield group


@pytest.fixture
def env(pm_env, sims):
    # 3 s per venue: long enough for the retries below (backoff <= 1.4 s), short enough to keep tests fast
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": ",".join(VENUES), "PM_MCP_HTTP_TIMEOUT_S": "3"}


async def call(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def call_error(client, tool: str, args: dict) -> str:
    r = await client.call_tool(tool, args)
    assert r.is_error, r.content[0].text
    return r.content[0].text


async def test_tools_are_listed_with_truthful_annotations(env):
    async with connect(env) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("search_markets", "get_market", "get_order_book", "get_price_history"):
            t = tools[name]
            a = t.annotations
            assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == \
                (True, False, True, True)
            assert t.title and t.output_schema
            size = len(t.name) + len(t.description or "") + len(json.dumps(t.input_schema))
            assert len(t.description) < 600 and size < 2600, (name, len(t.description), size)
        templates = await client.list_resource_templates()
        assert "market://{venue}/{market_id}" in [x.uri_template for x in templates.resource_templates]


async def test_search_finds_markets_on_every_venue(env, sims):
    async with connect(env) as client:
        found: dict[str, set[str]] = {}
        for q in ("bitcoin", "democratic nomination", "fed"):
            out, text = await call(client, "search_markets", {"query": q, "limit": 25, "status": "any"})
            assert not out["warnings"], out["warnings"]
            for r in out["results"]:
                found.setdefault(r["venue"], set()).add(r["id"])
                assert f"venue={r['venue']} id={r['id']}" in text
        assert set(found) == set(VENUES), found
        assert {"1500056", "1557558", NEWSOM} <= found["polymarket"]
        out, _ = await call(client, "search_markets", {"query": "bitcoin", "venues": ["polymarket"]})
        btc = next(r for r in out["results"] if r["id"] == "1500056")
        assert Decimal(btc["outcomes"][0]["price"]) == Decimal("0.9995")  # decoded from the JSON string
    assert sims["polymarket"].count(path="^/gamma/public-search$") >= 4
    for v in OTHER_VENUES:
        assert sims[v].count() > 0  # really asked


async def test_search_answer_for_20_markets_stays_small(env):
    async with connect(env) as client:
        # ask every venue something broad; page through until 20 results are on one page
        out, text = await call(client, "search_markets", {"query": "will", "limit": 20, "status": "any"})
        if len(out["results"]) < 20:
            pytest.skip(f"only {len(out['results'])} markets in the simulators match")
        assert len(out["results"]) == 20
        assert len(text) < 16_000, len(text)  # well under 4,000 tokens of text
        if out["next_cursor"]:
            nxt, _ = await call(client, "search_markets", {"query": "will", "limit": 20, "status": "any",
                                                           "cursor": out["next_cursor"]})
            first = {(r["venue"], r["id"]) for r in out["results"]}
            assert first.isdisjoint({(r["venue"], r["id"]) for r in nxt["results"]})


async def test_pasted_references_resolve(env):
    async with connect(env) as client:
        for ref in (NEWSOM_URL, NEWSOM_CONDITION, NEWSOM_YES_TOKEN, NEWSOM,
                    "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568"):
            out, text = await call(client, "get_market", {"market": ref, "include_book": False})
            assert out["market"]["id"] == NEWSOM and out["market"]["venue"] == "polymarket", ref
        out, text = await call(client, "get_market", {"market": NEWSOM_URL})
        m = out["market"]
        assert m["neg_risk"] and m["tick_size"] == "0.001" and m["min_order_size"] == "5"
        assert m["fees"]["taker_rate"] == "0.04"
        assert m["rule_text"].startswith("This market will resolve")
        assert {b["outcome"] for b in out["books"]} == {"Yes", "No"}
        assert all(Decimal(b["best_bid"]) < Decimal(b["best_ask"]) for b in out["books"])
        for needle in ("venue text (untrusted, quoted as written): rules\n> This market will resolve",
                       "Tick 0.001, minimum order 5", "Closes 2028-11-07 00:00 UTC", "Book Yes: best bid"):
            assert needle in text
        text = await call_error(client, "get_market", {"market": "https://polymarket.com/event/"
                                                       "democratic-presidential-nominee-2028"})
        assert "event with 3 markets" in text and "will-gretchen-whitmer" in text
        text = await call_error(client, "get_market", {"market": "no-such-thing-xyz", "venue": "polymarket"})
        assert "Polymarket" in text and "no Polymarket market" in text
        if "kalshi" in OTHER_VENUES:
            out, _ = await call(client, "get_market", {"market": "https://kalshi.com/markets/kxeplgame/epl-game/"
                                                       "KXEPLGAME-26MAR22TOTNFO-TOT", "include_book": False})
            assert out["market"]["venue"] == "kalshi" and out["market"]["id"] == "KXEPLGAME-26MAR22TOTNFO-TOT"
        if "manifold" in OTHER_VENUES:
            out, _ = await call(client, "get_market", {"market": "https://manifold.markets/Angela/what-is-good",
                                                       "include_book": False})
            assert out["market"]["venue"] == "manifold" and out["market"]["slug"] == "what-is-good"
        res = await client.read_resource(f"market://polymarket/{NEWSOM}")
        data = json.loads(res.contents[0].text)
        assert data["id"] == NEWSOM and data["outcomes"][0]["token_id"] == NEWSOM_YES_TOKEN


async def test_order_book_and_price_history_with_chart(env):
    async with connect(env) as client:
        out, text = await call(client, "get_order_book", {"market": NEWSOM, "outcome": "no", "depth": 3})
        assert out["outcome"] == "No" and len(out["asks"]) == 3 and out["more_ask_levels"] == 2
        asks = [Decimal(a["price"]) for a in out["asks"]]
        bids = [Decimal(b["price"]) for b in out["bids"]]
        assert asks == sorted(asks) and bids == sorted(bids, reverse=True)  # best first
        assert "ASKS (price x size, best first): 0.769 x 80" in text
        text = await call_error(client, "get_order_book", {"market": NEWSOM, "outcome": "Maybe"})
        assert "'Yes', 'No'" in text

        r = await client.call_tool("get_price_history", {"market": NEWSOM, "outcome": "Yes", "chart": True,
                                                         "max_points": 10})
        assert not r.is_error, r.content[0].text
        out = r.structured_content
        assert out["total_points"] == 48 and len(out["points"]) == 10
        assert Decimal(out["last"]) == Decimal("0.2325")
        image = next(c for c in r.content if c.type == "image")
        png = base64.b64decode(image.data)
        assert image.mime_type == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert (width, height) == (800, 450)
        # decoded: the price line in its colour inside the plot, the title's dark ink at the top left, and the
        # date labels under the plot
        from matplotlib.image import imread

        img = imread(io.BytesIO(png))
        assert img.shape[:2] == (450, 800)

        def rgb(x, y):
            return tuple(round(float(c) * 255) for c in img[y, x][:3])

        line = (0x1F, 0x61, 0xC9)
        assert sum(rgb(x, y) == line for x in range(80, 720, 2) for y in range(70, 370, 2)) > 20
        assert any(max(rgb(x, y)) < 90 for x in range(5, 300) for y in range(5, 40))
        assert any(max(rgb(x, y)) < 120 for x in range(80, 720) for y in range(375, 420))
        assert "chart attached" in r.content[0].text


async def test_fault_knobs_through_the_server(env, sims):
    pm = sims["polymarket"]
    async with connect(env) as client:
        # 5xx twice, then OK: retried, the answer is complete, no warning
        pm.inject("status", status=503, times=2, path="^/gamma/public-search$")
        out, _ = await call(client, "search_markets", {"query": "bitcoin", "venues": ["polymarket"]})
        assert {r["id"] for r in out["results"]} >= {"1500056"} and not out["warnings"]
        assert [e.status for e in pm.log if e.path == "/gamma/public-search"][-3:] == [503, 503, 200]

        # 429 with Retry-After: waits, then succeeds
        pm.inject("status", status=429, retry_after=1, times=1, path="^/gamma/markets/")
        out, _ = await call(client, "get_market", {"market": NEWSOM, "include_book": False})
        assert out["market"]["id"] == NEWSOM

        # 429 without Retry-After, forever: partial results with a per-venue warning
        pm.inject("status", status=429, times=None, path="^/gamma/public-search$")
        out, text = await call(client, "search_markets", {"query": "fed", "status": "any"})
        assert "rate-limiting" in out["warnings"]["polymarket"] and "warning (polymarket)" in text
        if OTHER_VENUES:
            assert {r["venue"] for r in out["results"]} & set(OTHER_VENUES)
        pm.clear_faults()

        # Cloudflare HTML 403: a clear "blocked" sentence; other venues unaffected
        pm.inject("html403", times=None)
        out, _ = await call(client, "search_markets", {"query": "fed", "status": "any"})
        assert "HTML page instead of data" in out["warnings"]["polymarket"]
        text = await call_error(client, "get_order_book", {"market": NEWSOM_URL, "outcome": "Yes"})
        assert "Polymarket answered with an HTML page" in text and "geoblock" in text
        pm.clear_faults()

        # malformed JSON: a clear error naming the venue
        pm.inject("malformed", times=1, path="^/clob/book$")
        text = await call_error(client, "get_order_book", {"market": NEWSOM, "outcome": "Yes"})
        assert "malformed JSON" in text

        # slow body beyond the timeout: the search comes back (without that venue) with a warning
        pm.inject("slow_body", seconds=10, times=None, path="^/gamma/public-search$")
        out, _ = await call(client, "search_markets", {"query": "bitcoin", "status": "any"})
        assert "did not answer within 3s" in out["warnings"]["polymarket"]
        # ... and the markets seen before still come back from the local catalog
        assert "1500056" in {r["id"] for r in out["results"]}
        assert next(r for r in out["results"] if r["id"] == "1500056")["source"] == "catalog"
        pm.clear_faults()

        # the venue down (5xx forever) when asking for one known market: the catalog copy, flagged
        pm.inject("status", status=502, times=None)
        out, text = await call(client, "get_market", {"market": NEWSOM})
        assert out["market"]["id"] == NEWSOM and out["warning"] and "local catalog copy" in text
        pm.clear_faults()

        # the server stayed up through all of it
        out, _ = await call(client, "get_order_book", {"market": NEWSOM, "outcome": "Yes"})
        assert out["best_ask"] is not None


async def test_bad_inputs_are_tool_errors(env):
    async with connect(env) as client:
        text = await call_error(client, "search_markets", {"query": "x", "closes_before": "next tuesday"})
        assert "ISO 8601" in text
        text = await call_error(client, "search_markets", {"query": "x", "cursor": "nonsense"})
        assert "cursor" in text
        r = await client.call_tool("search_markets", {"query": "x", "limit": 500})
        assert r.is_error  # schema bound: at most 25
        out, _ = await call(client, "search_markets", {"query": "x"})
        assert out["results"] == [] or all(r["id"] for r in out["results"])


async def test_compute_edge_fetches_the_book_through_market_service(env, sims):
    async with connect(env) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "compute_edge" in tools
        out, text = await call(client, "compute_edge", {"p": "0.30", "venue": "polymarket", "market": NEWSOM,
                                                        "outcome": "yes", "side": "buy", "size": "10"})
        # the simulator's Yes book: best ask 0.233 x 80 -> 10 shares fill at 0.233, politics fee 0.04
        assert out["market_id"] == NEWSOM and out["source"] == "book"
        assert Decimal(out["average_price"]) == Decimal("0.233") and Decimal(out["filled_size"]) == 10
        expected_fee = Decimal(10) * Decimal("0.04") * Decimal("0.233") * (1 - Decimal("0.233"))
        assert abs(Decimal(out["fees_usd"]) - expected_fee) < Decimal("0.00001")
        assert Decimal(out["edge_pp"]) > 0  # 30% vs ~23.3% + fee
    assert sims["polymarket"].count(path="^/clob/book$") >= 1
