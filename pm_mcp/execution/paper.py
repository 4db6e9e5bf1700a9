"""The paper broker: a venue of our own that fills against the venue's live order book.

- A submitted order takes liquidity level by level up to its limit (``walk_book``), paying the
  venue's taker fee (the raw fees of the levels summed and rounded once, as the venue charges one
  order).
- FOK fills completely or not at all; FAK cancels what does not fill at once; GTC/GTD rests the
  remainder. A resting order fills (as a maker, at its own limit, with the venue's maker fee) when a
  later book crosses it; :meth:`PaperBroker.match_resting` checks that and is run whenever orders or
  the portfolio are read. A GTD order expires at its ``expires_at``.
- The paper book of orders lives in the ``paper_orders`` table, keyed by client order id: a second
  submit with the same client order id returns the existing order (idempotent, like a venue that
  honours client order ids), and ``get_order`` answers from it, so reconciliation works the same way
  in paper and live mode.
- Paper fills do not consume the live book (a second paper order can take the same levels).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pm_mcp.domain.book import walk_book
from pm_mcp.domain.fees import raw_fee, round_fee
from pm_mcp.domain.models import Market, OrderBook
from pm_mcp.execution.journal import Journal, iso, now_utc, parse_iso
from pm_mcp.venues.base import Fill, OrderRejected, OrderRequest, OrderState, OrderStatus, TimeInForce

log = logging.getLogger(__name__)

_OPEN = (OrderStatus.OPEN.value, OrderStatus.PARTIALLY_FILLED.value)


def _split_fee(total: Decimal, raws: list[Decimal]) -> list[Decimal]:
    """Attribute an order's (once-rounded) fee to its fills: each its raw fee rounded down, the last the rest."""
    if not raws:
        return []
    out = [r.quantize(Decimal("0.00001"), rounding=ROUND_DOWN) for r in raws[:-1]]
    out.append(total - sum(out, Decimal(0)))
    return out


