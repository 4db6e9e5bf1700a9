"""Kalshi Trade API v2 JSON -> our models. Pure: no I/O, no clock reads (``now`` is passed in).

The quirks handled here (research/kalshi_manifold.md section 1):
- Prices are fixed-point dollar strings (``*_dollars``, up to 6 dp) and counts are ``*_fp`` strings. The
  legacy integer-cent fields (``yes_bid``, ``volume``...) are read only when the fixed-point field is
  absent (the v1 website search still carries both).
- ``liquidity_dollars`` is deprecated and always "0.0000": never used.
- The order book lists BIDS only, ascending (best bid LAST). A YES ask is 1 - a NO bid, a NO ask is
  1 - a YES bid; we return both sides best-first and mark the book ``derived``.
- Multivariate combo markets (``KXMVE...``; ``mve_collection_ticker`` set) have empty rules and
  unusable quotes: :func:`is_mve` spots them so lists and search can drop them.
- The price grid is ``price_ranges`` ``[{start, end, step}]`` (``linear_cent``, ``tapered_deci_cent``,
  ``deci_cent``); the removed ``tick_size`` (integer cents) is a fallback only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from pm_mcp.domain.fees import kalshi_schedule
from pm_mcp.domain.models import BookLevel, Event, FeeSchedule, Market, MarketStatus, OrderBook, Outcome, PricePoint
from pm_mcp.domain.money import decimal_or_none
from pm_mcp.domain.times import parse_time
from pm_mcp.venues.payloads import text_fields

VENUE = "kalshi"
WEB = "https://kalshi.com"
ONE = Decimal(1)
ZERO = Decimal(0)
CENT = Decimal("0.01")

# Market.status values of the API -> ours. The REST *filter* values (open/unopened/settled) also appear in
# some responses and older recordings, so both vocabularies are mapped.
_STATUS = {
    "active": MarketStatus.OPEN,
    "open": MarketStatus.OPEN,
    "initialized": MarketStatus.PAUSED,
    "unopened": MarketStatus.PAUSED,
    "inactive": MarketStatus.PAUSED,
    "paused": MarketStatus.PAUSED,
    "closed": MarketStatus.CLOSED,
    "determined": MarketStatus.RESOLVED,
    "disputed": MarketStatus.CLOSED,
    "amended": MarketStatus.RESOLVED,
    "finalized": MarketStatus.RESOLVED,
    "settled": MarketStatus.RESOLVED,
}

_TICK_BY_STRUCTURE = {"linear_cent": CENT, "tapered_deci_cent": CENT, "deci_cent": Decimal("0.001")}

MAKER_FEE_TYPES = {"quadratic_with_maker_fees", "quadratic_with_combo_maker_fees"}


# --- scalars ------------------------------------------------------------------------------------------

dec = decimal_or_none  # venue JSON value -> Decimal, None for blanks or garbage


def _fixed_point(raw: Mapping[str, Any], name: str, suffix: str, *, legacy_cents: bool) -> Decimal | None:
    """``<name><suffix>`` (the fixed-point field) when present, else the legacy integer ``<name>`` (cents
    / 100 when ``legacy_cents``)."""
    key = f"{name}{suffix}"
    if key in raw and raw[key] is not None:
        return dec(raw[key])
    legacy = raw.get(name)
    if legacy is None or isinstance(legacy, bool):
        return None
    d = dec(legacy)
    return d / 100 if legacy_cents and d is not None else d


def field_dollars(raw: Mapping[str, Any], name: str) -> Decimal | None:
    """``<name>_dollars`` when present, else the legacy integer cents ``<name>`` / 100."""
    return _fixed_point(raw, name, "_dollars", legacy_cents=True)


def field_count(raw: Mapping[str, Any], name: str) -> Decimal | None:
    """``<name>_fp`` when present, else the legacy integer ``<name>``."""
    return _fixed_point(raw, name, "_fp", legacy_cents=False)


utc = parse_time  # ISO 8601 or unix seconds -> aware UTC (pm_mcp.domain.times, the one time parser)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "market"


# --- grid, fees, identity --------------------------------------------------------------------------

def price_ranges(raw: Mapping[str, Any]) -> list[tuple[Decimal, Decimal, Decimal]]:
    out: list[tuple[Decimal, Decimal, Decimal]] = []
    for r in raw.get("price_ranges") or []:
        start, end, step = dec(r.get("start")), dec(r.get("end")), dec(r.get("step"))
        if start is not None and end is not None and step is not None and step > 0:
            out.append((start, end, step))
    return out


def tick_size(raw: Mapping[str, Any]) -> Decimal:
    """The one tick that is valid at EVERY price of the market: the coarsest step of its grid.

    On ``tapered_deci_cent`` markets that is 0.01 (0.001 is only allowed below 0.10 and above 0.90);
    use :func:`tick_at` for the finer tick at a given price."""
    ranges = price_ranges(raw)
    if ranges:
        return max(step for _s, _e, step in ranges)
    structure = raw.get("price_level_structure")
    if structure in _TICK_BY_STRUCTURE:
        return _TICK_BY_STRUCTURE[structure]
    legacy = raw.get("tick_size")  # removed 2026-05-07; integer cents
    if isinstance(legacy, (int, str)) and not isinstance(legacy, bool) and dec(legacy):
        return dec(legacy) / 100  # type: ignore[operator]
    return CENT


def tick_at(raw: Mapping[str, Any], price: Decimal) -> Decimal:
    """The grid step at ``price`` (the finest valid tick there)."""
    ranges = price_ranges(raw)
    steps = [step for start, end, step in ranges if start <= price <= end]
    return min(steps) if steps else tick_size(raw)


def fee_schedule(series: Mapping[str, Any] | None = None, event: Mapping[str, Any] | None = None) -> FeeSchedule:
    """Kalshi's quadratic fee: takers 0.07, makers 0.0175 on series whose fee_type charges makers,
    times the series ``fee_multiplier`` (an event's ``fee_multiplier_override`` / ``fee_type_override``
    wins)."""
    fee_type = None
    multiplier: Decimal | None = None
    for src in (event or {}, series or {}):
        if fee_type is None:
            fee_type = src.get("fee_type_override") or src.get("fee_type")
        if multiplier is None:
            multiplier = dec(src.get("fee_multiplier_override")) if src.get("fee_multiplier_override") is not None \
                else dec(src.get("fee_multiplier"))
    if multiplier is None or multiplier < 0:
        multiplier = ONE
    sched = kalshi_schedule(maker_fees=fee_type in MAKER_FEE_TYPES, multiplier=multiplier)
    note = f"series fee_type {fee_type}" if fee_type else "series fee type unknown; standard taker fee assumed"
    if fee_type == "flat":
        note = "series fee_type flat: Kalshi publishes no formula for it; the quadratic taker fee is an estimate"
    return sched.model_copy(update={"note": note})


def is_mve(raw: Mapping[str, Any]) -> bool:
    """A multivariate combo (parlay) market or event: KXMVE... tickers / mve_* fields."""
    if raw.get("mve_collection_ticker") or raw.get("mve_selected_legs"):
        return True
    for key in ("ticker", "event_ticker", "series_ticker"):
        t = raw.get(key)
        if isinstance(t, str) and t.upper().startswith("KXMVE"):
            return True
    return False


def series_of(event_ticker: str) -> str:
    """Series ticker of an event ticker by Kalshi's naming (SERIES-EVENTPART); the API's own
    ``series_ticker`` wins whenever it is known."""
    return event_ticker.split("-", 1)[0]


def web_url(series_ticker: str, event_ticker: str, title: str | None = None) -> str:
    """kalshi.com/markets/<series>/<slug>/<event>: the site's page for the event (the slug is cosmetic)."""
    return f"{WEB}/markets/{series_ticker.lower()}/{slugify(title or series_ticker)}/{event_ticker.lower()}"


