"""Pure parsing of Polymarket wire shapes (Gamma, CLOB, Data API v2) into our models. No I/O.

Quirks handled here (research/polymarket.md section 8):
- ``outcomes``, ``outcomePrices``, ``clobTokenIds``, ``umaResolutionStatuses`` are JSON *strings*;
- ``volume``/``liquidity`` are strings, other numbers are JSON floats: every number goes through
  ``Decimal(str(x))`` (shortest repr), never float arithmetic;
- times come as ISO ("2026-03-12T09:25:00Z"), date-only ("2028-11-07") or the non-ISO
  "2026-05-09 02:07:01+00": all parsed leniently to aware UTC datetimes;
- CLOB books list each side worst-to-best (the best price is LAST); ours are best-first;
- ``closed: true`` markets can still say ``acceptingOrders: true``: closed wins;
- ``description`` holds the rules; ``resolutionSource`` is usually empty.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pm_mcp.domain.fees import polymarket_schedule
from pm_mcp.domain.models import BookLevel, Event, FeeSchedule, Market, MarketStatus, OrderBook, Outcome, PricePoint
from pm_mcp.domain.money import decimal_or_none
from pm_mcp.domain.times import parse_time
from pm_mcp.venues.history import HISTORY_WINDOWS
from pm_mcp.venues.payloads import text_fields

WEB = "https://polymarket.com"
GENERIC_TAGS = {"all", "hide from new", "recurring", "weekly", "daily", "multi strikes", "featured", "new",
                "breaking news", "trending"}
# Rates seen per feeType in recorded markets that carry a feeSchedule (research/polymarket.md 5.9): used
# only when a market says feesEnabled but its payload lacks the schedule (conservative: never 0).
FEE_TYPE_RATES = {"crypto_fees": Decimal("0.07"), "politics_fees": Decimal("0.04"), "sports_fees": Decimal("0.03"),
                  "sports_fees_v2": Decimal("0.03")}
FEE_TYPE_CATEGORY = {"crypto": "Crypto", "politics": "Politics", "sports": "Sports", "economics": "Economics",
                     "culture": "Culture", "tech": "Tech", "finance": "Finance", "weather": "Weather"}


class ParseError(ValueError):
    """A Polymarket payload did not have the shape we rely on."""


dec = decimal_or_none  # venue JSON value -> Decimal, None for blanks or garbage


def json_list(value: Any) -> list:
    """Decode a field that Gamma sends as a JSON string (or, sometimes, as a real list)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            out = json.loads(value)
        except ValueError:
            raise ParseError(f"expected a JSON list string, got {value[:60]!r}") from None
        if not isinstance(out, list):
            raise ParseError(f"expected a JSON list, got {type(out).__name__}")
        return out
    raise ParseError(f"expected a JSON list string, got {type(value).__name__}")


def fee_schedule(m: dict) -> FeeSchedule:
    """feeSchedule/feesEnabled -> FeeSchedule (rate 0 when the market has fees disabled)."""
    sched = m.get("feeSchedule") if isinstance(m.get("feeSchedule"), dict) else None
    enabled = m.get("feesEnabled")
    if enabled is False:
        return FeeSchedule(kind="polymarket", note="fees disabled on this market (feesEnabled=false)")
    if sched:
        rate = dec(sched.get("rate")) or Decimal(0)
        exponent = dec(sched.get("exponent")) or Decimal(1)
        taker_only = bool(sched.get("takerOnly", True))
        fs = polymarket_schedule(rate, exponent, taker_only)
        rebate = dec(sched.get("rebateRate"))
        note = f"{m.get('feeType') or 'taker fee'}; makers get {rebate} of taker fees back" if rebate else \
            (m.get("feeType") or None)
        return fs.model_copy(update={"note": note})
    if enabled:
        ftype = m.get("feeType") or ""
        rate = FEE_TYPE_RATES.get(ftype)
        if rate is not None:
            return polymarket_schedule(rate).model_copy(update={
                "note": f"{ftype}: schedule not in the payload, rate {rate} inferred from the fee type"})
        return polymarket_schedule(Decimal("0.07")).model_copy(update={
            "note": "fees enabled but no schedule published: assumed the highest known taker rate 0.07"})
    return FeeSchedule(kind="polymarket", note="no fee schedule published (legacy market: no taker fee)")


