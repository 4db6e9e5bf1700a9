"""Kalshi: every recorded fixture parses into our models; the adapter against the loopback simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from pm_mcp.domain.models import Market, MarketStatus
from pm_mcp.settings import Settings
from pm_mcp.venues.base import Blocked, NotFound, VenueError
from pm_mcp.venues.http import VenueHttp
from pm_mcp.venues.kalshi import client as kalshi_mod
from pm_mcp.venues.kalshi import parse as kp
from pm_mcp.venues.kalshi.client import AmbiguousReference, KalshiAdapter
from tools.sim import start_sim
from tools.sim.kalshi import add_market

FIX = Path(__file__).parent / "fixtures" / "kalshi"
MARCH = datetime(2026, 3, 20, 12, tzinfo=UTC)  # the EPL game is open, the Sep Fed meeting ahead
NOV = datetime(2026, 11, 25, tzinfo=UTC)
TOT = "KXEPLGAME-26MAR22TOTNFO-TOT"


def load(name: str):
    return json.loads((FIX / name).read_text())


def walk(obj, path="") -> Iterator[tuple[str, object]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, obj


def assert_clean(model) -> None:
    """No float anywhere, every datetime aware UTC."""
    for path, v in walk(model.model_dump()):
        assert not isinstance(v, float), f"float at {path}: {v!r}"
        if isinstance(v, datetime):
            assert v.tzinfo is not None and v.utcoffset() == timedelta(0), f"non-UTC time at {path}"


def all_recorded_market_raws() -> list[dict]:
    raws = [load("market_object_epl_2026-03.json"), *load("markets_array_epl_event_2026-03.json"),
            *load("get_markets_kxfeddecision_2026-08.json")["markets"]]
    for ev in load("get_events_nested_markets_2026-05.json")["events"]:
        raws += ev["markets"]
    return raws


# --- pure parsing of every recorded fixture --------------------------------------------------------------

def test_every_recorded_market_parses_with_fixed_point_fields():
    raws = all_recorded_market_raws()
    assert len(raws) == 1 + 3 + 5 + 10
    for raw in raws:
        m = kp.parse_market(raw, now=MARCH)
        assert_clean(m)
        assert m.venue == "kalshi" and m.id == raw["ticker"]
        assert m.volume == Decimal(raw["volume_fp"]) and isinstance(m.volume, Decimal)
        assert m.open_interest == Decimal(raw["open_interest_fp"])
        assert m.liquidity is None  # liquidity_dollars is always "0.0000": never reported as liquidity
        yes, no = m.outcome("Yes"), m.outcome("No")
        assert yes.ticker == no.ticker == raw["ticker"]
        if Decimal(raw["yes_bid_dollars"]) > 0:
            assert yes.best_bid == Decimal(raw["yes_bid_dollars"])
        if Decimal(raw["yes_ask_dollars"]) < 1:
            assert yes.best_ask == Decimal(raw["yes_ask_dollars"])
        assert m.close_time == datetime.fromisoformat(raw["close_time"].replace("Z", "+00:00"))
        assert m.min_order_size == 1
        assert m.fees.kind == "kalshi" and m.fees.taker_rate == Decimal("0.07")
        assert m.url.startswith("https://kalshi.com/markets/")
        assert kp.parse_ref(m.url) == m.event_id  # the site's page is the event's


def test_epl_market_in_detail():
    raw = load("market_object_epl_2026-03.json")
    m = kp.parse_market(raw, now=MARCH)
    assert m.title == "Tottenham vs Nottingham Winner?"  # without the event, the subtitle is in the title
    assert m.status == MarketStatus.OPEN
    assert m.tick_size == Decimal("0.01")
    assert m.rule_text == raw["rules_primary"] + "\n\n" + raw["rules_secondary"]
    assert m.rule_sources["rules_primary"] == raw["rules_primary"]
    assert m.rule_sources["rules_secondary"] == raw["rules_secondary"]
    assert "early_close_condition" in m.rule_sources
    assert m.resolution_time == datetime(2026, 3, 22, 17, 15, tzinfo=UTC)  # expected_expiration_time
    yes, no = m.outcome("yes"), m.outcome("NO")
    assert (yes.best_bid, yes.best_ask) == (Decimal("0.37"), Decimal("0.39"))
    assert (no.best_bid, no.best_ask) == (Decimal("0.61"), Decimal("0.63"))
    assert yes.price == Decimal("0.38") and no.price == Decimal("0.62")
    # the clock moves on: after close_time the market is reported closed, even if the record said active
    assert kp.parse_market(raw, now=NOV).status == MarketStatus.CLOSED


def test_event_context_gives_group_fees_and_sources():
    body = load("get_events_nested_markets_2026-05.json")
    pope = next(e for e in body["events"] if e["event_ticker"] == "KXNEWPOPE-70")
    series = {"ticker": "KXNEWPOPE", "title": "New Pope", "category": "Elections",
              "fee_type": "quadratic_with_maker_fees", "fee_multiplier": 1, "contract_terms_url": "https://x/terms.pdf"}
    ev = kp.parse_event(pope, series=series, now=NOV)
    assert ev.mutually_exclusive and len(ev.markets) == 7
    for m in ev.markets:
        assert m.group_id == "KXNEWPOPE-70" and m.mutually_exclusive
        assert m.fees.maker_rate == Decimal("0.0175") and not m.fees.taker_only
        assert "The New York Times (https://www.nytimes.com/)" in m.resolution_source
        assert m.rule_sources["contract_terms_url"] == "https://x/terms.pdf"
        assert " — " in m.title  # "Who will the next Pope be? — Pierbattista Pizzaballa"
        assert m.category == "Elections"
        # tapered_deci_cent: 0.01 is valid everywhere, 0.001 only in the tails
        assert m.tick_size == Decimal("0.01")
    raw = pope["markets"][0]
    assert kp.tick_at(raw, Decimal("0.05")) == Decimal("0.001")
    assert kp.tick_at(raw, Decimal("0.50")) == Decimal("0.01")
    assert kp.tick_at(raw, Decimal("0.95")) == Decimal("0.001")
    elon = next(e for e in body["events"] if e["event_ticker"] == "KXELONMARS-99")
    e2 = kp.parse_event(elon, now=NOV)
    assert not e2.mutually_exclusive and e2.markets[0].group_id is None
    assert e2.rule_text == e2.markets[0].rule_text  # single-market event: its rules


def test_sub_penny_prices_stay_exact():
    pope = next(e for e in load("get_events_nested_markets_2026-05.json")["events"]
                if e["event_ticker"] == "KXNEWPOPE-70")
    m = kp.parse_market(pope["markets"][0], now=NOV)
    assert m.outcome("Yes").best_bid == Decimal("0.031")  # "0.0310": a deci-cent price, not rounded to 0.03
    assert m.outcome("No").best_ask == Decimal("0.969")


def test_fixed_point_fields_win_over_legacy_cents():
    # the v1 website search carries both: last_price 15 (cents) and last_price_dollars "0.1590"
    markets = kp.parse_v1_search(load("v1_search_series_fed_2026-08.json"), now=MARCH)
    rc = next(m for m in markets if m.id == "KXRATECUT-26DEC31")
    assert (rc.outcome("Yes").best_bid, rc.outcome("Yes").best_ask) == (Decimal("0.15"), Decimal("0.16"))
    assert rc.outcome("Yes").price == Decimal("0.155")
    only_cents = {"ticker": "OLD-1", "event_ticker": "OLD", "yes_bid": 37, "yes_ask": 39, "last_price": 38,
                  "volume": 12, "status": "active"}
    legacy = kp.parse_market(only_cents)
    assert legacy.outcome("Yes").best_bid == Decimal("0.37") and legacy.volume == Decimal(12)


def test_v1_search_parses_all_items_with_real_fee_types():
    body = load("v1_search_series_fed_2026-08.json")
    markets = kp.parse_v1_search(body, now=MARCH)
    expected = sum(len(i["markets"]) for i in body["current_page"] if not kp.is_mve(i))
    assert len(markets) == expected > 100
    for m in markets:
        assert_clean(m)
    fed = [m for m in markets if m.event_id == "KXFEDDECISION-26OCT"]
    assert len(fed) == 5 and all(m.fees.maker_rate == Decimal("0.0175") for m in fed)
    assert fed[0].url.startswith("https://kalshi.com/markets/kxfeddecision/fed-meeting/")
    assert next(m for m in markets if m.id == "KXRATECUT-26DEC31").fees.maker_rate == 0


def test_mve_combo_markets_are_recognised_and_excluded():
    combos = load("markets_array_mve_combos_2026-06.json")
    assert len(combos) == 5 and all(kp.is_mve(m) for m in combos)
    assert not any(kp.is_mve(m) for m in all_recorded_market_raws())
    ev = kp.parse_event({"event_ticker": "MIXED-1", "title": "mixed"},
                        markets=[*combos, load("market_object_epl_2026-03.json")], now=MARCH)
    assert [m.id for m in ev.markets] == [TOT]
    assert kp.tick_size(combos[0]) == Decimal("0.001")  # deci_cent


def test_orderbook_yes_asks_derived_from_no_bids_best_first():
    raw = load("get_orderbook_epl_2026-03.json")
    yes = kp.parse_orderbook(raw, ticker=TOT, outcome="Yes", now=MARCH, tick=Decimal("0.01"))
    assert yes.derived and yes.outcome == "Yes"
    assert yes.best_bid == Decimal("0.37") and yes.bids[0].size == Decimal("8368.00")
    assert yes.best_ask == Decimal("0.39") and yes.asks[0].size == Decimal("79.00")  # 1 - best NO bid 0.61
    assert [b.price for b in yes.bids] == sorted((b.price for b in yes.bids), reverse=True)
    assert [a.price for a in yes.asks] == sorted(a.price for a in yes.asks)
    no_bids = raw["orderbook_fp"]["no_dollars"]
    assert len(yes.asks) == len(no_bids)
    assert sum(a.size for a in yes.asks) == sum(Decimal(q) for _p, q in no_bids)
    assert {a.price for a in yes.asks} == {1 - Decimal(p) for p, _q in no_bids}
    # the market's own quotes agree with the book
    market = load("market_object_epl_2026-03.json")
    assert yes.best_ask == Decimal(market["yes_ask_dollars"]) and yes.best_bid == Decimal(market["yes_bid_dollars"])
    no = kp.parse_orderbook(raw, ticker=TOT, outcome="no")
    assert no.best_bid == Decimal("0.61") and no.best_ask == Decimal("0.63") == Decimal(market["no_ask_dollars"])
    assert_clean(yes)
    with pytest.raises(ValueError, match="'Yes' and 'No'"):
        kp.parse_orderbook(raw, ticker=TOT, outcome="Tottenham")


def test_orderbook_legacy_cents_shape_and_empty_sides():
    legacy = {"orderbook": {"yes": [[36, 100], [37, 50]], "no": [[61, 7]]}}
    book = kp.parse_orderbook(legacy, ticker="X-1", outcome="Yes")
    assert book.best_bid == Decimal("0.37") and book.best_ask == Decimal("0.39")
    empty = kp.parse_orderbook({"orderbook_fp": {"yes_dollars": None, "no_dollars": []}}, ticker="X-1")
    assert empty.bids == [] and empty.asks == []


def test_trades_parse_legacy_taker_side():
    for raw in load("trades_array_epl_2026-03.json"):
        t = kp.parse_trade(raw)
        assert t.yes_price + t.no_price == 1
        assert t.taker_outcome_side == "yes" and isinstance(t.count, Decimal)
        assert t.created_time.tzinfo is not None


def test_candlestick_close_then_mid_fallback():
    # shape per SDK 3.34 / docs (no genuine recording could be fetched): _dollars on the inner keys
    c = {"end_period_ts": 1773705600, "price": {"close_dollars": "0.4100"},
         "yes_bid": {"close_dollars": "0.3900"}, "yes_ask": {"close_dollars": "0.4300"}, "volume_fp": "12.00"}
    p = kp.parse_candlestick(c)
    assert p.price == Decimal("0.41") and p.volume == Decimal(12) and p.t.tzinfo is not None
    c["price"] = {"close_dollars": None}
    assert kp.parse_candlestick(c).price == Decimal("0.41")  # mid of 0.39 / 0.43
    assert kp.parse_candlestick(c, "No").price == Decimal("0.59")
    assert kp.parse_candlestick({"end_period_ts": 1, "price": {}, "yes_bid": {}, "yes_ask": {}}) is None


def test_fee_schedule_types_and_overrides():
    assert kp.fee_schedule({"fee_type": "quadratic"}).maker_rate == 0
    s = kp.fee_schedule({"fee_type": "quadratic_with_maker_fees", "fee_multiplier": 1})
    assert s.maker_rate == Decimal("0.0175") and s.taker_rate == Decimal("0.07")
    o = kp.fee_schedule({"fee_type": "quadratic", "fee_multiplier": 1},
                        {"fee_type_override": "quadratic_with_maker_fees", "fee_multiplier_override": "0.5"})
    assert o.taker_rate == Decimal("0.035") and o.maker_rate == Decimal("0.00875")


@pytest.mark.parametrize("ref,expected", [
    ("https://kalshi.com/markets/kxfeddecision/fed-meeting/kxfeddecision-26sep", "KXFEDDECISION-26SEP"),
    ("kalshi.com/markets/kxeplgame/epl-game/KXEPLGAME-26MAR22TOTNFO-TOT", TOT),
    ("https://www.kalshi.com/markets/kxfed/fed-funds-rate/kxfed-27mar?utm=1#x", "KXFED-27MAR"),
    ("https://kalshi.com/markets/kxfeddecision", "KXFEDDECISION"),
    ("KXFED-27MAR-T3.25", "KXFED-27MAR-T3.25"),
    ("kalshi:kxfed-27mar", "KXFED-27MAR"),
    ("kxnewpope-70-ppiz", "KXNEWPOPE-70-PPIZ"),
    ("INXD-23DEC29-B4800", "INXD-23DEC29-B4800"),
    ("will-the-fed-cut-rates-by-at-least", None),
    ("https://polymarket.com/event/fed-decision-in-december", None),
    ("https://manifold.markets/CalibratedGhosts/will-the-fed-cut-rates-by-at-least", None),
    ("0x" + "ab" * 32, None),
    ("", None),
])
def test_parse_ref(ref, expected):
    assert KalshiAdapter.parse_ref(ref) == expected


# --- the adapter over loopback ------------------------------------------------------------------------------

@pytest.fixture
def sim():
    with start_sim("kalshi") as s:
        yield s


@pytest.fixture
async def adapter(sim, tmp_path):
    settings = Settings(home=tmp_path, kalshi_url=sim.env()["PM_MCP_KALSHI_URL"], catalog_ttl_s=300)
    async with VenueHttp("kalshi", settings.kalshi_url, backoff_s=0.01, backoff_max_s=0.05) as http:
        a = KalshiAdapter(settings, http)
        a.now = lambda: MARCH  # a fixed clock: what is open does not depend on the day the tests run
        yield a


@pytest.mark.anyio
async def test_get_market_by_url_with_event_and_series(adapter, sim):
    m = await adapter.get_market("https://kalshi.com/markets/kxeplgame/epl-game/KXEPLGAME-26MAR22TOTNFO-TOT")
    assert m.id == TOT and m.status == MarketStatus.OPEN
    assert m.title == "Tottenham vs Nottingham Winner? — Tottenham"
    assert m.event_title == "Tottenham vs Nottingham" and m.group_id == "KXEPLGAME-26MAR22TOTNFO"
    assert m.mutually_exclusive and m.category == "Sports"
    assert m.url == "https://kalshi.com/markets/kxeplgame/tottenham-vs-nottingham/kxeplgame-26mar22totnfo"
    fed = await adapter.get_market("KXFEDDECISION-26SEP-C25")
    assert fed.fees.maker_rate == Decimal("0.0175")  # the series charges makers (recorded v1 fee_type)
    assert fed.resolution_source == "Federal Reserve (https://www.federalreserve.gov/)"
    assert sim.count(path=r"^/trade-api/v2/markets/KXFEDDECISION-26SEP-C25$") == 1
    assert_clean(fed)
    # series and events are cached: a second market of the same event costs one request
    before = len(sim.log)
    await adapter.get_market("KXFEDDECISION-26SEP-H0")
    assert len(sim.log) - before == 1


@pytest.mark.anyio
async def test_event_urls_resolve_or_list_their_markets(adapter):
    elon = await adapter.get_market("https://kalshi.com/markets/kxelonmars/elon-mars/kxelonmars-99")
    assert elon.id == "KXELONMARS-99"  # one market: the event URL is the market
    with pytest.raises(AmbiguousReference) as exc:
        await adapter.get_market("https://kalshi.com/markets/kxeplgame/epl-game/kxeplgame-26mar22totnfo")
    assert "3 markets" in str(exc.value) and f"{TOT} (Tottenham)" in str(exc.value)
    assert [m.id for m in exc.value.candidates] == [TOT, "KXEPLGAME-26MAR22TOTNFO-TIE", "KXEPLGAME-26MAR22TOTNFO-NFO"]
    with pytest.raises(NotFound, match="is a Kalshi series"):
        await adapter.get_market("https://kalshi.com/markets/kxnewpope")
    with pytest.raises(NotFound, match="no market, event or series"):
        await adapter.get_market("KXNOPE-1")
    with pytest.raises(NotFound, match="not a Kalshi ticker"):
        await adapter.get_market("will-the-fed-cut-rates")


@pytest.mark.anyio
async def test_mve_markets_refused_and_filtered(adapter, sim):
    combo = load("markets_array_mve_combos_2026-06.json")[0]["ticker"]
    with pytest.raises(VenueError, match="combo"):
        await adapter.get_market(combo)
    markets, cursor = await adapter.list_markets(status="open", limit=1000)
    assert cursor is None and markets
    assert not any(m.id.startswith("KXMVE") for m in markets)
    assert sim.log[-1].query.get("mve_filter") == "exclude"


@pytest.mark.anyio
async def test_list_markets_pages_with_cursor(adapter, sim):
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        page, cursor = await adapter.list_markets(status="open", limit=4, cursor=cursor)
        assert len(page) <= 4
        seen += [m.id for m in page]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 18  # 19 recorded non-MVE markets, the TOT one recorded twice
    assert sim.count(path=r"/trade-api/v2/markets$") == 5


@pytest.mark.anyio
async def test_catalog_pages_events_and_is_cached(adapter, sim, monkeypatch):
    monkeypatch.setattr(kalshi_mod, "EVENTS_PAGE", 2)
    cat = await adapter.catalog()
    assert sim.count(path=r"/trade-api/v2/events$") == 3  # 5 open events, 2 per page
    ids = {m.id for m in cat}
    assert TOT in ids and "KXNEWPOPE-70-PPIZ" in ids and "KXFEDDECISION-26SEP-C25" in ids
    assert all(m.status == MarketStatus.OPEN for m in cat)
    assert all(m.event_title for m in cat)
    await adapter.search("pope")
    assert sim.count(path=r"/trade-api/v2/events$") == 3  # within the TTL: no refetch
    await adapter.catalog(refresh=True)
    assert sim.count(path=r"/trade-api/v2/events$") == 6
    assert len(await adapter.catalog_markets(5)) == 5


@pytest.mark.anyio
async def test_catalog_drops_markets_closed_by_the_clock(adapter):
    adapter.now = lambda: NOV
    ids = {m.id for m in await adapter.catalog()}
    assert "KXNEWPOPE-70-PPIZ" in ids
    assert TOT not in ids and "KXFEDDECISION-26SEP-C25" not in ids  # closed in April / September


@pytest.mark.anyio
async def test_search_merges_catalog_and_v1_series_search(adapter, sim):
    pope = await adapter.search("next pope", limit=10)
    assert pope and all(m.id.startswith("KXNEWPOPE-70") for m in pope)
    fed = await adapter.search("fed cut", limit=50)
    ids = [m.id for m in fed]
    assert "KXFEDDECISION-26SEP-C25" in ids  # from the catalog (open in March)
    assert "KXRATECUT-26DEC31" in ids  # only the v1 search knows this series
    assert not any(i.startswith("KXMVE") for i in ids)
    assert len(ids) == len(set(ids))
    assert sim.count(path="^/v1/search/series$") == 2 and sim.log[-1].query == {"query": "fed cut"}

    # ranking: every market matching both words comes before any market matching one
    def matched(m):
        return kalshi_mod.score(set(kalshi_mod.tokens(m.title)),
                                set(kalshi_mod.tokens(f"{m.event_title} {m.id} {m.category}")), ["fed", "cut"])[0]
    counts = [matched(m) for m in fed]
    assert counts[0] == 2 and counts == sorted(counts, reverse=True) and 1 in counts
    assert len(await adapter.search("fed cut", limit=3)) == 3


@pytest.mark.anyio
async def test_search_survives_one_source_failing(adapter, sim):
    sim.inject("status", status=500, times=None, path=r"^/v1/search")
    got = await adapter.search("pope")
    assert got and got[0].id.startswith("KXNEWPOPE")
    sim.clear_faults()
    adapter._catalog_at = None  # force a refresh, and make it fail: the v1 search still answers
    adapter._index = kalshi_mod.CatalogIndex().freeze()
    sim.inject("status", status=503, times=None, path=r"^/trade-api/v2/events$")
    got = await adapter.search("rate cut")
    assert any(m.id == "KXRATECUT-26DEC31" for m in got)
    sim.inject("status", status=503, times=None, path=r"^/v1/search")
    with pytest.raises(VenueError, match="server error"):
        await adapter.search("rate cut")


@pytest.mark.anyio
async def test_search_status_filter(adapter, sim):
    with pytest.raises(ValueError, match="status must be"):
        await adapter.search("fed", status="bogus")
    closed = await adapter.search("fed", status="closed")
    assert closed == []  # in March every recorded Fed market was still open
    sim.reset_log()
    everything = await adapter.search("fed", status=None, limit=100)
    assert everything and sim.count(path="/v1/search/series") == 1


def _plant_settled_series(sim, series: str, title: str, n_events: int) -> None:
    """A series with ``n_events`` settled two-market events (and no open one), in the v2 wire shape."""
    for k in range(n_events):
        et = f"{series}-2{k}"
        event = {"event_ticker": et, "series_ticker": series, "title": f"{title} in 202{k}?", "sub_title": "",
                 "category": "Politics", "mutually_exclusive": True, "collateral_return_type": "MECNET"}
        for side, result in (("A", "yes"), ("B", "no")):
            add_market(sim, {"ticker": f"{et}-{side}", "event_ticker": et, "market_type": "binary",
                             "title": f"{title} in 202{k}?", "yes_sub_title": f"Party {side}", "status": "finalized",
                             "result": result, "close_time": "2025-11-04T00:00:00Z",
                             "yes_bid_dollars": "0.0000", "yes_ask_dollars": "0.0000", "volume_fp": "1000.00",
                             "price_ranges": [{"start": "0", "end": "1", "step": "0.01"}]}, event,
                       {"ticker": series, "title": title, "category": "Politics", "tags": ["Elections"],
                        "fee_type": "quadratic", "fee_multiplier": 1})


@pytest.mark.anyio
async def test_search_lists_settled_events_of_the_series_the_query_names(adapter, sim):
    """The open-events catalog and the v1 search do not hold a settled series: for status resolved / closed / any
    the adapter reads the series list once per TTL and each matching series' events, a bounded number of requests."""
    _plant_settled_series(sim, "KXGOVCTRL", "Governor control", 2)
    for i in range(4):  # more series matching the words than a search lists
        _plant_settled_series(sim, f"KXGOVCTRL{i}", f"Governor control region {i}", 1)
    assert not [m for m in await adapter.search("governor control", status="open") if "GOVCTRL" in m.id]
    assert sim.count(path=r"^/trade-api/v2/series$") == 0  # an open search never reads the series list
    got = await adapter.search("governor control", status="resolved", limit=50)
    assert got and all(m.status == MarketStatus.RESOLVED for m in got)
    assert {"KXGOVCTRL-20-A", "KXGOVCTRL-21-B"} <= {m.id for m in got}
    ev = next(m for m in got if m.id == "KXGOVCTRL-20-A")
    assert ev.event_title == "Governor control in 2020?" and ev.resolved_outcome == "Yes" and ev.group_label == "Party A"
    listed = [e.query for e in sim.log if e.path == "/trade-api/v2/events" and "series_ticker" in e.query]
    assert len(listed) == kalshi_mod.SERIES_PER_SEARCH and all(q["status"] == "settled" for q in listed)
    assert sim.count(path=r"^/trade-api/v2/series$") == 1
    sim.reset_log()
    everything = await adapter.search("governor control", status=None, limit=50)
    assert {"KXGOVCTRL-20-A", "KXGOVCTRL-21-B"} <= {m.id for m in everything}
    assert sim.count(path=r"^/trade-api/v2/series$") == 0  # kept for the TTL
    assert all("status" not in e.query for e in sim.log if "series_ticker" in e.query)  # any: every status
    # the series list failing (or one series' listing) leaves the rest of the answer standing
    adapter._series_at = None
    sim.inject("status", status=503, times=None, path=r"^/trade-api/v2/series$")
    assert [m for m in await adapter.search("fed", status=None, limit=50) if m.id == "KXRATECUT-26DEC31"]


