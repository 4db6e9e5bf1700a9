"""The local catalog (SQLite FTS5) and MarketService search merging, with real SQLite files."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pm_mcp.domain.models import Market, MarketStatus, Outcome
from pm_mcp.markets.catalog import Catalog, CatalogFilters, fts_query, fts_terms
from pm_mcp.markets.service import MarketService, venue_of_url
from pm_mcp.settings import Settings
from pm_mcp.store import Store
from pm_mcp.venues.base import VenueUnavailable

pytestmark = pytest.mark.anyio


def mk(venue: str, mid: str, title: str, *, status=MarketStatus.OPEN, close=None, vol="0", liq="0",
       category=None, rules="", outcomes=("Yes", "No"), slug=None, token=None) -> Market:
    return Market(id=mid, venue=venue, title=title, status=status, close_time=close, volume=Decimal(vol),
                  liquidity=Decimal(liq), category=category, rule_text=rules, slug=slug,
                  outcomes=[Outcome(label=o, token_id=(token if i == 0 else None), price=Decimal("0.5"))
                            for i, o in enumerate(outcomes)])


@pytest.fixture
async def catalog(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")  # applies the "catalog" migration
    cat = await Catalog.open(store.path, ttl_s=300)
    yield cat
    await cat.close()
    await store.close()


async def test_migration_registered(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        assert (await store.schema_versions())["catalog"] == 2  # v2 emptied the cache (markets gained currency)
    finally:
        await store.close()


async def test_search_ranks_title_matches_and_stems(catalog):
    await catalog.upsert([
        mk("kalshi", "FED-1", "Will the Fed cut rates in December?", vol="100"),
        mk("polymarket", "2", "Bitcoin above 100k?", rules="Mentions the Fed cutting rates in passing."),
        mk("manifold", "3", "Who wins the election?", outcomes=("Newsom", "Vance")),
    ])
    hits = await catalog.search("fed cutting")
    assert [h.market.id for h in hits] == ["FED-1", "2"]  # title match first; "cutting" stems to "cut"
    assert hits[0].score > hits[1].score
    assert [h.market.id for h in await catalog.search("newsom")] == ["3"]  # outcome labels are indexed
    assert await catalog.search("zzzz") == []


async def test_partial_matches_come_after_full_matches(catalog):
    await catalog.upsert([mk("kalshi", "A", "Fed decision in December"), mk("kalshi", "B", "Fed chair nominee")])
    ids = [h.market.id for h in await catalog.search("fed december")]
    assert ids == ["A", "B"]


async def test_partial_matches_of_three_words_have_all_but_the_commonest(catalog):
    await catalog.upsert([mk("kalshi", "ONE", "Tesla news", vol="9000000"),
                          mk("kalshi", "TWO", "Tesla IPO rumours"),
                          mk("kalshi", "ALL", "Tesla IPO in 2027"),
                          mk("kalshi", "R27", "Recession in 2027"), mk("kalshi", "F27", "Fed cut in 2027"),
                          mk("kalshi", "T27", "Tesla deliveries in 2027")])
    assert await catalog.doc_freqs(["tesla", "ipo", "2027"]) == [4, 2, 4]
    # a prefix of its stem ("deliveries" is stored as "deliveri"), nothing, and a two-letter word matched exactly
    assert await catalog.doc_freqs(["deliver", "xyzzy", "in"]) == [1, 0, 4]
    ids = [h.market.id for h in await catalog.search("tesla ipo 2027")]
    # every word, then every word but the commonest (tesla and 2027 tie at 4: the later one is left out); one word
    # of three the ranking drops anyway, and a market without the rarest word ("Tesla deliveries in 2027") is no
    # candidate of the catalog's partial stage
    assert ids == ["ALL", "TWO"]
    assert [h.market.id for h in await catalog.search("tesla ipo")][:2] == ["TWO", "ALL"]  # of two: any
    assert "ONE" in [h.market.id for h in await catalog.search("tesla ipo")]


async def test_filters(catalog):
    d = lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC)  # noqa: E731
    await catalog.upsert([
        mk("polymarket", "p1", "Election winner 2028", close=d("2028-11-07"), vol="5000", liq="100",
           category="Politics"),
        mk("kalshi", "k1", "Election turnout", close=d("2026-11-03"), vol="10", liq="5000", category="Politics"),
        mk("manifold", "m1", "Election meme market", status=MarketStatus.RESOLVED, close=d("2025-01-01"),
           category="Culture"),
    ])

    async def ids(**kw):
        return sorted(h.market.id for h in await catalog.search("election", CatalogFilters(**kw)))

    assert await ids() == ["k1", "m1", "p1"]
    assert await ids(venues=["kalshi", "manifold"]) == ["k1", "m1"]
    assert await ids(statuses=["open"]) == ["k1", "p1"]
    assert await ids(closes_before=d("2027-01-01")) == ["k1", "m1"]
    assert await ids(closes_after=d("2027-01-01")) == ["p1"]
    assert await ids(min_volume=1000) == ["p1"]
    assert await ids(min_liquidity=1000) == ["k1"]
    assert await ids(category="politics") == ["k1", "p1"]
    f = CatalogFilters(statuses=["open"], min_volume=1000)
    assert f.accepts(mk("x", "1", "t", vol="2000")) and not f.accepts(mk("x", "1", "t", vol="10"))


async def test_pagination(catalog):
    await catalog.upsert([mk("kalshi", f"K{i}", f"Rain in city {i}", vol=str(i)) for i in range(30)])
    page1 = await catalog.search("rain", limit=10, offset=0)
    page2 = await catalog.search("rain", limit=10, offset=10)
    assert len(page1) == len(page2) == 10
    assert {h.market.id for h in page1}.isdisjoint({h.market.id for h in page2})


async def test_upsert_replaces_and_reindexes(catalog):
    await catalog.upsert([mk("kalshi", "K", "Old title about apples")])
    await catalog.upsert([mk("kalshi", "K", "New title about oranges")])
    assert await catalog.count() == 1
    assert await catalog.search("apples") == []
    assert [h.market.title for h in await catalog.search("oranges")] == ["New title about oranges"]


async def test_decoded_rows_are_reused_only_while_the_row_is_unchanged(catalog):
    """Search reuses a market decoded before for the same row, but never once the row was rewritten, even
    with the same fetched_at (the cache compares the stored JSON itself)."""
    at = time.time()
    await catalog.upsert([mk("kalshi", "K", "Fed cut in December", vol="10")], fetched_at=at)
    first = (await catalog.search("fed cut"))[0].market
    assert (await catalog.search("december fed"))[0].market is first  # same row, same JSON: reused
    await catalog.upsert([mk("kalshi", "K", "Fed cut in December", vol="99")], fetched_at=at)
    again = (await catalog.search("fed cut"))[0].market
    assert again is not first and again.volume == Decimal("99")


async def test_a_listing_without_answers_keeps_the_answers_the_catalog_knows(catalog):
    full = mk("manifold", "MC", "Who will be the 2028 Democratic nominee?", outcomes=("Gavin Newsom", "Josh Shapiro"))
    await catalog.upsert([full])
    lite = full.model_copy(update={"outcomes": [], "volume": Decimal("77")})
    await catalog.upsert([lite])
    got, _ = await catalog.get("manifold", "MC")
    assert [o.label for o in got.outcomes] == ["Gavin Newsom", "Josh Shapiro"] and got.volume == Decimal("77")
    assert [h.market.id for h in await catalog.search("shapiro")] == ["MC"]  # the answer is still indexed
    await catalog.upsert([mk("manifold", "NEW", "Another question", outcomes=())])  # nothing known: stays bare
    assert (await catalog.get("manifold", "NEW"))[0].outcomes == []


async def test_refs_and_staleness(catalog):
    m = mk("polymarket", "559652", "Newsom", slug="will-newsom-win", token="123456789012345678901234")
    await catalog.upsert([m], fetched_at=time.time() - 1000)
    assert await catalog.lookup("WILL-NEWSOM-WIN") == [("polymarket", "559652")]
    assert await catalog.lookup("123456789012345678901234") == [("polymarket", "559652")]
    got, at = await catalog.get("polymarket", "559652")
    assert got == m and catalog.is_stale(at)
    hit = (await catalog.search("newsom"))[0]
    assert hit.stale  # older than the 300 s TTL
    await catalog.upsert([m])
    assert not (await catalog.search("newsom"))[0].stale


def test_fts_query_is_safe():
    assert fts_terms('Will the "Fed" cut?') == ["fed", "cut"]
    assert fts_terms("the") == ["the"]  # only stopwords: keep them
    assert fts_query(["fed", 'a"b']) == '"fed"* "a""b"*'
    assert fts_query(["x", "yy"], "or") == '"x" OR "yy"'
    assert fts_query(["fed", "cut", 'q"'], "all_but_one") == '("cut"* "q""") OR ("fed"* "q""") OR ("fed"* "cut"*)'
    assert fts_query(["fed", "cut"], "all_but_one") == '"fed"* "cut"*'  # two terms: all of them


