"""The target-selection scorecard: is this market worth trading at all?

``assess_market(market, books, analysis, now)`` scores settlement clarity (from the rule analysis),
liquidity quality (spread, depth within 2 cents of the best price, volume), time structure (time to
close and to resolution) and insider / manipulation risk, and returns participate / caution / avoid
with reasons. ``tier_cap_for(verdict)`` maps the verdict to the highest confidence tier sizing may use.

Pure: no I/O; ``now`` is passed in. Money is Decimal.
"""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from pm_mcp.domain.models import Market, MarketStatus, OrderBook
from pm_mcp.domain.money import in_currency
from pm_mcp.domain.rules import RuleAnalysis, Status

Verdict = Literal["participate", "caution", "avoid"]
Tier = Literal["none", "low", "medium", "high"]
TIER_ORDER: tuple[Tier, ...] = ("none", "low", "medium", "high")

DEPTH_BAND = Decimal("0.02")  # "depth within 2 cents of the best price"
WIDE_SPREAD = Decimal("0.05")
VERY_WIDE_SPREAD = Decimal("0.15")
THIN_DEPTH_USD = Decimal("500")  # USD notional within 2 cents, per side
LOW_VOLUME_USD = Decimal("10000")
CLARITY_CAUTION = 0.7
CLARITY_AVOID = 0.4


class TierCap(BaseModel):
    verdict: Verdict
    max_tier: Tier = Field(description="Highest confidence tier sizing may use for this market.")
    max_tier_index: int = Field(description="Position in none < low < medium < high (0..3).")
    note: str


def tier_cap_for(verdict: Verdict, clarity: float | None = None, unread: bool = False) -> TierCap:
    """participate -> high, caution -> medium, avoid -> none (no new position). Unclear rules lower the
    cap one more step: clarity < 0.7 (or a settlement source / YES condition not read: ``unread``) caps at
    low, clarity < 0.4 at none. Sizing takes
    ``min(tier it would pick from the signal, max_tier)`` by TIER_ORDER index."""
    base: Tier = {"participate": "high", "caution": "medium", "avoid": "none"}[verdict]
    idx = TIER_ORDER.index(base)
    note = f"{verdict}: at most the {base} tier"
    if clarity is not None and idx > 0:
        if clarity < CLARITY_AVOID:
            idx, note = 0, f"settlement clarity {clarity:.2f} < {CLARITY_AVOID}: no new position"
        elif clarity < CLARITY_CAUTION and idx > 1:
            idx, note = 1, f"settlement clarity {clarity:.2f} < {CLARITY_CAUTION}: at most the low tier"
    if unread and idx > 1:
        idx, note = 1, "the settlement source or the YES condition is not read from the rules: at most the low tier"
    return TierCap(verdict=verdict, max_tier=TIER_ORDER[idx], max_tier_index=idx, note=note)


class BookQuality(BaseModel):
    outcome: str
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    spread: Decimal | None = None
    bid_depth_shares: Decimal = Decimal(0)
    ask_depth_shares: Decimal = Decimal(0)
    bid_depth_usd: Decimal = Decimal(0)
    ask_depth_usd: Decimal = Decimal(0)
    levels: int = 0


class Scorecard(BaseModel):
    market_id: str
    venue: str
    title: str
    verdict: Verdict
    tier_cap: TierCap
    reasons: list[str]
    clarity: float
    clarity_reasons: list[str] = Field(default_factory=list)
    books: list[BookQuality] = Field(default_factory=list)
    volume: Decimal | None = None
    volume_24h: Decimal | None = None
    hours_to_close: float | None = None
    hours_to_resolution: float | None = None
    risk_flags: list[str] = Field(default_factory=list)
    rules_hash: str
    # the unit of the books' *_depth_usd amounts and of volume: USD, or MANA (Manifold's play money, never dollars)
    currency: str = "USD"
    volume_unit: str | None = None


def book_quality(book: OrderBook, band: Decimal = DEPTH_BAND) -> BookQuality:
    q = BookQuality(outcome=book.outcome, best_bid=book.best_bid, best_ask=book.best_ask, spread=book.spread,
                    levels=len(book.bids) + len(book.asks))
    if book.best_bid is not None:
        lvls = [lv for lv in book.bids if lv.price >= book.best_bid - band]
        q.bid_depth_shares = sum((lv.size for lv in lvls), Decimal(0))
        q.bid_depth_usd = sum((lv.size * lv.price for lv in lvls), Decimal(0))
    if book.best_ask is not None:
        lvls = [lv for lv in book.asks if lv.price <= book.best_ask + band]
        q.ask_depth_shares = sum((lv.size for lv in lvls), Decimal(0))
        q.ask_depth_usd = sum((lv.size * lv.price for lv in lvls), Decimal(0))
    return q


_CATEGORY_RISKS: list[tuple[str, re.Pattern[str]]] = [
    ("mentions: the speaker or their staff can decide the outcome",
     re.compile(r"\b(?:say|says|said|mention|mentions|tweet|tweets|post|posts)\b", re.I)),
    ("awards / votes decided by a small group who know the result early",
     re.compile(r"\b(?:award|awards|oscar|oscars|grammy|emmy|nobel|person of the year|mvp|ballon d'or|"
                r"winner of the \w+ prize|pope|conclave)\b", re.I)),
    ("company announcement: insiders know the date and content",
     re.compile(r"\b(?:announce|announces|announcement|launch|launches|release|releases|ipo|acquire|"
                r"acquisition|merger|earnings|layoffs?|resign|resigns|fired|ceo)\b", re.I)),
]