_URL_RE = re.compile(r"^(?:https?://)?(?:www\.)?kalshi\.com/(?:markets|events)/(?P<path>[^?#]*)", re.I)
_TICKER_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9.]+)*$")


def parse_ref(ref: str) -> str | None:
    """A Kalshi reference -> the (upper-case) ticker it names, or None if it is not Kalshi's.

    Accepts kalshi.com/markets/<series>[/<slug>[/<event or market ticker>]] URLs (the last path
    segment: a series, event or market ticker), ``kalshi:<ticker>``, and bare upper-case tickers
    (``KXFEDDECISION-26SEP-C25``) or any-case ``KX...`` tickers."""
    s = (ref or "").strip()
    if not s:
        return None
    m = _URL_RE.match(s)
    if m:
        parts = [p for p in m.group("path").split("/") if p]
        return parts[-1].upper() if parts else None
    if s.lower().startswith("kalshi:"):
        t = s.split(":", 1)[1].strip()
        return t.upper() or None
    if _TICKER_RE.match(s) and ("-" in s or s.startswith("KX")):
        return s
    if s.lower().startswith("kx") and re.fullmatch(r"[A-Za-z0-9.\-]+", s):
        return s.upper()
    return None


# --- markets, events --------------------------------------------------------------------------------

def _status(raw: Mapping[str, Any], now: datetime | None) -> MarketStatus:
    st = _STATUS.get(str(raw.get("status") or "").lower(), MarketStatus.UNKNOWN)
    if raw.get("result") in ("yes", "no", "scalar") and st in (MarketStatus.CLOSED, MarketStatus.UNKNOWN):
        return MarketStatus.RESOLVED
    if st == MarketStatus.OPEN and now is not None:
        close = utc(raw.get("close_time"))
        if close is not None and close <= now:
            return MarketStatus.CLOSED
    return st


