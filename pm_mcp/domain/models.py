"""Venue-neutral market models. Every adapter returns these; venue quirks stay in the adapters.

Money and probabilities are Decimal. Prices are per share / contract in USD in [0, 1]
(Manifold: probability, mana). Times are timezone-aware UTC datetimes.
"""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# how amounts in each currency are written: one map, in pm_mcp.domain.money (re-exported here)
from pm_mcp.domain.money import CURRENCY_SYMBOLS, currency_symbol  # noqa: F401

VenueName = str  # a venue's name in pm_mcp.venues.registry.VENUES




class MarketStatus(StrEnum):
    OPEN = "open"  # accepting orders
    PAUSED = "paused"  # exists, not trading right now
    CLOSED = "closed"  # trading ended, awaiting resolution
    RESOLVED = "resolved"  # outcome known
    UNKNOWN = "unknown"


class FeeSchedule(BaseModel):
    """How a venue charges for a fill.

    kind:
      - ``polymarket``: fee = shares x rate x (p x (1 - p)) ** exponent, takers only unless
        ``taker_only`` is False (then makers pay too)
      - ``kalshi``: fee = ceil_to_cent(multiplier x C x P x (1 - P)); taker 0.07, maker 0.0175 where the
        series charges makers
      - ``none``: no trading fee (Manifold)
    """

    model_config = ConfigDict(frozen=True)

    kind: str = "none"
    taker_rate: Decimal = Decimal(0)
    maker_rate: Decimal = Decimal(0)
    exponent: Decimal = Decimal(1)
    taker_only: bool = True
    note: str | None = None


class Outcome(BaseModel):
    """One tradeable outcome of a market (YES / NO, Up / Down, a team, a candidate...)."""

    label: str
    token_id: str | None = None  # Polymarket CLOB token id (decimal uint256 string)
    ticker: str | None = None  # Kalshi market ticker (side is YES/NO of it)
    side: str | None = None  # Kalshi: "yes" / "no"; Manifold: "YES"/"NO"
    answer_id: str | None = None  # Manifold multiple-choice answer id
    price: Decimal | None = None  # indicative last / mid price in [0, 1]
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None


class Market(BaseModel):
    id: str  # the venue's primary id (Polymarket: Gamma id or condition id; Kalshi: ticker; Manifold: id)
    venue: VenueName
    title: str
    slug: str | None = None
    event_id: str | None = None
    event_title: str | None = None
    condition_id: str | None = None  # Polymarket CTF condition id
    outcomes: list[Outcome] = Field(default_factory=list)
    status: MarketStatus = MarketStatus.UNKNOWN
    close_time: datetime | None = None  # trading stops
    resolution_time: datetime | None = None  # expected / actual resolution
    volume: Decimal | None = None
    volume_24h: Decimal | None = None
    liquidity: Decimal | None = None
    open_interest: Decimal | None = None
    tick_size: Decimal = Decimal("0.01")
    min_order_size: Decimal = Decimal(1)
    size_step: Decimal = Field(Decimal("0.01"), description="Order sizes are multiples of this (Kalshi: 1 contract).")
    # what an amount on this market is: "USD" (Polymarket pUSD, Kalshi dollars) or "MANA" (Manifold's play
    # money, which is not money and never adds into USD)
    currency: str = "USD"
    volume_unit: str = Field("USD", description="Unit of volume/liquidity: USD, contracts or MANA.")
    venue_name: str | None = None  # display name, e.g. "Kalshi"
    fees: FeeSchedule = Field(default_factory=FeeSchedule)
    neg_risk: bool = False
    group_id: str | None = None  # neg-risk market id / Kalshi mutually exclusive event / Manifold MC
    group_label: str | None = None  # this member's short name inside its group ("Gavin Newsom")
    mutually_exclusive: bool = False
    url: str | None = None
    category: str | None = None
    rule_text: str = ""  # the full rule text as the venue publishes it
    rule_sources: dict[str, str] = Field(default_factory=dict)  # field name -> text (rules_primary...)
    resolution_source: str | None = None
    resolved_outcome: str | None = None
    # the venue's own settlement state when it says more than ``status``: Polymarket's UMA
    # umaResolutionStatus ("proposed", "disputed", "resolved"...), Kalshi's "disputed"/"determined"...
    resolution_status: str | None = None
    updated_at: datetime | None = None
    raw_kind: str | None = None  # e.g. "binary", "multiple_choice", "scalar", "cpmm-1"

    def outcome(self, label: str) -> Outcome:
        """Find an outcome by label (case-insensitive). Raises KeyError listing the labels."""
        want = label.strip().lower()
        for o in self.outcomes:
            if o.label.lower() == want:
                return o
        raise KeyError(f"no outcome {label!r}; this market's outcomes are: "
                       + ", ".join(repr(o.label) for o in self.outcomes))


class Event(BaseModel):
    id: str
    venue: VenueName
    title: str
    slug: str | None = None
    markets: list[Market] = Field(default_factory=list)
    mutually_exclusive: bool = False
    neg_risk: bool = False
    # Polymarket negRiskAugmented: placeholder / "other" outcomes can still be added, so the listed
    # members may not be exhaustive. None = the venue does not say.
    neg_risk_augmented: bool | None = None
    category: str | None = None
    rule_text: str = ""
    url: str | None = None


class BookLevel(BaseModel):
    model_config = ConfigDict(frozen=True)

    price: Decimal
    size: Decimal  # shares / contracts at this price


class OrderBook(BaseModel):
    """One outcome's book. Bids and asks are best-first in OUR model (highest bid, lowest ask)."""

    venue: VenueName
    market_id: str
    outcome: str
    bids: list[BookLevel] = Field(default_factory=list)
    asks: list[BookLevel] = Field(default_factory=list)
    timestamp: datetime | None = None
    tick_size: Decimal | None = None
    min_order_size: Decimal | None = None
    derived: bool = False  # True when built from the other side's book (Kalshi YES asks from NO bids)

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def spread(self) -> Decimal | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return self.best_ask - self.best_bid

    @property
    def mid(self) -> Decimal | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return (self.best_ask + self.best_bid) / 2


class PricePoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    t: datetime
    price: Decimal
    volume: Decimal | None = None
