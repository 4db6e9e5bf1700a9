"""Manifold betting endpoints for the simulator (plugin of tools/sim/manifold.py).

    POST /v0/bet                 Authorization: Key <api key>; amount, outcome, limitProb (whole percents
                                 0.01..0.99), answerId (required on cpmm-multi-1), dryRun, expiresAt /
                                 expiresMillisAfter. Fills against the market's CPMM pool (Manifold's own
                                 formulas, common/src/calculate-cpmm.ts) up to the limit; the rest rests.
    POST /v0/bet/cancel/{id}     cancel a resting limit bet (its unfilled mana is returned)
    GET  /v0/me                  the key's user (balance)
    GET  /v0/bets                overrides the read-only route: adds our bets, ``userId`` and
                                 ``kinds=open-limit`` filters

Simplification (documented): multiple-choice answers are priced as independent binary pools
(p = 0.5); the sums-to-one arbitrage Manifold runs after each bet is not simulated. No fees
(Manifold's taker fee is 0 today). Helper: ``register_user(sim, api_key, balance=1000)``, ``bets(sim)``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tools.sim.base import Sim, SimRequest, SimResponse
from tools.sim.trading_faults import apply_after_accept


def _err(status: int, message: str) -> SimResponse:
    return SimResponse.json({"message": message}, status)


class _Fail(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.resp = _err(status, message)


def _st(sim: Sim) -> dict:
    return sim.state.setdefault("manifold_trading", {"users": {}, "bets": {}})


def register_user(sim: Sim, api_key: str, *, balance: float = 1000.0, username: str = "tester") -> dict:
    user = {"id": "user-" + uuid.uuid4().hex[:10], "username": username, "name": username, "balance": balance}
    _st(sim)["users"][api_key] = user
    return user


def bets(sim: Sim) -> list[dict]:
    return list(_st(sim)["bets"].values())


def _user(req: SimRequest) -> dict:
    auth = req.headers.get("authorization", "")
    if not auth.startswith("Key "):
        raise _Fail(401, "Missing or malformed Authorization header (Key <api key>)")
    user = _st(req.sim)["users"].get(auth[4:].strip())
    if user is None:
        raise _Fail(401, "Invalid API key")
    return user


def _wrap(handler):
    def run(req: SimRequest):
        try:
            return handler(req)
        except _Fail as exc:
            return exc.resp
    run.__name__ = handler.__name__
    return run


# --- CPMM (binary pool {YES: y, NO: n}, weight p) ---------------------------------------------------
def _prob(y: float, n: float, p: float) -> float:
    return p * n / ((1 - p) * y + p * n)


def _buy(y: float, n: float, p: float, outcome: str, b: float) -> tuple[float, float, float]:
    """(shares, y', n') for b mana on ``outcome``."""
    k = y ** p * n ** (1 - p)
    if outcome == "YES":
        shares = y + b - (k * (n + b) ** (p - 1)) ** (1 / p)
        return shares, y + b - shares, n + b
    shares = n + b - (k * (y + b) ** (-p)) ** (1 / (1 - p))
    return shares, y + b, n + b - shares


def _fill_amount(y: float, n: float, p: float, outcome: str, amount: float, limit: float | None) -> float:
    """How much of ``amount`` fills before the probability passes ``limit`` (bisection)."""
    def past(b: float) -> bool:
        _s, y2, n2 = _buy(y, n, p, outcome, b)
        q = _prob(y2, n2, p)
        return q > limit + 1e-12 if outcome == "YES" else q < limit - 1e-12
    if limit is None or not past(amount):
        return amount
    if past(1e-9):
        return 0.0
    lo, hi = 0.0, amount
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if past(mid) else (mid, hi)
    return round(lo, 6)


def place_bet(req: SimRequest) -> Any:
    sim = req.sim
    user = _user(req)
    body = req.json()
    if not isinstance(body, dict):
        raise _Fail(400, "Body must be a JSON object")
    m = sim.state.get("markets", {}).get(str(body.get("contractId")))
    if m is None:
        raise _Fail(404, "Contract not found")
    if m.get("isResolved") or (m.get("closeTime") and m["closeTime"] < time.time() * 1000):
        raise _Fail(403, "Trading is closed.")
    amount = body.get("amount")
    if not isinstance(amount, (int, float)) or amount < 1:
        raise _Fail(400, "amount must be a number >= 1")
    outcome = body.get("outcome", "YES")
    if outcome not in ("YES", "NO"):
        raise _Fail(400, "outcome must be YES or NO")
    limit = body.get("limitProb")
    if limit is not None and (not isinstance(limit, (int, float)) or not (0.01 <= limit <= 0.99)
                              or abs(round(limit * 100) - limit * 100) > 1e-9):
        raise _Fail(400, "limitProb must be between 0.01 and 0.99 with at most two decimals")
    answer = None
    if m.get("mechanism") == "cpmm-multi-1":
        if not body.get("answerId"):
            raise _Fail(400, "answerId must be specified for multi bets")
        answer = next((a for a in m.get("answers") or [] if a.get("id") == body["answerId"]), None)
        if answer is None:
            raise _Fail(404, "Answer not found")
        y, n, p = float(answer["poolYes"]), float(answer["poolNo"]), 0.5
    else:
        pool = m.get("pool") or {}
        if not isinstance(pool, dict) or "YES" not in pool:
            raise _Fail(400, "This market does not take bets in the simulator")
        y, n, p = float(pool["YES"]), float(pool["NO"]), float(m.get("p", 0.5))
    if user["balance"] < amount:
        raise _Fail(403, "Insufficient balance.")
    prob_before = _prob(y, n, p)
    if limit is not None and ((outcome == "YES" and prob_before > limit) or (outcome == "NO" and prob_before < limit)):
        filled = 0.0
    else:
        filled = _fill_amount(y, n, p, outcome, float(amount), limit)
    shares, y2, n2 = _buy(y, n, p, outcome, filled) if filled > 0 else (0.0, y, n)
    now = int(time.time() * 1000)
    candidate = {
        "contractId": m["id"], "answerId": body.get("answerId"), "outcome": outcome, "amount": filled,
        "orderAmount": amount, "shares": shares, "probBefore": prob_before, "probAfter": _prob(y2, n2, p),
        "limitProb": limit, "isFilled": limit is None or filled >= amount - 1e-9,
        "isCancelled": False, "createdTime": now, "userId": user["id"],
        "fills": ([{"matchedBetId": None, "amount": filled, "shares": shares, "timestamp": now,
                    "fees": {"creatorFee": 0, "platformFee": 0, "liquidityFee": 0}}] if filled > 0 else []),
        "fees": {"creatorFee": 0, "platformFee": 0, "liquidityFee": 0}, "loanAmount": 0, "isRedemption": False,
    }
    if body.get("expiresAt"):
        candidate["expiresAt"] = int(body["expiresAt"])
    elif body.get("expiresMillisAfter"):
        candidate["expiresAt"] = now + int(body["expiresMillisAfter"])
        if not candidate["isFilled"] and int(body["expiresMillisAfter"]) < 1000:
            candidate["isCancelled"] = True  # the unfilled rest expired at once
    if body.get("dryRun"):
        return candidate
    # commit: pool, balance (filled mana spent; a resting remainder is held), the bet
    if answer is not None:
        answer["poolYes"], answer["poolNo"] = y2, n2
        answer["prob"] = _prob(y2, n2, p)
    else:
        m["pool"] = {"YES": y2, "NO": n2}
        m["probability"] = _prob(y2, n2, p)
    held = 0.0 if candidate["isFilled"] or candidate["isCancelled"] else float(amount) - filled
    user["balance"] -= filled + held
    bet_id = uuid.uuid4().hex[:12]
    bet = {**candidate, "id": bet_id, "_held": held}
    _st(sim)["bets"][bet_id] = bet
    sim.state.setdefault("bets", {}).setdefault(m["id"], []).insert(0, bet)
    return apply_after_accept(sim, {**_public(bet), "betId": bet_id})


def _public(b: dict) -> dict:
    return {k: v for k, v in b.items() if not k.startswith("_")}


def cancel_bet(req: SimRequest) -> Any:
    user = _user(req)
    bet = _st(req.sim)["bets"].get(req.params["bet_id"])
    if bet is None or bet["userId"] != user["id"]:
        raise _Fail(404, "Bet not found")
    if bet["isFilled"] or bet["isCancelled"] or bet.get("limitProb") is None:
        raise _Fail(400, "Bet is not an open limit order")
    bet["isCancelled"] = True
    user["balance"] += bet["_held"]
    bet["_held"] = 0.0
    return _public(bet)


def me(req: SimRequest) -> Any:
    return dict(_user(req))


def get_bets(req: SimRequest) -> Any:
    from tools.sim import manifold

    user_id = req.arg("userId")
    if not user_id and not req.arg("kinds"):
        return [_public(b) if isinstance(b, dict) else b for b in manifold.get_bets(req)]
    rows = [b for b in _st(req.sim)["bets"].values()
            if (not user_id or b["userId"] == user_id)
            and (not req.arg("contractId") or b["contractId"] == req.arg("contractId"))]
    if req.arg("kinds") == "open-limit":
        rows = [b for b in rows if b.get("limitProb") is not None and not b["isFilled"] and not b["isCancelled"]]
    rows.sort(key=lambda b: b["createdTime"], reverse=True)
    return [_public(b) for b in rows[: int(req.arg("limit") or 1000)]]


def install(sim: Sim, **_: Any) -> None:
    _st(sim)
    sim.add_route("POST", "/v0/bet", _wrap(place_bet))
    sim.add_route("POST", "/v0/bet/cancel/{bet_id}", _wrap(cancel_bet))
    sim.add_route("GET", "/v0/me", _wrap(me))
    sim.add_route("GET", "/v0/bets", _wrap(get_bets))
