"""The one protocol every venue adapter speaks, the errors it raises, and the trading contract.

Market data (read-only, retried by the shared http layer):
    adapter.search(query, *, limit, status) -> list[Market]
    adapter.get_market(ref) -> Market             (ref: id, slug, ticker, condition id, token id)
    adapter.get_event(ref) -> Event
    adapter.get_order_book(market, outcome_label) -> OrderBook   (best first, Decimal)
    adapter.get_price_history(market, outcome_label, *, start, end, interval) -> list[PricePoint]

Trading (live brokers; the paper broker implements the same):
    broker.submit(order: OrderRequest) -> OrderState          (journal BEFORE calling this)
    broker.get_order(client_order_id, venue_order_id) -> OrderState | None   (None = the venue has no such order)
    broker.cancel(client_order_id, venue_order_id) -> OrderState
    broker.open_orders() -> list[OrderState]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from pm_mcp.domain.models import Event, Market, OrderBook, PricePoint


class VenueError(Exception):
    """A venue call failed; ``str(exc)`` is a sentence a person can act on (no secrets)."""

    def __init__(self, venue: str, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(f"{venue}: {message}")
        self.venue = venue
        self.message = message  # the sentence without the venue prefix
        self.status = status
        self.retryable = retryable


class NotFound(VenueError):
    """The venue has no such market / event / order."""



Pace = Callable[[int], Awaitable[None]] | None  # awaited with a request's cost before it is sent (watch polling)


async def read_each(ids: Iterable[str], read: Callable[[str], Awaitable[Any]], pace: Pace = None
                    ) -> dict[str, Any]:
    """``read(id)`` for each distinct id in order, ``pace(1)`` awaited before each request: id -> what it read, or
    the NotFound that stands in for an id the venue does not have (other errors propagate)."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys(ids):
        if pace is not None:
            await pace(1)
        try:
            out[key] = await read(key)
        except NotFound as exc:
            out[key] = exc
    return out


class AmbiguousReference(NotFound):
    """The reference names several markets (an event URL, slug or ticker); ``candidates`` lists them."""

    def __init__(self, venue: str, message: str, candidates: list[Market]):
        super().__init__(venue, message)
        self.candidates = candidates


class VenueUnavailable(VenueError):
    """Network failure, 5xx or 429 after retries, timeouts."""


class Blocked(VenueError):
    """An HTML page (Cloudflare, geoblock) came back instead of JSON."""


class OrderRejected(VenueError):
    """The venue refused the order (tick, minimum, balance, allowance...); the message says why."""


class UnknownOrderState(VenueError):
    """The request may or may not have reached the venue (timeout, dropped response). Never resubmit
    blindly: look the order up by its client order id / hash first."""


class LiveSetupError(ValueError):
    """Live trading cannot start for a venue: the message says which setting to set (never a secret)."""


_Key = TypeVar("_Key")


def live_key(parse: Callable[[str], _Key], secret: str | None, setting: str, missing: str) -> _Key:
    """A venue's signing key from its secret setting (``settings.secret_from``): LiveSetupError ``missing``
    when there is none, LiveSetupError naming ``setting`` when ``parse`` refuses it (never the secret)."""
    if not secret:
        raise LiveSetupError(missing)
    try:
        return parse(secret)
    except ValueError as exc:
        raise LiveSetupError(f"{setting}: {exc}") from None


def doctor_check(name: str, status: str, detail: str, advice: str = "") -> dict[str, str]:
    """One live ``doctor`` check: status pass | fail | could_not_check, and what to do about it."""
    return {"name": name, "status": status, "detail": detail, "advice": advice}


def explain_rejection(what: str, table: list[tuple[str, str]], text: str, shown: str | None = None) -> str:
    """'<what>: <advice> (venue said: ...)' for the first needle of ``table`` found in ``text``
    (case-insensitive); ``what`` is e.g. "Kalshi rejected the order". ``shown`` is what to quote."""
    said = shown if shown is not None else text
    low = text.lower()
    for needle, advice in table:
        if needle in low:
            return f"{what}: {advice} (venue said: {said})"
    return f"{what}: {said}"


@runtime_checkable
class VenueAdapter(Protocol):
    name: str

    async def search(self, query: str, *, limit: int = 20, status: str | None = "open") -> list[Market]: ...

    async def get_market(self, ref: str) -> Market: ...

    async def get_event(self, ref: str) -> Event: ...

    async def get_order_book(self, market: Market, outcome: str) -> OrderBook: ...

    async def get_price_history(self, market: Market, outcome: str, *, start: datetime | None = None,
                                end: datetime | None = None, interval: str = "1h") -> list[PricePoint]: ...


# the order vocabulary lives in the domain; re-exported here for the brokers
from pm_mcp.domain.orders import (  # noqa: E402 - after the adapter protocol on purpose (reads top-down)
    Fill,
    OrderRequest,
    OrderSide,
    OrderState,
    OrderStatus,
    TimeInForce,
)

__all__ = ["VenueError", "NotFound", "AmbiguousReference", "VenueUnavailable", "Blocked", "OrderRejected",
           "UnknownOrderState", "LiveSetupError", "live_key", "doctor_check", "explain_rejection", "VenueAdapter", "Broker", "OrderSide", "TimeInForce",
           "OrderStatus", "OrderRequest", "Fill", "OrderState"]


@runtime_checkable
class Broker(Protocol):
    venue: str
    mode: str  # "paper" | "live"

    async def submit(self, order: OrderRequest) -> OrderState: ...

    async def get_order(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState | None: ...

    async def cancel(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState: ...

    async def open_orders(self) -> list[OrderState]: ...