class PaperBroker:
    """One per venue, in paper mode. Implements the :class:`pm_mcp.venues.base.Broker` protocol."""

    mode = "paper"

    def __init__(self, venue: str, journal: Journal, book_source: Any) -> None:
        self.venue = venue
        self.journal = journal
        self.book_source = book_source  # async (market, outcome_label) -> OrderBook
        self._lock = asyncio.Lock()

    # --- protocol --------------------------------------------------------------------------
    async def submit(self, order: OrderRequest) -> OrderState:
        async with self._lock:
            existing = await self.journal.paper_get(order.client_order_id)
            if existing is not None:
                return self._state(existing)
            market = order.market
            try:
                o = market.outcome(order.outcome)
            except KeyError as exc:
                raise OrderRejected(self.venue, str(exc.args[0]), status=400) from None
            if order.size <= 0 or not (Decimal(0) < order.limit_price < Decimal(1)):
                raise OrderRejected(self.venue, "size must be positive and the limit price strictly between 0 and 1",
                                    status=400)
            book = await self.book_source(market, o.label)
            rec: dict[str, Any] = {
                "client_order_id": order.client_order_id, "venue": self.venue,
                "venue_order_id": f"paper-{secrets.token_hex(8)}", "market": market.model_dump(mode="json"),
                "outcome": o.label, "side": order.side.value, "limit_price": str(order.limit_price),
                "size": str(order.size), "time_in_force": order.time_in_force.value,
                "expires_at": iso(order.expires_at) if order.expires_at else None,
                "status": OrderStatus.OPEN.value, "fills": [], "message": None, "created_at": iso(now_utc()),
            }
            self._take(rec, market, book, now_utc())
            tif = order.time_in_force
            filled = sum((Decimal(f["size"]) for f in rec["fills"]), Decimal(0))
            if tif == TimeInForce.FOK and filled < order.size:
                rec["fills"] = []
                rec["status"] = OrderStatus.CANCELLED.value
                rec["message"] = (f"fill-or-kill: the book could not fill {order.size} at "
                                  f"{'<=' if order.side.value == 'buy' else '>='} {order.limit_price}; nothing filled")
            elif tif == TimeInForce.FAK and filled < order.size:
                rec["status"] = OrderStatus.CANCELLED.value
                rec["message"] = (f"fill-and-kill: {filled} filled, the unfilled remainder was cancelled" if filled
                                  else "fill-and-kill: nothing could fill at the limit; cancelled")
                rec["closed"] = True
            self._set_status(rec)
            await self.journal.paper_insert(order.client_order_id, self.venue, rec["status"], rec)
            return self._state(rec)

    async def get_order(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState | None:
        rec = await self.journal.paper_get(client_order_id)
        return None if rec is None else self._state(rec)

    async def cancel(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState:
        async with self._lock:
            rec = await self.journal.paper_get(client_order_id)
            if rec is None:
                raise OrderRejected(self.venue, f"no paper order {client_order_id}", status=404)
            if rec["status"] in _OPEN and not rec.get("closed"):
                rec["closed"] = True
                rec["status"] = OrderStatus.CANCELLED.value
                rec["message"] = "cancelled; the filled part (if any) stays in your position"
                await self.journal.paper_update(client_order_id, rec["status"], rec)
            return self._state(rec)

    async def open_orders(self) -> list[OrderState]:
        return [self._state(r) for r in await self.journal.paper_open(self.venue)]

    # --- resting orders --------------------------------------------------------------------
    async def match_resting(self, now: datetime | None = None) -> int:
        """Fill resting orders that a current book crosses; expire GTD orders. Returns how many changed."""
        now = now or now_utc()
        changed = 0
        async with self._lock:
            for rec in await self.journal.paper_open(self.venue):
                if rec.get("closed"):
                    continue
                if rec.get("expires_at") and parse_iso(rec["expires_at"]) <= now:
                    rec["status"] = OrderStatus.EXPIRED.value
                    rec["closed"] = True
                    rec["message"] = "good-til-date order expired"
                    await self.journal.paper_update(rec["client_order_id"], rec["status"], rec)
                    changed += 1
                    continue
                market = Market.model_validate(rec["market"])
                try:
                    book = await self.book_source(market, rec["outcome"])
                except Exception as exc:  # a book we cannot read fills nothing this time
                    log.info("paper: book for %s unavailable (%s)", market.id, type(exc).__name__)
                    continue
                if self._rest_fill(rec, market, book, now):
                    self._set_status(rec)
                    await self.journal.paper_update(rec["client_order_id"], rec["status"], rec)
                    changed += 1
        return changed

    # --- internals -------------------------------------------------------------------------
    def _take(self, rec: dict[str, Any], market: Market, book: OrderBook, now: datetime) -> None:
        """Taker fills at submission: walk the opposite side up to the limit."""
        buying = rec["side"] == "buy"
        levels = book.asks if buying else book.bids
        limit = Decimal(rec["limit_price"])
        size = Decimal(rec["size"])
        walk = walk_book(levels, size=size, limit_price=limit, side=rec["side"], fees=market.fees,
                         size_step=market.size_step)
        if walk.filled_size <= 0:
            return
        pieces: list[tuple[Decimal, Decimal]] = []
        left = walk.filled_size
        for level in levels:
            if left <= 0:
                break
            if level.size <= 0:
                continue
            take = min(level.size, left)
            pieces.append((level.price, take))
            left -= take
        raws = [raw_fee(market.fees, s, p) for p, s in pieces]
        fees = _split_fee(walk.fees, raws)
        for (price, take), fee in zip(pieces, fees, strict=True):
            rec["fills"].append({"fill_id": f"{rec['venue_order_id']}-{len(rec['fills']) + 1}", "price": str(price),
                                 "size": str(take), "fee": str(fee), "at": iso(now), "liquidity": "taker"})

    def _rest_fill(self, rec: dict[str, Any], market: Market, book: OrderBook, now: datetime) -> bool:
        buying = rec["side"] == "buy"
        limit = Decimal(rec["limit_price"])
        remaining = Decimal(rec["size"]) - sum((Decimal(f["size"]) for f in rec["fills"]), Decimal(0))
        if remaining <= 0:
            return False
        crossing = [lv for lv in (book.asks if buying else book.bids)
                    if lv.size > 0 and (lv.price <= limit if buying else lv.price >= limit)]
        available = sum((lv.size for lv in crossing), Decimal(0))
        take = min(remaining, available)
        if take <= 0:
            return False
        fee = round_fee(market.fees, raw_fee(market.fees, take, limit, maker=True))
        rec["fills"].append({"fill_id": f"{rec['venue_order_id']}-{len(rec['fills']) + 1}", "price": str(limit),
                             "size": str(take), "fee": str(fee), "at": iso(now), "liquidity": "maker"})
        return True

    @staticmethod
    def _set_status(rec: dict[str, Any]) -> None:
        filled = sum((Decimal(f["size"]) for f in rec["fills"]), Decimal(0))
        if rec.get("closed") or rec["status"] in (OrderStatus.CANCELLED.value, OrderStatus.EXPIRED.value):
            return
        if filled >= Decimal(rec["size"]):
            rec["status"] = OrderStatus.FILLED.value
        elif filled > 0:
            rec["status"] = OrderStatus.PARTIALLY_FILLED.value
        else:
            rec["status"] = OrderStatus.OPEN.value

    @staticmethod
    def _state(rec: dict[str, Any]) -> OrderState:
        fills = [Fill(fill_id=f["fill_id"], price=Decimal(f["price"]), size=Decimal(f["size"]), fee=Decimal(f["fee"]),
                      at=parse_iso(f["at"])) for f in rec["fills"]]
        filled = sum((f.size for f in fills), Decimal(0))
        cost = sum((f.size * f.price for f in fills), Decimal(0))
        return OrderState(client_order_id=rec["client_order_id"], venue_order_id=rec["venue_order_id"],
                          status=OrderStatus(rec["status"]), filled_size=filled,
                          average_price=(cost / filled) if filled > 0 else None,
                          fees_paid=sum((f.fee for f in fills), Decimal(0)), fills=fills, message=rec.get("message"),
                          raw={"paper": True, "liquidity": [f.get("liquidity") for f in rec["fills"]]})
