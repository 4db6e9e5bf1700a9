"""Kalshi trading endpoints for the simulator: a strict counterparty (plugin of tools/sim/kalshi.py).

Every portfolio call must carry a valid RSA-PSS (or Ed25519) signature over ``ms timestamp + METHOD +
path`` by a registered key (``register_key(sim, key_id, public_pem, balance="1000")``). Orders:

    POST   /trade-api/v2/portfolio/events/orders          V2 create; client_order_id idempotency (409)
    DELETE /trade-api/v2/portfolio/events/orders/{id}     cancel
    GET    /trade-api/v2/portfolio/orders[/{id}], /portfolio/fills, /portfolio/positions, /portfolio/balance

Prices must be on the market's ``price_ranges`` grid, counts whole contracts; orders match against
the sim's book (YES bids and NO bids, best LAST; a NO bid at q is a YES ask at 1 - q), consuming it.
Taker fee per fill: ceil to the cent of 0.07 x C x P x (1 - P). Post-accept faults:
tools/sim/trading_faults.py. Helpers: ``orders(sim)``, ``fill_resting(sim, order_id, count)``.
"""

from __future__ import annotations

import copy
import time
import uuid
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from pm_mcp.venues.kalshi import signing as ks
from tools.sim.base import Sim, SimRequest, SimResponse
from tools.sim.trading_faults import apply_after_accept

API = "/trade-api/v2"
SKEW_MS = 60_000
CENT = Decimal("0.01")


def _err(status: int, code: str, message: str) -> SimResponse:
    return SimResponse.json({"error": {"code": code, "message": message}}, status)


