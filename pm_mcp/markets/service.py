"""MarketService: the one entry point to market data for every tool (``state.markets``).

    svc: MarketService = state.markets
    market = await svc.get_market("https://polymarket.com/event/<slug>/<market-slug>")   # any ref, any venue
    book = await svc.get_order_book(market, "Yes")                                       # best-first Decimal
    result = await svc.search("fed december", venues=[entry.name], limit=20)             # SearchResult
    adapter = svc.adapter(market.venue)                                                  # the venue adapter

Adapters are built in the startup hook below from the enabled venues (PM_MCP_VENUES) with one shared
``VenueHttp`` per venue from ``state.http``: ``PolymarketAdapter(settings, http)``,
``KalshiAdapter(settings, http)``, ``ManifoldAdapter(settings, http)``
(each from its package, listed in pm_mcp/venues/registry.py); a venue whose module is missing is skipped
with a log line.

Search fans out to the venues in parallel (each bounded by ``settings.http_timeout_s``) and to the
local catalog (FTS5); live results are written to the catalog, everything is ranked together and
paginated with an opaque cursor. A venue that fails adds a sentence to ``warnings[venue]`` and its
catalog rows (marked ``stale`` when older than ``settings.catalog_ttl_s``) still come back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import sqlite3
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from pm_mcp.domain.models import Event, Market, MarketStatus, OrderBook, PricePoint
from pm_mcp.markets import ranking
from pm_mcp.markets.catalog import Catalog, CatalogFilters
from pm_mcp.settings import Settings
from pm_mcp.venues.base import NotFound, VenueAdapter, VenueError, read_each
from pm_mcp.venues.http import HttpPool
from pm_mcp.venues.registry import VENUES, venue_of_host

if TYPE_CHECKING:
    from pm_mcp.app import AppState  # annotations only: pm_mcp.app starts this component

log = logging.getLogger(__name__)

CATALOG_REFRESH_LIMIT = 1000


class SearchHit(BaseModel):
    """One row of a search: a market, or the member of an event the query picks (``members``: the event's
    best matching members, ``member_count`` of them in all, prices from ``price_low`` to ``price_high``)."""
    market: Market
    score: float
    source: str  # "live" (the venue answered just now) or "catalog" (local index)
    fetched_at: datetime
    stale: bool
    relevance: float = 1.0
    members: list[Market] = Field(default_factory=list)
    member_count: int = 1
    price_low: Decimal | None = None
    price_high: Decimal | None = None


class SearchResult(BaseModel):
    query: str
    hits: list[SearchHit] = Field(default_factory=list)
    venues: list[str] = Field(default_factory=list)  # venues asked live
    warnings: dict[str, str] = Field(default_factory=dict)  # venue -> what went wrong
    next_cursor: str | None = None
    stale: bool = False  # True when any hit is older than the catalog TTL
    total: int = 0  # rows in the whole ranking (every page)
    total_exact: bool = True  # False when a venue returned as many as asked (it may have more)
    dropped: int = 0  # matches below the relevance floor, not shown
    unreachable: list[str] = Field(default_factory=list)  # venues that failed this time
    offset: int = 0
    note: str | None = None

    @property
    def markets(self) -> list[Market]:
        return [h.market for h in self.hits]


def venue_of_url(ref: str) -> str | None:
    s = ref.strip()
    if "://" not in s and "/" in s:
        s = "https://" + s
    try:
        host = (urlsplit(s).hostname or "").lower()
    except ValueError:
        return None
    return venue_of_host(host)


def _encode_cursor(offset: int, session: str | None, fingerprint: str = "") -> str:
    raw = json.dumps({"o": offset, "s": session, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[int, str | None, str | None]:
    if not cursor:
        return 0, None, None
    try:
        pad = "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(cursor + pad))
        return max(0, int(data["o"])), data.get("s"), data.get("f")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("the cursor is not one this server returned; start again without a cursor") from None


SESSION_TTL_S = 900
MAX_SESSIONS = 64
VENUE_DEPTH = 50  # markets asked of each venue per search (the adapters' page)
MAX_QUERY_CHARS = 300


@dataclass
class _Ranking:
    """A whole search's rows in page order, kept for its next pages."""
    fingerprint: str
    hits: list[SearchHit]
    warnings: dict[str, str]
    unreachable: list[str]
    venues: list[str]
    total_exact: bool
    dropped: int
    note: str | None
    expires: float = 0.0
    venue_matched: set[tuple[str, str]] = field(default_factory=set)  # see ranking.relevance