@pytest.mark.anyio
async def test_order_book_and_history_over_loopback(adapter, sim):
    m = await adapter.get_market(TOT)
    book = await adapter.get_order_book(m, "Yes")
    assert book.derived and book.best_bid == Decimal("0.37") and book.best_ask == Decimal("0.39")
    assert book.tick_size == Decimal("0.01") and book.timestamp == MARCH
    no = await adapter.get_order_book(m, "No")
    assert no.best_bid == Decimal("0.61") and no.best_ask == Decimal("0.63")
    # a market without a recorded book gets the simulator's SYNTHETIC one around its recorded quotes
    pope = await adapter.get_market("KXNEWPOPE-70-PPIZ")
    pb = await adapter.get_order_book(pope, "Yes")
    assert pb.best_bid == Decimal("0.031") and pb.best_ask == 1 - Decimal("0.93")
    hist = await adapter.get_price_history(m, "Yes", interval="1d")
    assert sim.log[-1].query["period_interval"] == "60"
    assert sim.log[-1].path == f"/trade-api/v2/series/KXEPLGAME/markets/{TOT}/candlesticks"
    assert 20 <= len(hist) <= 24 and hist == sorted(hist, key=lambda p: p.t)
    assert hist[-1].price == Decimal("0.39")  # synthetic candles end at the recorded last price
    no_hist = await adapter.get_price_history(m, "No", interval="1d")
    assert [p.price for p in no_hist] == [1 - p.price for p in hist]
    await adapter.get_price_history(m, "Yes", interval="1m")
    assert sim.log[-1].query["period_interval"] == "1440"
    with pytest.raises(VenueError, match="interval"):
        await adapter.get_price_history(m, "Yes", interval="5y")


