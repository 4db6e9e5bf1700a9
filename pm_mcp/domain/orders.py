"""The order vocabulary, one home for every layer: side, time in force, status, and the three shapes an
order takes on its way out and back (the request we send, the venue's fills, the order's state).

Pure models; ``pm_mcp.venues.base`` re-exports them for the brokers (``from pm_mcp.venues.base import
OrderSide`` keeps working)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from pm_mcp.domain.models import Market

__all__ = ["OrderSide", "TimeInForce", "OrderStatus", "OrderRequest", "Fill", "OrderState",
           "OPEN_ORDER_STATUSES", "FINAL_ORDER_STATUSES"]


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(StrEnum):
    GTC = "GTC"  # rests until filled or cancelled
    GTD = "GTD"  # rests until expiry
    FOK = "FOK"  # all now or nothing
    FAK = "FAK"  # what fills now, rest cancelled (IOC)


class OrderStatus(StrEnum):
    PENDING = "pending"  # journaled, not yet acknowledged by the venue
    OPEN = "open"  # resting
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # to be reconciled with the venue


class OrderRequest(BaseModel):
    """Exactly what goes to the venue. Built from a confirmed intent; never from tool arguments directly."""

    client_order_id: str
    venue: str
    market: Market
    outcome: str
    side: OrderSide
    limit_price: Decimal
    size: Decimal  # shares / contracts
    time_in_force: TimeInForce = TimeInForce.GTC
    expires_at: datetime | None = None


class Fill(BaseModel):
    fill_id: str
    price: Decimal
    size: Decimal
    fee: Decimal = Decimal(0)
    at: datetime | None = None


class OrderState(BaseModel):
    client_order_id: str
    venue_order_id: str | None = None
    status: OrderStatus
    filled_size: Decimal = Decimal(0)
    average_price: Decimal | None = None
    fees_paid: Decimal = Decimal(0)
    fills: list[Fill] = Field(default_factory=list)
    message: str | None = None
    raw: dict = Field(default_factory=dict)


# as stored in the journal's ``orders.status``
OPEN_ORDER_STATUSES = (OrderStatus.PENDING.value, OrderStatus.OPEN.value, OrderStatus.PARTIALLY_FILLED.value,
                       OrderStatus.UNKNOWN.value)
FINAL_ORDER_STATUSES = (OrderStatus.FILLED.value, OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value,
                        OrderStatus.EXPIRED.value)