def _quote(bid: Decimal | None, ask: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """A bid of 0 is no bid; an ask of 1 is no ask (Kalshi reports the empty side that way)."""
    return (bid if bid is not None and bid > 0 else None, ask if ask is not None and ask < 1 else None)


def _indicative(bid: Decimal | None, ask: Decimal | None, last: Decimal | None) -> Decimal | None:
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return last if last is not None and last > 0 else (bid if bid is not None else ask)


def outcomes(raw: Mapping[str, Any]) -> list[Outcome]:
    ticker = raw.get("ticker")
    yes_bid, yes_ask = _quote(field_dollars(raw, "yes_bid"), field_dollars(raw, "yes_ask"))
    no_bid, no_ask = _quote(field_dollars(raw, "no_bid"), field_dollars(raw, "no_ask"))
    # derive the missing side from the opposite bid: YES ask = 1 - NO bid, NO ask = 1 - YES bid
    if yes_ask is None and no_bid is not None:
        yes_ask = ONE - no_bid
    if no_ask is None and yes_bid is not None:
        no_ask = ONE - yes_bid
    if yes_bid is None and no_ask is not None and "yes_bid_dollars" not in raw and "yes_bid" not in raw:
        yes_bid = ONE - no_ask
    if no_bid is None and yes_ask is not None and "no_bid_dollars" not in raw and "no_bid" not in raw:
        no_bid = ONE - yes_ask
    last = field_dollars(raw, "last_price")
    yes_px = _indicative(yes_bid, yes_ask, last)
    no_px = None if yes_px is None else ONE - yes_px
    return [
        Outcome(label="Yes", ticker=ticker, side="yes", price=yes_px, best_bid=yes_bid, best_ask=yes_ask),
        Outcome(label="No", ticker=ticker, side="no", price=no_px, best_bid=no_bid, best_ask=no_ask),
    ]


def market_title(raw: Mapping[str, Any], *, has_siblings: bool = False) -> str:
    """The market's title, with its YES subtitle when that tells it apart: markets of one event often
    share the title ("Tottenham vs Nottingham Winner?") and differ by subtitle ("Tottenham", "Tie")."""
    title = (raw.get("title") or "").strip()
    sub = (raw.get("yes_sub_title") or raw.get("subtitle") or "").strip()
    if sub and sub.lower() != title.lower() and (has_siblings or sub.lower() not in title.lower()):
        return f"{title} — {sub}" if title else sub
    return title or str(raw.get("ticker"))


def _sources_text(sources: Iterable[Mapping[str, Any]] | None) -> str | None:
    parts = []
    for s in sources or []:
        name = (s.get("name") or "").strip()
        url = (s.get("url") or "").strip()
        if name or url:
            parts.append(f"{name} ({url})" if name and url else name or url)
    return "; ".join(parts) or None


def parse_market(raw: Mapping[str, Any], *, event: Mapping[str, Any] | None = None,
                 series: Mapping[str, Any] | None = None, now: datetime | None = None) -> Market:
    """One Kalshi Market object (optionally with its Event and Series objects) -> Market."""
    ticker = str(raw["ticker"])
    event_ticker = str(raw.get("event_ticker") or (event or {}).get("event_ticker") or ticker.rsplit("-", 1)[0])
    series_ticker = str((event or {}).get("series_ticker") or (series or {}).get("ticker") or series_of(event_ticker))
    rule_sources = text_fields(raw, "rules_primary", "rules_secondary", "early_close_condition")
    primary, secondary = rule_sources.get("rules_primary", ""), rule_sources.get("rules_secondary", "")
    settle = _sources_text((event or {}).get("settlement_sources") or (series or {}).get("settlement_sources"))
    if settle:
        rule_sources["settlement_sources"] = settle
    for key in ("contract_terms_url", "contract_url"):
        if (series or {}).get(key):
            rule_sources[key] = str(series[key])  # type: ignore[index]
    mutually_exclusive = bool((event or {}).get("mutually_exclusive")) or \
        (event or {}).get("collateral_return_type") == "MECNET"
    result = (raw.get("result") or "").lower()
    resolved = {"yes": "Yes", "no": "No"}.get(result) or (result or None)
    category = (series or {}).get("category") or (event or {}).get("category") or raw.get("category")
    event_title = (event or {}).get("title")
    return Market(
        id=ticker,
        venue=VENUE,
        title=market_title(raw, has_siblings=mutually_exclusive),
        slug=ticker.lower(),
        event_id=event_ticker,
        event_title=event_title,
        outcomes=outcomes(raw),
        status=_status(raw, now),
        resolution_status=(str(raw["status"]).lower()
                           if str(raw.get("status") or "").lower() in ("disputed", "determined", "amended")
                           else None),
        close_time=utc(raw.get("close_time")),
        resolution_time=utc(raw.get("settlement_ts")) or utc(raw.get("expected_expiration_time"))
        or utc(raw.get("expiration_time")),
        volume=field_count(raw, "volume"),
        volume_24h=field_count(raw, "volume_24h"),
        liquidity=None,  # liquidity_dollars is deprecated (always 0); use the book or open interest
        open_interest=field_count(raw, "open_interest"),
        tick_size=tick_size(raw),
        min_order_size=ONE,
        size_step=ONE,  # whole contracts
        currency="USD",
        volume_unit="contracts",  # Kalshi's volume fields count contracts
        venue_name="Kalshi",
        fees=fee_schedule(series, event),
        neg_risk=False,
        group_id=event_ticker if mutually_exclusive else None,
        # the member's own label inside its event ("Pietro Parolin", "Cut 25bps", "Tottenham")
        group_label=(str(raw.get("yes_sub_title") or raw.get("subtitle") or "").strip() or None),
        mutually_exclusive=mutually_exclusive,
        url=web_url(series_ticker, event_ticker, (series or {}).get("title") or event_title or raw.get("title")),
        category=category,
        rule_text="\n\n".join(x for x in (primary, secondary) if x),
        rule_sources=rule_sources,
        resolution_source=settle,
        resolved_outcome=resolved,
        updated_at=utc(raw.get("updated_time")),
        raw_kind=raw.get("market_type") or "binary",
    )


def parse_event(raw: Mapping[str, Any], markets: Sequence[Mapping[str, Any]] | None = None, *,
                series: Mapping[str, Any] | None = None, now: datetime | None = None,
                include_mve: bool = False) -> Event:
    """An Event object (+ its markets: nested ``markets`` or the ones given) -> Event; MVE markets dropped."""
    event_ticker = str(raw["event_ticker"])
    series_ticker = str(raw.get("series_ticker") or series_of(event_ticker))
    market_raws = list(markets if markets is not None else (raw.get("markets") or []))
    parsed = [parse_market(m, event=raw, series=series, now=now) for m in market_raws
              if include_mve or not is_mve(m)]
    title = (raw.get("title") or event_ticker).strip()
    sub = (raw.get("sub_title") or "").strip()
    rules = parsed[0].rule_text if len(parsed) == 1 else ""
    return Event(
        id=event_ticker,
        venue=VENUE,
        title=f"{title} ({sub})" if sub and sub.lower() not in title.lower() else title,
        slug=event_ticker.lower(),
        markets=parsed,
        mutually_exclusive=bool(raw.get("mutually_exclusive")) or raw.get("collateral_return_type") == "MECNET",
        neg_risk=False,
        category=(series or {}).get("category") or raw.get("category"),
        rule_text=rules,
        url=web_url(series_ticker, event_ticker, (series or {}).get("title") or title),
    )


# --- order book -----------------------------------------------------------------------------------

def _levels(pairs: Iterable[Sequence[Any]] | None, *, cents: bool = False) -> list[tuple[Decimal, Decimal]]:
    out = []
    for pair in pairs or []:
        if len(pair) < 2:
            continue
        price, size = dec(pair[0]), dec(pair[1])
        if price is None or size is None or size <= 0:
            continue
        out.append((price / 100 if cents else price, size))
    return out


def book_sides(raw: Mapping[str, Any]) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """(yes bids, no bids) as (price, size), in whatever order the venue sent them.

    Current shape: ``{"orderbook_fp": {"yes_dollars": [[p, q]...], "no_dollars": [...]}}``; the legacy
    cents shape ``{"orderbook": {"yes": [[cents, qty]], "no": [...]}}`` is read too."""
    fp = raw.get("orderbook_fp")
    if isinstance(fp, Mapping):
        return _levels(fp.get("yes_dollars")), _levels(fp.get("no_dollars"))
    legacy = raw.get("orderbook")
    if isinstance(legacy, Mapping):
        if "yes_dollars" in legacy or "no_dollars" in legacy:
            return _levels(legacy.get("yes_dollars")), _levels(legacy.get("no_dollars"))
        return _levels(legacy.get("yes"), cents=True), _levels(legacy.get("no"), cents=True)
    return [], []


def _merge(levels: Iterable[tuple[Decimal, Decimal]], *, descending: bool) -> list[BookLevel]:
    agg: dict[Decimal, Decimal] = {}
    for price, size in levels:
        agg[price] = agg.get(price, ZERO) + size
    return [BookLevel(price=p, size=agg[p]) for p in sorted(agg, reverse=descending)]


def parse_orderbook(raw: Mapping[str, Any], *, ticker: str, outcome: str = "Yes", now: datetime | None = None,
                    tick: Decimal | None = None) -> OrderBook:
    """The bids-only Kalshi book -> one outcome's book, best first.

    For YES: bids = YES bids (highest first); asks = 1 - NO bids (lowest first), sized as the NO bids.
    For NO: the mirror. ``derived`` is True because one side is always computed."""
    yes_bids, no_bids = book_sides(raw)
    side = outcome.strip().lower()
    if side not in ("yes", "no"):
        raise ValueError(f"Kalshi markets have outcomes 'Yes' and 'No', not {outcome!r}")
    own, other = (yes_bids, no_bids) if side == "yes" else (no_bids, yes_bids)
    return OrderBook(
        venue=VENUE,
        market_id=ticker,
        outcome="Yes" if side == "yes" else "No",
        bids=_merge(own, descending=True),
        asks=_merge(((ONE - p, q) for p, q in other), descending=False),
        timestamp=now,
        tick_size=tick,
        min_order_size=ONE,
        derived=True,
    )


# --- trades and candlesticks ----------------------------------------------------------------------

class KalshiTrade(BaseModel):
    trade_id: str
    ticker: str
    yes_price: Decimal
    no_price: Decimal
    count: Decimal
    taker_outcome_side: str | None = None  # "yes" / "no" (legacy ``taker_side``)
    taker_book_side: str | None = None  # "bid" / "ask"
    created_time: datetime | None = None
    is_block_trade: bool = False


def parse_trade(raw: Mapping[str, Any]) -> KalshiTrade:
    yes = field_dollars(raw, "yes_price")
    no = field_dollars(raw, "no_price")
    if yes is None and no is not None:
        yes = ONE - no
    if no is None and yes is not None:
        no = ONE - yes
    if yes is None or no is None:
        raise ValueError(f"Kalshi trade {raw.get('trade_id')!r} has no price")
    return KalshiTrade(
        trade_id=str(raw.get("trade_id") or ""),
        ticker=str(raw.get("ticker") or ""),
        yes_price=yes,
        no_price=no,
        count=field_count(raw, "count") or ZERO,
        taker_outcome_side=raw.get("taker_outcome_side") or raw.get("taker_side"),
        taker_book_side=raw.get("taker_book_side"),
        created_time=utc(raw.get("created_time")),
        is_block_trade=bool(raw.get("is_block_trade")),
    )


def _ohlc(raw: Mapping[str, Any], block: str, key: str) -> Decimal | None:
    inner = raw.get(block)
    if not isinstance(inner, Mapping):
        return None
    if f"{key}_dollars" in inner:
        return dec(inner[f"{key}_dollars"])
    legacy = dec(inner.get(key))
    return None if legacy is None else legacy / 100


def parse_candlestick(raw: Mapping[str, Any], outcome: str = "Yes") -> PricePoint | None:
    """A candlestick -> the YES (or NO) price at the end of its period: the last trade's close, else the
    mid of the closing YES bid/ask. None when the period has neither (prices are null without trades)."""
    t = utc(raw.get("end_period_ts"))
    if t is None:
        return None
    price = _ohlc(raw, "price", "close")
    if price is None:
        bid, ask = _ohlc(raw, "yes_bid", "close"), _ohlc(raw, "yes_ask", "close")
        if bid is not None and ask is not None and (bid > 0 or ask < 1):
            price = (bid + ask) / 2
    if price is None:
        return None
    if outcome.strip().lower() == "no":
        price = ONE - price
    return PricePoint(t=t, price=price, volume=field_count(raw, "volume"))


# --- v1 website search (undocumented) --------------------------------------------------------------

_TITLE_STOP = frozenset("will the a an of in at by to be on for and or what who how is are vs this that with".split())


def _title_words(text: str) -> set[str]:
    """Lower-case words of a title, a plural "s" dropped ("cuts" ~ "cut"), without small words."""
    out = set()
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if w in _TITLE_STOP:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def event_title_with_series(event_title: str | None, series_title: str | None) -> str | None:
    """The event's title, led by its series' title when the event's own words say nothing of what the series is
    (a game's "300FPS vs. FORZE Reload" in "Counter-Strike 2 Game"): "Counter-Strike 2 Game: 300FPS vs. FORZE
    Reload", so the series' subject is on the row and its words can be searched. Unchanged when they share a word
    ("Fed decision in October?" of "Fed meeting") or either is missing."""
    series = (series_title or "").strip()
    if not event_title or not series or _title_words(series) & _title_words(event_title):
        return event_title
    return f"{series}: {event_title}"


def parse_v1_search(raw: Mapping[str, Any], *, now: datetime | None = None) -> list[Market]:
    """``GET /v1/search/series?query=`` -> partial Markets (no rule text: that needs GET /markets/{ticker}).

    Each page item is a series/event with ``markets[]`` quoting ``yes_bid_dollars`` etc. (legacy cents
    beside them). Markets are emitted in the search's own order; MVE items are dropped."""
    out: list[Market] = []
    for item in raw.get("current_page") or []:
        if is_mve(item):
            continue
        event_ticker = item.get("event_ticker")
        series_ticker = item.get("series_ticker") or (series_of(event_ticker) if event_ticker else None)
        if not event_ticker or not series_ticker:
            continue
        title = (item.get("event_title") or item.get("series_title") or event_ticker).strip()
        event_title = event_title_with_series(title, item.get("series_title")) or title
        markets = item.get("markets") or []
        fees = fee_schedule({"fee_type": item.get("fee_type"), "fee_multiplier": item.get("fee_multiplier")})
        for m in markets:
            ticker = m.get("ticker")
            if not ticker or is_mve(m):
                continue
            sub = (m.get("yes_subtitle") or m.get("title") or "").strip()
            mraw = {
                "ticker": ticker, "event_ticker": event_ticker, "title": title,
                "yes_sub_title": sub if len(markets) > 1 or (sub and sub.lower() not in title.lower()) else "",
                "yes_bid_dollars": m.get("yes_bid_dollars"), "yes_ask_dollars": m.get("yes_ask_dollars"),
                "last_price_dollars": m.get("last_price_dollars"),
                "yes_bid": m.get("yes_bid"), "yes_ask": m.get("yes_ask"), "last_price": m.get("last_price"),
                "close_time": m.get("close_ts"), "expected_expiration_time": m.get("expected_expiration_ts"),
                "result": m.get("result") or "", "volume": m.get("volume"),
            }
            status = MarketStatus.RESOLVED if mraw["result"] else MarketStatus.OPEN
            close = utc(m.get("close_ts"))
            if status == MarketStatus.OPEN and now is not None and close is not None and close <= now:
                status = MarketStatus.CLOSED
            mraw["status"] = "active" if status == MarketStatus.OPEN else ("finalized" if mraw["result"] else "closed")
            market = parse_market(mraw, event={"event_ticker": event_ticker, "series_ticker": series_ticker,
                                               "title": event_title},
                                  series={"ticker": series_ticker, "title": item.get("series_title"),
                                          "category": item.get("category")}, now=now)
            out.append(market.model_copy(update={"fees": fees, "status": status}))
    return out
