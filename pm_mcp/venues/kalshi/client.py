"""Kalshi market data (Trade API v2, public endpoints) behind the VenueAdapter protocol.

    adapter = KalshiAdapter(settings, http)        # http: VenueHttp("kalshi", settings.kalshi_url)
    await adapter.search("fed cut")                # catalog of open events searched locally + v1 search
    m = await adapter.get_market("https://kalshi.com/markets/kxeplgame/epl-game/KXEPLGAME-26MAR22TOTNFO-TOT")
    book = await adapter.get_order_book(m, "Yes")  # best first; YES asks derived from NO bids

Parsing lives in :mod:`pm_mcp.venues.kalshi.parse` (pure). Search: Kalshi v2 has no keyword search, so
the adapter keeps a catalog of OPEN events with their nested markets (``GET /events?status=open&
with_nested_markets=true``, page by page with the cursor, refreshed after ``settings.catalog_ttl_s``)
and scores it locally (token match, prefix match for 3+ letters), and asks the website's undocumented
``GET /v1/search/series?query=`` in parallel (it finds series the catalog may lack; if it fails the
catalog answer stands). Multivariate combo (MVE) markets are excluded everywhere.

Every market read fetches its Event (title, mutually-exclusive flag, settlement sources) and Series
(fee type, fee multiplier, category, contract terms); both are cached for the catalog TTL. A failure
to fetch them degrades the market (standard taker fee assumed, noted) rather than failing the call.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from pm_mcp.domain.models import Event, FeeSchedule, Market, MarketStatus, OrderBook, PricePoint
from pm_mcp.domain.vocabulary import with_equivalents
from pm_mcp.venues.base import AmbiguousReference, NotFound, Pace, VenueError
from pm_mcp.venues.history import HISTORY_WINDOWS, history_bucket, history_window
from pm_mcp.venues.kalshi import parse as kp
from pm_mcp.venues.kalshi.parse import KalshiTrade

log = logging.getLogger(__name__)

# Kalshi's documented read budget (docs.kalshi.com getting_started/rate_limits; research/kalshi_manifold.md 1.10):
# Basic tier 200 tokens/s at 10 tokens a request = 20 reads/s, and "batch items are billed individually": we read
# that as a batch of n tickers costing n reads, so batching saves round trips, not budget. The watch runner keeps to
# half of Basic: (reads, per seconds). The batch book endpoint takes up to 100 tickers.
POLL_BUDGET = (10, 1.0)
TICKERS_PER_REQUEST = 100

EVENTS_PAGE = 200  # GET /events max page size
MARKETS_PAGE = 1000  # GET /markets max page size
CATALOG_MAX_PAGES = 150  # 30,000 open events: a cap, not a target
CATALOG_WAIT_S = 4.0  # a search waits this long for a catalog (re)load, then answers with what is there
# closed and settled markets (a search with status closed, resolved or any): the series whose titles match the
# query, from the series list (GET /series, loaded once per catalog TTL), then each one's events
# (GET /events?series_ticker=..&with_nested_markets=true): at most this many series, this many events each
SERIES_PER_SEARCH = 3
EVENTS_PER_SERIES = 25
# ``interval`` is the window ending now, as for every venue (1h, 6h, 1d, 1w, 1m = 30 days, max)
WINDOWS = {**HISTORY_WINDOWS, "max": timedelta(days=3 * 365)}


def candle_period(window: timedelta) -> int:
    """Kalshi's period_interval (minutes: 1, 60 or 1440) for a window: at most a few hundred candles."""
    return history_bucket(window) // timedelta(minutes=1)
_STOP = {"will", "the", "a", "an", "of", "in", "at", "by", "to", "be", "on", "for", "and", "or", "what", "who",
         "how", "is", "are", "does", "do", "this", "that", "with", "vs", "market", "markets", "kalshi"}


def tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"[a-z0-9]+", with_equivalents(text.lower())) if t not in _STOP]


class KalshiSeries(BaseModel):
    ticker: str
    title: str | None = None
    category: str | None = None
    frequency: str | None = None
    tags: list[str] = Field(default_factory=list)
    fees: FeeSchedule
    settlement_sources: str | None = None
    contract_url: str | None = None
    contract_terms_url: str | None = None


