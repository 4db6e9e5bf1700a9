"""What every live broker does the same way, whatever the venue: the base class of the Kalshi, Manifold
and Polymarket brokers (each in its venue package, with its own order mapping and status reading).

    class KalshiBroker(LiveBroker):
        venue, noun, rejections = VENUE, "order", _REJECTIONS

    outcome = self.outcome_of(order)             # OrderRejected: another venue's order, or no such outcome
    expires = self.gtd_expiry(order)             # a GTD order's expiry (OrderRejected without one), else None
    prior, state = await self.journaled(cid)     # a second submit: the venue's record of the first send
    raise self.lost(exc, "Look it up ...")       # the http layer's "may have reached the venue", with advice
    raise OrderRejected(VENUE, self.explain(text))            # "Kalshi rejected the order: <advice> (...)"
    return await self.accepted(cid, oid, ack, "accepted; ...")  # the venue's record, PENDING until it shows
    state = await self.existing(cid, oid)        # NotFound when the venue has no such order

Fills add up the same way everywhere (:func:`fill_totals`), an absent venue amount reads as 0
(:func:`amount`) and an error answer is quoted by :func:`answer_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pm_mcp.domain.models import Outcome
from pm_mcp.domain.money import decimal_or_none
from pm_mcp.domain.orders import Fill, OrderRequest, OrderState, OrderStatus, TimeInForce
from pm_mcp.venues.base import NotFound, OrderRejected, UnknownOrderState, explain_rejection
from pm_mcp.venues.registry import display_name
from pm_mcp.venues.send_journal import JournalEntry, OrderJournal


def amount(x: Any) -> Decimal:
    """A venue amount, 0 when absent or unreadable."""
    return decimal_or_none(x) or Decimal(0)


def fill_totals(fills: Sequence[Fill]) -> tuple[Decimal, Decimal | None, Decimal]:
    """(size filled, size-weighted average price or None when nothing filled, fees paid) of some fills."""
    size = sum((f.size for f in fills), Decimal(0))
    average = sum((f.price * f.size for f in fills), Decimal(0)) / size if size else None
    return size, average, sum((f.fee for f in fills), Decimal(0))


def answer_text(resp: Any, keys: Sequence[str], limit: int | None = None) -> str:
    """What a venue's error answer says: the first non-empty ``keys`` field of its JSON object (cut to
    ``limit`` characters when given), else the JSON itself (``limit`` or 200), else its text (200; "HTTP
    <status>" when it is empty)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200] or f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        said = next((body[k] for k in keys if body.get(k)), None)
        if said is not None:
            return str(said)[:limit]
        return str(body)[:limit or 200]
    return str(body)[:200]


class LiveBroker:
    """The Broker protocol's shared half: the subclass sets ``venue`` (its registry name), ``noun`` ("order",
    "bet") and ``rejections`` (what the venue says when it refuses, lower case -> what a person should do);
    ``http`` is its VenueHttp and ``journal`` the send journal."""

    venue: str
    noun = "order"
    rejections: ClassVar[Sequence[tuple[str, str]]] = ()
    mode = "live"

    def __init__(self, *, http: Any, journal: OrderJournal | None = None):
        self.http = http
        self.journal = journal or OrderJournal()

    @property
    def venue_title(self) -> str:
        """The venue's name as a person reads it ("Kalshi")."""
        return display_name(self.venue)

    async def get_order(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState | None:
        raise NotImplementedError

    def explain(self, text: str, shown: str | None = None) -> str:
        """"<Venue> rejected the <noun>: <advice> (venue said: ...)" for what the venue said (``text``; ``shown``
        is what to quote when that is not all of it)."""
        return explain_rejection(f"{self.venue_title} rejected the {self.noun}", self.rejections, text, shown)

    # --- checks every order mapping starts with ---------------------------------------------------------
    def outcome_of(self, order: OrderRequest) -> Outcome:
        """The outcome the order trades; OrderRejected when the order is for another venue or its market has
        no such outcome."""
        if order.venue != self.venue:
            raise OrderRejected(self.venue, f"this is the {self.venue_title} broker, the order is for {order.venue}")
        try:
            return order.market.outcome(order.outcome)
        except KeyError as exc:
            raise OrderRejected(self.venue, str(exc).strip("'\"")) from None

    def gtd_expiry(self, order: OrderRequest) -> datetime | None:
        """When a GTD order expires (OrderRejected when it says no time); None for any other time in force."""
        if TimeInForce(order.time_in_force) != TimeInForce.GTD:
            return None
        if order.expires_at is None:
            raise OrderRejected(self.venue, "a GTD order needs an expiry time")
        return order.expires_at

    # --- the submit flow ------------------------------------------------------------------------------
    async def journaled(self, client_order_id: str) -> tuple[JournalEntry | None, OrderState | None]:
        """A second submit of one client order id (after a crash or an unknown result) asks the venue first:
        (the journal entry of the first send or None, the venue's state of that order or None)."""
        prior = await self.journal.get(self.venue, client_order_id)
        if prior is None:
            return None, None
        return prior, await self.get_order(client_order_id, prior.venue_order_id)

    def lost(self, exc: UnknownOrderState, advice: str) -> UnknownOrderState:
        """The http layer's "the request may have reached the venue" with what to do about it."""
        return UnknownOrderState(self.venue, f"{exc.message} {advice}")

    async def accepted(self, client_order_id: str, venue_order_id: str | None, ack: Any,
                       pending: str) -> OrderState:
        """The venue accepted the order: its state from the venue's own records (fills included), PENDING
        (``pending`` says why) while they do not show it yet. The acknowledgement rides along in raw["ack"]."""
        state = await self.get_order(client_order_id, venue_order_id)
        if state is None:
            return OrderState(client_order_id=client_order_id, venue_order_id=venue_order_id,
                              status=OrderStatus.PENDING, message=pending, raw={"ack": ack})
        state.raw["ack"] = ack
        return state

    async def existing(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState:
        """The venue's state of an order it has (with its venue order id); NotFound otherwise."""
        state = await self.get_order(client_order_id, venue_order_id)
        if state is None or not state.venue_order_id:
            raise NotFound(self.venue, f"{self.venue_title} has no {self.noun} for {client_order_id}")
        return state


__all__ = ["LiveBroker", "amount", "answer_text", "fill_totals"]