class MarketService:
    def __init__(self, settings: Settings, adapters: dict[str, VenueAdapter], catalog: Catalog | None = None):
        self.settings = settings
        self.adapters = adapters
        self.catalog = catalog
        self._tasks: set[asyncio.Task] = set()
        self._refreshing: set[str] = set()
        # search sessions: the full ranking of a first page, so later pages neither repeat nor skip
        self._sessions: OrderedDict[str, _Ranking] = OrderedDict()

    @property
    def venues(self) -> list[str]:
        return list(self.adapters)

    def adapter(self, venue: str) -> VenueAdapter:
        v = (venue or "").strip().lower()
        if v not in self.adapters:
            enabled = ", ".join(self.adapters) or "none"
            raise ValueError(f"venue {venue!r} is not enabled here (enabled: {enabled}; set PM_MCP_VENUES)")
        return self.adapters[v]

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- one market ---------------------------------------------------------------------------------
    async def get_market(self, ref: str, venue: str | None = None) -> Market:
        """Resolve anything a person pastes: a venue URL, id, slug, condition id, token id or ticker."""
        ref = (ref or "").strip()
        if not ref:
            raise ValueError("give a market: a URL, id, slug, ticker, condition id or token id")
        if venue is None:
            venue = venue_of_url(ref)
        if venue is not None:
            market = await self.adapter(venue).get_market(ref)
            await self._remember([market])
            return market
        candidates: list[str] = []
        if self.catalog is not None:
            for v, mid in await self.catalog.lookup(ref):
                if v in self.adapters and v not in candidates:
                    candidates.append(v)
        for entry in VENUES.values():  # references only one venue uses (condition ids, tickers)
            if entry.own_refs is not None and entry.own_refs.match(ref) and entry.name in self.adapters:
                candidates.append(entry.name)
        for v, a in self.adapters.items():  # adapters that recognise the ref (kalshi:..., manifold:..., API URLs)
            parse_ref = getattr(a, "parse_ref", None)
            if parse_ref is not None and v not in candidates and parse_ref(ref):
                candidates.append(v)
        candidates += [v for v in self.adapters if v not in candidates]
        errors: list[str] = []
        for v in candidates:
            try:
                market = await self.adapter(v).get_market(ref)
            except NotFound as exc:
                if getattr(exc, "candidates", None):
                    raise  # an event with several markets: the message lists them
                errors.append(v)
                continue
            await self._remember([market])
            return market
        raise NotFound("markets", f"no market {ref!r} on {', '.join(errors) or 'any enabled venue'}; paste the "
                       "market's URL, or search_markets to find it")

    async def cached_market(self, ref: str, venue: str | None = None) -> tuple[Market, bool] | None:
        """The catalog's copy of a market (market, stale) when the venue cannot be reached."""
        if self.catalog is None:
            return None
        for v, mid in await self.catalog.lookup(ref, venue):
            got = await self.catalog.get(v, mid)
            if got:
                return got[0], self.catalog.is_stale(got[1])
        return None

    async def get_event(self, ref: str, venue: str | None = None) -> Event:
        venue = venue or venue_of_url(ref)
        order = [venue] if venue else list(self.adapters)
        last: Exception | None = None
        for v in order:
            try:
                event = await self.adapter(v).get_event(ref)
            except NotFound as exc:
                last = exc
                continue
            await self._remember(event.markets)
            return event
        raise NotFound("markets", f"no event {ref!r} on {', '.join(order)}") from last

    async def get_order_book(self, market: Market, outcome: str) -> OrderBook:
        market.outcome(outcome)  # KeyError listing the outcomes when the label is wrong
        return await self.adapter(market.venue).get_order_book(market, outcome)

    # --- many at once (the watch runner) ------------------------------------------------------------
    def poll_budget(self, venue: str) -> tuple[int, float] | None:
        """(requests, per seconds) a poller of ``venue`` should keep to (declared in the venue's package), or None."""
        return getattr(self.adapter(venue), "poll_budget", None)

    async def get_order_books_many(self, venue: str, pairs: list[tuple[Market, str]], *,
                                   pace: Callable[[int], Awaitable[None]] | None = None
                                   ) -> list[OrderBook | VenueError]:
        """Books of many (market, outcome) pairs of one venue in as few requests as the venue's batch form allows
        (``pace(cost)`` is awaited before each request). A pair that cannot be read gets its VenueError in its
        place; a failure of the whole request (429, venue down) raises."""
        a = self.adapter(venue)
        batch = getattr(a, "get_order_books_batch", None)
        if batch is not None:
            return await batch(pairs, pace=pace)
        out: list[OrderBook | VenueError] = []
        for market, outcome in pairs:
            if pace is not None:
                await pace(1)
            try:
                out.append(await a.get_order_book(market, outcome))
            except NotFound as exc:
                out.append(exc)
        return out

    async def get_markets_many(self, venue: str, ids: list[str], *,
                               pace: Callable[[int], Awaitable[None]] | None = None
                               ) -> dict[str, Market | VenueError]:
        """Markets of one venue by id (as a watch stores them), batched where the venue can; NotFound in place of
        a market that does not exist."""
        a = self.adapter(venue)
        batch = getattr(a, "get_markets_batch", None)
        if batch is not None:
            return await batch(ids, pace=pace)
        return await read_each(ids, a.get_market, pace)

    async def get_price_history(self, market: Market, outcome: str, *, start: datetime | None = None,
                                end: datetime | None = None, interval: str = "1w") -> list[PricePoint]:
        market.outcome(outcome)
        return await self.adapter(market.venue).get_price_history(market, outcome, start=start, end=end,
                                                                  interval=interval)

    # --- search ---------------------------------------------------------------------------------------
    async def search(self, query: str, *, venues: list[str] | None = None, limit: int = 20,
                     status: str | None = "open", closes_before: datetime | None = None,
                     closes_after: datetime | None = None, min_liquidity: float | None = None,
                     min_volume: float | None = None, category: str | None = None, cursor: str | None = None,
                     live: bool = True) -> SearchResult:
        """One ranked list across venues (pm_mcp.markets.ranking): events as one row, weak matches dropped
        and counted, every venue with results on every page. The cursor pages through the whole ranking
        (kept for SESSION_TTL_S; an expired one is recomputed the same way)."""
        query = " ".join((query or "").split())[:MAX_QUERY_CHARS]
        if venues:
            asked = [v.strip().lower() for v in venues if v.strip()]
            for v in asked:
                self.adapter(v)  # ValueError naming the enabled venues
        else:
            asked = list(self.adapters)
        limit = max(1, min(int(limit), 100))
        offset, session, fp_seen = _decode_cursor(cursor)
        statuses = None if status in (None, "any", "all") else [status]
        filters = CatalogFilters(venues=asked, statuses=statuses, closes_before=closes_before,
                                 closes_after=closes_after, min_liquidity=min_liquidity, min_volume=min_volume,
                                 category=category)
        fp = hashlib.sha256(repr((query.lower(), asked, filters)).encode()).hexdigest()[:16]
        if fp_seen and fp_seen != fp:
            raise ValueError("this cursor belongs to another search; repeat that search's arguments with it, or "
                             "start again without a cursor")
        ranked = self._session(session, fp) if session else None
        if ranked is None:
            ranked = await self._rank(query, asked, filters, status, live, limit, fp)
            session = self._save_session(ranked)
        return self._page(query, ranked, offset, limit, session)

    def _page(self, query: str, ranked: _Ranking, offset: int, limit: int, session: str | None) -> SearchResult:
        now = time.time()
        hits = []
        for h in ranked.hits[offset:offset + limit]:
            stale = h.stale or (h.source == "catalog" and self.catalog is not None
                                and self.catalog.is_stale(h.fetched_at.timestamp(), now))
            hits.append(h.model_copy(update={"stale": stale}) if stale != h.stale else h)
        more = len(ranked.hits) > offset + limit
        return SearchResult(query=query, hits=hits, venues=ranked.venues, warnings=ranked.warnings,
                            next_cursor=_encode_cursor(offset + limit, session, ranked.fingerprint) if more else None,
                            stale=any(h.stale for h in hits), total=len(ranked.hits), total_exact=ranked.total_exact,
                            dropped=ranked.dropped, unreachable=ranked.unreachable, offset=offset, note=ranked.note)

    async def _rank(self, query: str, asked: list[str], filters: CatalogFilters, status: str | None, live: bool,
                    page: int, fingerprint: str) -> _Ranking:
        searchable = not ranking.Query.parse(query).empty
        out = _Ranking(fingerprint=fingerprint, hits=[], warnings={}, unreachable=[], venues=asked if (live and searchable) else [],
                       total_exact=True, dropped=0, note=None)
        found: dict[tuple[str, str], SearchHit] = {}
        if live and searchable:
            await self._live_hits(query, asked, filters, status, out, found)
        if self.catalog is not None:
            await self._catalog_hits(query if searchable else "", filters, out, found)
        if not searchable:
            out.note = ("the query has no words to search for; these are the largest markets in the local catalog"
                        if query else None)
            out.hits = sorted(found.values(), key=lambda h: -float(h.market.volume or 0))
            return out
        rows, out.dropped = ranking.rank(query, [h.market for h in found.values()], venue_matched=out.venue_matched)
        for row in ranking.diversify(rows, page):
            h = found[row.key]
            out.hits.append(h.model_copy(update={
                "score": round(row.score, 4), "relevance": round(row.relevance, 4), "members": row.members,
                "member_count": row.member_count, "price_low": row.price_low, "price_high": row.price_high}))
        return out

    async def _live_hits(self, query: str, asked: list[str], filters: CatalogFilters, status: str | None,
                         out: _Ranking, found: dict[tuple[str, str], SearchHit]) -> None:
        venue_status = status if status in ("open", "closed", "resolved") else None
        words = ranking.venue_query(query)
        answers: list[list[Market] | str] = []
        for got, retried in await asyncio.gather(*(self._venue_answer(v, words, venue_status) for v in asked)):
            answers.append(got)
            if not retried and not isinstance(got, str):
                # what a venue's search for all the words returned without its outcome labels (a multiple-choice
                # market listed without answers): the venue matched the words on text this copy lacks
                out.venue_matched |= {(m.venue, m.id) for m in got if not m.outcomes}
        now = time.time()
        fetched = datetime.fromtimestamp(now, UTC)
        for v, got in zip(asked, answers, strict=True):
            if isinstance(got, str):
                out.warnings[v] = got
                out.unreachable.append(v)
                continue
            if len(got) >= VENUE_DEPTH:
                out.total_exact = False
            await self._remember(got, now)
            for m in got:
                if filters.accepts(m):
                    found.setdefault((m.venue, m.id), SearchHit(market=m, score=0.0, source="live",
                                                                fetched_at=fetched, stale=False))
        self._maybe_refresh(asked)

    async def _venue_answer(self, venue: str, words: str,
                            status: str | None) -> tuple[list[Market] | str, bool]:
        """One venue's answer. When its search returned no market at all, it is asked again at once (not after
        the other venues), in parallel, with one word left out at a time (ranking.relaxed_queries): venues word
        things differently ("nominee" / "nominate", "cut" / "decrease") and an all-words search misses on one
        word. A venue that answered with markets, relevant or not, is asked once. The retries' markets are
        added to the answer (the ranking then judges them like any other row); a failed retry adds nothing.
        Returns (the answer, whether it came from the retries)."""
        got = await self._venue_search(venue, words, VENUE_DEPTH, status)
        variants = ranking.relaxed_queries(words)
        if isinstance(got, str) or got or not variants:
            return got, False
        more = await asyncio.gather(*(self._venue_search(venue, w, VENUE_DEPTH, status) for w in variants))
        out: dict[str, Market] = {}
        for answer in more:
            if not isinstance(answer, str):
                for m in answer:
                    out.setdefault(m.id, m)
        return list(out.values()), True

    async def _catalog_hits(self, query: str, filters: CatalogFilters, out: _Ranking,
                            found: dict[tuple[str, str], SearchHit]) -> None:
        assert self.catalog is not None
        try:
            hits = await self.catalog.search(query, filters, limit=ranking.CANDIDATES)
        except sqlite3.DatabaseError as exc:
            log.warning("the local catalog could not be searched (%s); rebuilding its index", exc)
            out.warnings["catalog"] = "the local catalog could not be read; it is being rebuilt (live results only)"
            if "rebuild" not in self._refreshing:
                self._refreshing.add("rebuild")
                self._spawn(self._rebuild_catalog())
            return
        if self.catalog.bad_rows and "rebuild" not in self._refreshing:
            self._refreshing.add("rebuild")
            self._spawn(self._rebuild_catalog())
        for h in hits:
            key = (h.market.venue, h.market.id)
            if key not in found:
                found[key] = SearchHit(market=h.market, score=h.score, source="catalog",
                                       fetched_at=datetime.fromtimestamp(h.fetched_at, UTC), stale=h.stale)

    def _session(self, sid: str, fingerprint: str) -> _Ranking | None:
        entry = self._sessions.get(sid)
        if entry is None or entry.expires < time.time() or entry.fingerprint != fingerprint:
            return None
        return entry

    def _save_session(self, ranked: _Ranking) -> str:
        now = time.time()
        while self._sessions and (len(self._sessions) >= MAX_SESSIONS or
                                  next(iter(self._sessions.values())).expires < now):
            self._sessions.popitem(last=False)
        sid = uuid.uuid4().hex[:12]
        ranked.expires = now + SESSION_TTL_S
        self._sessions[sid] = ranked
        return sid

    async def _rebuild_catalog(self) -> None:
        try:
            if self.catalog is not None:
                n = await self.catalog.rebuild()
                log.info("catalog: index rebuilt, %d unreadable rows deleted", n)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - background repair of a cache
            log.warning("catalog rebuild failed: %s", exc)
        finally:
            self._refreshing.discard("rebuild")

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _venue_search(self, venue: str, query: str, limit: int, status: str | None) -> list[Market] | str:
        timeout = max(1.0, float(self.settings.http_timeout_s))
        try:
            async with asyncio.timeout(timeout):
                return await self.adapters[venue].search(query, limit=min(max(limit, 20), 50), status=status)
        except TimeoutError:
            return f"{venue} did not answer within {timeout:g}s; showing what the local catalog has."
        except VenueError as exc:
            msg = str(exc)
            prefix = f"{exc.venue}: "
            msg = msg[len(prefix):] if msg.startswith(prefix) else msg
            return f"{msg} Showing what the local catalog has for {venue}."
        except Exception as exc:  # noqa: BLE001 - one venue's bug must not sink the others' results
            log.exception("search on %s failed", venue)
            return f"{venue} search failed unexpectedly ({type(exc).__name__}); other venues are unaffected."

    # --- catalog ------------------------------------------------------------------------------------
    async def _remember(self, markets: list[Market], at: float | None = None) -> None:
        if self.catalog is not None and markets:
            try:
                await self.catalog.upsert(markets, at)
            except Exception:  # noqa: BLE001 - the catalog is a cache; never fail a read over it
                log.warning("could not write %d markets to the catalog", len(markets), exc_info=True)

    async def refresh_catalog(self, venue: str, limit: int = CATALOG_REFRESH_LIMIT) -> int:
        """List the venue's open markets into the catalog (adapters with ``catalog_markets``)."""
        adapter = self.adapter(venue)
        lister = getattr(adapter, "catalog_markets", None)
        if lister is None or self.catalog is None:
            return 0
        markets = await lister(limit)
        n = await self.catalog.upsert(markets)
        await self.catalog.mark_refreshed(venue, n)
        return n

    def _maybe_refresh(self, venues: list[str]) -> None:
        """Refresh, in the background, the catalogs older than the TTL (never blocks a search)."""
        if self.catalog is None:
            return
        for v in venues:
            if v in self._refreshing or not hasattr(self.adapters[v], "catalog_markets"):
                continue
            self._refreshing.add(v)
            task = asyncio.create_task(self._refresh_if_due(v))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _refresh_if_due(self, venue: str) -> None:
        try:
            last = await self.catalog.last_refresh(venue) if self.catalog else None
            if last is None or time.time() - last > self.settings.catalog_ttl_s:
                n = await self.refresh_catalog(venue)
                log.info("catalog: refreshed %d %s markets", n, venue)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - background cache refresh
            log.info("catalog refresh of %s failed: %s", venue, exc)
        finally:
            self._refreshing.discard(venue)