class CatalogRow:
    """One catalog market, compact (a few hundred bytes instead of a ~8 KB Market model): the fields a
    search result shows, as the venue's strings. :meth:`market` builds the Market when it is returned.
    Rule text is not kept (get_market fetches it)."""

    __slots__ = ("ticker", "event_ticker", "series_ticker", "title", "yes_sub_title", "event_title", "event_sub",
                 "category", "mutually_exclusive", "quotes", "volume", "volume_24h", "open_interest",
                 "close_time", "expected_expiration_time", "status", "tick", "market_type", "rank_volume")

    def __init__(self, raw: Mapping[str, Any], event: Mapping[str, Any]):
        self.ticker = str(raw["ticker"])
        self.event_ticker = str(event["event_ticker"])
        self.series_ticker = str(event.get("series_ticker") or kp.series_of(self.event_ticker))
        self.title = raw.get("title") or ""
        self.yes_sub_title = raw.get("yes_sub_title") or ""
        self.event_title = event.get("title") or ""
        self.event_sub = event.get("sub_title") or ""
        self.category = event.get("category") or None
        self.mutually_exclusive = bool(event.get("mutually_exclusive")) or event.get("collateral_return_type") == "MECNET"
        self.quotes = tuple(raw.get(k) for k in _QUOTE_KEYS)
        self.volume = raw.get("volume_fp")
        self.volume_24h = raw.get("volume_24h_fp")
        self.open_interest = raw.get("open_interest_fp")
        self.close_time = raw.get("close_time")
        self.expected_expiration_time = raw.get("expected_expiration_time") or raw.get("expiration_time")
        self.status = raw.get("status")
        self.tick = str(kp.tick_size(raw))
        self.market_type = raw.get("market_type")
        vol = kp.dec(self.volume_24h) or kp.dec(self.volume) or Decimal(0)
        self.rank_volume = int(vol)  # whole contracts: a ranking tie-breaker only

    def texts(self) -> tuple[str, str]:
        """(title text, other searchable text)."""
        return (kp.market_title({"title": self.title, "yes_sub_title": self.yes_sub_title},
                                has_siblings=self.mutually_exclusive),
                " ".join((self.event_title, self.event_sub, self.series_ticker, self.ticker, self.category or "")))

    def sort_volume(self) -> int:
        return self.rank_volume

    def market(self, now: datetime | None = None) -> Market:
        raw = {"ticker": self.ticker, "event_ticker": self.event_ticker, "title": self.title,
               "yes_sub_title": self.yes_sub_title, **dict(zip(_QUOTE_KEYS, self.quotes)),
               "volume_fp": self.volume, "volume_24h_fp": self.volume_24h, "open_interest_fp": self.open_interest,
               "close_time": self.close_time, "expected_expiration_time": self.expected_expiration_time,
               "status": self.status, "market_type": self.market_type,
               "price_ranges": [{"start": "0", "end": "1", "step": self.tick}]}
        event = {"event_ticker": self.event_ticker, "series_ticker": self.series_ticker, "title": self.event_title,
                 "mutually_exclusive": self.mutually_exclusive, "category": self.category}
        m = kp.parse_market(raw, event=event, now=now)
        title = self.event_title
        if self.event_sub and self.event_sub.lower() not in title.lower():
            title = f"{title} ({self.event_sub})"
        return m.model_copy(update={"event_title": title or None})


_QUOTE_KEYS = ("yes_bid_dollars", "yes_ask_dollars", "no_bid_dollars", "no_ask_dollars", "last_price_dollars",
               "yes_bid", "yes_ask", "no_bid", "no_ask", "last_price")


class SeriesRow:
    """One series of the series list, searchable by its title (and by its tags, category and ticker)."""

    __slots__ = ("ticker", "raw", "rank_volume")

    def __init__(self, raw: Mapping[str, Any]):
        self.ticker = str(raw["ticker"])
        self.raw = dict(raw)
        self.rank_volume = int(kp.dec(raw.get("volume_fp")) or kp.dec(raw.get("volume")) or 0)

    def tokens(self) -> tuple[list[str], list[str]]:
        other = [self.ticker, *(str(t) for t in self.raw.get("tags") or []), str(self.raw.get("category") or "")]
        return tokens(str(self.raw.get("title") or "")), tokens(" ".join(other))


