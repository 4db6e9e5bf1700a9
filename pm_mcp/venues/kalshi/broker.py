"""Live Kalshi broker: V2 orders (``POST /portfolio/events/orders``) with client_order_id, cancel,
orders, fills, positions, balance. Every request is RSA-PSS signed (kalshi.signing).

Direction: Kalshi quotes everything on the YES book. Buy YES at p = bid p; sell YES at p = ask p;
buy NO at p = ask at 1 - p; sell NO at p = bid at 1 - p. Our OrderState prices are in the terms of
the outcome the person traded (a NO fill is reported at its NO price).

Kalshi honours client_order_id (a duplicate gets 409), so a repeated submit is answered from the
venue's order record. A timeout or a dropped/5xx answer still raises UnknownOrderState: the engine
resolves it with get_order, which finds the order by its client_order_id.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pm_mcp.domain.orders import Fill, OrderRequest, OrderSide, OrderState, OrderStatus, TimeInForce
from pm_mcp.venues.base import NotFound, OrderRejected, UnknownOrderState, VenueError
from pm_mcp.venues.kalshi.signing import KalshiKey, auth_headers
from pm_mcp.venues.live_broker import LiveBroker, fill_totals
from pm_mcp.venues.live_broker import amount as _dec

log = logging.getLogger(__name__)
VENUE = "kalshi"
ORDERS_V2 = "/portfolio/events/orders"
TIF = {TimeInForce.GTC: "good_till_canceled", TimeInForce.GTD: "good_till_canceled",
       TimeInForce.FOK: "fill_or_kill", TimeInForce.FAK: "immediate_or_cancel"}

_REJECTIONS = [
    ("invalid_price", "the price is not on this market's price grid (check its tick size)."),
    ("insufficient_balance", "not enough cash in the Kalshi account for this order."),
    ("insufficient", "not enough cash in the Kalshi account for this order."),
    ("market_closed", "the market is closed for trading."),
    ("market_not_open", "the market is not open for trading."),
    ("invalid_count", "the contract count is not valid (whole contracts, at least 1)."),
    ("fill_or_kill", "the fill-or-kill order could not be filled completely at the limit; nothing was traded."),
    ("authentication", "Kalshi refused the request signature: check PM_MCP_KALSHI_KEY_ID and the key file, that "
                       "the key belongs to this environment (demo keys fail on production and vice versa, see "
                       "PM_MCP_KALSHI_ENV) and that the computer's clock is right."),
]


def _err(resp) -> tuple[str, str]:
    try:
        body = resp.json()
    except ValueError:
        return "", resp.text[:200]
    e = body.get("error") if isinstance(body, dict) else None
    if isinstance(e, dict):
        return str(e.get("code") or ""), str(e.get("message") or e.get("details") or "")
    if isinstance(e, str):
        return "", e
    return "", str(body)[:200]


class KalshiBroker(LiveBroker):
    venue = VENUE
    rejections = _REJECTIONS

    def __init__(self, *, http, key_id: str, key: KalshiKey, journal=None):
        super().__init__(http=http, journal=journal)  # VenueHttp at .../trade-api/v2
        self.key_id = key_id
        self.key = key
        self._prefix = urlsplit(http.base_url).path.rstrip("/")  # "/trade-api/v2": part of the signed path

    def _explain(self, code: str, message: str) -> str:
        return self.explain(f"{code} {message}", message or code)

    async def _req(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                   expect: tuple[int, ...] = (), retry: bool | None = None):
        headers = auth_headers(self.key_id, self.key, method, self._prefix + path)
        return await self.http.request(method, path, params=params, json=json, headers=headers, expect=expect,
                                       retry=retry)

    async def _get_json(self, path: str, params: dict | None = None) -> Any:
        resp = await self._req("GET", path, params=params, expect=(401, 403))
        if resp.status_code in (401, 403):
            code, msg = _err(resp)
            raise VenueError(VENUE, self._explain(code or "authentication", msg).replace("rejected the order",
                                                                                    "refused the request"),
                             status=resp.status_code)
        return self.http.decode_json(resp)

    # --- order mapping --------------------------------------------------------------------------
    def order_body(self, order: OrderRequest) -> dict[str, Any]:
        outcome = self.outcome_of(order)
        side = (outcome.side or outcome.label).lower()
        if side not in ("yes", "no"):
            raise OrderRejected(VENUE, f"outcome {order.outcome!r} is neither the YES nor the NO side of a Kalshi market")
        ticker = outcome.ticker or order.market.id
        tick = order.market.tick_size or Decimal("0.01")
        p = order.limit_price
        if not (0 < p < 1) or p % tick != 0:
            raise OrderRejected(VENUE, f"price {p} is not on this market's {tick} grid between {tick} and {1 - tick}")
        if order.size <= 0 or order.size != order.size.to_integral_value():
            raise OrderRejected(VENUE, f"Kalshi trades whole contracts; {order.size} is not a whole number")
        buy = order.side == OrderSide.BUY
        if side == "yes":
            book_side, yes_price = ("bid" if buy else "ask"), p
        else:
            book_side, yes_price = ("ask" if buy else "bid"), 1 - p
        body: dict[str, Any] = {
            "ticker": ticker, "client_order_id": order.client_order_id, "side": book_side,
            "count": f"{order.size:.2f}", "price": f"{yes_price:.4f}",
            "time_in_force": TIF[TimeInForce(order.time_in_force)], "self_trade_prevention_type": "taker_at_cross",
        }
        expires = self.gtd_expiry(order)
        if expires is not None:
            body["expiration_time"] = int(expires.timestamp())
        return body

    # --- Broker protocol ------------------------------------------------------------------------
    async def submit(self, order: OrderRequest) -> OrderState:
        body = self.order_body(order)
        outcome_side = (order.market.outcome(order.outcome).side or order.outcome).lower()
        prior, state = await self.journaled(order.client_order_id)
        if state is not None:
            return state
        if prior is not None:
            body = prior.data.get("body", body)
        await self.journal.put(VENUE, order.client_order_id, None,
                               {"body": body, "ticker": body["ticker"], "outcome_side": outcome_side})
        try:
            resp = await self._req("POST", ORDERS_V2, json=body, retry=False,
                                   expect=(400, 401, 403, 409, 500, 502, 503, 504))
        except UnknownOrderState as exc:
            raise self.lost(exc, f"Client order id {order.client_order_id} is journaled; look it up with "
                            "get_order.") from None
        status = resp.status_code
        if status >= 500:
            raise UnknownOrderState(VENUE, f"Kalshi answered HTTP {status} to the order; it may or may not have been "
                                    f"accepted. Look up client order id {order.client_order_id} with get_order, "
                                    "never resubmit blindly.", status=status)
        if status == 409:  # Kalshi already has this client_order_id: answer from its record
            state = await self.get_order(order.client_order_id)
            if state is not None:
                return state
            raise UnknownOrderState(VENUE, "Kalshi says the client order id exists but it cannot be found yet; "
                                    "look it up again shortly.", status=409)
        if status in (400, 401, 403):
            code, msg = _err(resp)
            if status in (401, 403) and not code:
                code = "authentication"
            raise OrderRejected(VENUE, self._explain(code, msg), status=status)
        data = self.http.decode_json(resp) or {}
        oid = str(data.get("order_id") or (data.get("order") or {}).get("order_id") or "")
        if oid:
            await self.journal.set_venue_order_id(VENUE, order.client_order_id, oid)
        return await self.accepted(order.client_order_id, oid or None, data,
                                   "accepted; not yet visible in the order list")

    async def get_order(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState | None:
        entry = await self.journal.get(VENUE, client_order_id)
        venue_order_id = venue_order_id or (entry.venue_order_id if entry else None)
        o = None
        if venue_order_id:
            resp = await self._req("GET", f"/portfolio/orders/{venue_order_id}", expect=(404,))
            if resp.status_code != 404:
                o = (self.http.decode_json(resp) or {}).get("order")
        else:
            params: dict[str, Any] = {"limit": 1000}
            if entry and entry.data.get("ticker"):
                params["ticker"] = entry.data["ticker"]
            cursor = None
            for _ in range(20):
                data = await self._get_json("/portfolio/orders", {**params, **({"cursor": cursor} if cursor else {})})
                o = next((x for x in (data or {}).get("orders", []) if x.get("client_order_id") == client_order_id),
                         None)
                cursor = (data or {}).get("cursor")
                if o is not None or not cursor:
                    break
        if not o:
            return None
        if entry is not None and not entry.venue_order_id and o.get("order_id"):
            await self.journal.set_venue_order_id(VENUE, client_order_id, str(o["order_id"]))
        side = (entry.data.get("outcome_side") if entry else None) or o.get("outcome_side") or "yes"
        return await self._state(client_order_id, o, side)

    async def cancel(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState:
        state = await self.existing(client_order_id, venue_order_id)
        resp = await self._req("DELETE", f"{ORDERS_V2}/{state.venue_order_id}", retry=True, expect=(400, 404))
        after = await self.get_order(client_order_id, state.venue_order_id)
        if after is None:
            raise NotFound(VENUE, f"Kalshi has no order {state.venue_order_id}")
        if resp.status_code in (400, 404) and after.status != OrderStatus.CANCELLED:
            after.message = f"not cancelled: {_err(resp)[1]}"
        return after

    async def open_orders(self) -> list[OrderState]:
        out: list[OrderState] = []
        cursor = None
        for _ in range(20):
            data = await self._get_json("/portfolio/orders",
                                        {"status": "resting", "limit": 1000, **({"cursor": cursor} if cursor else {})})
            for o in (data or {}).get("orders", []):
                entry = await self.journal.by_venue_order_id(VENUE, str(o.get("order_id")))
                cid = entry.client_order_id if entry else (o.get("client_order_id") or str(o.get("order_id")))
                side = (entry.data.get("outcome_side") if entry else None) or o.get("outcome_side") or "yes"
                out.append(await self._state(cid, o, side, with_fills=False))
            cursor = (data or {}).get("cursor")
            if not cursor:
                break
        return out

    async def fills(self, **params: Any) -> list[dict]:
        data = await self._get_json("/portfolio/fills", {"limit": 1000, **params})
        return list((data or {}).get("fills", []))

    async def positions(self, **params: Any) -> list[dict]:
        data = await self._get_json("/portfolio/positions", {"limit": 500, **params})
        return list((data or {}).get("market_positions", []))

    async def balance(self) -> dict[str, Any]:
        data = await self._get_json("/portfolio/balance") or {}
        dollars = data.get("balance_dollars")
        bal = _dec(dollars) if dollars not in (None, "") else _dec(data.get("balance")) / 100
        return {"balance": bal, "raw": data}

    # --- mapping --------------------------------------------------------------------------------
    async def _state(self, client_order_id: str, o: dict, outcome_side: str, with_fills: bool = True) -> OrderState:
        oid = str(o.get("order_id"))
        initial = _dec(o.get("initial_count_fp") or o.get("initial_count"))
        filled = _dec(o.get("fill_count_fp") or o.get("fill_count"))
        remaining = _dec(o.get("remaining_count_fp") or o.get("remaining_count"))
        fills: list[Fill] = []
        if with_fills and filled > 0:
            for f in await self.fills(order_id=oid):
                if str(f.get("order_id")) != oid:
                    continue
                yes = _dec(f.get("yes_price_dollars"))
                no = _dec(f.get("no_price_dollars")) or (1 - yes)
                at = None
                if f.get("created_time"):
                    try:
                        at = datetime.fromisoformat(str(f["created_time"]).replace("Z", "+00:00"))
                    except ValueError:
                        at = None
                fills.append(Fill(fill_id=str(f.get("fill_id") or f.get("trade_id")),
                                  price=yes if outcome_side == "yes" else no,
                                  size=_dec(f.get("count_fp") or f.get("count")), fee=_dec(f.get("fee_cost")), at=at))
        size, avg, fees = fill_totals(fills)
        if fills:
            filled = size
        else:
            fees = _dec(o.get("taker_fees_dollars")) + _dec(o.get("maker_fees_dollars"))
        raw = str(o.get("status") or "").lower()
        if raw == "executed" or (initial > 0 and filled >= initial):
            status = OrderStatus.FILLED
        elif raw in ("canceled", "cancelled"):
            status = OrderStatus.CANCELLED
        elif raw == "resting":
            status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
        elif raw == "pending":
            status = OrderStatus.PENDING
        else:
            status = OrderStatus.UNKNOWN
        return OrderState(client_order_id=client_order_id, venue_order_id=oid, status=status, filled_size=filled,
                          average_price=avg, fees_paid=fees, fills=fills,
                          message=f"Kalshi status {raw or 'unknown'}; {remaining} contracts resting" if remaining
                          else f"Kalshi status {raw or 'unknown'}", raw={"order": o})


def utc_ts() -> int:
    return int(datetime.now(UTC).timestamp())