@pytest.mark.anyio
async def test_trades_series_and_event(adapter):
    trades, cursor = await adapter.get_trades(TOT, limit=3)
    assert len(trades) == 3 and cursor
    rest, cursor2 = await adapter.get_trades(TOT, limit=3, cursor=cursor)
    assert len(rest) == 2 and cursor2 is None
    s = await adapter.get_series("KXFEDDECISION")
    assert s.title == "Fed meeting" and s.fees.maker_rate == Decimal("0.0175")
    ev = await adapter.get_event("https://kalshi.com/markets/kxnewpope/pope/kxnewpope-70")
    assert len(ev.markets) == 7 and ev.mutually_exclusive
    ev2 = await adapter.get_event(TOT)  # a market ticker: its event
    assert ev2.id == "KXEPLGAME-26MAR22TOTNFO" and len(ev2.markets) == 3


@pytest.mark.anyio
async def test_faults_retry_then_succeed_or_fail_clearly(adapter, sim):
    sim.inject("status", status=429, times=2, path=r"/markets/KXELONMARS-99$")
    m = await adapter.get_market("KXELONMARS-99")
    assert m.id == "KXELONMARS-99"
    assert sim.count(path=r"/markets/KXELONMARS-99$") == 3
    sim.inject("html403", times=None, path=r"/markets/KXRAMPBREX")
    with pytest.raises(Blocked):
        await adapter.get_market("KXRAMPBREX-40-RAMP")


