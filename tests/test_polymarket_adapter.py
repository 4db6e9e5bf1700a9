"""Polymarket: every recorded fixture parses into our models; the adapter works against the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pm_mcp.domain.models import Market, MarketStatus, OrderBook
from pm_mcp.settings import Settings
from pm_mcp.venues.base import NotFound, VenueAdapter
from pm_mcp.venues.http import VenueHttp
from pm_mcp.venues.polymarket.client import AmbiguousReference, PolymarketAdapter, parse_polymarket_url
from pm_mcp.venues.polymarket.parse import (
    ParseError,
    fee_schedule,
    json_list,
    parse_book,
    parse_clob_market,
    parse_gamma_event,
    parse_gamma_market,
    parse_history_clob,
    parse_history_v2,
    parse_time,
)
from tools.sim import start_sim

FX = Path(__file__).parent / "fixtures" / "polymarket"
GAMMA_MARKETS = sorted(p.name for p in FX.glob("gamma_market_*.json"))


def load(name: str):
    return json.loads((FX / name).read_text(encoding="utf-8"))


def all_decimals(m: Market) -> None:
    """Every money/probability field is a Decimal (or None), never a float."""
    for field in ("volume", "volume_24h", "liquidity", "tick_size", "min_order_size"):
        v = getattr(m, field)
        assert v is None or isinstance(v, Decimal), (field, type(v))
    for o in m.outcomes:
        for v in (o.price, o.best_bid, o.best_ask):
            assert v is None or isinstance(v, Decimal)
    assert isinstance(m.fees.taker_rate, Decimal)
    for t in (m.close_time, m.resolution_time, m.updated_at):
        assert t is None or t.tzinfo is not None and t.utcoffset().total_seconds() == 0


def test_fixture_inventory_is_covered():
    names = {p.name for p in FX.glob("*.json")}
    covered = set(GAMMA_MARKETS) | {
        "gamma_events_negrisk_dem_nominee_2028.json", "gamma_public_search_bitcoin.json", "clob_book_2024.json",
        "clob_book_negrisk_empty_ask_2026.json", "clob_market_trump_2024.json", "clob_markets_page_2024.json",
        "data_v2_prices_history.json", "data_v2_positions.json", "data_v2_trades.json", "data_v2_activity.json"}
    assert names == covered, names ^ covered


@pytest.mark.parametrize("name", GAMMA_MARKETS)
def test_every_gamma_market_parses(name):
    raw = load(name)
    m = parse_gamma_market(raw)
    assert m.venue == "polymarket" and m.id == str(raw["id"]) and m.title
    # JSON-string fields decoded: labels, token ids and prices line up with the raw strings
    labels = json.loads(raw["outcomes"])
    tokens = json.loads(raw["clobTokenIds"])
    prices = json.loads(raw["outcomePrices"])
    assert [o.label for o in m.outcomes] == labels
    assert [o.token_id for o in m.outcomes] == tokens
    assert [o.price for o in m.outcomes] == [Decimal(p) for p in prices]
    assert m.tick_size == Decimal(str(raw["orderPriceMinTickSize"]))
    assert m.min_order_size == Decimal(str(raw["orderMinSize"]))
    assert m.neg_risk == bool(raw["negRisk"])
    assert m.close_time is not None
    all_decimals(m)


def test_open_neg_risk_market_newsom():
    m = parse_gamma_market(load("gamma_market_negrisk_newsom_2028.json"))
    assert m.status == MarketStatus.OPEN
    assert m.neg_risk and m.mutually_exclusive
    assert m.group_id == "0x2c3d7e0eee6f058be3006baabf0d54a07da254ba47fe6e3e095e7990c7814700"
    assert m.event_id == "30829" and m.event_title == "Democratic Presidential Nominee 2028"
    assert m.fees.kind == "polymarket" and m.fees.taker_rate == Decimal("0.04") and m.fees.maker_rate == 0
    assert m.close_time == datetime(2028, 11, 7, tzinfo=UTC)
    assert m.volume == Decimal("25814545.294374414")  # the string, exactly
    yes, no = m.outcomes
    assert (yes.best_bid, yes.best_ask) == (Decimal("0.232"), Decimal("0.233"))
    assert (no.best_bid, no.best_ask) == (Decimal("0.767"), Decimal("0.768"))
    assert m.rule_text.startswith("This market will resolve to “Yes”")
    assert m.rule_sources == {"description": m.rule_text}  # resolutionSource is empty here
    assert m.url == ("https://polymarket.com/event/democratic-presidential-nominee-2028/"
                     "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568")
    assert m.category == "Politics"


def test_closed_market_still_accepting_orders_is_resolved():
    m = parse_gamma_market(load("gamma_market_binary_closed_russia_ukraine_ceasefire.json"))
    assert m.status == MarketStatus.RESOLVED  # closed wins over acceptingOrders: true
    assert m.resolved_outcome == "Yes"
    # the non-ISO "2026-05-09 02:07:01+00" closedTime, parsed leniently
    assert m.close_time == datetime(2026, 5, 9, 2, 7, 1, tzinfo=UTC)
    assert m.fees.taker_rate == 0 and "disabled" in (m.fees.note or "")
    assert all(o.best_bid is None for o in m.outcomes)  # no live quotes on a closed market


def test_sports_market_fees_and_resolution_source():
    m = parse_gamma_market(load("gamma_market_sports_moneyline_closed.json"))
    assert m.status == MarketStatus.RESOLVED and m.resolved_outcome == "FaZe"
    assert m.fees.taker_rate == Decimal("0.03")
    assert m.rule_sources["resolutionSource"] == "https://hltv.org"
    assert "https://hltv.org" in m.rule_text
    assert m.resolution_time == datetime(2026, 4, 5, 19, 37, 33, tzinfo=UTC)  # umaEndDate


def test_crypto_fee_schedule_and_inferred_rate():
    twap = parse_gamma_market(load("gamma_market_crypto_updown_5m_twap_reduced.json"))
    assert twap.fees.taker_rate == Decimal("0.07") and twap.fees.taker_only
    # feesEnabled + feeType crypto_fees but no feeSchedule in the payload: never assume free
    m = parse_gamma_market(load("gamma_market_binary_btc_updown_5m.json"))
    assert m.fees.taker_rate == Decimal("0.07")
    assert "inferred" in (m.fees.note or "")
    assert m.resolution_source == "https://data.chain.link/streams/btc-usd"
    assert m.liquidity == Decimal("20328.3747")


def test_fee_schedule_variants():
    assert fee_schedule({"feesEnabled": False, "feeSchedule": {"rate": 0.04}}).taker_rate == 0
    fs = fee_schedule({"feeSchedule": {"rate": 0.04, "exponent": 2, "takerOnly": False}})
    assert (fs.taker_rate, fs.maker_rate, fs.exponent, fs.taker_only) == (Decimal("0.04"), Decimal("0.04"),
                                                                          Decimal(2), False)
    assert fee_schedule({}).taker_rate == 0


def test_event_and_search_payloads():
    ev = parse_gamma_event(load("gamma_events_negrisk_dem_nominee_2028.json")[0])
    assert ev.neg_risk and ev.mutually_exclusive and len(ev.markets) == 2
    assert all(m.event_id == "30829" and m.neg_risk for m in ev.markets)
    assert {m.outcomes[0].label for m in ev.markets} == {"Yes"}
    assert ev.neg_risk_augmented is True  # placeholder outcomes may be added: not provably exhaustive
    assert {m.group_label for m in ev.markets} == {"Stephen A. Smith", "Gretchen Whitmer"}
    search = load("gamma_public_search_bitcoin.json")
    markets = [parse_gamma_market(m, e) for e in search["events"] for m in e["markets"]]
    assert markets[0].id == "1500056" and markets[0].category == "Bitcoin"
    assert markets[0].fees.taker_rate == 0  # feesEnabled: false
    assert markets[0].outcomes[0].price == Decimal("0.9995")
    for m in markets:
        all_decimals(m)


def test_books_come_out_best_first():
    raw = load("clob_book_2024.json")
    # the wire order is worst -> best (best LAST)
    assert raw["bids"][-1]["price"] == "0.1" and raw["asks"][-1]["price"] == "0.14"
    b = parse_book(raw, market_id="m", outcome="Yes")
    assert isinstance(b, OrderBook)
    assert [lv.price for lv in b.bids] == sorted((lv.price for lv in b.bids), reverse=True)
    assert [lv.price for lv in b.asks] == sorted(lv.price for lv in b.asks)
    assert b.best_bid == Decimal("0.1") and b.best_ask == Decimal("0.14")
    assert b.asks[2].size == Decimal("192.3") and b.asks[2].price == Decimal("0.38")
    assert b.spread == Decimal("0.04")
    assert b.timestamp == datetime.fromtimestamp(1728799418.260, UTC)
    assert all(isinstance(lv.price, Decimal) and isinstance(lv.size, Decimal) for lv in b.bids + b.asks)


def test_book_with_empty_ask_side_and_tick():
    b = parse_book(load("clob_book_negrisk_empty_ask_2026.json"), market_id="m", outcome="Yes")
    assert b.asks == [] and b.best_ask is None and b.spread is None
    assert b.best_bid == Decimal("0.002") and b.bids[1].price == Decimal("0.001")
    assert b.tick_size == Decimal("0.001") and b.min_order_size == Decimal(5)


def test_clob_market_objects():
    m = parse_clob_market(load("clob_market_trump_2024.json"))
    assert m.condition_id.startswith("0xdd22") and m.neg_risk
    assert m.tick_size == Decimal("0.001") and m.min_order_size == Decimal(5)
    assert [o.price for o in m.outcomes] == [Decimal("0.4865"), Decimal("0.5135")]
    page = load("clob_markets_page_2024.json")
    parsed = [parse_clob_market(c) for c in page["data"]]
    assert len(parsed) == 100
    resolved = [p for p in parsed if p.status == MarketStatus.RESOLVED]
    assert resolved and all(p.resolved_outcome for p in resolved)
    for p in parsed:
        all_decimals(p)


def test_price_history_shapes():
    pts = parse_history_v2(load("data_v2_prices_history.json"))
    assert [p.price for p in pts] == [Decimal("0.955"), Decimal("0.955")]
    assert pts[0].t == datetime.fromtimestamp(1788800640, UTC)
    clob = parse_history_clob({"history": [{"t": 1788800700, "p": 0.5}, {"t": 1788800640, "p": 0.25}]})
    assert [p.price for p in clob] == [Decimal("0.25"), Decimal("0.5")]  # sorted by time


def test_data_api_v2_positions_trades_activity_numbers_as_decimal():
    # these are used for portfolio views by other areas; here: the numbers survive as exact Decimals
    from pm_mcp.venues.polymarket.parse import dec

    for name in ("data_v2_positions.json", "data_v2_trades.json", "data_v2_activity.json"):
        for item in load(name):
            assert isinstance(dec(item["price"] if "price" in item else item["current_price"]), Decimal)
    assert dec(0.9300000035) == Decimal("0.9300000035")


@pytest.mark.parametrize("text,expected", [
    ("2026-05-09 02:07:01+00", datetime(2026, 5, 9, 2, 7, 1, tzinfo=UTC)),
    ("2023-11-02 21:40:32.968+00", datetime(2023, 11, 2, 21, 40, 32, 968000, tzinfo=UTC)),
    ("2026-03-11T09:29:01.328428Z", datetime(2026, 3, 11, 9, 29, 1, 328428, tzinfo=UTC)),
    ("2026-06-14T11:15:49.8744Z", datetime(2026, 6, 14, 11, 15, 49, 874400, tzinfo=UTC)),
    ("2028-11-07", datetime(2028, 11, 7, tzinfo=UTC)),
    ("2026-04-05T15:10:00-04:00", datetime(2026, 4, 5, 19, 10, tzinfo=UTC)),
    ("1785734468581", datetime.fromtimestamp(1785734468.581, UTC)),
    (1788800640, datetime.fromtimestamp(1788800640, UTC)),
    ("", None), (None, None), ("not a date", None),
])
def test_parse_time_lenient(text, expected):
    assert parse_time(text) == expected


def test_json_list_rejects_garbage():
    assert json_list('["a", "b"]') == ["a", "b"] and json_list(["x"]) == ["x"] and json_list(None) == []
    with pytest.raises(ParseError):
        json_list("[not json")
    with pytest.raises(ParseError):
        parse_gamma_market({"question": "no id"})


def test_url_parsing():
    assert parse_polymarket_url("https://polymarket.com/event/foo-bar/baz-qux") == ("event_market", "foo-bar/baz-qux")
    assert parse_polymarket_url("polymarket.com/event/foo-bar?tid=1") == ("event", "foo-bar")
    assert parse_polymarket_url("https://polymarket.com/market/some-slug") == ("market", "some-slug")
    assert parse_polymarket_url("https://polymarket.com/es/event/foo") == ("event", "foo")
    assert parse_polymarket_url("https://kalshi.com/markets/x") is None


# --- the adapter against the simulator (loopback HTTP) -----------------------------------------------
@pytest.fixture
def sim():
    with start_sim("polymarket", plugins=[]) as s:
        yield s


def _adapter(sim, tmp_path) -> tuple[PolymarketAdapter, VenueHttp]:
    env = sim.env()
    settings = Settings(home=tmp_path, polymarket_gamma_url=env["PM_MCP_POLYMARKET_GAMMA_URL"],
                        polymarket_clob_url=env["PM_MCP_POLYMARKET_CLOB_URL"],
                        polymarket_data_url=env["PM_MCP_POLYMARKET_DATA_URL"])
    http = VenueHttp("polymarket", settings.polymarket_gamma_url, timeout_s=2, backoff_s=0.01)
    return PolymarketAdapter(settings, http), http


@pytest.mark.anyio
async def test_adapter_resolves_every_kind_of_reference(sim, tmp_path):
    pm, http = _adapter(sim, tmp_path)
    assert isinstance(pm, VenueAdapter)
    try:
        refs = ["559652", "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568",
                "0x0f49db97f71c68b1e42a6d16e3de93d85dbf7d4148e3f018eb79e88554be9f75",
                "54533043819946592547517511176940999955633860128497669742211153063842200957669",
                "https://polymarket.com/event/democratic-presidential-nominee-2028/"
                "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568"]
        for ref in refs:
            m = await pm.get_market(ref)
            assert m.id == "559652", ref
        # an event slug with one market resolves to it; with several, the error lists them
        assert (await pm.get_market("https://polymarket.com/event/bitcoin-above-on-march-11")).id == "1500056"
        with pytest.raises(AmbiguousReference) as exc:
            await pm.get_market("democratic-presidential-nominee-2028")
        assert len(exc.value.candidates) == 3 and "will-gretchen-whitmer" in str(exc.value)
        with pytest.raises(NotFound):
            await pm.get_market("no-such-market-anywhere")
        ev = await pm.get_event("democratic-presidential-nominee-2028")
        assert ev.neg_risk and len(ev.markets) == 3
    finally:
        await http.aclose()


@pytest.mark.anyio
async def test_adapter_search_book_tick_history(sim, tmp_path):
    pm, http = _adapter(sim, tmp_path)
    try:
        found = await pm.search("bitcoin", limit=10)
        assert {m.id for m in found} == {"1500056", "1557558"}
        assert all(m.status == MarketStatus.OPEN for m in found)
        assert sim.log[-1].query["events_status"] == "active"
        m = await pm.get_market("559652")
        book = await pm.get_order_book(m, "yes")
        assert book.outcome == "Yes" and book.best_bid < book.best_ask
        assert [lv.price for lv in book.asks] == sorted(lv.price for lv in book.asks)
        assert book.tick_size == Decimal("0.001")
        books = await pm.get_order_books(m)
        assert set(books) == {"Yes", "No"} and books["Yes"].best_ask == book.best_ask
        assert await pm.get_tick_size(m.outcomes[0].token_id) == Decimal("0.001")
        assert await pm.get_neg_risk(m.outcomes[0].token_id) is True
        hist = await pm.get_price_history(m, "Yes", interval="1w")
        assert len(hist) == 48 and hist[-1].price == Decimal("0.2325")
        assert sim.count(path="/data/v2/prices-history") == 1
        page, cursor = await pm.list_markets(limit=3)
        assert len(page) == 3 and cursor == "3"
        page2, _ = await pm.list_markets(limit=3, after_cursor=cursor)
        assert {x.id for x in page}.isdisjoint({x.id for x in page2})
        assert sim.log[-1].query["after_cursor"] == "3"
        # a closed market has no book: a NotFound with a sentence, not a crash
        closed = await pm.get_market("1812085")
        with pytest.raises(NotFound, match="no order book"):
            await pm.get_order_book(closed, "Yes")
    finally:
        await http.aclose()


@pytest.mark.anyio
async def test_price_history_falls_back_to_clob(sim, tmp_path):
    pm, http = _adapter(sim, tmp_path)
    try:
        m = await pm.get_market("559652")
        sim.inject("status", status=404, path="/data/v2/prices-history")
        hist = await pm.get_price_history(m, "No", interval="1d")
        assert sim.count(path="/clob/prices-history") == 1
        assert hist[-1].price == Decimal("0.7675")
    finally:
        await http.aclose()
