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
import json
import logging
import time
import uuid
from collections import OrderedDict
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from pm_mcp.domain.models import Event, Market, MarketStatus, OrderBook, PricePoint
from pm_mcp.markets.catalog import Catalog, CatalogFilters
from pm_mcp.settings import Settings
from pm_mcp.venues.base import NotFound, VenueAdapter, VenueError
from pm_mcp.venues.http import HttpPool
from pm_mcp.venues.registry import VENUES, venue_of_host

if TYPE_CHECKING:
    from pm_mcp.app import AppState  # annotations only: pm_mcp.app starts this component

log = logging.getLogger(__name__)

CATALOG_REFRESH_LIMIT = 1000


class SearchHit(BaseModel):
    market: Market
    score: float
    source: str  # "live" (the venue answered just now) or "catalog" (local index)
    fetched_at: datetime
    stale: bool


class SearchResult(BaseModel):
    query: str
    hits: list[SearchHit] = Field(default_factory=list)
    venues: list[str] = Field(default_factory=list)  # venues asked live
    warnings: dict[str, str] = Field(default_factory=dict)  # venue -> what went wrong
    next_cursor: str | None = None
    stale: bool = False  # True when any hit is older than the catalog TTL

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


def _encode_cursor(offset: int, session: str | None) -> str:
    raw = json.dumps({"o": offset, "s": session}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[int, str | None]:
    if not cursor:
        return 0, None
    try:
        pad = "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(cursor + pad))
        return max(0, int(data["o"])), data.get("s")
    except (ValueError, KeyError, TypeError):
        raise ValueError("the cursor is not one this server returned; start again without a cursor") from None


SESSION_TTL_S = 900
MAX_SESSIONS = 64
RANKED_KEEP = 500  # results kept per search for the following pages


class MarketService:
    def __init__(self, settings: Settings, adapters: dict[str, VenueAdapter], catalog: Catalog | None = None):
        self.settings = settings
        self.adapters = adapters
        self.catalog = catalog
        self._tasks: set[asyncio.Task] = set()
        self._refreshing: set[str] = set()
        # search sessions: the full ranking of a first page, so later pages neither repeat nor skip
        self._sessions: OrderedDict[str, tuple[float, list[tuple[str, str]], str]] = OrderedDict()

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
        query = (query or "").strip()
        if venues:
            asked = [v.strip().lower() for v in venues if v.strip()]
            for v in asked:
                self.adapter(v)  # ValueError naming the enabled venues
        else:
            asked = list(self.adapters)
        limit = max(1, min(int(limit), 100))
        offset, session = _decode_cursor(cursor)
        if session is not None:
            page = await self._page_from_session(session, offset, limit, query)
            if page is not None:
                return page
        statuses = None if status in (None, "any", "all") else [status]
        filters = CatalogFilters(venues=asked, statuses=statuses, closes_before=closes_before,
                                 closes_after=closes_after, min_liquidity=min_liquidity, min_volume=min_volume,
                                 category=category)
        want = offset + limit
        result = SearchResult(query=query, venues=asked if (live and query) else [])

        live_hits: dict[tuple[str, str], SearchHit] = {}
        if live and query:
            venue_status = status if status in ("open", "closed", "resolved") else None
            outcomes = await asyncio.gather(*(self._venue_search(v, query, want, venue_status) for v in asked))
            now = time.time()
            fetched = datetime.fromtimestamp(now, UTC)
            for v, got in zip(asked, outcomes, strict=True):
                if isinstance(got, str):
                    result.warnings[v] = got
                    continue
                await self._remember(got, now)
                for rank, m in enumerate(got):
                    if filters.accepts(m):
                        live_hits[(m.venue, m.id)] = SearchHit(market=m, score=-float(rank), source="live",
                                                               fetched_at=fetched, stale=False)
            self._maybe_refresh(asked)

        merged: dict[tuple[str, str], SearchHit] = {}
        if self.catalog is not None:
            depth = max(want + 1, min(RANKED_KEEP, 100)) + len(live_hits)
            for h in await self.catalog.search(query, filters, limit=depth, offset=0):
                key = (h.market.venue, h.market.id)
                fresh = live_hits.pop(key, None)
                if fresh is not None:
                    # fresh data from the venue, the catalog's relevance
                    merged[key] = fresh.model_copy(update={"score": h.score})
                else:
                    merged[key] = SearchHit(market=h.market, score=h.score, source="catalog",
                                            fetched_at=datetime.fromtimestamp(h.fetched_at, UTC),
                                            stale=h.stale)
        # venue matches our index did not find (the venue's search is broader): after the indexed ones
        floor = min((h.score for h in merged.values()), default=0.0)
        for key, h in live_hits.items():
            merged[key] = h.model_copy(update={"score": floor - 1.0 + h.score / 1000.0})
        ranked = sorted(merged.values(), key=lambda h: h.score, reverse=True)
        ranked.sort(key=lambda h: (-h.score, h.market.venue, h.market.id))
        page = ranked[offset:offset + limit]
        result.hits = page
        if len(ranked) > offset + limit:
            sid = self._save_session([(h.market.venue, h.market.id) for h in ranked[:RANKED_KEEP]], query)
            result.next_cursor = _encode_cursor(offset + limit, sid)
        result.stale = any(h.stale for h in page)
        return result

    def _save_session(self, keys: list[tuple[str, str]], query: str) -> str | None:
        if self.catalog is None:
            return None
        now = time.time()
        while self._sessions and (len(self._sessions) >= MAX_SESSIONS or
                                  next(iter(self._sessions.values()))[0] < now):
            self._sessions.popitem(last=False)
        sid = uuid.uuid4().hex[:12]
        self._sessions[sid] = (now + SESSION_TTL_S, keys, query)
        return sid

    async def _page_from_session(self, sid: str, offset: int, limit: int, query: str) -> SearchResult | None:
        """The next page of a ranking made by an earlier call (same order, no repeats); None if expired."""
        entry = self._sessions.get(sid)
        if entry is None or entry[0] < time.time() or entry[2] != query or self.catalog is None:
            return None
        keys = entry[1][offset:offset + limit]
        hits = []
        for venue, mid in keys:
            got = await self.catalog.get(venue, mid)
            if got is None:
                continue
            market, at = got
            hits.append(SearchHit(market=market, score=0.0, source="catalog",
                                  fetched_at=datetime.fromtimestamp(at, UTC), stale=self.catalog.is_stale(at)))
        more = len(entry[1]) > offset + limit
        return SearchResult(query=query, hits=hits, venues=[], next_cursor=_encode_cursor(offset + limit, sid)
                            if more else None, stale=any(h.stale for h in hits))

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