def test_venue_of_url():
    assert venue_of_url("https://polymarket.com/event/x") == "polymarket"
    assert venue_of_url("kalshi.com/markets/kxfed/fed/KXFED-26DEC") == "kalshi"
    assert venue_of_url("https://manifold.markets/user/slug") == "manifold"
    assert venue_of_url("KXFED-26DEC") is None


# --- MarketService search merge with in-process adapters (real catalog, scripted venues) --------------
class ScriptedVenue:
    """A venue adapter whose search answers come from a list (or raise); exercises the merge logic."""

    def __init__(self, name: str, markets: list[Market] | Exception, delay: float = 0.0):
        self.name = name
        self.markets = markets
        self.delay = delay
        self.calls = 0

    async def search(self, query, *, limit=20, status="open"):
        import asyncio

        self.calls += 1
        await asyncio.sleep(self.delay)
        if isinstance(self.markets, Exception):
            raise self.markets
        return [m for m in self.markets if query.split()[0].lower() in m.title.lower()][:limit]


async def test_service_merges_venues_and_reports_failures(catalog, tmp_path):
    settings = Settings(home=tmp_path, http_timeout_s=1)
    poly = ScriptedVenue("polymarket", [mk("polymarket", "p1", "Fed cut in December", vol="10")])
    kal = ScriptedVenue("kalshi", VenueUnavailable("kalshi", "Kalshi had a server error (HTTP 503)"))
    mani = ScriptedVenue("manifold", [mk("manifold", "m1", "Fed cut this year?")])
    svc = MarketService(settings, {"polymarket": poly, "kalshi": kal, "manifold": mani}, catalog)
    # kalshi's market is known from an earlier session, 20 minutes ago
    await catalog.upsert([mk("kalshi", "KXFED", "Fed cut at the December meeting")], fetched_at=time.time() - 1200)
    res = await svc.search("fed cut")
    ids = {(h.market.venue, h.market.id): h for h in res.hits}
    assert set(ids) == {("polymarket", "p1"), ("manifold", "m1"), ("kalshi", "KXFED")}
    assert ids[("polymarket", "p1")].source == "live" and not ids[("polymarket", "p1")].stale
    assert ids[("kalshi", "KXFED")].source == "catalog" and ids[("kalshi", "KXFED")].stale
    assert res.stale and set(res.warnings) == {"kalshi"} and "503" in res.warnings["kalshi"]
    # the live results are now in the catalog
    assert await catalog.lookup("p1") == [("polymarket", "p1")]