@pytest.mark.anyio
async def test_synthetic_market_added_by_a_test(adapter, sim):
    # SYNTHETIC: a market built from the recorded TOT one, to check that added data is served like recorded data
    raw = dict(load("market_object_epl_2026-03.json"), ticker="KXEPLGAME-26MAR22TOTNFO-XTRA", yes_sub_title="Extra")
    add_market(sim, raw)
    m = await adapter.get_market("KXEPLGAME-26MAR22TOTNFO-XTRA")
    assert isinstance(m, Market) and m.title.endswith("— Extra")


def test_catalog_index_matches_the_scan_it_replaces():
    from hypothesis import given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    texts = []  # (title tokens, other tokens) of real market texts
    for ev in load("get_events_nested_markets_2026-05.json")["events"]:
        for raw in ev["markets"]:
            texts.append(kalshi_mod.CatalogRow(raw, ev).texts())
    for m in kp.parse_v1_search(load("v1_search_series_fed_2026-08.json"), now=MARCH):
        texts.append((m.title, f"{m.event_title} {m.id} {m.category}"))
    index = kalshi_mod.CatalogIndex()
    sets = []
    for title, other in texts:
        t, o = set(kalshi_mod.tokens(title)), set(kalshi_mod.tokens(other))
        sets.append((t, o))
        index.add(None, t, o)
    index.freeze()
    words = sorted({w for t, o in sets for w in t | o})
    pieces = words + [w[:3] for w in words if len(w) > 3] + ["zzz", "fe", "q"]

    @hsettings(max_examples=150, deadline=None)
    @given(st.lists(st.sampled_from(pieces), min_size=1, max_size=4))
    def check(query):
        got = index.match(query)
        q = list(dict.fromkeys(query))
        for i, (t, o) in enumerate(sets):
            matched, weight = kalshi_mod.score(t, o, q)
            if matched:
                assert got[i] == (matched, weight), (query, i)
            else:
                assert i not in got

    check()


