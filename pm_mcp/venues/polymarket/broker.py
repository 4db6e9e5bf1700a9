"""Live Polymarket broker (CLOB V2): signed orders, cancel, open orders, order lookup by hash, trades.

The order hash (= the CLOB's order id) is known before the request leaves: it is journaled with the
exact signed body, so a timeout, a dropped response or a crash is resolved by looking the hash up,
and a second submit of the same client order id re-sends the identical signed bytes only when the
CLOB has no such order. Fills are read from the CLOB's order and trade records, never from a
success flag. Secrets (private key, API secret, passphrase) stay in this object; no message carries them.
The journaled body carries ``OWNER_PLACEHOLDER`` where the CLOB wants the L2 API key (``"owner"``, which is
not part of the EIP-712 signature): the key is put back when the body is (re)sent, so the database never
holds it. The L2 credentials are registered with pm_mcp.redaction, so no log line shows them either.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pm_mcp.domain.orders import Fill, OrderRequest, OrderSide, OrderState, OrderStatus, TimeInForce
from pm_mcp.venues.base import Blocked, NotFound, OrderRejected, UnknownOrderState, VenueError
from pm_mcp.venues.live_broker import LiveBroker, answer_text, fill_totals
from pm_mcp.venues.live_broker import amount as _dec
from pm_mcp.venues.polymarket.signing import (
    MIN_ORDER_SIZE,
    ApiCreds,
    PrivateKey,
    SignatureType,
    build_order,
    dumps,
    l1_headers,
    l2_headers,
    order_body,
    sign_order,
)

log = logging.getLogger(__name__)
VENUE = "polymarket"
END_CURSOR = "LTE="
OWNER_PLACEHOLDER = "<l2-api-key>"


def _register(creds: ApiCreds | None) -> None:
    from pm_mcp.redaction import register_secrets

    if creds is not None:
        register_secrets([creds.api_key, creds.secret, creds.passphrase])


def journal_body(body: str, owner: str) -> str:
    """The body as journaled: the L2 API key (the order's "owner") replaced by OWNER_PLACEHOLDER."""
    return body.replace(f'"owner":"{owner}"', f'"owner":"{OWNER_PLACEHOLDER}"', 1) if owner else body


def wire_body(stored: str, owner: str) -> str:
    """The journaled body with the current L2 API key back in (a body journaled before the placeholder
    existed is sent as it is)."""
    return stored.replace(f'"owner":"{OWNER_PLACEHOLDER}"', f'"owner":"{owner}"', 1)

# the CLOB's rejection texts -> what a person should do (research/polymarket.md §5.7)
_REJECTIONS: list[tuple[str, str]] = [
    ("not enough balance", "not enough pUSD balance or allowance. Since the 2026-04-28 V2 cutover only pUSD is "
                           "collateral: wrap USDC.e into pUSD and approve the V2 exchange, the NegRisk V2 exchange "
                           "and the NegRisk Adapter (run `doctor`)."),
    ("invalid signature", "invalid signature: the wallet type or funder does not match your account. Email/Magic "
                          "accounts use PM_MCP_POLYMARKET_SIGNATURE_TYPE=1, browser wallets 2, deposit wallets 3, "
                          "each with PM_MCP_POLYMARKET_FUNDER set to your Polymarket wallet address."),
    ("order_version_mismatch", "the CLOB wants a newer order version; upgrade pm-mcp."),
    ("invalid order version", "the CLOB wants a newer order version; upgrade pm-mcp."),
    ("maker address not allowed", "this account must trade through its deposit wallet: set "
                                  "PM_MCP_POLYMARKET_SIGNATURE_TYPE=3 and PM_MCP_POLYMARKET_FUNDER to it."),
    ("has to be the address of the api key", "the API key belongs to another address than the order signer; "
                                             "unset the PM_MCP_POLYMARKET_API_* values so they are derived again."),
    ("tick", "the price is not on the market's tick size (it may have changed): propose the order again."),
    ("invalid price", "the price is not valid for this market's tick size (it may have changed): propose again."),
    ("minimum", "the order is below the market's minimum size (usually 5 shares)."),
    ("lower than the minimum", "the order is below the market's minimum size (usually 5 shares)."),
    ("restricted", "Polymarket does not accept orders from this region (geoblock)."),
    ("geoblock", "Polymarket does not accept orders from this region (geoblock)."),
    ("fok orders are fully filled or killed", "the fill-or-kill order could not be filled completely at the "
                                              "limit; nothing was bought or sold."),
    ("no orders found to match with fak", "nothing was available at the limit price; nothing was bought or sold."),
    ("crosses book", "the post-only order would have crossed the book."),
    ("trading is currently disabled", "Polymarket has paused trading; try again later."),
    ("cancel-only", "Polymarket is in cancel-only mode; try again later."),
    ("closed", "the market is closed."),
]


class PolymarketBroker(LiveBroker):
    venue = VENUE
    rejections = _REJECTIONS

    def __init__(self, *, http, key: PrivateKey, signature_type: int = 0, funder: str | None = None,
                 creds: ApiCreds | None = None, chain_id: int = 137, journal=None, api_key_nonce: int = 0):
        super().__init__(http=http, journal=journal)  # VenueHttp at the CLOB base URL
        self.key = key
        self.signature_type = SignatureType(int(signature_type))
        self.funder = funder
        self._creds = creds
        _register(creds)
        self.chain_id = chain_id
        self.api_key_nonce = api_key_nonce

    # --- auth ---------------------------------------------------------------------------------
    async def ensure_creds(self) -> ApiCreds:
        """The L2 credentials: configured, or derived (then created) with an L1 ClobAuth signature."""
        if self._creds is not None:
            return self._creds
        data = None
        try:
            data = await self.http.request_json("GET", "/auth/derive-api-key",
                                                headers=l1_headers(self.key, nonce=self.api_key_nonce,
                                                                   chain_id=self.chain_id), retry=False)
        except (NotFound, VenueError) as exc:
            if isinstance(exc, Blocked) or getattr(exc, "status", None) not in (400, 404):
                raise self._auth_error(exc) from None
        if not (isinstance(data, dict) and data.get("apiKey")):
            try:
                data = await self.http.request_json("POST", "/auth/api-key",
                                                    headers=l1_headers(self.key, nonce=self.api_key_nonce,
                                                                       chain_id=self.chain_id), retry=False)
            except VenueError as exc:
                raise self._auth_error(exc) from None
        if not (isinstance(data, dict) and data.get("apiKey") and data.get("secret") and data.get("passphrase")):
            raise VenueError(VENUE, "Polymarket did not return API credentials for this wallet.")
        self._creds = ApiCreds(str(data["apiKey"]), str(data["secret"]), str(data["passphrase"]))
        _register(self._creds)
        log.info("polymarket: derived L2 API credentials for %s", self.key.address)
        return self._creds

    def _auth_error(self, exc: VenueError) -> VenueError:
        if isinstance(exc, Blocked):
            return exc
        return VenueError(VENUE, f"could not get Polymarket API credentials with this private key ({exc}). "
                          "Check PM_MCP_POLYMARKET_PRIVATE_KEY(_FILE) and the clock.", status=exc.status)

    async def _signed(self, method: str, path: str, *, body: str | None = None, params: dict | None = None,
                      expect: tuple[int, ...] = (), retry: bool | None = None):
        creds = await self.ensure_creds()
        headers = l2_headers(self.key.address, creds, method, path, body)
        if body is not None:
            headers["Content-Type"] = "application/json"
        return await self.http.request(method, path, params=params, content=body, headers=headers,
                                       expect=expect, retry=retry)

    async def _get(self, path: str, params: dict | None = None, expect: tuple[int, ...] = ()) -> Any:
        resp = await self._signed("GET", path, params=params, expect=expect)
        return resp

    # --- Broker protocol ------------------------------------------------------------------------
    async def submit(self, order: OrderRequest) -> OrderState:
        prior, state = await self.journaled(order.client_order_id)  # a second submit: ask the CLOB first
        if state is not None:
            return state
        if prior is not None:
            owner = (await self.ensure_creds()).api_key
            return await self._post(order.client_order_id, prior.venue_order_id, wire_body(prior.data["body"], owner))
        owner = (await self.ensure_creds()).api_key
        body, order_hash = self.prepare(order, owner)
        await self.journal.put(VENUE, order.client_order_id, order_hash,
                               {"body": journal_body(body, owner), "token_id": self._token(order),
                                "side": order.side.value})
        if order.side == OrderSide.SELL:
            await self.refresh_conditional_balance(self._token(order))
        return await self._post(order.client_order_id, order_hash, body)

    async def refresh_conditional_balance(self, token_id: str) -> None:
        """Ask the CLOB to re-read this wallet's shares of ``token_id``. Its cached balance is not raised
        by a fill, so a SELL right after a BUY is refused ("not enough balance / allowance") until this is
        called. Idempotent and harmless; a failure here only means the SELL may meet that refusal."""
        try:
            await self._get("/balance-allowance/update",
                            params={"asset_type": "CONDITIONAL", "token_id": token_id,
                                    "signature_type": int(self.signature_type)})
        except Exception as exc:  # noqa: BLE001 - best effort before a sell
            log.debug("balance-allowance update before a sell failed: %s", type(exc).__name__)

    def prepare(self, order: OrderRequest, owner: str) -> tuple[str, str]:
        """(exact JSON body, order hash) for an OrderRequest; OrderRejected (with what to fix) if invalid."""
        m = order.market
        token = self._token(order)
        min_size = m.min_order_size if m.min_order_size and m.min_order_size > 1 else MIN_ORDER_SIZE
        if order.size < min_size:
            raise OrderRejected(VENUE, f"Polymarket's minimum is {min_size} shares for this market; the order is "
                                f"for {order.size}. Propose at least {min_size} shares.")
        tif = TimeInForce(order.time_in_force)
        expiration = 0
        expires = self.gtd_expiry(order)
        if expires is not None:
            expiration = int(expires.timestamp())
            if expiration < int(datetime.now(UTC).timestamp()) + 60:
                raise OrderRejected(VENUE, "Polymarket needs a GTD expiry at least 60 seconds ahead "
                                    "(it keeps a one-minute safety margin)")
        try:
            unsigned = build_order(token_id=token, side="BUY" if order.side == OrderSide.BUY else "SELL",
                                   price=order.limit_price, size=order.size, tick_size=m.tick_size,
                                   neg_risk=m.neg_risk, signer_address=self.key.address,
                                   signature_type=self.signature_type, funder=self.funder, expiration=expiration,
                                   chain_id=self.chain_id)
            signed = sign_order(unsigned, self.key)
            body = dumps(order_body(signed, owner, tif.value))
        except ValueError as exc:
            raise OrderRejected(VENUE, f"the order cannot be signed as it is: {exc}") from None
        return body, signed.order_hash

    def _token(self, order: OrderRequest) -> str:
        outcome = self.outcome_of(order)
        if not outcome.token_id:
            raise OrderRejected(VENUE, f"outcome {order.outcome!r} has no CLOB token id; fetch the market again")
        return outcome.token_id

    async def _post(self, client_order_id: str, order_hash: str, body: str) -> OrderState:
        try:
            resp = await self._signed("POST", "/order", body=body, retry=False,
                                      expect=(400, 401, 403, 500, 502, 503, 504))
        except UnknownOrderState as exc:
            raise self.lost(exc, f"Order hash {order_hash} is journaled; look it up with get_order before doing "
                            "anything else.") from None
        status = resp.status_code
        if status >= 500:
            if status == 503 and b"disabled" in resp.content.lower():
                raise OrderRejected(VENUE, self.explain(_error_text(resp)), status=status)
            raise UnknownOrderState(VENUE, f"Polymarket answered HTTP {status} to the order; it may or may not "
                                    f"have been accepted. Order hash {order_hash} is journaled: look it up with "
                                    "get_order, never resubmit blindly.", status=status)
        if status == 401:
            raise OrderRejected(VENUE, "Polymarket refused our API credentials (401). Unset PM_MCP_POLYMARKET_API_KEY/"
                                "_SECRET/_PASSPHRASE to derive them again from the private key, or fix them.",
                                status=401)
        if status in (400, 403):
            text = _error_text(resp)
            cls = Blocked if status == 403 and ("region" in text.lower() or "geoblock" in text.lower()) \
                else OrderRejected
            raise cls(VENUE, self.explain(text), status=status)
        data = self.http.decode_json(resp) or {}
        if not data.get("success", True) or data.get("errorMsg"):
            msg = data.get("errorMsg") or "the order was not accepted"
            raise OrderRejected(VENUE, self.explain(msg), status=status)
        venue_id = str(data.get("orderID") or order_hash)
        if venue_id.lower() != order_hash.lower():
            log.warning("polymarket: CLOB order id %s differs from our hash %s", venue_id, order_hash)
            await self.journal.set_venue_order_id(VENUE, client_order_id, venue_id)
        # Fills are verified from the CLOB's own records, not from this acknowledgement.
        return await self.accepted(client_order_id, venue_id, data,
                                   f"accepted ({data.get('status')}); not yet visible in the order records")

    async def get_order(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState | None:
        if venue_order_id is None:
            entry = await self.journal.get(VENUE, client_order_id)
            if entry is None or not entry.venue_order_id:
                return None  # never sent by this broker: the venue cannot have it
            venue_order_id = entry.venue_order_id
        resp = await self._get(f"/data/order/{venue_order_id}", expect=(400, 404))
        if resp.status_code in (400, 404):
            return None
        data = self.http.decode_json(resp)
        if not data or not isinstance(data, dict) or not data.get("id"):
            return None
        return await self._state(client_order_id, data)

    async def cancel(self, client_order_id: str, venue_order_id: str | None = None) -> OrderState:
        if venue_order_id is None:
            entry = await self.journal.get(VENUE, client_order_id)
            if entry is None or not entry.venue_order_id:
                raise NotFound(VENUE, f"no Polymarket order was sent for {client_order_id}")
            venue_order_id = entry.venue_order_id
        body = dumps({"orderID": venue_order_id})
        resp = await self._signed("DELETE", "/order", body=body, retry=True, expect=(400,))
        data = self.http.decode_json(resp) or {}
        state = await self.get_order(client_order_id, venue_order_id)
        if state is None:
            raise NotFound(VENUE, f"Polymarket has no order {venue_order_id}")
        not_canceled = (data.get("not_canceled") or {}) if isinstance(data, dict) else {}
        if venue_order_id in not_canceled and state.status not in (OrderStatus.CANCELLED,):
            state.message = f"not cancelled: {not_canceled[venue_order_id]}"
        elif resp.status_code == 400:
            state.message = f"cancel refused: {_error_text(resp)}"
        return state

    async def open_orders(self) -> list[OrderState]:
        out: list[OrderState] = []
        cursor = "MA=="
        for _ in range(50):
            resp = await self._get("/data/orders", params={"next_cursor": cursor})
            data = self.http.decode_json(resp) or {}
            rows = data.get("data", []) if isinstance(data, dict) else data
            for row in rows or []:
                entry = await self.journal.by_venue_order_id(VENUE, row.get("id"))
                out.append(await self._state(entry.client_order_id if entry else row.get("id"), row,
                                             with_trades=False))
            cursor = data.get("next_cursor") if isinstance(data, dict) else None
            if not cursor or cursor == END_CURSOR:
                break
        return out

    async def trades(self, **params: str) -> list[dict]:
        """Our trades (``GET /data/trades``; filters: id, maker_address, market, asset_id, before, after)."""
        out: list[dict] = []
        cursor = "MA=="
        for _ in range(50):
            resp = await self._get("/data/trades", params={**params, "next_cursor": cursor})
            data = self.http.decode_json(resp) or {}
            out.extend(data.get("data", []) if isinstance(data, dict) else data or [])
            cursor = data.get("next_cursor") if isinstance(data, dict) else None
            if not cursor or cursor == END_CURSOR:
                break
        return out

    async def balance_allowance(self, asset_type: str = "COLLATERAL", token_id: str | None = None) -> dict:
        params = {"asset_type": asset_type, "signature_type": int(self.signature_type)}
        if token_id:
            params["token_id"] = token_id
        resp = await self._get("/balance-allowance", params=params)
        return self.http.decode_json(resp) or {}

    # --- mapping --------------------------------------------------------------------------------
    async def _state(self, client_order_id: str, o: dict, with_trades: bool = True) -> OrderState:
        oid = str(o.get("id"))
        original = _dec(o.get("original_size"))
        matched = _dec(o.get("size_matched"))
        raw_status = str(o.get("status") or "").upper()
        fills: list[Fill] = []
        if with_trades and (matched > 0 or o.get("associate_trades")):
            for tid in o.get("associate_trades") or []:
                for t in await self.trades(id=str(tid)):
                    f = _fill_for(oid, t)
                    if f is not None and all(x.fill_id != f.fill_id for x in fills):
                        fills.append(f)
        size, avg, fees = fill_totals(fills)
        filled = size if fills else matched
        if raw_status in ("CANCELED", "CANCELLED", "CANCELED_MARKET_RESOLVED", "UNMATCHED"):
            status = OrderStatus.CANCELLED
        elif raw_status == "INVALID":
            status = OrderStatus.REJECTED
        elif original > 0 and filled >= original:
            status = OrderStatus.FILLED
        elif raw_status == "MATCHED":
            # matched but short of the original size: a FAK whose remainder the CLOB cancelled
            status = OrderStatus.CANCELLED if filled > 0 else OrderStatus.PENDING
        elif filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        elif raw_status in ("LIVE", "DELAYED"):
            status = OrderStatus.OPEN
        else:
            status = OrderStatus.UNKNOWN
        return OrderState(client_order_id=client_order_id, venue_order_id=oid, status=status, filled_size=filled,
                          average_price=avg, fees_paid=fees, fills=fills,
                          message=f"CLOB status {raw_status.lower() or 'unknown'}", raw={"order": o})


def _fill_for(order_id: str, t: dict) -> Fill | None:
    """Our part of a trade: the whole trade when we were the taker, our maker_orders entry otherwise."""
    price = _dec(t.get("price"))
    at = None
    if t.get("match_time"):
        try:
            at = datetime.fromtimestamp(int(t["match_time"]), UTC)
        except (TypeError, ValueError):
            at = None
    rate = _dec(t.get("fee_rate_bps")) / Decimal(10_000)
    if str(t.get("taker_order_id", "")).lower() == order_id.lower():
        size = _dec(t.get("size"))
        fee = (size * rate * price * (1 - price)).quantize(Decimal("0.00001")) if rate else Decimal(0)
        return Fill(fill_id=str(t.get("id")), price=price, size=size, fee=fee, at=at)
    for mo in t.get("maker_orders") or []:
        if str(mo.get("order_id", "")).lower() == order_id.lower():
            return Fill(fill_id=f"{t.get('id')}:{order_id[:10]}", price=_dec(mo.get("price") or price),
                        size=_dec(mo.get("matched_amount")), fee=Decimal(0), at=at)
    return None


def _error_text(resp) -> str:
    return answer_text(resp, ("error", "errorMsg", "message"))