class _Fail(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.resp = _err(status, code, message)


def _st(sim: Sim) -> dict:
    return sim.state.setdefault("kalshi_trading", {"keys": {}, "orders": {}, "fills": [], "by_cid": {}})


def register_key(sim: Sim, key_id: str, public_pem: bytes | str, *, balance: str = "1000") -> None:
    _st(sim)["keys"][key_id] = {"pem": public_pem, "balance": Decimal(balance), "positions": {}, "reserved": {}}


def orders(sim: Sim) -> list[dict]:
    return list(_st(sim)["orders"].values())


def _auth(req: SimRequest) -> tuple[str, dict]:
    st = _st(req.sim)
    kid = req.headers.get("kalshi-access-key", "")
    acct = st["keys"].get(kid)
    if acct is None:
        raise _Fail(401, "authentication_error", "unknown API key")
    try:
        ts = int(req.headers.get("kalshi-access-timestamp", ""))
    except ValueError:
        raise _Fail(401, "authentication_error", "missing or invalid timestamp") from None
    if abs(time.time() * 1000 - ts) > SKEW_MS:
        raise _Fail(401, "authentication_error", "timestamp outside the allowed window")
    if not ks.verify(acct["pem"], req.headers, req.method, req.path):
        raise _Fail(401, "authentication_error", "invalid signature")
    return kid, acct


def _wrap(handler):
    def run(req: SimRequest):
        try:
            return handler(req)
        except _Fail as exc:
            return exc.resp
    run.__name__ = handler.__name__
    return run


def _book(sim: Sim, ticker: str) -> dict:
    from tools.sim.kalshi import _synthetic_book

    books = sim.state.setdefault("books", {})
    if ticker not in books:
        books[ticker] = _synthetic_book(sim.state["markets"][ticker])
    return books[ticker]["orderbook_fp"]


def _on_grid(m: dict, price: Decimal) -> bool:
    ranges = m.get("price_ranges") or [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]
    for r in ranges:
        start, end, step = Decimal(r["start"]), Decimal(r["end"]), Decimal(r["step"])
        if start <= price <= end and (price - start) % step == 0:
            return True
    return False


def _fee(count: Decimal, price: Decimal) -> Decimal:
    return (Decimal("0.07") * count * price * (1 - price)).quantize(CENT, rounding=ROUND_CEILING)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _dstr(x: Decimal, dp: int = 4) -> str:
    return f"{x:.{dp}f}"


def create_order(req: SimRequest) -> Any:
    sim = req.sim
    st = _st(sim)
    kid, acct = _auth(req)
    body = req.json()
    if not isinstance(body, dict):
        raise _Fail(400, "invalid_parameters", "body must be a JSON object")
    for field in ("ticker", "client_order_id", "side", "count", "price", "time_in_force",
                  "self_trade_prevention_type"):
        if not body.get(field):
            raise _Fail(400, "invalid_parameters", f"{field} is required")
    cid = str(body["client_order_id"])
    if (kid, cid) in st["by_cid"]:
        raise _Fail(409, "order_already_exists", "an order with this client_order_id already exists")
    m = sim.state.get("markets", {}).get(body["ticker"])
    if m is None:
        raise _Fail(404, "market_not_found", "market not found")
    if str(m.get("status")) not in ("active", "open"):
        raise _Fail(400, "market_closed", "market is not open for trading")
    side = body["side"]
    tif = body["time_in_force"]
    if side not in ("bid", "ask") or tif not in ("good_till_canceled", "fill_or_kill", "immediate_or_cancel"):
        raise _Fail(400, "invalid_parameters", "side must be bid|ask; time_in_force as documented")
    try:
        count, price = Decimal(str(body["count"])), Decimal(str(body["price"]))
    except InvalidOperation:
        raise _Fail(400, "invalid_parameters", "count and price must be decimal strings") from None
    if count < 1 or count != count.to_integral_value():
        raise _Fail(400, "invalid_count", "count must be a whole number of contracts, at least 1")
    if not (0 < price < 1) or not _on_grid(m, price):
        raise _Fail(400, "invalid_price", "invalid price")
    # collateral: a bid risks price per contract, an ask (= buying NO) risks 1 - price
    per = price if side == "bid" else 1 - price
    reserved = sum(acct["reserved"].values(), Decimal(0))
    if acct["balance"] - reserved < count * per + _fee(count, price):
        raise _Fail(400, "insufficient_balance", "insufficient balance")
    book = _book(sim, m["ticker"])
    # a bid takes NO bids at q >= 1 - price (filled at YES 1 - q); an ask takes YES bids >= price
    levels = book["no_dollars"] if side == "bid" else book["yes_dollars"]

    def yes_of(level_price: Decimal) -> Decimal:
        return 1 - level_price if side == "bid" else level_price

    def crosses(level_price: Decimal) -> bool:
        return yes_of(level_price) <= price if side == "bid" else level_price >= price

    available = sum((Decimal(q) for p, q in levels if crosses(Decimal(p))), Decimal(0))
    if tif == "fill_or_kill" and available < count:
        raise _Fail(400, "fill_or_kill_insufficient_resting_volume", "fill_or_kill order could not be fully filled")
    oid = str(uuid.uuid4())
    remaining = count
    filled_cost = Decimal(0)
    fees = Decimal(0)
    while remaining > 0 and levels and crosses(Decimal(levels[-1][0])):
        lp, lq = Decimal(levels[-1][0]), Decimal(levels[-1][1])
        take = min(lq, remaining)
        remaining -= take
        if take == lq:
            levels.pop()
        else:
            levels[-1][1] = _dstr(lq - take, 2)
        yes = yes_of(lp)
        fee = _fee(take, yes)
        fees += fee
        filled_cost += take * (yes if side == "bid" else 1 - yes)
        _record_fill(st, kid, oid, m["ticker"], side, take, yes, fee, is_taker=True)
    filled = count - remaining
    acct["balance"] -= filled_cost + fees
    pos = acct["positions"].setdefault(m["ticker"], Decimal(0))
    acct["positions"][m["ticker"]] = pos + (filled if side == "bid" else -filled)
    rests = remaining > 0 and tif == "good_till_canceled"
    if rests:
        acct["reserved"][oid] = remaining * per
    status = "resting" if rests else ("executed" if remaining == 0 else "canceled")
    now = _now_iso()
    order = {
        "order_id": oid, "user_id": kid, "client_order_id": cid, "ticker": m["ticker"],
        "outcome_side": "yes" if side == "bid" else "no", "book_side": side, "type": "limit", "status": status,
        "yes_price_dollars": _dstr(price), "no_price_dollars": _dstr(1 - price),
        "fill_count_fp": _dstr(filled, 2), "remaining_count_fp": _dstr(remaining if rests else Decimal(0), 2),
        "initial_count_fp": _dstr(count, 2), "taker_fill_cost_dollars": _dstr(filled_cost),
        "maker_fill_cost_dollars": "0.0000", "taker_fees_dollars": _dstr(fees), "maker_fees_dollars": "0.0000",
        "expiration_time": body.get("expiration_time"), "created_time": now, "last_update_time": now,
        "self_trade_prevention_type": body["self_trade_prevention_type"],
    }
    st["orders"][oid] = order
    st["by_cid"][(kid, cid)] = oid
    resp = SimResponse.json({
        "order_id": oid, "client_order_id": cid, "fill_count": _dstr(filled, 2),
        "remaining_count": order["remaining_count_fp"],
        "average_fill_price": _dstr(filled_cost / filled) if filled else None,
        "average_fee_paid": _dstr(fees / filled) if filled else None, "ts_ms": int(time.time() * 1000)}, 201)
    return apply_after_accept(sim, resp)


def _record_fill(st: dict, kid: str, oid: str, ticker: str, side: str, count: Decimal, yes: Decimal, fee: Decimal,
                 *, is_taker: bool) -> None:
    st["fills"].append({
        "fill_id": str(uuid.uuid4()), "trade_id": str(uuid.uuid4()), "order_id": oid, "ticker": ticker,
        "outcome_side": "yes" if side == "bid" else "no", "book_side": side, "count_fp": _dstr(count, 2),
        "yes_price_dollars": _dstr(yes), "no_price_dollars": _dstr(1 - yes), "is_taker": is_taker,
        "fee_cost": _dstr(fee), "created_time": _now_iso(), "ts": int(time.time()), "_user": kid,
    })


def fill_resting(sim: Sim, order_id: str, count: str | Decimal) -> None:
    """A counterparty takes ``count`` contracts of our resting order at its price (maker fill, no fee)."""
    st = _st(sim)
    o = st["orders"][order_id]
    count = Decimal(str(count))
    rem = Decimal(o["remaining_count_fp"])
    if o["status"] != "resting" or count > rem:
        raise ValueError("order is not resting with that many contracts")
    acct = st["keys"][o["user_id"]]
    yes = Decimal(o["yes_price_dollars"])
    per = yes if o["book_side"] == "bid" else 1 - yes
    acct["reserved"][order_id] -= count * per
    acct["balance"] -= count * per
    delta = count if o["book_side"] == "bid" else -count
    acct["positions"][o["ticker"]] = acct["positions"].get(o["ticker"], Decimal(0)) + delta
    _record_fill(st, o["user_id"], order_id, o["ticker"], o["book_side"], count, yes, Decimal(0), is_taker=False)
    o["fill_count_fp"] = _dstr(Decimal(o["fill_count_fp"]) + count, 2)
    o["remaining_count_fp"] = _dstr(rem - count, 2)
    o["maker_fill_cost_dollars"] = _dstr(Decimal(o["maker_fill_cost_dollars"]) + count * per)
    if rem - count == 0:
        o["status"] = "executed"
        acct["reserved"].pop(order_id, None)


def _public(x: dict) -> dict:
    return {k: v for k, v in x.items() if not k.startswith("_")}


def cancel_order(req: SimRequest) -> Any:
    kid, acct = _auth(req)
    st = _st(req.sim)
    o = st["orders"].get(req.params["order_id"])
    if o is None or o["user_id"] != kid:
        raise _Fail(404, "not_found", "order not found")
    if o["status"] != "resting":
        raise _Fail(400, "order_not_resting", f"order is {o['status']}")
    reduced = Decimal(o["remaining_count_fp"])
    o["status"] = "canceled"
    o["remaining_count_fp"] = "0.00"
    o["last_update_time"] = _now_iso()
    acct["reserved"].pop(o["order_id"], None)
    return {"order_id": o["order_id"], "client_order_id": o["client_order_id"], "reduced_by": _dstr(reduced, 2),
            "ts_ms": int(time.time() * 1000)}


def get_order(req: SimRequest) -> Any:
    kid, _ = _auth(req)
    o = _st(req.sim)["orders"].get(req.params["order_id"])
    if o is None or o["user_id"] != kid:
        raise _Fail(404, "not_found", "order not found")
    return {"order": copy.deepcopy(o)}


def list_orders(req: SimRequest) -> Any:
    kid, _ = _auth(req)
    rows = [copy.deepcopy(o) for o in _st(req.sim)["orders"].values() if o["user_id"] == kid
            and (not req.arg("ticker") or o["ticker"] == req.arg("ticker"))
            and (not req.arg("status") or o["status"] == req.arg("status"))]
    rows.sort(key=lambda o: o["created_time"], reverse=True)
    return {"orders": rows, "cursor": ""}


def list_fills(req: SimRequest) -> Any:
    kid, _ = _auth(req)
    rows = [_public(f) for f in _st(req.sim)["fills"] if f["_user"] == kid
            and (not req.arg("order_id") or f["order_id"] == req.arg("order_id"))
            and (not req.arg("ticker") or f["ticker"] == req.arg("ticker"))]
    return {"fills": rows, "cursor": ""}


def positions(req: SimRequest) -> Any:
    _, acct = _auth(req)
    rows = [{"ticker": t, "position_fp": _dstr(p, 2), "total_traded_dollars": "0.0000",
             "market_exposure_dollars": "0.0000", "realized_pnl_dollars": "0.0000", "fees_paid_dollars": "0.0000",
             "last_updated_ts": _now_iso()} for t, p in acct["positions"].items() if p != 0]
    return {"market_positions": rows, "event_positions": [], "cursor": ""}


def balance(req: SimRequest) -> Any:
    _, acct = _auth(req)
    avail = acct["balance"] - sum(acct["reserved"].values(), Decimal(0))
    return {"balance": int((avail * 100).to_integral_value(rounding="ROUND_FLOOR")),
            "balance_dollars": _dstr(avail), "portfolio_value": 0, "updated_ts": int(time.time())}


def install(sim: Sim, **_: Any) -> None:
    _st(sim)
    sim.add_route("POST", f"{API}/portfolio/events/orders", _wrap(create_order))
    sim.add_route("DELETE", f"{API}/portfolio/events/orders/{{order_id}}", _wrap(cancel_order))
    sim.add_route("GET", f"{API}/portfolio/orders", _wrap(list_orders))
    sim.add_route("GET", f"{API}/portfolio/orders/{{order_id}}", _wrap(get_order))
    sim.add_route("GET", f"{API}/portfolio/fills", _wrap(list_fills))
    sim.add_route("GET", f"{API}/portfolio/positions", _wrap(positions))
    sim.add_route("GET", f"{API}/portfolio/balance", _wrap(balance))