def _category(m: dict, event: dict | None) -> str | None:
    for source in (event or {}).get("tags") or [], m.get("tags") or []:
        labels = [t.get("label") if isinstance(t, dict) else t for t in source]
        labels = [x for x in labels if isinstance(x, str) and x.lower() not in GENERIC_TAGS]
        if labels:
            return labels[0]
    ft = (m.get("feeType") or "").lower()
    for key, cat in FEE_TYPE_CATEGORY.items():
        if ft.startswith(key):
            return cat
    return m.get("category") or (event or {}).get("category")


def _status(m: dict, prices: list[Decimal | None]) -> tuple[MarketStatus, int | None]:
    """(status, index of the winning outcome when resolved)."""
    closed = bool(m.get("closed"))
    winner = None
    if closed:
        decided = [i for i, p in enumerate(prices) if p is not None and p == 1]
        others_zero = all(p == 0 for i, p in enumerate(prices) if p is not None and i not in decided)
        if len(decided) == 1 and others_zero:
            winner = decided[0]
        resolved_flag = (m.get("umaResolutionStatus") == "resolved") or winner is not None
        return (MarketStatus.RESOLVED if resolved_flag else MarketStatus.CLOSED), winner
    if m.get("archived"):
        return MarketStatus.CLOSED, None
    if m.get("active") is False:
        return MarketStatus.PAUSED, None
    if m.get("acceptingOrders") is False or m.get("enableOrderBook") is False:
        return MarketStatus.PAUSED, None
    return MarketStatus.OPEN, None


def rule_text(m: dict) -> tuple[str, dict[str, str]]:
    sources = text_fields(m, "description", "resolutionSource")
    desc, src = sources.get("description", ""), sources.get("resolutionSource", "")
    text = desc
    if src and src not in desc:
        text = f"{desc}\n\nResolution source: {src}" if desc else f"Resolution source: {src}"
    return text, sources


def market_url(m: dict, event: dict | None) -> str | None:
    slug = m.get("slug") or m.get("market_slug")
    ev_slug = (event or {}).get("slug")
    if ev_slug and slug and ev_slug != slug:
        return f"{WEB}/event/{ev_slug}/{slug}"
    if ev_slug:
        return f"{WEB}/event/{ev_slug}"
    return f"{WEB}/market/{slug}" if slug else None