async def test_service_timeout_per_venue_and_parallelism(catalog, tmp_path):
    settings = Settings(home=tmp_path, http_timeout_s=1)
    slow = ScriptedVenue("kalshi", [mk("kalshi", "k", "Rain tomorrow")], delay=5)
    fast = [ScriptedVenue(v, [mk(v, v, "Rain tomorrow")], delay=0.3) for v in ("polymarket", "manifold")]
    svc = MarketService(settings, {"kalshi": slow, "polymarket": fast[0], "manifold": fast[1]}, catalog)
    t0 = time.monotonic()
    res = await svc.search("rain")
    took = time.monotonic() - t0
    assert 1.0 <= took < 2.0  # bounded by the per-venue timeout, venues asked in parallel
    assert "did not answer within 1s" in res.warnings["kalshi"]
    assert {h.market.venue for h in res.hits} == {"polymarket", "manifold"}


async def test_service_cursor_pages_and_bad_inputs(catalog, tmp_path):
    settings = Settings(home=tmp_path)
    svc = MarketService(settings, {"kalshi": ScriptedVenue("kalshi", [])}, catalog)
    await catalog.upsert([mk("kalshi", f"K{i}", f"Snow day {i}") for i in range(25)])
    first = await svc.search("snow", limit=10)
    assert len(first.hits) == 10 and first.next_cursor
    second = await svc.search("snow", limit=10, cursor=first.next_cursor)
    third = await svc.search("snow", limit=10, cursor=second.next_cursor)
    seen = [h.market.id for r in (first, second, third) for h in r.hits]
    assert len(seen) == 25 == len(set(seen)) and third.next_cursor is None
    with pytest.raises(ValueError, match="cursor"):
        await svc.search("snow", cursor="garbage!")
    with pytest.raises(ValueError, match="not enabled"):
        await svc.search("snow", venues=["polymarket"])
    with pytest.raises(ValueError, match="not enabled"):
        svc.adapter("nope")
