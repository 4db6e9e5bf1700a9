"""Polymarket market data: Gamma (search, markets, events, keyset listing), CLOB (books, tick size,
neg-risk, price history) and the Data API v2 (price history). Read-only; parsing lives in
:mod:`pm_mcp.venues.polymarket.parse`.

``PolymarketAdapter(settings, http)`` where ``http`` is a :class:`~pm_mcp.venues.http.VenueHttp` for the
venue (any base URL: the adapter derives Gamma/CLOB/Data with ``http.at(...)`` from the settings).

References it resolves (``get_market``): a polymarket.com URL (``/event/<slug>[/<market-slug>]``,
``/market/<slug>``), a Gamma id (digits), a condition id (0x + 64 hex), a CLOB token id (a long
decimal), a market slug, or an event slug whose event has exactly one market.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from pm_mcp.domain.models import Event, Market, OrderBook, PricePoint
from pm_mcp.settings import Settings
from pm_mcp.venues.base import AmbiguousReference, NotFound, Pace, VenueError, read_each
from pm_mcp.venues.http import VenueHttp
from pm_mcp.venues.polymarket.parse import (
    INTERVAL_WINDOWS,
    dec,
    parse_book,
    parse_gamma_event,
    parse_gamma_market,
    parse_history_clob,
    parse_history_v2,
)

CONDITION_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
TOKEN_ID = re.compile(r"^\d{20,80}$")
GAMMA_ID = re.compile(r"^\d{1,19}$")
HOSTS = ("polymarket.com", "www.polymarket.com")
# Polymarket's documented limits, per 10 s (docs.polymarket.com/api-reference/rate-limits; research/polymarket.md
# section 7): CLOB POST /books 500, Gamma /markets 300. The watch runner keeps to half of the tighter one, leaving
# the rest to the person's own calls: (requests, per seconds).
POLL_BUDGET = (150, 10.0)
BOOKS_PER_REQUEST = 100  # tokens per POST /books (our choice: the docs give no maximum)
MARKETS_PER_REQUEST = 50  # ids per Gamma GET /markets?id=...


def parse_polymarket_url(ref: str) -> tuple[str, str] | None:
    """('event', slug) / ('market', slug) / ('event_market', 'event-slug/market-slug') from a URL."""
    s = ref.strip()
    if "://" not in s and s.lower().startswith(HOSTS):
        s = "https://" + s
    parts = urlsplit(s)
    if parts.hostname not in HOSTS:
        return None
    segs = [unquote(x) for x in parts.path.split("/") if x]
    # language prefixes (/es/event/...) are optional
    if segs and len(segs[0]) == 2 and len(segs) > 1:
        segs = segs[1:]
    if len(segs) >= 3 and segs[0] == "event":
        return "event_market", f"{segs[1]}/{segs[2]}"
    if len(segs) >= 2 and segs[0] in ("event", "sports"):
        return "event", segs[-1]
    if len(segs) >= 2 and segs[0] == "market":
        return "market", segs[1]
    return None


class PolymarketAdapter:
    name = "polymarket"

    def __init__(self, settings: Settings, http: VenueHttp):
        self.settings = settings
        self.gamma = http.at(settings.polymarket_gamma_url)
        self.clob = http.at(settings.polymarket_clob_url)
        self.data = http.at(settings.polymarket_data_url)

    # --- search and listing ---------------------------------------------------------------------
    async def search(self, query: str, *, limit: int = 20, status: str | None = "open") -> list[Market]:
        params: dict[str, Any] = {"q": query, "limit_per_type": max(1, min(limit, 50)), "page": 1,
                                  "search_tags": False, "search_profiles": False}
        if status == "open":
            params.update(events_status="active", keep_closed_markets=0)
        elif status in ("closed", "resolved"):
            params.update(events_status="closed", keep_closed_markets=1)
        else:
            params.update(keep_closed_markets=1)
        body = await self.gamma.get_json("/public-search", params)
        out: list[Market] = []
        for ev in (body or {}).get("events") or []:
            for m in ev.get("markets") or []:
                market = parse_gamma_market(m, ev)
                if status == "open" and market.status.value != "open":
                    continue
                out.append(market)
        return out[:limit] if limit else out

    async def list_markets(self, *, limit: int = 100, after_cursor: str | None = None, open_only: bool = True,
                           order: str | None = "volume_num") -> tuple[list[Market], str | None]:
        """One keyset page of markets (``after_cursor`` from the previous page); returns (markets, next)."""
        params: dict[str, Any] = {"limit": max(1, min(limit, 100)), "after_cursor": after_cursor}
        if open_only:
            params.update(active=True, closed=False, archived=False)
        if order:
            params.update(order=order, ascending=False)
        body = await self.gamma.get_json("/markets/keyset", params)
        items = (body or {}).get("markets") or []
        return [parse_gamma_market(m) for m in items], (body or {}).get("next_cursor") or None

    async def catalog_markets(self, limit: int = 1000) -> list[Market]:
        """Open markets for the local catalog (keyset pages until ``limit``)."""
        out: list[Market] = []
        cursor: str | None = None
        while len(out) < limit:
            page, cursor = await self.list_markets(limit=min(100, limit - len(out)), after_cursor=cursor)
            out.extend(page)
            if not cursor or not page:
                break
        return out

    # --- one market / event -----------------------------------------------------------------------
    async def get_market(self, ref: str) -> Market:
        ref = ref.strip()
        if not ref:
            raise NotFound(self.name, "empty market reference")
        url = parse_polymarket_url(ref)
        if url:
            kind, value = url
            if kind == "event_market":
                ev_slug, m_slug = value.split("/", 1)
                try:
                    return await self._market_by_slug(m_slug)
                except NotFound:
                    return await self._single_market_of_event(ev_slug)
            if kind == "market":
                return await self._market_by_slug(value)
            return await self._single_market_of_event(value)
        if CONDITION_ID.match(ref):
            return await self._market_by_query({"condition_ids": ref.lower()}, f"condition id {ref}")
        if TOKEN_ID.match(ref):
            return await self._market_by_query({"clob_token_ids": ref}, f"token id {ref}")
        if GAMMA_ID.match(ref):
            return parse_gamma_market(await self.gamma.get_json(f"/markets/{ref}"))
        if "/" in ref or " " in ref:
            raise NotFound(self.name, f"{ref!r} is not a Polymarket URL, id, slug, condition id or token id")
        try:
            return await self._market_by_slug(ref)
        except NotFound:
            return await self._single_market_of_event(ref)

    async def _market_by_slug(self, slug: str) -> Market:
        return parse_gamma_market(await self.gamma.get_json(f"/markets/slug/{slug}"))

    async def _market_by_query(self, params: dict[str, Any], what: str) -> Market:
        items = await self.gamma.get_json("/markets", {**params, "limit": 5})
        if not items:
            raise NotFound(self.name, f"no Polymarket market with {what}")
        return parse_gamma_market(items[0])

    async def _single_market_of_event(self, slug: str) -> Market:
        try:
            ev = await self.gamma.get_json(f"/events/slug/{slug}")
        except NotFound:
            raise NotFound(self.name, f"no Polymarket market or event with slug {slug!r}") from None
        event = parse_gamma_event(ev)
        if len(event.markets) == 1:
            return event.markets[0]
        if not event.markets:
            raise NotFound(self.name, f"the event {event.title!r} has no markets")
        listing = "; ".join(f"{m.slug} ({m.title})" for m in event.markets[:10])
        more = f" and {len(event.markets) - 10} more" if len(event.markets) > 10 else ""
        raise AmbiguousReference(
            self.name, f"{event.title!r} is an event with {len(event.markets)} markets; pass one of these market "
            f"slugs: {listing}{more}", event.markets)

    async def get_event(self, ref: str) -> Event:
        ref = ref.strip()
        url = parse_polymarket_url(ref)
        if url:
            ref = url[1].split("/")[0]
        if GAMMA_ID.match(ref):
            return parse_gamma_event(await self.gamma.get_json(f"/events/{ref}"))
        try:
            return parse_gamma_event(await self.gamma.get_json(f"/events/slug/{ref}"))
        except NotFound:
            # maybe a market slug: return its event
            m = await self._market_by_slug(ref)
            if not m.event_id:
                raise NotFound(self.name, f"the market {ref!r} has no event") from None
            return parse_gamma_event(await self.gamma.get_json(f"/events/{m.event_id}"))

    # --- books and trading parameters -------------------------------------------------------------
    def _token(self, market: Market, outcome: str) -> str:
        try:
            o = market.outcome(outcome)
        except KeyError as exc:
            raise VenueError(self.name, str(exc.args[0])) from None
        if not o.token_id:
            raise VenueError(self.name, f"outcome {o.label!r} of {market.title!r} has no CLOB token id")
        return o.token_id

    async def get_order_book(self, market: Market, outcome: str) -> OrderBook:
        token = self._token(market, outcome)
        try:
            raw = await self.clob.get_json("/book", {"token_id": token})
        except NotFound:
            raise NotFound(self.name, f"no order book for {market.title!r} / {outcome} (the market may be closed "
                           "or not on the CLOB)", status=404) from None
        return parse_book(raw, market_id=market.id, outcome=market.outcome(outcome).label)

    async def get_order_books(self, market: Market) -> dict[str, OrderBook]:
        """All outcomes' books in one call (CLOB POST /books; a read, so retried)."""
        tokens = {o.token_id: o.label for o in market.outcomes if o.token_id}
        if not tokens:
            return {}
        raw = await self.clob.request_json("POST", "/books", json=[{"token_id": t} for t in tokens], retry=True)
        out: dict[str, OrderBook] = {}
        for b in raw or []:
            label = tokens.get(str(b.get("asset_id")))
            if label:
                out[label] = parse_book(b, market_id=market.id, outcome=label)
        return out

    # --- batches (the watch runner) -----------------------------------------------------------------
    poll_budget = POLL_BUDGET

    async def get_order_books_batch(self, pairs: list[tuple[Market, str]], *, pace: Pace = None
                                    ) -> list[OrderBook | VenueError]:
        """Books of many (market, outcome) pairs: CLOB POST /books, BOOKS_PER_REQUEST tokens a request (``pace``
        is awaited before each). A token the CLOB leaves out of its answer gets a NotFound in its place."""
        tokens: list[str | VenueError] = []
        for market, outcome in pairs:
            try:
                tokens.append(self._token(market, outcome))
            except VenueError as exc:
                tokens.append(exc)
        wanted = list(dict.fromkeys(t for t in tokens if isinstance(t, str)))
        raw: dict[str, dict] = {}
        for i in range(0, len(wanted), BOOKS_PER_REQUEST):
            if pace is not None:
                await pace(1)
            chunk = wanted[i:i + BOOKS_PER_REQUEST]
            body = await self.clob.request_json("POST", "/books", json=[{"token_id": t} for t in chunk], retry=True)
            raw.update({str(b.get("asset_id")): b for b in body or [] if isinstance(b, dict)})
        out: list[OrderBook | VenueError] = []
        for (market, outcome), token in zip(pairs, tokens, strict=True):
            if isinstance(token, VenueError):
                out.append(token)
            elif token not in raw:
                out.append(NotFound(self.name, f"no order book for {market.title!r} / {outcome} (the market may be "
                                    "closed or not on the CLOB)", status=404))
            else:
                out.append(parse_book(raw[token], market_id=market.id, outcome=market.outcome(outcome).label))
        return out

    async def get_markets_batch(self, ids: list[str], *, pace: Pace = None) -> dict[str, Market | VenueError]:
        """Markets by Gamma id: GET /markets?id=..&id=.., MARKETS_PER_REQUEST a request; ids it does not return are
        read one by one (get_market; a NotFound stands in for one that does not exist)."""
        out: dict[str, Market | VenueError] = {}
        wanted = list(dict.fromkeys(ids))
        for i in range(0, len(wanted), MARKETS_PER_REQUEST):
            if pace is not None:
                await pace(1)
            chunk = wanted[i:i + MARKETS_PER_REQUEST]
            items = await self.gamma.get_json("/markets", {"id": chunk, "limit": len(chunk)})
            for m in items or []:
                if isinstance(m, dict) and str(m.get("id")) in chunk:
                    out[str(m["id"])] = parse_gamma_market(m)
        out.update(await read_each([mid for mid in wanted if mid not in out], self.get_market, pace))
        return out

    async def get_tick_size(self, token_id: str):
        body = await self.clob.get_json("/tick-size", {"token_id": token_id})
        tick = dec((body or {}).get("minimum_tick_size"))
        if tick is None or tick <= 0:
            raise VenueError(self.name, f"the CLOB returned no usable tick size for token {token_id}")
        return tick

    async def get_neg_risk(self, token_id: str) -> bool:
        body = await self.clob.get_json("/neg-risk", {"token_id": token_id})
        return bool((body or {}).get("neg_risk"))

    # --- history --------------------------------------------------------------------------------
    async def get_price_history(self, market: Market, outcome: str, *, start: datetime | None = None,
                                end: datetime | None = None, interval: str = "1w") -> list[PricePoint]:
        """Price points of one outcome. ``interval`` is the window ending now (1h, 6h, 1d, 1w, 1m, max)
        unless ``start`` (and ``end``) are given. Data API v2 first, the CLOB endpoint as a fallback."""
        token = self._token(market, outcome)
        if interval not in INTERVAL_WINDOWS:
            raise VenueError(self.name, f"interval {interval!r} is not one of {', '.join(INTERVAL_WINDOWS)}")
        params: dict[str, Any] = {"token_id": token}
        if start is not None:
            end = end or datetime.now(UTC)
            # the Data API allows windows of at most 15 days
            if end - start > timedelta(days=15):
                start = end - timedelta(days=15)
            params.update(start=int(start.timestamp()), end=int(end.timestamp()))
        else:
            params["interval"] = interval
        try:
            body = await self.data.get_json("/v2/prices-history", params)
            return parse_history_v2((body or {}).get("data") or [])
        except (NotFound, VenueError) as exc:
            if exc.status not in (400, 404, 405):
                raise
        cparams: dict[str, Any] = {"market": token}
        if start is not None:
            cparams.update(startTs=params["start"], endTs=params["end"])
        else:
            cparams.update(interval=interval)
        return parse_history_clob(await self.clob.get_json("/prices-history", cparams))