def parse_gamma_market(m: dict, event: dict | None = None) -> Market:
    """A Gamma market object (GET /markets/{id}, /markets/slug/{slug}, inside events / public-search)."""
    if not isinstance(m, dict) or "id" not in m:
        raise ParseError("not a Gamma market object (no 'id')")
    if event is None:
        nested = m.get("events") or []
        event = nested[0] if nested and isinstance(nested[0], dict) else None
    labels = [str(x) for x in json_list(m.get("outcomes"))]
    tokens = [str(x) for x in json_list(m.get("clobTokenIds"))]
    prices = [dec(x) for x in json_list(m.get("outcomePrices"))]
    status, winner = _status(m, prices)
    best_bid, best_ask = dec(m.get("bestBid")), dec(m.get("bestAsk"))
    outcomes = []
    for i, label in enumerate(labels):
        o = Outcome(label=label, token_id=tokens[i] if i < len(tokens) else None,
                    price=prices[i] if i < len(prices) else None)
        if status == MarketStatus.OPEN and len(labels) == 2:
            # Gamma's bestBid/bestAsk are the first outcome's; the second's mirror them (1 - ask, 1 - bid)
            if i == 0:
                o.best_bid, o.best_ask = best_bid, best_ask
            else:
                o.best_bid = (1 - best_ask) if best_ask is not None else None
                o.best_ask = (1 - best_bid) if best_bid is not None else None
        outcomes.append(o)
    text, sources = rule_text(m)
    neg_risk = bool(m.get("negRisk"))
    closed_time = parse_time(m.get("closedTime"))
    end = parse_time(m.get("endDate")) or parse_time(m.get("endDateIso"))
    close_time = closed_time if (m.get("closed") and closed_time) else end
    if status == MarketStatus.RESOLVED:
        resolution_time = parse_time(m.get("umaEndDate")) or closed_time or end
    else:
        resolution_time = end
    tick = dec(m.get("orderPriceMinTickSize")) or Decimal("0.01")
    min_size = dec(m.get("orderMinSize")) or Decimal(5)
    liquidity = dec(m.get("liquidity")) if m.get("liquidity") not in (None, "") else dec(m.get("liquidityNum"))
    volume = dec(m.get("volume")) if m.get("volume") not in (None, "") else dec(m.get("volumeNum"))
    group = m.get("negRiskMarketID") if neg_risk else None
    return Market(
        size_step=Decimal("0.01"), currency="USD", volume_unit="USD", venue_name="Polymarket",
        id=str(m["id"]), venue="polymarket", title=(m.get("question") or m.get("title") or "").strip(),
        slug=m.get("slug"), event_id=str(event["id"]) if event and event.get("id") is not None else None,
        event_title=(event or {}).get("title"), condition_id=m.get("conditionId"), outcomes=outcomes,
        status=status, close_time=close_time, resolution_time=resolution_time, volume=volume,
        volume_24h=dec(m.get("volume24hr")), liquidity=liquidity, tick_size=tick, min_order_size=min_size, fees=fee_schedule(m), neg_risk=neg_risk,
        group_id=group or None, group_label=(m.get("groupItemTitle") or None), mutually_exclusive=neg_risk,
        url=market_url(m, event), category=_category(m, event),
        rule_text=text, rule_sources=sources, resolution_source=(m.get("resolutionSource") or None),
        resolved_outcome=labels[winner] if winner is not None and winner < len(labels) else None,
        resolution_status=(str(m["umaResolutionStatus"]).lower() if m.get("umaResolutionStatus") else None),
        updated_at=parse_time(m.get("updatedAt")),
        raw_kind=("neg_risk_member" if neg_risk else ("binary" if len(labels) == 2 else "categorical")),
    )


def parse_gamma_event(e: dict) -> Event:
    if not isinstance(e, dict) or "id" not in e:
        raise ParseError("not a Gamma event object (no 'id')")
    markets = [parse_gamma_market(m, e) for m in e.get("markets") or []]
    neg_risk = bool(e.get("negRisk") or e.get("enableNegRisk"))
    slug = e.get("slug")
    return Event(id=str(e["id"]), venue="polymarket", title=(e.get("title") or "").strip(), slug=slug,
                 markets=markets, mutually_exclusive=neg_risk, neg_risk=neg_risk,
                 neg_risk_augmented=(bool(e["negRiskAugmented"]) if e.get("negRiskAugmented") is not None
                                     else (False if neg_risk else None)),
                 category=_category({}, e), rule_text=(e.get("description") or "").strip(),
                 url=f"{WEB}/event/{slug}" if slug else None)


