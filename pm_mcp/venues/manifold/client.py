"""Manifold market data (API v0, no auth needed for reads) behind the VenueAdapter protocol.

    adapter = ManifoldAdapter(settings, http)      # http: VenueHttp("manifold", settings.manifold_url)
    await adapter.search("fed cut")                # GET /v0/search-markets
    m = await adapter.get_market("https://manifold.markets/CalibratedGhosts/will-the-fed-cut-rates-by-at-least")
    book = await adapter.get_order_book(m, "Yes")  # SYNTHESIZED from the CPMM pool, derived=True

Parsing and the CPMM maths live in :mod:`pm_mcp.venues.manifold.parse` (pure). Manifold has no order
book: the book is the AMM's price ladder, one level per percentage point (see that module). Money is
mana (play money); there are no trading fees. Manifold has no events: ``get_event`` wraps the market.
Price history comes from the market's bets (``GET /v0/bets?contractId=``): the probability after
each bet, last value per interval.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pm_mcp.domain.models import Event, Market, MarketStatus, OrderBook, PricePoint
from pm_mcp.venues.base import NotFound, Pace, VenueError, read_each
from pm_mcp.venues.history import HISTORY_WINDOWS, history_bucket, history_window
from pm_mcp.venues.manifold import parse as mp

log = logging.getLogger(__name__)

# Manifold documents 500 requests per minute per IP (docs/docs/api.md; research/kalshi_manifold.md section 2). The
# watch runner keeps to half: (requests, per seconds). Manifold has no batch read of full markets (market-probs
# gives probabilities only, not the pool a book is synthesized from), so a watched market costs one read a pass,
# shared by all its outcomes' books.
POLL_BUDGET = (250, 60.0)

# only these can be traded with POST /v0/bet (polls, bounties and legacy dpm markets cannot)
TRADEABLE_MECHANISMS = {"cpmm-1", "cpmm-multi-1"}
FILTERS = {None: "all", MarketStatus.OPEN: "open", MarketStatus.CLOSED: "closed", MarketStatus.RESOLVED: "resolved"}
# ``interval`` is the window ending now, as for every venue (1h, 6h, 1d, 1w, 1m = 30 days, max)
WINDOWS = {**HISTORY_WINDOWS, "max": timedelta(days=10 * 365)}


class ManifoldAdapter:
    name = "manifold"

    def __init__(self, settings: Any, http: Any):
        self.settings = settings
        self.http = http

    @staticmethod
    def parse_ref(ref: str) -> tuple[str, str] | None:
        """("slug", slug) / ("id", id) for a manifold.markets URL, an api.manifold.markets/v0 URL or
        ``manifold:<id or slug>``; None otherwise (a bare slug or id is not claimed)."""
        return mp.parse_ref(ref)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    # --- raw reads -----------------------------------------------------------------------------------
    async def raw_market(self, ref: str) -> dict:
        """The FullMarket for an id, slug or URL (an id-looking ref that is not an id is tried as a slug)."""
        parsed = self.parse_ref(ref)
        s = (ref or "").strip()
        if parsed is None:
            if not s or "/" in s or " " in s:
                raise NotFound(self.name, f"{ref!r} is not a Manifold market id, slug or manifold.markets URL")
            parsed = ("id", s) if mp.ID_RE.match(s) else ("slug", s)
        kind, value = parsed
        if kind == "id":
            try:
                return self._check(await self.http.get_json(f"/v0/market/{value}"), ref)
            except NotFound:
                pass  # some slugs look like ids
        try:
            return self._check(await self.http.get_json(f"/v0/slug/{value}"), ref)
        except NotFound:
            raise NotFound(self.name, f"Manifold has no market {value!r} (from {ref!r}); pass its "
                           "manifold.markets/<user>/<slug> URL or id") from None

    def _check(self, data: Any, ref: str) -> dict:
        if not isinstance(data, dict) or "id" not in data:
            raise VenueError(self.name, f"Manifold returned no market object for {ref!r}")
        return data

    # --- VenueAdapter -----------------------------------------------------------------------------------
    async def get_market(self, ref: str) -> Market:
        return mp.parse_market(await self.raw_market(ref), now=self.now())

    async def get_event(self, ref: str) -> Event:
        """Manifold has no events: the market itself (its answers are its outcomes)."""
        m = await self.get_market(ref)
        return Event(id=m.id, venue=self.name, title=m.title, slug=m.slug, markets=[m],
                     mutually_exclusive=m.mutually_exclusive, category=m.category, rule_text=m.rule_text, url=m.url)

    async def get_order_book(self, market: Market, outcome: str, *, levels: int = mp.BOOK_LEVELS) -> OrderBook:
        """A book SYNTHESIZED from the market's CPMM pool (fresh read), best first, ``derived=True``:
        one level per percentage point of probability. Resting limit orders are not included."""
        raw = await self.raw_market(market.id)
        try:
            return mp.book_for(raw, outcome, now=self.now(), levels=levels)
        except ValueError as exc:
            raise VenueError(self.name, str(exc)) from None

    # --- batches (the watch runner) -----------------------------------------------------------------
    poll_budget = POLL_BUDGET

    async def get_order_books_batch(self, pairs: list[tuple[Market, str]], *, pace: Pace = None
                                    ) -> list[OrderBook | VenueError]:
        """Books of many (market, outcome) pairs: one fresh read per distinct market (``pace`` awaited before each),
        every outcome's book synthesized from that one read."""
        raws: dict[str, dict | VenueError] = await read_each((m.id for m, _ in pairs), self.raw_market, pace)
        now = self.now()
        out: list[OrderBook | VenueError] = []
        for market, outcome in pairs:
            raw = raws[market.id]
            if isinstance(raw, VenueError):
                out.append(raw)
                continue
            try:
                out.append(mp.book_for(raw, outcome, now=now))
            except ValueError as exc:
                out.append(VenueError(self.name, str(exc)))
        return out

    async def get_markets_batch(self, ids: list[str], *, pace: Pace = None) -> dict[str, Market | VenueError]:
        """Markets by id, one read each (Manifold has no batch form that returns full markets)."""
        return await read_each(ids, self.get_market, pace)

    async def get_price_history(self, market: Market, outcome: str, *, start: datetime | None = None,
                                end: datetime | None = None, interval: str = "1w") -> list[PricePoint]:
        """The probability after each bet, the last one per bucket, from ``GET /v0/bets`` (up to 1000 bets).
        ``interval`` is the window ending now (1h, 6h, 1d, 1w, 1m, max) unless ``start`` is given; buckets
        are 1 min up to 6 h, 1 h up to a week, else 1 day. Multiple choice: ``outcome`` is an answer."""
        start, end = history_window(self.name, interval, WINDOWS, start, end, self.now)
        step = history_bucket(end - start)
        answer_id = None
        flip = False
        want = outcome.strip().lower()
        if market.outcomes and market.outcomes[0].answer_id:
            for o in market.outcomes:
                if want in (o.label.lower(), (o.answer_id or "").lower()):
                    answer_id = o.answer_id
            if answer_id is None:
                raise KeyError(f"no outcome {outcome!r}; this market's answers are: "
                               + ", ".join(repr(o.label) for o in market.outcomes))
        elif want in ("yes", "no"):
            flip = want == "no"
        else:
            raise KeyError(f"Manifold binary markets have outcomes 'Yes' and 'No', not {outcome!r}")
        bets = await self.http.get_json("/v0/bets", params={"contractId": market.id, "limit": 1000,
                                                             "afterTime": int(start.timestamp() * 1000),
                                                             "beforeTime": int(end.timestamp() * 1000)})
        buckets: dict[int, tuple[int, PricePoint]] = {}
        secs = int(step.total_seconds())
        for b in bets if isinstance(bets, list) else []:
            if not isinstance(b, Mapping) or b.get("isCancelled") or b.get("isRedemption"):
                continue
            if answer_id is not None and str(b.get("answerId")) != answer_id:
                continue
            t = mp.utc_ms(b.get("createdTime"))
            prob = mp.dec(b.get("probAfter"))
            if t is None or prob is None or not (start <= t <= end):
                continue
            if b.get("limitProb") is not None and not b.get("fills"):
                continue  # an unfilled limit order did not move the price
            bucket = int(t.timestamp()) // secs
            ms = int(b.get("createdTime"))
            price = (mp.ONE - prob if flip else prob).quantize(mp.PROB_Q)
            prev = buckets.get(bucket)
            if prev is None or ms >= prev[0]:
                bt = datetime.fromtimestamp((bucket + 1) * secs, UTC)
                buckets[bucket] = (ms, PricePoint(t=min(bt, end), price=price, volume=None))
        return [p for _k, (_ms, p) in sorted(buckets.items())]

    async def catalog_markets(self, limit: int = 1000) -> list[Market]:
        """Open tradeable markets by liquidity, for the shared local catalog (offset pages; Manifold caps
        offset at 1000)."""
        out: list[Market] = []
        offset = 0
        now = self.now()
        while len(out) < limit and offset <= 1000:
            page = await self.http.get_json("/v0/search-markets", params={
                "term": "", "limit": min(500, limit), "offset": offset, "filter": "open", "sort": "liquidity",
                "contractType": "ALL"})
            if not isinstance(page, list) or not page:
                break
            for raw in page:
                if isinstance(raw, Mapping) and raw.get("mechanism") in TRADEABLE_MECHANISMS \
                        and raw.get("token") in (None, "MANA"):
                    out.append(mp.parse_market(raw, now=now))
            offset += len(page)
            if len(page) < min(500, limit):
                break
        return out[:limit]

    async def search(self, query: str, *, limit: int = 20, status: str | None = "open") -> list[Market]:
        """``GET /v0/search-markets`` (relevance order). Only tradeable markets (cpmm-1 / cpmm-multi-1, mana)
        are returned; search results are LiteMarkets, so multiple-choice answers appear after get_market."""
        want = None if status in (None, "", "all", "any") else _status(status)
        data = await self.http.get_json("/v0/search-markets", params={
            "term": query.strip(), "limit": min(max(limit * 2, 10), 1000), "filter": FILTERS[want],
            "contractType": "ALL", "sort": "score"})
        if not isinstance(data, list):
            raise VenueError(self.name, "Manifold search returned an unexpected body (expected a list)")
        now = self.now()
        out: list[Market] = []
        for raw in data:
            if not isinstance(raw, Mapping) or raw.get("mechanism") not in TRADEABLE_MECHANISMS:
                continue
            if raw.get("token") not in (None, "MANA"):
                continue  # sweepstakes (CASH) twins of mana markets
            m = mp.parse_market(raw, now=now)
            if want is not None and m.status != want:
                continue
            out.append(m)
            if len(out) >= limit:
                break
        return out


def _status(status: str) -> MarketStatus:
    try:
        return MarketStatus(str(status).lower())
    except ValueError:
        raise ValueError(f"status must be open, closed, resolved or all, not {status!r}") from None


__all__ = ["ManifoldAdapter"]