def series_needed(n_tokens: int) -> int:
    """Query words a series' title must match for its closed and settled events to be listed: all of one or two
    words, all but one of three or four, all but a third of more."""
    return max(1, n_tokens - n_tokens // 3)


def score(entry_title: set[str], entry_other: set[str], query: Sequence[str]) -> tuple[int, float]:
    """(distinct query tokens matched, weighted score). Exact title token 3, other text 2; a prefix
    match (query 'fed' ~ 'federal', 3+ letters) counts half."""
    matched = 0
    total = 0.0
    for q in query:
        best = 0.0
        if q in entry_title:
            best = 3.0
        elif q in entry_other:
            best = 2.0
        elif len(q) >= 3:
            if any(t.startswith(q) for t in entry_title):
                best = 1.5
            elif any(t.startswith(q) for t in entry_other):
                best = 1.0
        if best:
            matched += 1
            total += best
    return matched, total


class CatalogIndex:
    """Inverted index over the catalog: token -> row numbers, title and other text apart; prefix matches
    by bisecting the sorted vocabulary. ``match`` gives, per row, what :func:`score` would give, without
    scanning every row."""

    def __init__(self) -> None:
        self.rows: list[CatalogRow] = []
        self.title: dict[str, list[int]] = {}
        self.other: dict[str, list[int]] = {}
        self.vocab: list[str] = []

    def add(self, row: CatalogRow, title_tokens: Iterable[str], other_tokens: Iterable[str]) -> None:
        i = len(self.rows)
        self.rows.append(row)
        for t in set(title_tokens):
            self.title.setdefault(sys.intern(t), []).append(i)
        for t in set(other_tokens):
            self.other.setdefault(sys.intern(t), []).append(i)

    def add_row(self, row: CatalogRow) -> None:
        title, other = row.texts()
        self.add(row, tokens(title), tokens(other))

    def freeze(self) -> CatalogIndex:
        self.vocab = sorted(set(self.title) | set(self.other))
        return self

    def _classes(self, q: str) -> tuple[set[int], set[int], set[int], set[int]]:
        """Rows matching token ``q``, split (disjoint, by set differences) into exact-title, exact-other,
        prefix-title and prefix-other: each row falls in its best class only."""
        exact_t = set(self.title.get(q, ()))
        exact_o = set(self.other.get(q, ())) - exact_t
        pre_t: set[int] = set()
        pre_o: set[int] = set()
        if len(q) >= 3:
            lo = bisect.bisect_left(self.vocab, q)
            for t in self.vocab[lo:]:
                if not t.startswith(q):
                    break
                if t != q:
                    pre_t.update(self.title.get(t, ()))
                    pre_o.update(self.other.get(t, ()))
            pre_t -= exact_t | exact_o
            pre_o -= exact_t | exact_o | pre_t
        return exact_t, exact_o, pre_t, pre_o

    @staticmethod
    def _weight(i: int, classes: Sequence[tuple[set[int], ...]]) -> float:
        total = 0.0
        for c in classes:
            for rows, w in zip(c, _CLASS_WEIGHTS):
                if i in rows:
                    total += w
                    break
        return total

    def match(self, query: Sequence[str]) -> dict[int, tuple[int, float]]:
        """Row number -> (query tokens matched, weight) for every row that matches at all."""
        classes = [self._classes(q) for q in dict.fromkeys(query)]
        matched: Counter = Counter()
        for c in classes:
            matched.update(set().union(*c))
        return {i: (n, self._weight(i, classes)) for i, n in matched.items()}

    def top(self, query: Sequence[str], n: int) -> list[tuple[tuple[int, float, int], int]]:
        """The ``n`` best rows as ((matched, weight, volume), row number): most query tokens matched first,
        then weight, then volume. Rows matching every token come from a set intersection; the rows
        matching fewer are only counted when those are not enough."""
        if n <= 0:
            return []
        rows = self.rows
        if not query:
            best = heapq.nlargest(n, range(len(rows)), key=lambda i: rows[i].rank_volume)
            return [((0, 0.0, rows[i].rank_volume), i) for i in best]
        classes = [self._classes(q) for q in dict.fromkeys(query)]
        unions = [set().union(*c) for c in classes]
        k = len(unions)
        full = set.intersection(*unions) if unions else set()
        if len(full) >= n or k == 1:
            levels = {k: full}
        else:
            matched: Counter = Counter()
            for u in unions:
                matched.update(u)
            levels = {}
            for i, m in matched.items():
                levels.setdefault(m, set()).add(i)
        out: list[tuple[tuple[int, float, int], int]] = []
        for m in sorted(levels, reverse=True):
            need = n - len(out)
            if need <= 0:
                break
            scored = ((self._weight(i, classes), rows[i].rank_volume, i) for i in levels[m])
            out += [((m, w, v), i) for w, v, i in heapq.nlargest(need, scored)]
        return out


_CLASS_WEIGHTS = (3.0, 2.0, 1.5, 1.0)


class KalshiAdapter:
    name = "kalshi"

    def __init__(self, settings: Any, http: Any):
        self.settings = settings
        self.http = http
        self.ttl_s = float(getattr(settings, "catalog_ttl_s", 300))
        base = str(getattr(settings, "kalshi_url", "") or http.base_url).rstrip("/")
        root = base[: -len("/trade-api/v2")] if base.endswith("/trade-api/v2") else base
        self.v1_search_url = f"{root}/v1/search/series"
        self._events: dict[str, tuple[float, dict]] = {}
        self._series: dict[str, tuple[float, dict | None]] = {}
        self._index = CatalogIndex().freeze()
        self._catalog_at: float | None = None
        self._load_task: asyncio.Task | None = None
        self._series_index = CatalogIndex().freeze()  # rows: SeriesRow
        self._series_at: float | None = None
        self._series_task: asyncio.Task | None = None

    # --- references ------------------------------------------------------------------------------
    @staticmethod
    def parse_ref(ref: str) -> str | None:
        """The Kalshi ticker a pasted reference names (kalshi.com URL, ``kalshi:TICKER``, a ticker), or None."""
        return kp.parse_ref(ref)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    # --- raw reads -----------------------------------------------------------------------------------
    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        data = await self.http.get_json(path, params=params)
        if not isinstance(data, dict):
            raise VenueError(self.name, f"Kalshi returned an unexpected body for {path} (expected a JSON object)")
        return data

    async def raw_market(self, ticker: str) -> dict:
        data = await self._get(f"/markets/{ticker}")
        m = data.get("market", data)
        if not isinstance(m, dict) or "ticker" not in m:
            raise VenueError(self.name, f"Kalshi returned no market object for {ticker}")
        return m

    async def raw_event(self, event_ticker: str, *, fresh: bool = False) -> dict:
        """The Event with its markets (``with_nested_markets``), cached for the catalog TTL."""
        hit = self._events.get(event_ticker)
        if hit and not fresh and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        data = await self._get(f"/events/{event_ticker}", {"with_nested_markets": True})
        ev = dict(data.get("event") or {})
        if not ev.get("event_ticker"):
            raise NotFound(self.name, f"Kalshi has no event {event_ticker}")
        if not ev.get("markets") and isinstance(data.get("markets"), list):
            ev["markets"] = data["markets"]  # the deprecated top-level list
        self._events[event_ticker] = (time.monotonic(), ev)
        return ev

    async def raw_series(self, series_ticker: str) -> dict | None:
        """The Series object (fees, category, contract terms) or None if Kalshi cannot give it now."""
        hit = self._series.get(series_ticker)
        if hit and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        try:
            data = await self._get(f"/series/{series_ticker}")
            series = data.get("series") if isinstance(data.get("series"), dict) else None
        except NotFound:
            series = None
        except VenueError as exc:  # fees degrade to the standard schedule; not worth failing the read
            log.info("kalshi: series %s unavailable: %s", series_ticker, exc)
            return None
        self._series[series_ticker] = (time.monotonic(), series)
        return series

    async def _context(self, event_ticker: str) -> tuple[dict | None, dict | None]:
        try:
            event = await self.raw_event(event_ticker)
        except VenueError as exc:
            log.info("kalshi: event %s unavailable: %s", event_ticker, exc)
            event = None
        series_ticker = (event or {}).get("series_ticker") or kp.series_of(event_ticker)
        series = await self.raw_series(series_ticker)
        return event, series

    # --- VenueAdapter ---------------------------------------------------------------------------------
    async def get_market(self, ref: str) -> Market:
        """A market by ticker or kalshi.com URL. An event or series reference with exactly one market
        resolves to it; with several, the error lists them (a person picks one)."""
        ticker = self.parse_ref(ref)
        if ticker is None:
            s = (ref or "").strip()
            # a lower-case slug or anything with spaces/slashes is another venue's reference: no request
            if not s or not re.fullmatch(r"[A-Z0-9.\-]+", s):
                raise NotFound(self.name, f"{ref!r} is not a Kalshi ticker or kalshi.com/markets URL")
            ticker = s
        try:
            raw = await self.raw_market(ticker)
        except NotFound:
            return await self._market_from_container(ticker, ref)
        if kp.is_mve(raw):
            raise VenueError(self.name, f"{ticker} is a multivariate combo (parlay) market; pm-mcp does not "
                             "trade combos (their quotes are not executable). Pick a single market instead.")
        event, series = await self._context(str(raw.get("event_ticker") or ticker.rsplit("-", 1)[0]))
        return kp.parse_market(raw, event=event, series=series, now=self.now())

    async def _market_from_container(self, ticker: str, ref: str) -> Market:
        try:
            ev = await self.raw_event(ticker)
        except NotFound:
            ev = None
        if ev is not None:
            markets = [m for m in ev.get("markets") or [] if not kp.is_mve(m)]
            if len(markets) == 1:
                series = await self.raw_series(ev.get("series_ticker") or kp.series_of(ticker))
                return kp.parse_market(markets[0], event=ev, series=series, now=self.now())
            listed = "; ".join(f"{m['ticker']} ({m.get('yes_sub_title') or m.get('title')})" for m in markets[:25])
            more = f" and {len(markets) - 25} more" if len(markets) > 25 else ""
            series = await self.raw_series(ev.get("series_ticker") or kp.series_of(ticker))
            now = self.now()
            raise AmbiguousReference(self.name, f"{ticker} is a Kalshi event with {len(markets)} markets; pass "
                                     f"one market ticker: {listed}{more}",
                                     [kp.parse_market(m, event=ev, series=series, now=now) for m in markets])
        # a series ticker (kalshi.com/markets/<series>): list its open events
        try:
            data = await self._get("/events", {"series_ticker": ticker, "status": "open", "limit": 25})
        except NotFound:
            data = {}
        events = [e for e in data.get("events") or [] if not kp.is_mve(e)]
        if events:
            listed = "; ".join(f"{e['event_ticker']} ({e.get('title')})" for e in events[:10])
            raise NotFound(self.name, f"{ticker} is a Kalshi series; pass one of its events or markets: {listed}")
        raise NotFound(self.name, f"Kalshi has no market, event or series {ticker} (from {ref!r})")

    async def get_event(self, ref: str) -> Event:
        ticker = self.parse_ref(ref) or (ref or "").strip().upper()
        try:
            ev = await self.raw_event(ticker)
        except NotFound:
            # a market ticker: its event
            raw = await self.raw_market(ticker)
            ev = await self.raw_event(str(raw["event_ticker"]))
        series = await self.raw_series(ev.get("series_ticker") or kp.series_of(ev["event_ticker"]))
        return kp.parse_event(ev, series=series, now=self.now())

    async def get_series(self, ref: str) -> KalshiSeries:
        ticker = self.parse_ref(ref) or ref.strip().upper()
        raw = await self.raw_series(ticker)
        if raw is None:
            raise NotFound(self.name, f"Kalshi has no series {ticker}")
        sources = kp._sources_text(raw.get("settlement_sources"))
        return KalshiSeries(ticker=str(raw.get("ticker") or ticker), title=raw.get("title"),
                            category=raw.get("category"), frequency=raw.get("frequency"),
                            tags=list(raw.get("tags") or []), fees=kp.fee_schedule(raw),
                            settlement_sources=sources, contract_url=raw.get("contract_url"),
                            contract_terms_url=raw.get("contract_terms_url"))

    async def get_order_book(self, market: Market, outcome: str, *, depth: int = 0) -> OrderBook:
        """The market's book for "Yes" or "No", best first. Kalshi lists bids only: the asks of one side
        are 1 - the other side's bids (``derived=True``)."""
        data = await self._get(f"/markets/{market.id}/orderbook", {"depth": depth} if depth else None)
        return kp.parse_orderbook(data, ticker=market.id, outcome=outcome, now=self.now(), tick=market.tick_size)

    # --- batches (the watch runner) -----------------------------------------------------------------
    poll_budget = POLL_BUDGET

    async def get_order_books_batch(self, pairs: list[tuple[Market, str]], *, pace: Pace = None
                                    ) -> list[OrderBook | VenueError]:
        """Books of many (market, outcome) pairs: GET /markets/orderbooks?tickers=.. (TICKERS_PER_REQUEST a request,
        both sides of a ticker in one entry; ``pace`` is awaited before each). A ticker left out gets a NotFound."""
        tickers = list(dict.fromkeys(m.id for m, _ in pairs))
        raw: dict[str, dict] = {}
        for i in range(0, len(tickers), TICKERS_PER_REQUEST):
            if pace is not None:
                await pace(len(tickers[i:i + TICKERS_PER_REQUEST]))  # batch items are billed one by one
            data = await self._get("/markets/orderbooks", {"tickers": tickers[i:i + TICKERS_PER_REQUEST]})
            raw.update({str(b.get("ticker")): b for b in data.get("orderbooks") or [] if isinstance(b, dict)})
        now = self.now()
        out: list[OrderBook | VenueError] = []
        for market, outcome in pairs:
            if market.id not in raw:
                out.append(NotFound(self.name, f"Kalshi returned no order book for {market.id}", status=404))
                continue
            try:
                out.append(kp.parse_orderbook(raw[market.id], ticker=market.id, outcome=outcome, now=now,
                                              tick=market.tick_size))
            except ValueError as exc:
                out.append(VenueError(self.name, str(exc)))
        return out

    async def get_markets_batch(self, ids: list[str], *, pace: Pace = None) -> dict[str, Market | VenueError]:
        """Markets by ticker: GET /markets?tickers=.. (TICKERS_PER_REQUEST a request), parsed with the same event
        and series context as get_market (cached for the catalog TTL); a ticker left out is read by get_market."""
        wanted = list(dict.fromkeys(ids))
        raws: dict[str, dict] = {}
        for i in range(0, len(wanted), TICKERS_PER_REQUEST):
            chunk = wanted[i:i + TICKERS_PER_REQUEST]
            if pace is not None:
                await pace(len(chunk))
            data = await self._get("/markets", {"tickers": ",".join(chunk), "limit": len(chunk)})
            raws.update({str(m["ticker"]): m for m in data.get("markets") or [] if isinstance(m, dict)
                         and m.get("ticker") in chunk and not kp.is_mve(m)})
        out: dict[str, Market | VenueError] = {}
        for t in wanted:
            raw = raws.get(t)
            try:
                if raw is None:
                    if pace is not None:
                        await pace(1)
                    out[t] = await self.get_market(t)
                    continue
                event, series = await self._context(str(raw.get("event_ticker") or t.rsplit("-", 1)[0]))
                out[t] = kp.parse_market(raw, event=event, series=series, now=self.now())
            except NotFound as exc:
                out[t] = exc
        return out

    async def get_price_history(self, market: Market, outcome: str, *, start: datetime | None = None,
                                end: datetime | None = None, interval: str = "1w") -> list[PricePoint]:
        """Candlesticks (``GET /series/{s}/markets/{t}/candlesticks``): the closing price of each period
        (last trade, else the closing bid/ask mid). ``interval`` is the window ending now (1h, 6h, 1d, 1w,
        1m, max) unless ``start`` is given; candles are 1 min up to 6 h, 1 h up to a week, else 1 day."""
        if outcome.strip().lower() not in ("yes", "no"):
            raise KeyError(f"Kalshi markets have outcomes 'Yes' and 'No', not {outcome!r}")
        start, end = history_window(self.name, interval, WINDOWS, start, end, self.now)
        series_ticker = await self._series_ticker_of(market)
        data = await self._get(f"/series/{series_ticker}/markets/{market.id}/candlesticks",
                               {"start_ts": int(start.timestamp()), "end_ts": int(end.timestamp()),
                                "period_interval": candle_period(end - start)})
        points = [kp.parse_candlestick(c, outcome) for c in data.get("candlesticks") or []]
        return sorted((p for p in points if p is not None), key=lambda p: p.t)

    async def _series_ticker_of(self, market: Market) -> str:
        event_ticker = market.event_id or market.id.rsplit("-", 1)[0]
        hit = self._events.get(event_ticker)
        if hit and hit[1].get("series_ticker"):
            return str(hit[1]["series_ticker"])
        m = re.match(r"https://kalshi\.com/markets/([^/]+)/", market.url or "")
        return m.group(1).upper() if m else kp.series_of(event_ticker)

    async def get_trades(self, ticker: str, *, limit: int = 100, cursor: str | None = None
                         ) -> tuple[list[KalshiTrade], str | None]:
        """Public trades of a market, newest first, and the cursor of the next page (None at the end)."""
        data = await self._get("/markets/trades", {"ticker": ticker, "limit": min(max(limit, 1), 1000),
                                                   "cursor": cursor or None})
        return [kp.parse_trade(t) for t in data.get("trades") or []], (data.get("cursor") or None)

    async def list_markets(self, *, status: str | None = "open", event_ticker: str | None = None,
                           series_ticker: str | None = None, tickers: Sequence[str] | None = None,
                           limit: int = 100, cursor: str | None = None) -> tuple[list[Market], str | None]:
        """One page of ``GET /markets`` (MVE combos excluded), parsed without event/series context
        (fees: the standard schedule; use get_market for the full picture). Returns (markets, next cursor)."""
        params = {"status": status, "event_ticker": event_ticker, "series_ticker": series_ticker,
                  "tickers": ",".join(tickers) if tickers else None, "limit": min(max(limit, 1), MARKETS_PAGE),
                  "cursor": cursor or None, "mve_filter": "exclude"}
        data = await self._get("/markets", params)
        now = self.now()
        markets = [kp.parse_market(m, now=now) for m in data.get("markets") or [] if not kp.is_mve(m)]
        return markets, (data.get("cursor") or None)

    # --- search ---------------------------------------------------------------------------------------
    async def catalog(self, *, refresh: bool = False) -> list[Market]:
        """Every open (non-MVE) market of the open events, refreshed after the catalog TTL, as full Market
        models (about 8 KB each: for tens of thousands prefer :meth:`catalog_markets` with a limit)."""
        await self._ensure_catalog(refresh)
        now = self.now()
        return [r.market(now) for r in self._index.rows]

    async def catalog_markets(self, limit: int = 1000) -> list[Market]:
        """Open markets for the shared local catalog (MarketService.refresh_catalog): the most traded first."""
        await self._ensure_catalog()
        now = self.now()
        rows = heapq.nlargest(max(limit, 0), self._index.rows, key=CatalogRow.sort_volume)
        return [r.market(now) for r in rows]

    @property
    def catalog_size(self) -> int:
        return len(self._index.rows)

    @property
    def catalog_age_s(self) -> float | None:
        return None if self._catalog_at is None else time.monotonic() - self._catalog_at

    def _catalog_fresh(self) -> bool:
        return self._catalog_at is not None and time.monotonic() - self._catalog_at < self.ttl_s

    async def _ensure_catalog(self, refresh: bool = False, wait_s: float | None = None) -> None:
        """Load (or refresh) the catalog in a background task and wait for it: fully (``wait_s`` None)
        or for at most ``wait_s`` seconds (search), after which the caller uses what is there (the
        previous catalog, or the pages loaded so far on a first load). The task is shielded: a caller
        that gives up (a search timeout) does not cancel the load. A failed load raises here."""
        if not refresh and self._catalog_fresh():
            return
        task = self._load_task
        if task is None or task.done():
            if task is not None and not task.cancelled():
                task.exception()  # a failed earlier load was reported to whoever waited; start afresh
            task = self._load_task = asyncio.create_task(self._load_catalog(), name="kalshi-catalog")
        if wait_s is None:
            await asyncio.shield(task)
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=wait_s)
        except TimeoutError:
            log.info("kalshi: catalog still loading (%d markets so far); answering with what is there",
                     len(self._index.rows))

    async def _load_catalog(self) -> None:
        first = not self._index.rows
        index = CatalogIndex()
        if first:
            self._index = index  # a first load is searchable page by page
        cursor: str | None = None
        now = self.now()
        for _page in range(CATALOG_MAX_PAGES):
            data = await self._get("/events", {"status": "open", "with_nested_markets": True,
                                               "limit": EVENTS_PAGE, "cursor": cursor})
            for ev in data.get("events") or []:
                if kp.is_mve(ev) or not ev.get("event_ticker"):
                    continue
                for raw in ev.get("markets") or []:
                    if not raw.get("ticker") or kp.is_mve(raw) or kp._status(raw, now) != MarketStatus.OPEN:
                        continue
                    index.add_row(CatalogRow(raw, ev))
            if first:
                index.freeze()
            cursor = data.get("cursor") or None
            if not cursor:
                break
        else:
            log.warning("kalshi: catalog stopped at %d pages of open events", CATALOG_MAX_PAGES)
        self._index = index.freeze()
        self._catalog_at = time.monotonic()

    # --- closed and settled markets: series list + each matching series' events ------------------------------
    async def _ensure_series(self, wait_s: float = CATALOG_WAIT_S) -> None:
        """Load (or refresh, after the catalog TTL) the series list in a shielded background task, waiting for it
        at most ``wait_s`` seconds; a failed load raises here (the caller answers without it)."""
        if self._series_at is not None and time.monotonic() - self._series_at < self.ttl_s:
            return
        task = self._series_task
        if task is None or task.done():
            if task is not None and not task.cancelled():
                task.exception()  # reported to whoever waited; start afresh
            task = self._series_task = asyncio.create_task(self._load_series(), name="kalshi-series")
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=wait_s)
        except TimeoutError:
            log.info("kalshi: series list still loading; answering without closed and settled events")

    async def _load_series(self) -> None:
        data = await self._get("/series")
        index = CatalogIndex()
        for raw in data.get("series") or []:
            if isinstance(raw, dict) and raw.get("ticker"):
                row = SeriesRow(raw)
                index.add(row, *row.tokens())
        self._series_index = index.freeze()
        self._series_at = time.monotonic()

    def matching_series(self, q: Sequence[str], n: int = SERIES_PER_SEARCH) -> list[SeriesRow]:
        """The series (at most ``n``) whose title, tags or category hold the query's words (series_needed of them,
        one at least in the title), best first: most words, then weight, then the shortest title, then volume."""
        index = self._series_index
        need = series_needed(len(set(q)))
        found = []
        for (matched, weight, vol), i in index.top(q, max(n, 0) * 10):
            row = index.rows[i]
            title = row.tokens()[0]
            if matched >= need and _names(q, title):
                # of equal matches, the title with fewest other words is the closest ("Senate control" before
                # "Senate control: Georgia runoff"), then volume
                found.append(((-matched, -weight, len(title), -vol, row.ticker), row))
        return [row for _key, row in sorted(found, key=lambda x: x[0])[:n]]

    async def closed_markets(self, query: str, *, want: MarketStatus | None, limit: int) -> list[Market]:
        """Markets of the closed and settled events (and, for ``want`` None, every event) of the series the query
        names, as GET /events?series_ticker=.. lists them: what the open-events catalog cannot hold. One request
        per matching series (SERIES_PER_SEARCH at most), in parallel; the series list is loaded once per TTL.
        The ``limit`` best by the query's words come back. A series whose listing fails is left out."""
        q = tokens(query)
        if not q or want == MarketStatus.OPEN:
            return []
        await self._ensure_series()
        series = self.matching_series(q)
        if not series:
            return []
        status = {MarketStatus.CLOSED: "closed", MarketStatus.RESOLVED: "settled"}.get(want)  # None: every status
        pages = await asyncio.gather(*(self._get("/events", {
            "series_ticker": s.ticker, "status": status, "with_nested_markets": True, "limit": EVENTS_PER_SERIES})
            for s in series), return_exceptions=True)
        now = self.now()
        index = CatalogIndex()
        raws: list[tuple[dict, dict, dict]] = []
        for s, page in zip(series, pages, strict=True):
            if isinstance(page, BaseException):
                log.info("kalshi: events of series %s unavailable: %s", s.ticker, page)
                continue
            for ev in page.get("events") or []:
                if not isinstance(ev, dict) or kp.is_mve(ev) or not ev.get("event_ticker"):
                    continue
                for raw in ev.get("markets") or []:
                    if not isinstance(raw, dict) or not raw.get("ticker") or kp.is_mve(raw):
                        continue
                    if want is not None and kp._status(raw, now) != want:
                        continue
                    index.add_row(CatalogRow(raw, ev))
                    raws.append((raw, ev, s.raw))
        index.freeze()
        out = []
        for _key, i in index.top(q, max(limit, 0)):
            raw, ev, series_raw = raws[i]
            event = {**ev, "title": kp.event_title_with_series(ev.get("title"), series_raw.get("title"))}
            out.append(kp.parse_market(raw, event=event, series=series_raw, now=now))
        return out

    def _rank_catalog(self, q: Sequence[str], n: int) -> list[tuple[tuple, Market]]:
        index = self._index
        now = self.now()
        out = []
        for key, i in index.top(q, n):
            m = index.rows[i].market(now)
            if m.status == MarketStatus.OPEN:  # it may have closed since the catalog was loaded
                out.append((key, m))
        return out

    async def local_search(self, query: str, *, limit: int = 20) -> list[Market]:
        """The catalog part of :meth:`search` alone (loads the catalog when needed)."""
        await self._ensure_catalog(wait_s=CATALOG_WAIT_S)
        return [m for _k, m in self._rank_catalog(tokens(query), limit)]

    async def search_v1(self, query: str) -> list[Market]:
        """The website's undocumented series search (not in the OpenAPI spec; may change without notice)."""
        data = await self.http.get_json(self.v1_search_url, params={"query": query})
        if not isinstance(data, dict):
            return []
        return kp.parse_v1_search(data, now=self.now())

    async def search(self, query: str, *, limit: int = 20, status: str | None = "open") -> list[Market]:
        """Markets matching ``query``: the local catalog of open events plus the v1 series search, and for status
        closed, resolved or None the closed and settled events of the series whose titles hold the query's words
        (:meth:`closed_markets`), merged, ranked by matched query words, then weight, then volume.
        status: open | closed | resolved | None."""
        q = tokens(query)
        want = _status_filter(status)
        use_catalog = want in (None, MarketStatus.OPEN)
        jobs: list[Any] = [self.search_v1(query) if query.strip() else _empty(),
                           self._ensure_catalog(wait_s=CATALOG_WAIT_S) if use_catalog else _empty(),
                           self.closed_markets(query, want=want, limit=max(limit, 0) * 2 + 10)]
        v1, cat_err, closed = await asyncio.gather(*jobs, return_exceptions=True)
        v1_err = v1 if isinstance(v1, BaseException) else None
        cat_err = cat_err if isinstance(cat_err, BaseException) else None
        if isinstance(closed, BaseException):
            log.info("kalshi: closed and settled events unavailable (%s)", closed)
            closed = []
        if v1_err is not None:
            v1 = []
            if (not use_catalog or cat_err is not None) and not closed:  # nothing left to answer with
                err = cat_err or v1_err
                if isinstance(err, VenueError):
                    raise err
                raise VenueError(self.name, f"Kalshi search failed: {err}") from err
            log.info("kalshi: v1 search failed (%s); answering without it", v1_err)
        if cat_err is not None:
            log.info("kalshi: catalog refresh failed (%s); using the v1 search only", cat_err)

        ranked: dict[str, tuple[tuple, Market]] = {}
        if use_catalog:  # after a failed refresh, the previous (stale) catalog still answers
            for key, m in self._rank_catalog(q, max(limit, 0) * 2 + 10):
                ranked[m.id] = (key, m)
        for rank, m in enumerate(v1):
            if want is not None and m.status != want:
                continue
            if m.id in ranked:
                continue
            t = set(tokens(m.title))
            matched, weight = score(t, set(tokens(" ".join([m.event_title or "", m.id, m.category or ""]))), q)
            # the website found it: keep it, after the markets whose words match better
            ranked[m.id] = ((matched, weight, m.volume or 0, -rank), m)
        for rank, m in enumerate(closed):  # closed and settled events of the series the query names
            if m.id not in ranked:
                t = set(tokens(m.title))
                matched, weight = score(t, set(tokens(" ".join([m.event_title or "", m.id, m.category or ""]))), q)
                ranked[m.id] = ((matched, weight, m.volume or 0, -rank), m)
        order = sorted(ranked.values(), key=lambda x: x[0], reverse=True)
        return [m for _key, m in order[:max(limit, 0)]]


async def _empty() -> list[Market]:
    return []


def _names(q: Sequence[str], words: Iterable[str]) -> bool:
    """Whether a query word is one of ``words`` (exactly, or as a prefix of 3+ letters)."""
    return any(t == w or (len(w) >= 3 and t.startswith(w)) for t in words for w in q)


def _status_filter(status: str | None) -> MarketStatus | None:
    if status in (None, "", "all", "any"):
        return None
    try:
        return MarketStatus(str(status).lower())
    except ValueError:
        raise ValueError(f"status must be open, closed, resolved or all, not {status!r}") from None


__all__ = ["AmbiguousReference", "CatalogIndex", "CatalogRow", "KalshiAdapter", "KalshiSeries", "KalshiTrade", "tokens", "score"]