def _hours(a: datetime | None, now: datetime) -> float | None:
    if a is None:
        return None
    return round((a - now).total_seconds() / 3600, 2)


def assess_market(market: Market, books: Sequence[OrderBook], analysis: RuleAnalysis, now: datetime) -> Scorecard:
    reasons: list[str] = []
    flags: list[str] = []
    avoid = caution = False

    # settlement clarity
    clarity = analysis.clarity
    if clarity < CLARITY_AVOID:
        avoid = True
        reasons.append(f"avoid: settlement clarity {clarity:.2f} < {CLARITY_AVOID}")
    elif clarity < CLARITY_CAUTION:
        caution = True
        reasons.append(f"caution: settlement clarity {clarity:.2f} < {CLARITY_CAUTION}")
    else:
        reasons.append(f"ok: settlement clarity {clarity:.2f}")
    if analysis.review:
        reasons.append("review the rules for: " + ", ".join(analysis.review))
    # clarity measures how a reader finds the text; a field nobody could read is a risk of its own (money rides
    # on who settles and on what counts as YES): the tier is capped at low until it is read (a verified reading
    # can supply it)
    unread = [w for w, missing in (
        ("the settlement source", analysis.sources.status == Status.UNKNOWN and not analysis.sources.venue_items),
        ("the YES condition", analysis.condition.status == Status.UNKNOWN)) if missing] if analysis.text_length else []
    if unread:
        reasons.append("at most the low tier: " + " and ".join(unread) + " not read from the rules "
                       "(review; submit_reading)")

    # status and time structure
    if market.status in (MarketStatus.CLOSED, MarketStatus.RESOLVED):
        avoid = True
        reasons.append(f"avoid: market is {market.status.value}")
    elif market.status == MarketStatus.PAUSED:
        caution = True
        reasons.append("caution: trading is paused")
    rs = (market.resolution_status or "").lower()
    if rs == "disputed":
        avoid = True
        reasons.append("avoid: the proposed resolution is disputed (the outcome is being contested)")
    elif rs == "proposed":
        caution = True
        reasons.append("caution: a resolution has been proposed and can still be disputed")
    h_close = _hours(market.close_time, now)
    h_res = _hours(market.resolution_time, now)
    if h_close is not None:
        if h_close <= 0:
            avoid = True
            reasons.append("avoid: the close time has passed")
        elif h_close < 1:
            caution = True
            reasons.append(f"caution: closes in {h_close * 60:.0f} minutes")
        elif h_close > 24 * 365:
            caution = True
            reasons.append(f"caution: closes in {h_close / 24 / 365:.1f} years (capital locked up)")
        else:
            reasons.append(f"ok: closes in {h_close / 24:.1f} days")
    else:
        reasons.append("close time unknown")
    if h_res is not None and h_close is not None and h_res - h_close > 24 * 30:
        caution = True
        reasons.append(f"caution: resolves {(h_res - h_close) / 24:.0f} days after trading closes")

    # liquidity
    qualities = [book_quality(b) for b in books]
    if not qualities:
        caution = True
        reasons.append("caution: no order book was read")
    for q in qualities:
        if q.best_bid is None and q.best_ask is None:
            avoid = True
            reasons.append(f"avoid: {q.outcome} book is empty")
            flags.append("empty book")
            continue
        if q.spread is None:
            caution = True
            reasons.append(f"caution: {q.outcome} book is one-sided")
            flags.append("one-sided book")
        elif q.spread >= VERY_WIDE_SPREAD:
            avoid = True
            reasons.append(f"avoid: {q.outcome} spread {q.spread} >= {VERY_WIDE_SPREAD}")
        elif q.spread > WIDE_SPREAD:
            caution = True
            reasons.append(f"caution: {q.outcome} spread {q.spread} > {WIDE_SPREAD}")
        else:
            reasons.append(f"ok: {q.outcome} spread {q.spread}")
        thin = min(q.bid_depth_usd, q.ask_depth_usd)
        if thin < THIN_DEPTH_USD:
            caution = True
            flags.append(f"thin book: {q.outcome} has {in_currency(thin, market.currency)} within 2 cents on its thinner side "
                         "(a small order moves the price)")
    vol = market.volume
    if vol is not None and vol < LOW_VOLUME_USD:
        caution = True
        flags.append(f"low volume: {vol} {market.volume_unit} traded in total (easy to move, little price discovery)")

    # insider / manipulation risk by category
    hay = " ".join(x for x in (market.title, market.category or "", market.event_title or "") if x)
    for label, rx in _CATEGORY_RISKS:
        if rx.search(hay):
            caution = True
            flags.append("insider risk: " + label)
    if analysis.oracle and analysis.oracle.name == "market creator":
        flags.append("creator-resolved: the creator may trade and decides the outcome")
        caution = True

    verdict: Verdict = "avoid" if avoid else "caution" if caution else "participate"
    if flags:
        reasons.append("risk flags: " + "; ".join(flags))
    return Scorecard(market_id=market.id, venue=market.venue, title=market.title, verdict=verdict,
                     tier_cap=tier_cap_for(verdict, clarity, unread=bool(unread)), reasons=reasons, clarity=clarity,
                     clarity_reasons=analysis.clarity_reasons, books=qualities, volume=market.volume,
                     volume_24h=market.volume_24h, hours_to_close=h_close, hours_to_resolution=h_res,
                     risk_flags=flags, rules_hash=analysis.rules_hash, currency=market.currency,
                     volume_unit=market.volume_unit)