def parse_clob_market(c: dict) -> Market:
    """A legacy CLOB market object (GET /markets/{condition_id}, pages of GET /markets)."""
    if not isinstance(c, dict) or "condition_id" not in c:
        raise ParseError("not a CLOB market object (no 'condition_id')")
    toks = c.get("tokens") or []
    prices = [dec(t.get("price")) for t in toks]
    winner = next((i for i, t in enumerate(toks) if t.get("winner")), None)
    if c.get("closed"):
        status = MarketStatus.RESOLVED if winner is not None else MarketStatus.CLOSED
    elif c.get("active") and c.get("accepting_orders") and c.get("enable_order_book", True):
        status = MarketStatus.OPEN
    else:
        status = MarketStatus.PAUSED
    outcomes = [Outcome(label=str(t.get("outcome")), token_id=str(t.get("token_id")), price=prices[i])
                for i, t in enumerate(toks)]
    neg_risk = bool(c.get("neg_risk"))
    tags = [t for t in c.get("tags") or [] if isinstance(t, str) and t.lower() not in GENERIC_TAGS]
    desc = (c.get("description") or "").strip()
    end = parse_time(c.get("end_date_iso"))
    return Market(
        size_step=Decimal("0.01"), currency="USD", volume_unit="USD", venue_name="Polymarket",
        id=c["condition_id"], venue="polymarket", title=(c.get("question") or "").strip(), slug=c.get("market_slug"),
        condition_id=c["condition_id"], outcomes=outcomes, status=status, close_time=end, resolution_time=end,
        tick_size=dec(c.get("minimum_tick_size")) or Decimal("0.01"),
        min_order_size=dec(c.get("minimum_order_size")) or Decimal(5),
        fees=FeeSchedule(kind="polymarket", note="CLOB market object: fee schedule not included"),
        neg_risk=neg_risk, group_id=(c.get("neg_risk_market_id") or None) if neg_risk else None,
        mutually_exclusive=neg_risk, url=f"{WEB}/market/{c['market_slug']}" if c.get("market_slug") else None,
        category=tags[0] if tags else None, rule_text=desc, rule_sources={"description": desc} if desc else {},
        resolved_outcome=outcomes[winner].label if winner is not None else None, raw_kind="clob_market")


def parse_book(b: dict, *, market_id: str, outcome: str) -> OrderBook:
    """CLOB GET /book (or an item of POST /books): levels come worst-first; we return best-first."""
    if not isinstance(b, dict) or "bids" not in b or "asks" not in b:
        raise ParseError("not a CLOB order book (no bids/asks)")

    def levels(raw: list, best_high: bool) -> list[BookLevel]:
        out = []
        for lvl in raw or []:
            p, s = dec(lvl.get("price")), dec(lvl.get("size"))
            if p is None or s is None or s <= 0:
                continue
            out.append(BookLevel(price=p, size=s))
        return sorted(out, key=lambda x: x.price, reverse=best_high)

    return OrderBook(venue="polymarket", market_id=market_id, outcome=outcome,
                     bids=levels(b["bids"], True), asks=levels(b["asks"], False),
                     timestamp=parse_time(b.get("timestamp")), tick_size=dec(b.get("tick_size")),
                     min_order_size=dec(b.get("min_order_size")))


def parse_history_v2(items: list[dict]) -> list[PricePoint]:
    """Data API v2 /v2/prices-history ``data`` items ``{timestamp, price, resolution_seconds}``."""
    out = []
    for it in items or []:
        t, p = parse_time(it.get("timestamp")), dec(it.get("price"))
        if t is not None and p is not None:
            out.append(PricePoint(t=t, price=p))
    return sorted(out, key=lambda x: x.t)


def parse_history_clob(payload: dict) -> list[PricePoint]:
    """CLOB /prices-history ``{"history": [{"t": unix s, "p": price}]}``."""
    out = []
    for it in (payload or {}).get("history") or []:
        t, p = parse_time(it.get("t")), dec(it.get("p"))
        if t is not None and p is not None:
            out.append(PricePoint(t=t, price=p))
    return sorted(out, key=lambda x: x.t)


INTERVAL_WINDOWS = {**HISTORY_WINDOWS, "max": None}  # "max" is the whole history (the venue's ``interval=max``)
