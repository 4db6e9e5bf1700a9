"""Live Manifold broker: limit bets through ``POST /v0/bet`` (``limitProb``, ``answerId`` for multiple
choice, ``dryRun`` for previews), cancel, open limit orders. Header ``Authorization: Key <api key>``.

An OrderRequest is in shares at a limit price per share; Manifold bets are in mana. A BUY of S shares
of YES at p is a bet of ``amount = S x p`` mana with ``limitProb = p`` (a NO share at p: ``limitProb =
1 - p``); it fills at p or better, so it buys at least S shares. A SELL of S shares at p is the
Manifold way of selling: a bet on the opposite outcome of ``S x (1 - p)`` mana with the same limit,
which Manifold nets against the shares held (redemption). Manifold has no client order id: the
journal records what was sent and when, and a lost answer is resolved by finding the one matching
bet of ours created after it (never by betting again).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pm_mcp.domain.orders import Fill, OrderRequest, OrderSide, OrderState, OrderStatus, TimeInForce
from pm_mcp.venues.base import OrderRejected, UnknownOrderState, VenueError
from pm_mcp.venues.live_broker import LiveBroker, answer_text, fill_totals
from pm_mcp.venues.live_broker import amount as _dec

log = logging.getLogger(__name__)
VENUE = "manifold"
PERCENT = Decimal("0.01")
MANA = Decimal("0.01")

_REJECTIONS = [
    ("insufficient balance", "not enough mana in the Manifold account."),
    ("between 1-99", "the limit must be between 1% and 99%."),
    ("limitprob", "the limit must be a whole percent between 1% and 99%."),
    ("answerid must be specified", "this is a multiple-choice market: pick an answer."),
    ("answer not found", "that answer does not exist in this market."),
    ("closed", "the market is closed."),
    ("too large", "the bet is too large for the market's liquidity."),
]


def _num(x: Decimal) -> float | int:
    """A JSON number for Manifold (its API takes numbers); exact for our 2-decimal values."""
    return int(x) if x == x.to_integral_value() else float(x)


class ManifoldBroker(LiveBroker):
    venue = VENUE
    noun = "bet"
    rejections = _REJECTIONS

    def __init__(self, *, http, api_key: str, journal=None):
        from pm_mcp.redaction import register_secret

        super().__init__(http=http, journal=journal)  # VenueHttp at the Manifold base (paths /v0/...)
        self._api_key = api_key
        register_secret(api_key)  # never in a log line, whoever prints it
        self._me: dict | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._api_key}"}

    async def _call(self, method: str, path: str, *, params=None, json=None, retry=None, expect=()):
        return await self.http.request(method, path, params=params, json=json, headers=self._headers(), retry=retry,
                                       expect=expect)

    async def me(self) -> dict:
        """The key's user, fresh (balance included)."""
        resp = await self._call("GET", "/v0/me", expect=(401, 403))
        if resp.status_code in (401, 403):
            raise VenueError(VENUE, "Manifold refused the API key (PM_MCP_MANIFOLD_API_KEY); generate a new one "
                             "on your profile page.", status=resp.status_code)
        self._me = self.http.decode_json(resp) or {}
        return self._me

    async def _user_id(self) -> str | None:
        if self._me is None:
            await self.me()
        return (self._me or {}).get("id")

    # --- mapping --------------------------------------------------------------------------------
    def bet_body(self, order: OrderRequest, *, dry_run: bool = False) -> dict[str, Any]:
        outcome = self.outcome_of(order)
        p = order.limit_price
        if not (Decimal("0.01") <= p <= Decimal("0.99")) or p % PERCENT != 0:
            raise OrderRejected(VENUE, f"Manifold limits are whole percents from 1% to 99%; {p} is not one")
        if outcome.answer_id:
            side, answer = "YES", outcome.answer_id
        else:
            side, answer = (outcome.side or outcome.label).upper(), None
            if side not in ("YES", "NO"):
                raise OrderRejected(VENUE, f"outcome {order.outcome!r} is not YES or NO of this market")
        if order.side == OrderSide.SELL:  # sell = buy the opposite side; Manifold nets (redeems) the pair
            side = "NO" if side == "YES" else "YES"
            p = 1 - p
        amount = (order.size * p).quantize(MANA, rounding=ROUND_HALF_UP)
        if amount < 1:
            raise OrderRejected(VENUE, f"Manifold's minimum bet is M1; {order.size} shares at {p} is M{amount}")
        limit_prob = p if side == "YES" else 1 - p
        body: dict[str, Any] = {"contractId": order.market.id, "amount": _num(amount), "outcome": side,
                                "limitProb": _num(limit_prob)}
        if answer:
            body["answerId"] = answer
        tif = TimeInForce(order.time_in_force)
        if tif == TimeInForce.FOK:
            raise OrderRejected(VENUE, "Manifold has no fill-or-kill orders; use GTC, GTD or FAK")
        if tif == TimeInForce.FAK:
            body["expiresMillisAfter"] = 1  # what crosses fills now; the rest expires at once
        expires = self.gtd_expiry(order)
        if expires is not None:
            body["expiresAt"] = int(expires.timestamp() * 1000)
        if dry_run:
            body["dryRun"] = True
        return body

    async def preview(self, order: OrderRequest) -> dict:
        """What the bet would do now (``dryRun``): shares, probAfter, fills. Nothing is placed."""
        resp = await self._call("POST", "/v0/bet", json=self.bet_body(order, dry_run=True), retry=True,
                                expect=(400, 401, 403, 404))
        if resp.status_code >= 400:
            raise OrderRejected(VENUE, self.explain(_msg(resp)), status=resp.status_code)
        return self.http.decode_json(resp) or {}

    # --- Broker protocol ------------------------------------------------------------------------
    async def submit(self, order: OrderRequest) -> OrderState:
        body = self.bet_body(order)
        prior, state = await self.journaled(order.client_order_id)
        if state is not None:
            return state
        if prior is not None:
            body = prior.data.get("body", body)
        sent_at = datetime.now(UTC)
        await self.journal.put(VENUE, order.client_order_id, None,
                               {"body": body, "sent_at_ms": int(sent_at.timestamp() * 1000),
                                "order_side": order.side.value})
        try:
            resp = await self._call("POST", "/v0/bet", json=body, retry=False,
                                    expect=(400, 401, 403, 404, 500, 502, 503, 504))
        except UnknownOrderState as exc:
            raise self.lost(exc, "The bet is journaled; look it up with get_order.") from None
        status = resp.status_code
        if status >= 500:
            text = _msg(resp)
            if status == 503 and ("try betting again" in text.lower() or "conflict" in text.lower()):
                # Manifold's documented retryable refusals: the bet did not happen
                raise OrderRejected(VENUE, f"Manifold was busy ({text}); propose the bet again.", status=status)
            raise UnknownOrderState(VENUE, f"Manifold answered HTTP {status} to the bet; it may or may not have been "
                                    "placed. Look it up with get_order, never bet again blindly.", status=status)
        if status == 401:
            raise OrderRejected(VENUE, "Manifold refused the API key (PM_MCP_MANIFOLD_API_KEY).", status=401)
        if status >= 400:
            raise OrderRejected(VENUE, self.explain(_msg(resp)), status=status)
        data = self.http.decode_json(resp) or {}
        bet_id = str(data.get("betId") or data.get("id") or "")
        if bet_id:
            await self.journal.set_venue_order_id(VENUE, order.client_order_id, bet_id)
        state = await self.get_order(order.client_order_id, bet_id or None)  # from the venue's bet record
        return state or self._state(order.client_order_id, {**data, "id": bet_id}, order.side.value)

    async def _my_bets(self, contract_id: str | None = None, **params: Any) -> list[dict]:
        q: dict[str, Any] = {"userId": await self._user_id(), "limit": 1000, **params}
        if contract_id:
            q["contractId"] = contract_id
        resp = await self._call("GET", "/v0/bets", params=q)
        data = self.http.decode_json(resp)
        return list(data or [])

    async def get_order(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState | None:
        entry = await self.journal.get(VENUE, client_order_id)
        body = entry.data.get("body", {}) if entry else {}
        order_side = entry.data.get("order_side", "buy") if entry else "buy"
        venue_order_id = venue_order_id or (entry.venue_order_id if entry else None)
        if not venue_order_id and entry is None:
            return None
        bets = await self._my_bets(body.get("contractId"))
        if venue_order_id:
            bet = next((b for b in bets if str(b.get("id")) == venue_order_id), None)
            return self._state(client_order_id, bet, order_side) if bet else None
        # no bet id (the answer was lost): the one bet of ours that matches what we sent, after we sent it
        claimed = await self.journal.claimed_venue_ids(VENUE)
        since = int(entry.data.get("sent_at_ms", 0)) - 5_000
        matches = [b for b in bets if str(b.get("id")) not in claimed and int(b.get("createdTime") or 0) >= since
                   and b.get("outcome") == body.get("outcome") and b.get("answerId") == body.get("answerId")
                   and _dec(b.get("limitProb")) == _dec(body.get("limitProb"))
                   and _dec(b.get("orderAmount", b.get("amount"))) == _dec(body.get("amount"))]
        if not matches:
            return None
        matches.sort(key=lambda b: int(b.get("createdTime") or 0))
        bet = matches[0]
        await self.journal.set_venue_order_id(VENUE, client_order_id, str(bet["id"]))
        return self._state(client_order_id, bet, order_side)

    async def cancel(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState:
        state = await self.existing(client_order_id, venue_order_id)
        resp = await self._call("POST", f"/v0/bet/cancel/{state.venue_order_id}", retry=True, expect=(400, 403, 404))
        after = await self.get_order(client_order_id, state.venue_order_id) or state
        if resp.status_code >= 400 and after.status != OrderStatus.CANCELLED:
            after.message = f"not cancelled: {_msg(resp)}"
        return after

    async def open_orders(self) -> list[OrderState]:
        out = []
        for b in await self._my_bets(kinds="open-limit"):
            entry = await self.journal.by_venue_order_id(VENUE, str(b.get("id")))
            out.append(self._state(entry.client_order_id if entry else str(b.get("id")), b,
                                   entry.data.get("order_side", "buy") if entry else "buy"))
        return out

    # --- mapping --------------------------------------------------------------------------------
    def _state(self, client_order_id: str, bet: dict, order_side: str = "buy") -> OrderState:
        fills = []
        for i, f in enumerate(bet.get("fills") or []):
            shares, amount = _dec(f.get("shares")), _dec(f.get("amount"))
            if shares <= 0:
                continue
            price = amount / shares
            fee = sum((_dec(v) for v in (f.get("fees") or {}).values()), Decimal(0))
            at = datetime.fromtimestamp(int(f["timestamp"]) / 1000, UTC) if f.get("timestamp") else None
            if order_side == "sell":  # we bought the opposite side: report in the terms of what was sold
                price = 1 - price
            fills.append(Fill(fill_id=f"{bet.get('id')}:{i}", price=price, size=shares, fee=fee, at=at))
        filled, avg, fees = fill_totals(fills)
        limit = bet.get("limitProb")
        if bet.get("isCancelled"):
            status = OrderStatus.CANCELLED
        elif bet.get("isFilled") or limit is None:
            status = OrderStatus.FILLED
        elif filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        else:
            status = OrderStatus.OPEN
        expires = bet.get("expiresAt")
        if status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED) and expires and \
                datetime.fromtimestamp(int(expires) / 1000, UTC) < datetime.now(UTC) - timedelta(seconds=1):
            status = OrderStatus.EXPIRED
        return OrderState(client_order_id=client_order_id, venue_order_id=str(bet.get("id") or "") or None,
                          status=status, filled_size=filled, average_price=avg, fees_paid=fees, fills=fills,
                          message=f"M{bet.get('amount')} of M{bet.get('orderAmount', bet.get('amount'))} filled",
                          raw={"bet": bet})


def _msg(resp) -> str:
    return answer_text(resp, ("message", "error"), limit=300)
