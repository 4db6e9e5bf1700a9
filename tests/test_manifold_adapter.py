"""Manifold: recorded and synthetic fixtures parse into our models, CPMM maths, the synthesized book, and
the adapter against the loopback simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pm_mcp.domain.book import walk_book
from pm_mcp.domain.models import MarketStatus
from pm_mcp.settings import Settings
from pm_mcp.venues.base import NotFound, VenueError
from pm_mcp.venues.http import VenueHttp
from pm_mcp.venues.manifold import parse as mp
from pm_mcp.venues.manifold.client import ManifoldAdapter
from tools.sim import start_sim

FIX = Path(__file__).parent / "fixtures" / "manifold"
AUG = datetime(2026, 8, 20, tzinfo=UTC)  # when the search was recorded: all three markets open


def load(name: str):
    return json.loads((FIX / name).read_text())


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


def assert_clean(model) -> None:
    """No float anywhere, every datetime aware UTC."""
    for v in _leaves(model.model_dump()):
        assert not isinstance(v, float), f"float in {type(model).__name__}: {v!r}"
        if isinstance(v, datetime):
            assert v.utcoffset() == timedelta(0)


# --- recorded fixtures ---------------------------------------------------------------------------------------

def test_recorded_search_markets_parse_and_prob_comes_from_the_pool():
    raws = load("search_markets_fed_2026-08.json")
    assert len(raws) == 3
    for raw in raws:
        m = mp.parse_market(raw, now=AUG)
        assert_clean(m)
        assert m.venue == "manifold" and m.id == raw["id"] and m.slug == raw["slug"]
        assert m.url == raw["url"] and mp.parse_ref(m.url) == ("slug", raw["slug"])
        assert m.status == MarketStatus.OPEN and m.raw_kind == "binary/cpmm-1"
        yes, no = m.outcome("Yes"), m.outcome("No")
        # computed from pool + p in Decimal; agrees with the venue's own float to its precision
        assert abs(yes.price - Decimal(repr(raw["probability"]))) < Decimal("0.000001")
        assert yes.price + no.price == 1
        pool = {k: Decimal(repr(v)) for k, v in raw["pool"].items()}
        exact = mp.cpmm_probability(pool["YES"], pool["NO"], Decimal(repr(raw["p"])))
        assert yes.price == exact.quantize(Decimal("0.000001"))
        assert m.fees.kind == "none" and m.tick_size == Decimal("0.01") and m.min_order_size == 1
        assert m.liquidity == Decimal(100) and isinstance(m.volume, Decimal)
        assert m.close_time == datetime.fromtimestamp(raw["closeTime"] / 1000, UTC)
        assert m.rule_text == ""  # LiteMarkets carry no description
    # the clock moves on: closeTime passed -> closed
    assert mp.parse_market(raws[0], now=datetime(2026, 11, 25, tzinfo=UTC)).status == MarketStatus.CLOSED


def test_recorded_legacy_free_response_market():
    raw = load("docs_example_get_market_free_response_legacy_2022.json")
    m = mp.parse_market(raw)
    assert_clean(m)
    assert m.status == MarketStatus.RESOLVED and m.resolved_outcome.startswith("MKT")
    assert [o.label for o in m.outcomes] == ["ANTE", "This answer", "Toyota Camry",
                                             "Utility (Defined by your personal utility function.)"]
    assert [o.answer_id for o in m.outcomes] == ["1", "2", "3", "4"]
    assert m.outcomes[0].price == Decimal("0.667497")
    assert m.rule_text.startswith("Resolves proportionally") and "description" in m.rule_sources
    assert m.url == "https://manifold.markets/Angela/what-is-good" and m.slug == "what-is-good"
    with pytest.raises(ValueError, match="no CPMM pool"):
        mp.book_for(raw, "ANTE")


def test_synthetic_full_markets():
    b = mp.parse_market(load("synthetic_fullmarket_binary.json"), now=AUG)
    assert b.outcome("Yes").price == Decimal("0.4") and b.category == "economics"
    assert b.rule_text.startswith("Resolves YES if the FOMC") and "textDescription" in b.rule_sources
    # the TipTap description flattens to the same text
    assert mp.tiptap_text(load("synthetic_fullmarket_binary.json")["description"]) == b.rule_text
    mc = mp.parse_market(load("synthetic_fullmarket_multiple_choice.json"), now=AUG)
    assert [(o.label, o.answer_id, o.price) for o in mc.outcomes] == [
        ("Kevin Hassett", "ansA000001", Decimal("0.6")), ("Kevin Warsh", "ansB000002", Decimal("0.3")),
        ("Someone else", "ansC000003", Decimal("0.1"))]
    assert mc.mutually_exclusive and mc.group_id == mc.id and mc.raw_kind == "multiple_choice/cpmm-multi-1"


def test_tiptap_text_handles_lists_breaks_mentions():
    doc = {"type": "doc", "content": [
        {"type": "heading", "content": [{"type": "text", "text": "Rules"}]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "two"}, {"type": "hardBreak"}, {"type": "mention", "attrs": {"label": "bob"}}]}]},
        ]}]}
    assert mp.tiptap_text(doc) == "Rules\n- one\n\n- two\n@bob"


# --- CPMM maths and the synthesized book ------------------------------------------------------------------------

def test_cpmm_moves_reach_the_target_and_keep_the_invariant():
    y, n, p = Decimal(120), Decimal(80), Decimal("0.5")
    k = (y ** p) * (n ** (1 - p))
    amount, shares = mp.cpmm_buy_yes_to(y, n, p, Decimal("0.5"))
    y2, n2 = y + amount - shares, n + amount
    assert abs(mp.cpmm_probability(y2, n2, p) - Decimal("0.5")) < Decimal("1e-20")
    assert abs((y2 ** p) * (n2 ** (1 - p)) - k) < Decimal("1e-20")
    assert shares > amount > 0  # YES bought below 1 mana per share
    amount, shares = mp.cpmm_buy_no_to(y, n, p, Decimal("0.3"))
    y3, n3 = y + amount, n + amount - shares
    assert abs(mp.cpmm_probability(y3, n3, p) - Decimal("0.3")) < Decimal("1e-20")


def test_synthesized_book_is_best_first_and_straddles_the_probability():
    raw = load("search_markets_fed_2026-08.json")[2]  # prob 0.0817
    book = mp.book_for(raw, "Yes", now=AUG)
    assert book.derived and book.venue == "manifold" and book.tick_size == Decimal("0.01")
    prob = mp.binary_probability(raw)
    assert book.bids and book.asks
    assert all(b.price < prob for b in book.bids) and all(a.price > prob for a in book.asks)
    assert [a.price for a in book.asks] == sorted(a.price for a in book.asks)
    assert [b.price for b in book.bids] == sorted((b.price for b in book.bids), reverse=True)
    assert len(book.asks) == 10 and len(book.bids) == 8  # up 0.09 .. 0.18; down 0.08 .. 0.01 (the floor)
    # walking the asks costs (to rounding) what the AMM charges to move the price to the last level
    pool = {k: Decimal(repr(v)) for k, v in raw["pool"].items()}
    amount, shares = mp.cpmm_buy_yes_to(pool["YES"], pool["NO"], Decimal(repr(raw["p"])), Decimal("0.18"))
    walk = walk_book(book.asks, size=sum(a.size for a in book.asks))
    assert abs(walk.cost - amount) < Decimal("0.05") and abs(walk.filled_size - shares) < Decimal("0.11")
    no = mp.book_for(raw, "No")
    assert no.best_bid == 1 - book.best_ask and no.best_ask == 1 - book.best_bid
    assert_clean(book)
    with pytest.raises(ValueError, match="'Yes' and 'No'"):
        mp.book_for(raw, "Maybe")


def test_multiple_choice_book_per_answer():
    raw = load("synthetic_fullmarket_multiple_choice.json")
    book = mp.book_for(raw, "kevin warsh")
    assert book.outcome == "Kevin Warsh" and book.best_bid < Decimal("0.3") < book.best_ask
    assert mp.book_for(raw, "ansB000002").asks == book.asks
    with pytest.raises(ValueError, match="its answers are"):
        mp.book_for(raw, "Powell")


@hsettings(max_examples=60, deadline=None)
@given(y=st.integers(5, 100_000), n=st.integers(5, 100_000), p=st.integers(5, 95))
def test_ladder_properties(y, n, p):
    pw = Decimal(p) / 100
    prob = mp.cpmm_probability(Decimal(y), Decimal(n), pw)
    bids, asks = mp.cpmm_ladder(Decimal(y), Decimal(n), pw)
    assert all(b.price <= prob for b in bids) and all(a.price >= prob for a in asks)
    assert all(a.price <= 1 and a.size > 0 for a in asks) and all(b.price >= 0 and b.size > 0 for b in bids)
    assert [a.price for a in asks] == sorted(a.price for a in asks)
    assert [b.price for b in bids] == sorted((b.price for b in bids), reverse=True)


@pytest.mark.parametrize("ref,expected", [
    ("https://manifold.markets/CalibratedGhosts/will-the-fed-cut-rates-by-at-least",
     ("slug", "will-the-fed-cut-rates-by-at-least")),
    ("manifold.markets/subhamsingh/will-the-fed-cut-rates-by-25-bps-at-N6AnPp8uC8?r=abc",
     ("slug", "will-the-fed-cut-rates-by-25-bps-at-N6AnPp8uC8")),
    ("https://manifold.markets/embed/Angela/what-is-good", ("slug", "what-is-good")),
    ("https://api.manifold.markets/v0/market/hZsE0A09Sd", ("id", "hZsE0A09Sd")),
    ("https://api.manifold.markets/v0/slug/what-is-good", ("slug", "what-is-good")),
    ("manifold:hZsE0A09Sd", ("id", "hZsE0A09Sd")),
    ("manifold:what-is-good", ("slug", "what-is-good")),
    ("https://manifold.markets/browse", None),
    ("https://manifold.markets/Angela", None),
    ("hZsE0A09Sd", None),
    ("https://kalshi.com/markets/kxfed/fed/kxfed-27mar", None),
])
def test_parse_ref(ref, expected):
    assert ManifoldAdapter.parse_ref(ref) == expected


# --- the adapter over loopback ------------------------------------------------------------------------------------

@pytest.fixture
def sim():
    with start_sim("manifold") as s:
        yield s


@pytest.fixture
async def adapter(sim, tmp_path):
    settings = Settings(home=tmp_path, manifold_url=sim.env()["PM_MCP_MANIFOLD_URL"])
    async with VenueHttp("manifold", settings.manifold_url, backoff_s=0.01, backoff_max_s=0.05) as http:
        yield ManifoldAdapter(settings, http)


@pytest.mark.anyio
async def test_search_open_and_all(adapter, sim):
    got = await adapter.search("fed cut", limit=10)
    # the simulator filters "open" on the real clock; the synthetic market is kept open 90 days ahead
    assert "SynthBin001" in [m.id for m in got]
    assert all(m.status == MarketStatus.OPEN for m in got)
    q = sim.log[-1].query
    assert q["term"] == "fed cut" and q["filter"] == "open"
    everything = await adapter.search("fed", limit=10, status=None)
    ids = [m.id for m in everything]
    assert {"hZsE0A09Sd", "lqtROphAhp", "udAUupudlE", "SynthBin001", "SynthMc0001"} <= set(ids)
    assert "lEoqtnDgJzft6apSKzYK" not in ids  # legacy dpm-2: not tradeable, dropped
    assert sim.log[-1].query["filter"] == "all"
    assert len(await adapter.search("fed", limit=2, status=None)) == 2
    with pytest.raises(ValueError, match="status must be"):
        await adapter.search("fed", status="soon")


@pytest.mark.anyio
async def test_get_market_by_url_id_slug(adapter):
    url = "https://manifold.markets/CalibratedGhosts/will-the-fed-cut-rates-by-at-least"
    by_url = await adapter.get_market(url)
    assert by_url.id == "lqtROphAhp"
    assert (await adapter.get_market("lqtROphAhp")).id == "lqtROphAhp"
    assert (await adapter.get_market("will-the-fed-cut-rates-by-at-least")).id == "lqtROphAhp"
    assert (await adapter.get_market("manifold:what-is-good")).id == "lEoqtnDgJzft6apSKzYK"
    assert (await adapter.get_market("https://api.manifold.markets/v0/market/SynthMc0001")).outcomes[1].label \
        == "Kevin Warsh"
    with pytest.raises(NotFound, match="no market"):
        await adapter.get_market("https://manifold.markets/nobody/no-such-market")
    with pytest.raises(NotFound):
        await adapter.get_market("not a ref")
    ev = await adapter.get_event("SynthMc0001")
    assert ev.markets[0].id == "SynthMc0001" and ev.mutually_exclusive


@pytest.mark.anyio
async def test_order_book_is_synthesized_from_the_served_pool(adapter, sim):
    m = await adapter.get_market("SynthBin001")
    book = await adapter.get_order_book(m, "Yes")
    assert book.derived and book.best_bid < Decimal("0.4") < book.best_ask
    assert sim.log[-1].path == "/v0/market/SynthBin001"  # a fresh read of the pool
    expected = mp.book_for(load("synthetic_fullmarket_binary.json"), "Yes")
    assert book.asks == expected.asks and book.bids == expected.bids
    mc = await adapter.get_market("SynthMc0001")
    assert (await adapter.get_order_book(mc, "Kevin Hassett")).best_ask > Decimal("0.6")
    legacy = await adapter.get_market("lEoqtnDgJzft6apSKzYK")
    with pytest.raises(VenueError, match="no CPMM pool"):
        await adapter.get_order_book(legacy, "ANTE")


@pytest.mark.anyio
async def test_price_history_from_bets(adapter, sim):
    m = await adapter.get_market("SynthBin001")
    pts = await adapter.get_price_history(m, "Yes", interval="1w")
    assert sim.log[-1].path == "/v0/bets" and sim.log[-1].query["contractId"] == "SynthBin001"
    assert 30 <= len(pts) <= 48 and pts == sorted(pts, key=lambda p: p.t)
    assert pts[-1].price == Decimal("0.4")  # the synthetic bets end at the current probability
    assert all(p.t.tzinfo is not None and isinstance(p.price, Decimal) for p in pts)
    no = await adapter.get_price_history(m, "No", interval="1w")
    assert [p.price for p in no] == [1 - p.price for p in pts]
    day = await adapter.get_price_history(m, "Yes", interval="1d")
    assert len(day) < len(pts) and all(p.t >= datetime.now(UTC) - timedelta(days=1, hours=1) for p in day)
    mc = await adapter.get_market("SynthMc0001")
    warsh = await adapter.get_price_history(mc, "Kevin Warsh", interval="1w")
    assert warsh[-1].price == Decimal("0.3")
    with pytest.raises(KeyError):
        await adapter.get_price_history(mc, "Powell")
    with pytest.raises(VenueError, match="interval"):
        await adapter.get_price_history(m, "Yes", interval="2w")


@pytest.mark.anyio
async def test_catalog_markets_and_faults(adapter, sim):
    cat = await adapter.catalog_markets(100)
    assert {m.id for m in cat} >= {"SynthBin001", "SynthMc0001"}
    assert sim.log[-1].query["sort"] == "liquidity" and sim.log[-1].query["filter"] == "open"
    sim.inject("status", status=503, times=1, path="^/v0/search-markets")
    assert await adapter.search("fed")  # retried, then answered
    sim.inject("malformed", times=None, path="^/v0/search-markets")
    with pytest.raises(VenueError, match="malformed JSON"):
        await adapter.search("fed")