def test_catalog_row_rebuilds_the_market():
    body = load("get_events_nested_markets_2026-05.json")
    pope = next(e for e in body["events"] if e["event_ticker"] == "KXNEWPOPE-70")
    full = kp.parse_event(pope, now=NOV).markets[0]
    slim = kalshi_mod.CatalogRow(pope["markets"][0], pope).market(NOV)
    keep = {"rule_text", "rule_sources", "resolution_source", "updated_at", "event_title", "fees"}
    assert slim.model_dump(exclude=keep) == full.model_dump(exclude=keep)
    assert slim.rule_text == "" and slim.event_title == "Who will the next Pope be? (Before 2070)"


@pytest.mark.anyio
async def test_slow_catalog_load_runs_in_the_background(adapter, sim, monkeypatch):
    import asyncio

    monkeypatch.setattr(kalshi_mod, "EVENTS_PAGE", 2)
    monkeypatch.setattr(kalshi_mod, "CATALOG_WAIT_S", 0.2)
    sim.inject("delay", seconds=0.6, times=None, path=r"^/trade-api/v2/events$")
    t0 = asyncio.get_running_loop().time()
    got = await adapter.search("rate cut")  # the catalog is not ready: the v1 search answers alone
    assert asyncio.get_running_loop().time() - t0 < 0.6
    assert got and all(m.id != "KXFEDDECISION-26SEP-C25" for m in got)
    # a caller that gives up (the service's per-venue timeout) does not cancel the load
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(adapter.search("pope"), 0.05)
    await adapter.catalog_markets(0)  # waits for the whole load
    assert sim.count(path=r"^/trade-api/v2/events$") == 3 and adapter.catalog_size == 18
    sim.clear_faults()
    got = await adapter.search("fed cut")
    assert "KXFEDDECISION-26SEP-C25" in [m.id for m in got]
    assert sim.count(path=r"^/trade-api/v2/events$") == 3  # no second load