def build_adapters(settings: Settings, pool: Any) -> dict[str, VenueAdapter]:
    adapters: dict[str, VenueAdapter] = {}
    for venue in settings.enabled_venues:
        entry = VENUES.get(venue)
        if entry is None:
            continue
        try:
            cls = entry.adapter()
        except (ImportError, AttributeError) as exc:
            log.warning("venue %s is enabled but %s.%s is not available (%s); skipping it", venue, entry.package,
                        entry.adapter_class, exc)
            continue
        adapters[venue] = cls(settings, pool.for_venue(venue, getattr(settings, entry.data_url_setting)))
    return adapters


async def start_markets(state: AppState, stack: AsyncExitStack) -> None:
    """The market service (``state.markets``) over the shared HTTP pool and the local catalog."""
    pool = state.http
    if pool is None:
        pool = HttpPool(timeout_s=state.settings.http_timeout_s)
        state.http = pool
        stack.push_async_callback(pool.aclose)
    catalog = await Catalog.open(state.store.path, state.settings.catalog_ttl_s)
    stack.push_async_callback(catalog.close)
    service = MarketService(state.settings, build_adapters(state.settings, pool), catalog)
    stack.push_async_callback(service.aclose)
    state.markets = service


__all__ = ["MarketService", "SearchHit", "SearchResult", "venue_of_url", "build_adapters", "MarketStatus"]
