"""Polymarket CLOB V2 trading endpoints for the simulator: a strict counterparty.

Installed automatically after tools/sim/polymarket.py (plugin ``polymarket_*``). On the CLOB prefix:

    GET  /auth/derive-api-key, POST /auth/api-key   L1: the ClobAuth EIP-712 signature is recovered
    POST /order                                     L2 HMAC; EIP-712 order signature recovered and checked
                                                    against maker/signer for its signature type; tick,
                                                    amounts, 5-share minimum, balance/allowance, geoblock;
                                                    matched against the sim's book (liquidity consumed)
    GET  /data/order/{hash}, GET /data/orders, GET /data/trades, DELETE /order
    GET  /balance-allowance                          pUSD balance (base units) and the V2 allowances
    GET  /balance-allowance/update                   refresh the cached balances (the CLOB view is stale after a fill)
and ``GET /api/geoblock`` at the root (the real one is on polymarket.com).

Test helpers: ``register_wallet(sim, eoa, funder=..., signature_type=..., balance="1000")``,
``set_geoblocked(sim, True)``, ``orders(sim)`` (every order the venue holds), ``fill_resting(sim,
order_hash, size)`` (a counterparty hits a resting order). Post-accept faults: tools/sim/trading_faults.py.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from decimal import Decimal
from typing import Any

from pm_mcp.venues.polymarket import signing as ps
from tools.sim.base import HttpError, Sim, SimRequest
from tools.sim.trading_faults import apply_after_accept

CLOB = "/clob"
AUTH_WINDOW_S = 300
UNAUTHORIZED = "Unauthorized/Invalid api key"
GEOBLOCK_MSG = ("Trading restricted in your region, please refer to available regions - "
                "https://docs.polymarket.com/developers/CLOB/geoblock")
BASE = Decimal(10) ** 6


def _st(sim: Sim) -> dict:
    return sim.state.setdefault("pm_trading", {"wallets": {}, "api_keys": {}, "orders": {}, "trades": {},
                                               "geoblocked": False})


def register_wallet(sim: Sim, eoa: str, *, funder: str | None = None, signature_type: int = 0,
                    balance: str | Decimal = "1000", approved: bool = True,
                    positions: dict[str, str] | None = None) -> None:
    """An account: the EOA that signs, the wallet that holds the funds (funder; = EOA for type 0)."""
    _st(sim)["wallets"][eoa.lower()] = {
        "eoa": ps.checksum(eoa), "funder": ps.checksum(funder) if funder else ps.checksum(eoa),
        "signature_type": int(signature_type), "balance": Decimal(str(balance)), "reserved": Decimal(0),
        "approved": approved, "positions": {k: Decimal(v) for k, v in (positions or {}).items()},
        # The CLOB's cached view of the conditional-token balances: like the real one it is NOT raised by
        # a fill, so a SELL right after a BUY is refused ("not enough balance / allowance") until the
        # client calls GET /balance-allowance/update?asset_type=CONDITIONAL&token_id=...
        "clob_view": {k: Decimal(v) for k, v in (positions or {}).items()},
    }


def set_geoblocked(sim: Sim, blocked: bool = True) -> None:
    _st(sim)["geoblocked"] = blocked


def orders(sim: Sim) -> list[dict]:
    return list(_st(sim)["orders"].values())


# --- auth ------------------------------------------------------------------------------------------
def _l1(req: SimRequest) -> tuple[str, int]:
    h = req.headers
    try:
        address, sig, ts, nonce = h["poly_address"], h["poly_signature"], int(h["poly_timestamp"]), \
            int(h.get("poly_nonce", "0"))
        if abs(time.time() - ts) > AUTH_WINDOW_S:
            raise ValueError
        digest = ps.clob_auth_digest(address, ts, nonce)
        if ps.recover_signer(digest, bytes.fromhex(sig[2:])).lower() != address.lower():
            raise ValueError
    except (KeyError, ValueError):
        raise HttpError(401, "Invalid L1 Request headers") from None
    return ps.checksum(address), nonce


def _creds_for(address: str, nonce: int) -> dict:
    seed = hashlib.sha256(f"{address.lower()}:{nonce}".encode()).digest()
    return {"apiKey": str(uuid.UUID(bytes=seed[:16])),
            "secret": base64.urlsafe_b64encode(hashlib.sha256(seed + b"secret").digest()).decode(),
            "passphrase": hashlib.sha256(seed + b"pass").hexdigest()[:32]}


def create_api_key(req: SimRequest) -> Any:
    address, nonce = _l1(req)
    st = _st(req.sim)
    creds = _creds_for(address, nonce)
    if creds["apiKey"] in st["api_keys"]:
        raise HttpError(400, "Could not create api key")
    st["api_keys"][creds["apiKey"]] = {**creds, "address": address}
    return creds


def derive_api_key(req: SimRequest) -> Any:
    address, nonce = _l1(req)
    creds = _creds_for(address, nonce)
    if creds["apiKey"] not in _st(req.sim)["api_keys"]:
        raise HttpError(400, "Could not derive api key!")
    return creds


def _l2(req: SimRequest) -> dict:
    h = req.headers
    st = _st(req.sim)
    try:
        key = st["api_keys"][h["poly_api_key"]]
        ts = int(h["poly_timestamp"])
        path = req.path[len(CLOB):] if req.path.startswith(CLOB) else req.path
        want = ps.hmac_signature(key["secret"], ts, req.method, path, req.body.decode() if req.body else None)
        ok = (h["poly_passphrase"] == key["passphrase"] and h["poly_address"].lower() == key["address"].lower()
              and h["poly_signature"] == want and abs(time.time() - ts) <= AUTH_WINDOW_S)
    except (KeyError, ValueError):
        ok = False
    if not ok:
        raise HttpError(401, UNAUTHORIZED)
    return key


# --- orders ----------------------------------------------------------------------------------------
def _book(sim: Sim, token: str) -> dict:
    from tools.sim.polymarket import _book_for

    books = sim.state["books"]
    if token not in books:
        books[token] = _book_for(sim, token)  # keep it so that fills consume its liquidity
    return books[token]


def _outcome_label(sim: Sim, token: str) -> str:
    import json

    mid = sim.state.get("by_token", {}).get(token)
    if mid is None:
        return ""
    m = sim.state["markets"][mid]
    labels = json.loads(m.get("outcomes") or "[]") if isinstance(m.get("outcomes"), str) else m.get("outcomes", [])
    from tools.sim.polymarket import token_ids

    ids = token_ids(m)
    return str(labels[ids.index(token)]) if token in ids and ids.index(token) < len(labels) else ""


def post_order(req: SimRequest) -> Any:
    sim = req.sim
    st = _st(sim)
    key = _l2(req)
    if st["geoblocked"]:
        raise HttpError(403, GEOBLOCK_MSG)
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        raise HttpError(400, "Invalid order payload")
    o = body["order"]
    if body.get("owner") != key["apiKey"]:
        raise HttpError(400, "the order owner has to be the owner of the API KEY")
    order_type = body.get("orderType", "GTC")
    if order_type not in ps.ORDER_TYPES:
        raise HttpError(400, "Invalid order payload")
    token = str(o.get("tokenId", ""))
    try:
        book = _book(sim, token)
    except HttpError:
        raise HttpError(400, "Invalid token id") from None
    neg_risk = bool(book.get("neg_risk"))
    try:
        unsigned = ps.order_from_body(o, neg_risk=neg_risk)
        recovered = ps.verify_order_signature(unsigned, o["signature"])
    except (KeyError, ValueError, TypeError):
        raise HttpError(400, "invalid signature") from None
    wallet = st["wallets"].get(recovered.lower())
    sig_type = unsigned.signature_type
    # who may sign for whom (the exchange's isValidSignatureFor rules, as far as a sim can know them)
    if sig_type == 0:
        valid = unsigned.maker == unsigned.signer == recovered
    elif sig_type in (1, 2):
        valid = unsigned.signer == recovered and wallet is not None and unsigned.maker == wallet["funder"] \
            and wallet["signature_type"] == sig_type
    elif sig_type == 3:
        valid = unsigned.maker == unsigned.signer and wallet is not None and unsigned.maker == wallet["funder"] \
            and wallet["signature_type"] == 3
    else:
        valid = False
    if not valid:
        raise HttpError(400, "invalid signature")
    if key["address"].lower() != recovered.lower():
        raise HttpError(400, "the order signer address has to be the address of the API KEY")
    order_hash = unsigned.order_hash()
    if order_hash in st["orders"]:
        raise HttpError(400, f"order {order_hash} already exists")
    # amounts, tick, minimum
    tick = Decimal(str(book.get("tick_size") or "0.01"))
    shares_units = unsigned.taker_amount if unsigned.side == "BUY" else unsigned.maker_amount
    usd_units = unsigned.maker_amount if unsigned.side == "BUY" else unsigned.taker_amount
    if shares_units <= 0 or shares_units % 10_000:
        raise HttpError(400, "invalid amounts, the share amount supports at most 2 decimals")
    shares = Decimal(shares_units) / BASE
    price = (Decimal(usd_units) / Decimal(shares_units)).normalize()
    if not (tick <= price <= 1 - tick) or price % tick != 0:
        raise HttpError(400, f"invalid price ({price}), min: {tick} - max: {1 - tick}; "
                             f"price must be a multiple of the tick size {tick}")
    if Decimal(usd_units) != shares * price * BASE:
        raise HttpError(400, f"invalid amounts, the {'maker' if unsigned.side == 'BUY' else 'taker'} amount for "
                             f"size {shares} at {price} should be {shares * price}")
    min_size = Decimal(str(book.get("min_order_size") or "5"))
    if shares < min_size:
        raise HttpError(400, f"Size ({shares}) lower than the minimum: {min_size}")
    if order_type == "GTD" and unsigned.expiration < time.time() + 60:
        raise HttpError(400, "invalid expiration")
    # funds
    if wallet is None or not wallet["approved"]:
        raise HttpError(400, "not enough balance / allowance")
    if unsigned.side == "BUY":
        need = shares * price
        if wallet["balance"] - wallet["reserved"] < need:
            raise HttpError(400, "not enough balance / allowance")
    elif min(wallet["positions"].get(token, Decimal(0)), wallet["clob_view"].get(token, Decimal(0))) < shares:
        raise HttpError(400, "not enough balance / allowance")
    # match against the book: BUY takes asks (best LAST in the wire order), SELL hits bids
    levels = book["asks"] if unsigned.side == "BUY" else book["bids"]
    crosses = (lambda p: p <= price) if unsigned.side == "BUY" else (lambda p: p >= price)
    available = sum((Decimal(lv["size"]) for lv in levels if crosses(Decimal(lv["price"]))), Decimal(0))
    if order_type == "FOK" and available < shares:
        raise HttpError(400, "order couldn't be fully filled. FOK orders are fully filled or killed.")
    if order_type == "FAK" and available <= 0:
        raise HttpError(400, "no orders found to match with FAK order. FAK orders are partially filled or killed "
                             "if no match is found.")
    now = int(time.time())
    remaining = shares
    trade_ids: list[str] = []
    cost = Decimal(0)
    while remaining > 0 and levels and crosses(Decimal(levels[-1]["price"])):
        lv = levels[-1]
        lv_price, lv_size = Decimal(lv["price"]), Decimal(lv["size"])
        take = min(lv_size, remaining)
        remaining -= take
        cost += take * lv_price
        if take == lv_size:
            levels.pop()
        else:
            lv["size"] = str(lv_size - take)
        tid = str(uuid.uuid4())
        st["trades"][tid] = {
            "id": tid, "taker_order_id": order_hash, "market": book.get("market", ""), "asset_id": token,
            "side": unsigned.side, "size": str(take), "fee_rate_bps": "0", "price": str(lv_price),
            "status": "MATCHED", "match_time": str(now), "last_update": str(now),
            "outcome": _outcome_label(sim, token), "owner": key["apiKey"], "maker_address": unsigned.maker,
            "maker_orders": [], "transaction_hash": "0x" + hashlib.sha256(tid.encode()).hexdigest(),
            "trader_side": "TAKER",
        }
        trade_ids.append(tid)
    filled = shares - remaining
    if unsigned.side == "BUY":
        wallet["balance"] -= cost
        wallet["positions"][token] = wallet["positions"].get(token, Decimal(0)) + filled
    else:
        wallet["positions"][token] -= filled
        wallet["clob_view"][token] = wallet["clob_view"].get(token, Decimal(0)) - filled
        wallet["balance"] += cost
    rests = remaining > 0 and order_type in ("GTC", "GTD")
    if rests and unsigned.side == "BUY":
        wallet["reserved"] += remaining * price
    if rests and unsigned.side == "SELL":
        wallet["positions"][token] -= remaining  # escrowed while the order rests
        wallet["clob_view"][token] = wallet["clob_view"].get(token, Decimal(0)) - remaining
    status = "LIVE" if rests else ("MATCHED" if filled > 0 else "CANCELED")
    if remaining > 0 and not rests:
        status = "MATCHED" if filled > 0 else "CANCELED"
    st["orders"][order_hash] = {
        "id": order_hash, "status": status, "owner": key["apiKey"], "maker_address": unsigned.maker,
        "market": book.get("market", ""), "asset_id": token, "side": unsigned.side, "original_size": str(shares),
        "size_matched": str(filled), "price": str(price), "outcome": _outcome_label(sim, token),
        "expiration": str(unsigned.expiration), "order_type": order_type, "associate_trades": trade_ids,
        "created_at": now, "_wallet": recovered.lower(), "_remaining": str(remaining if rests else 0),
    }
    making = cost if unsigned.side == "BUY" else filled
    taking = filled if unsigned.side == "BUY" else cost
    resp = {"success": True, "errorMsg": "", "orderID": order_hash,
            "status": "live" if rests and filled == 0 else ("matched" if filled > 0 else "unmatched"),
            "makingAmount": str(making), "takingAmount": str(taking), "tradeIDs": trade_ids,
            "transactionsHashes": [st["trades"][t]["transaction_hash"] for t in trade_ids]}
    return apply_after_accept(sim, resp)


def _public(o: dict) -> dict:
    return {k: v for k, v in o.items() if not k.startswith("_")}


def get_order(req: SimRequest) -> Any:
    key = _l2(req)
    o = _st(req.sim)["orders"].get(req.params["order_id"])
    if o is None or o["owner"] != key["apiKey"]:
        raise HttpError(404, "order not found")
    return _public(o)


def list_orders(req: SimRequest) -> Any:
    key = _l2(req)
    rows = [_public(o) for o in _st(req.sim)["orders"].values()
            if o["owner"] == key["apiKey"] and o["status"] == "LIVE"
            and (not req.arg("id") or o["id"] == req.arg("id"))
            and (not req.arg("market") or o["market"] == req.arg("market"))
            and (not req.arg("asset_id") or o["asset_id"] == req.arg("asset_id"))]
    return {"data": rows, "next_cursor": "LTE=", "limit": 500, "count": len(rows)}


def list_trades(req: SimRequest) -> Any:
    key = _l2(req)
    mine = {oid for oid, o in _st(req.sim)["orders"].items() if o["owner"] == key["apiKey"]}
    rows = [t for t in _st(req.sim)["trades"].values()
            if (t["taker_order_id"] in mine or any(m["order_id"] in mine for m in t["maker_orders"]))
            and (not req.arg("id") or t["id"] == req.arg("id"))
            and (not req.arg("market") or t["market"] == req.arg("market"))
            and (not req.arg("asset_id") or t["asset_id"] == req.arg("asset_id"))]
    return {"data": rows, "next_cursor": "LTE=", "limit": 500, "count": len(rows)}


def cancel_order(req: SimRequest) -> Any:
    key = _l2(req)
    body = req.json() or {}
    oid = body.get("orderID") if isinstance(body, dict) else None
    st = _st(req.sim)
    o = st["orders"].get(oid or "")
    if o is None or o["owner"] != key["apiKey"]:
        return {"canceled": [], "not_canceled": {oid or "": "order not found"}}
    if o["status"] != "LIVE":
        return {"canceled": [], "not_canceled": {oid: f"order is {o['status'].lower()}"}}
    _release(st, o)
    o["status"] = "CANCELED"
    return {"canceled": [oid], "not_canceled": {}}


def _release(st: dict, o: dict) -> None:
    wallet = st["wallets"][o["_wallet"]]
    rem = Decimal(o["_remaining"])
    if o["side"] == "BUY":
        wallet["reserved"] -= rem * Decimal(o["price"])
    else:
        wallet["positions"][o["asset_id"]] = wallet["positions"].get(o["asset_id"], Decimal(0)) + rem
        wallet["clob_view"][o["asset_id"]] = wallet["clob_view"].get(o["asset_id"], Decimal(0)) + rem
    o["_remaining"] = "0"


def fill_resting(sim: Sim, order_hash: str, size: str | Decimal) -> str:
    """A counterparty takes ``size`` of our resting order (at its price); returns the trade id."""
    st = _st(sim)
    o = st["orders"][order_hash]
    size = Decimal(str(size))
    rem = Decimal(o["_remaining"])
    if o["status"] != "LIVE" or size > rem:
        raise ValueError("order is not resting with that much size")
    price = Decimal(o["price"])
    wallet = st["wallets"][o["_wallet"]]
    if o["side"] == "BUY":
        wallet["reserved"] -= size * price
        wallet["balance"] -= size * price
        wallet["positions"][o["asset_id"]] = wallet["positions"].get(o["asset_id"], Decimal(0)) + size
    else:
        wallet["balance"] += size * price
    o["_remaining"] = str(rem - size)
    o["size_matched"] = str(Decimal(o["size_matched"]) + size)
    if rem - size == 0:
        o["status"] = "MATCHED"
    tid = str(uuid.uuid4())
    now = str(int(time.time()))
    st["trades"][tid] = {
        "id": tid, "taker_order_id": "0x" + "ab" * 32, "market": o["market"], "asset_id": o["asset_id"],
        "side": "SELL" if o["side"] == "BUY" else "BUY", "size": str(size), "fee_rate_bps": "0", "price": str(price),
        "status": "MATCHED", "match_time": now, "last_update": now, "outcome": o["outcome"], "owner": "counterparty",
        "maker_address": o["maker_address"], "transaction_hash": "0x" + hashlib.sha256(tid.encode()).hexdigest(),
        "maker_orders": [{"order_id": order_hash, "owner": o["owner"], "maker_address": o["maker_address"],
                          "matched_amount": str(size), "price": str(price), "asset_id": o["asset_id"],
                          "outcome": o["outcome"], "side": o["side"]}],
        "trader_side": "MAKER",
    }
    o["associate_trades"].append(tid)
    return tid


def balance_allowance(req: SimRequest) -> Any:
    key = _l2(req)
    wallet = _st(req.sim)["wallets"].get(key["address"].lower())
    if req.arg("asset_type", "COLLATERAL").upper() == "CONDITIONAL":
        bal = wallet["clob_view"].get(req.arg("token_id") or "", Decimal(0)) if wallet else Decimal(0)
    else:
        bal = (wallet["balance"] - wallet["reserved"]) if wallet else Decimal(0)
    allowance = str(2**256 - 1) if wallet and wallet["approved"] else "0"
    return {"balance": str(int(bal * BASE)), "allowances": {a: allowance for a in ps.V2_SPENDERS.values()}}


def update_balance_allowance(req: SimRequest) -> Any:
    """GET /balance-allowance/update: the CLOB re-reads the chain for this wallet (its cache catches up)."""
    key = _l2(req)
    st = _st(req.sim)
    wallet = st["wallets"].get(key["address"].lower())
    st.setdefault("balance_updates", []).append({"asset_type": req.arg("asset_type", "COLLATERAL").upper(),
                                                 "token_id": req.arg("token_id")})
    if wallet is not None and req.arg("asset_type", "COLLATERAL").upper() == "CONDITIONAL":
        token = req.arg("token_id") or ""
        if token:
            wallet["clob_view"][token] = wallet["positions"].get(token, Decimal(0))
        else:
            wallet["clob_view"] = dict(wallet["positions"])
    return {}


def geoblock(req: SimRequest) -> Any:
    blocked = _st(req.sim)["geoblocked"]
    return {"blocked": blocked, "ip": "127.0.0.1", "country": "US" if blocked else "DE",
            "region": "NY" if blocked else ""}


def install(sim: Sim, **_: Any) -> None:
    _st(sim)
    sim.state.setdefault("books", {})
    c = CLOB
    sim.add_route("POST", f"{c}/auth/api-key", create_api_key)
    sim.add_route("GET", f"{c}/auth/derive-api-key", derive_api_key)
    sim.add_route("POST", f"{c}/order", post_order)
    sim.add_route("DELETE", f"{c}/order", cancel_order)
    sim.add_route("GET", f"{c}/data/order/{{order_id}}", get_order)
    sim.add_route("GET", f"{c}/data/orders", list_orders)
    sim.add_route("GET", f"{c}/data/trades", list_trades)
    sim.add_route("GET", f"{c}/balance-allowance", balance_allowance)
    sim.add_route("GET", f"{c}/balance-allowance/update", update_balance_allowance)
    sim.add_route("GET", "/api/geoblock", geoblock)
