"""Polymarket simulator plugin: the Data API v2 wallet and holder routes (installed after tools/sim/polymarket.py,
on its ``{url}/data`` prefix: ``PM_MCP_POLYMARKET_DATA_URL``).

Routes (the real paths, the v2 ``{"data": [...], "pagination": {"has_more", "next_cursor"}}`` envelope, rows in
the recorded snake_case shape of tests/fixtures/polymarket/data_v2_*.json)::

    GET /data/v2/positions?user=&status=OPEN|CLOSED&limit=(<=500)&cursor=
    GET /data/v2/activity?user=&limit=&cursor=          GET /data/v2/trades?user=|condition=&limit=&cursor=
    GET /data/v2/holders?condition=&include_pnl=true&limit=(<=100)      GET /data/v2/value?user=

Recorded: the wallet 0x7c3d...5c6b of data_v2_positions.json / data_v2_activity.json / signals/data_v2_value.json (its two
open positions, two activity rows and portfolio value) and the two rows of data_v2_trades.json.

SYNTHETIC (generated here, following the documented shapes above and the recorded rows' fields; marked by the
wallet labels below, never presented as recorded): on the recorded Newsom 2028 market (Gamma 559652) a holder
table of seven wallets, each with a generated history:
``proven_a``/``proven_b``/``proven_c`` (60 resolved markets, won ~75% at entries near 0.45; hold Yes, changed
2 days ago), ``bot`` (a profitable record but 400 trades every 20 s of one size on both sides; holds No),
``short`` (3 resolved markets; holds No), ``loser`` (40 resolved, mostly lost; holds No), ``whale`` (the largest
No holder, no closed history). ``synthetic_wallet(label)`` gives a label's address; ``add_wallet(sim, ...)``
builds more (the benchmark's wallet with 1,000 positions).

State: ``sim.state["data_wallets"]``: {address: {"OPEN": [...], "CLOSED": [...], "activity": [...], "value": x}};
``sim.state["data_holders"]``: {condition id: [{"token_id", "holders": [...]}]}.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

from tools.sim.base import HttpError, Sim, SimRequest
from tools.sim.polymarket import FIXTURES

PAGE_MAX = 500
HOLDERS_MAX = 100
TARGET_MARKET = "559652"  # the recorded Newsom 2028 nomination market (gamma_market_negrisk_newsom_2028.json)
DAY = 86400


def synthetic_wallet(label: str) -> str:
    """The address of a SYNTHETIC wallet: 0x + the first 40 hex of sha256('pm-mcp sim ' + label)."""
    return "0x" + hashlib.sha256(f"pm-mcp sim {label}".encode()).hexdigest()[:40]


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _wallet(sim: Sim, address: str) -> dict:
    return sim.state["data_wallets"].setdefault(address.lower(), {"OPEN": [], "CLOSED": [], "activity": [],
                                                                  "value": None})


def _closed_row(wallet: str, i: int, won: bool, entry: float, cost: float, end: int) -> dict:
    size = round(cost / entry, 4)
    pnl = round(size - cost if won else -cost, 4)
    cid = "0x" + hashlib.sha256(f"{wallet} closed {i}".encode()).hexdigest()
    return {"proxy_wallet": wallet, "token_id": str(int(cid[2:34], 16)), "condition_id": cid, "current_size": 0.0,
            "avg_price": entry, "entry_cost_usdc": cost, "entry_fees_usdc": 0.0, "total_cost_usdc": cost,
            "current_price": 1.0 if won else 0.0, "current_value": 0.0, "total_size": size,
            "realized_pnl": pnl, "unrealized_pnl": 0.0, "total_pnl": pnl,
            "percent_pnl": round(100 * pnl / cost, 4), "percent_realized_pnl": round(100 * pnl / cost, 4),
            "status": "CLOSED", "redeemable": False, "mergeable": False, "negative_risk": False, "archived": False,
            "title": f"SYNTHETIC resolved market #{i}", "slug": f"synthetic-resolved-{i}", "icon": "",
            "event_id": str(900000 + i), "event_slug": f"synthetic-event-{i}", "outcome": "Yes", "outcome_index": 0,
            "opposite_outcome": "No", "opposite_token_id": "", "end_date": time.strftime("%Y-%m-%d",
                                                                                        time.gmtime(end)),
            "last_event_at": end, "name": "", "profile_image": "", "verified": False}


def _open_row(wallet: str, market: dict, index: int, size: float, entry: float, last: int) -> dict:
    tokens = json.loads(market["clobTokenIds"])
    outcomes = json.loads(market["outcomes"])
    price = float(json.loads(market["outcomePrices"])[index])
    cost = round(size * entry, 4)
    value = round(size * price, 4)
    return {"proxy_wallet": wallet, "token_id": tokens[index], "condition_id": market["conditionId"],
            "current_size": size, "avg_price": entry, "entry_cost_usdc": cost, "entry_fees_usdc": 0.0,
            "total_cost_usdc": cost, "current_price": price, "current_value": value, "total_size": size,
            "realized_pnl": 0.0, "unrealized_pnl": round(value - cost, 4), "total_pnl": round(value - cost, 4),
            "percent_pnl": round(100 * (value - cost) / cost, 4) if cost else 0.0, "percent_realized_pnl": 0.0,
            "status": "OPEN", "redeemable": False, "mergeable": False, "negative_risk": bool(market.get("negRisk")),
            "archived": False, "title": market["question"], "slug": market["slug"], "icon": "",
            "event_id": "", "event_slug": "", "outcome": outcomes[index], "outcome_index": index,
            "opposite_outcome": outcomes[1 - index], "opposite_token_id": tokens[1 - index],
            "end_date": (market.get("endDate") or "")[:10], "last_event_at": last, "name": "", "profile_image": "",
            "verified": False}


def _trade(wallet: str, ts: int, side: str, cid: str, index: int, size: float, price: float) -> dict:
    return {"proxy_wallet": wallet, "timestamp": ts, "condition_id": cid, "type": "TRADE", "size": size,
            "usdc_size": round(size * price, 6), "transaction_hash": "0x" + hashlib.sha256(
                f"{wallet}{ts}{side}{cid}".encode()).hexdigest(), "price": price, "token_id": "", "side": side,
            "outcome_index": index, "title": "SYNTHETIC", "slug": "", "icon": "", "event_slug": "",
            "outcome": "Yes" if index == 0 else "No", "name": "", "pseudonym": "", "bio": "", "profile_image": "",
            "profile_image_optimized": ""}


def add_wallet(sim: Sim, label: str, *, resolved: int = 0, win_rate: float = 0.5, entry: float = 0.45,
               cost: float = 100.0, trades: int = 0, bot: bool = False, now: int | None = None,
               seed: int | None = None) -> str:
    """A SYNTHETIC wallet with ``resolved`` closed positions (won with probability ``win_rate`` at entries near
    ``entry``) and ``trades`` activity rows (``bot``: every 20 s, one size, both sides); returns its address."""
    now = int(now or time.time())
    rnd = random.Random(seed if seed is not None else label)
    address = synthetic_wallet(label)
    w = _wallet(sim, address)
    for i in range(resolved):
        e = round(min(0.95, max(0.05, entry + rnd.uniform(-0.1, 0.1))), 4)
        w["CLOSED"].append(_closed_row(address, i, rnd.random() < win_rate, e, round(cost * rnd.uniform(0.5, 1.5), 2),
                                       now - (resolved - i) * DAY // 2 - 30 * DAY))
    for i in range(trades):
        if bot:
            ts, side, size = now - (trades - i) * 20, ("BUY", "SELL")[i % 2], 50.0
            cid = "0x" + hashlib.sha256(f"{address} mm {i % 5}".encode()).hexdigest()
        else:
            ts, side, size = now - (trades - i) * 7 * 3600 - rnd.randint(0, 3600), "BUY", round(rnd.uniform(5, 500), 2)
            cid = "0x" + hashlib.sha256(f"{address} closed {i}".encode()).hexdigest()
        w["activity"].append(_trade(address, ts, side, cid, (i // 2) % 2 if bot else 0, size, 0.5))
    w["activity"].sort(key=lambda r: r["timestamp"], reverse=True)
    return address


def _seed_target(sim: Sim, now: int) -> None:
    market = sim.state["markets"].get(TARGET_MARKET)
    if market is None:
        return
    plan = [  # label, outcome index, shares, entry, days since the position changed, record
        ("proven_a", 0, 9000.0, 0.18, 2, {"resolved": 60, "win_rate": 0.75}),
        ("proven_b", 0, 6000.0, 0.20, 2, {"resolved": 60, "win_rate": 0.75}),
        ("proven_c", 0, 4000.0, 0.21, 3, {"resolved": 60, "win_rate": 0.75}),
        ("bot", 1, 8000.0, 0.76, 0, {"resolved": 60, "win_rate": 0.75, "trades": 400, "bot": True}),
        ("short", 1, 3000.0, 0.70, 5, {"resolved": 3, "win_rate": 1.0}),
        ("loser", 1, 2500.0, 0.72, 8, {"resolved": 40, "win_rate": 0.15, "entry": 0.6}),
        ("whale", 1, 20000.0, 0.74, 20, {}),
    ]
    groups: dict[int, list[dict]] = {0: [], 1: []}
    for label, index, shares, entry, days, record in plan:
        address = add_wallet(sim, label, now=now, trades=record.pop("trades", 12), **record)
        row = _open_row(address, market, index, shares, entry, now - days * DAY)
        _wallet(sim, address)["OPEN"].append(row)
        groups[index].append({"proxy_wallet": address, "bio": "", "token_id": row["token_id"], "pseudonym": "",
                              "amount": shares, "display_username_public": False, "outcome_index": index,
                              "name": "", "profile_image": "", "profile_image_optimized": "", "verified": False,
                              "avg_price": entry, "entry_cost_usdc": row["entry_cost_usdc"],
                              "current_price": row["current_price"], "current_value": row["current_value"],
                              "realized_pnl": 0.0, "unrealized_pnl": row["unrealized_pnl"],
                              "total_pnl": row["total_pnl"]})
    tokens = json.loads(market["clobTokenIds"])
    sim.state["data_holders"][market["conditionId"].lower()] = [
        {"token_id": tokens[i], "holders": sorted(groups[i], key=lambda h: -h["amount"])} for i in (0, 1)]


def install(sim: Sim, **_: Any) -> None:
    st = sim.state
    st.setdefault("data_wallets", {})
    st.setdefault("data_holders", {})
    for row in _load("data_v2_positions.json"):
        _wallet(sim, row["proxy_wallet"])["OPEN"].append(row)
    for row in _load("data_v2_activity.json"):
        _wallet(sim, row["proxy_wallet"])["activity"].append(row)
    value = _load("signals/data_v2_value.json")
    _wallet(sim, value["proxy_wallet"])["value"] = value["value"]
    st["data_trades"] = _load("data_v2_trades.json")
    _seed_target(sim, int(time.time()))
    d = "/data"
    sim.add_route("GET", f"{d}/v2/positions", positions)
    sim.add_route("GET", f"{d}/v2/activity", activity)
    sim.add_route("GET", f"{d}/v2/trades", trades)
    sim.add_route("GET", f"{d}/v2/holders", holders)
    sim.add_route("GET", f"{d}/v2/value", value_route)


def _user(req: SimRequest, required: bool = True) -> str | None:
    user = (req.arg("user") or "").strip().lower()
    if not user and not required:
        return None
    if len(user) != 42 or not user.startswith("0x"):
        raise HttpError(400, f"invalid user {user!r}: expected a 0x-prefixed 40-hex address")
    return user


def _page(req: SimRequest, rows: list, max_limit: int = PAGE_MAX) -> dict:
    cursor = req.arg("cursor")
    try:
        offset = int(cursor) if cursor else 0
        limit = int(req.arg("limit") or 100)
    except ValueError:
        raise HttpError(400, "invalid cursor or limit") from None
    if not 1 <= limit <= max_limit:
        raise HttpError(400, f"limit must be in [1, {max_limit}], got {limit}")
    chunk = rows[offset:offset + limit]
    more = offset + limit < len(rows)
    return {"data": chunk, "pagination": {"has_more": more, "next_cursor": str(offset + limit) if more else None}}


def positions(req: SimRequest):
    user = _user(req)
    status = (req.arg("status") or "OPEN").upper()
    if status not in ("OPEN", "CLOSED"):
        raise HttpError(400, f"invalid status {status!r}")
    w = req.sim.state["data_wallets"].get(user) or {}
    return _page(req, w.get(status, []))


def activity(req: SimRequest):
    w = req.sim.state["data_wallets"].get(_user(req)) or {}
    return _page(req, w.get("activity", []))


def trades(req: SimRequest):
    user = _user(req, required=False)
    cond = (req.arg("condition") or "").lower()
    rows = list(req.sim.state["data_trades"])
    for w in req.sim.state["data_wallets"].values():
        rows.extend(w.get("activity", []))
    rows = [r for r in rows if (not user or r["proxy_wallet"] == user) and (not cond or r["condition_id"] == cond)]
    return _page(req, sorted(rows, key=lambda r: -r["timestamp"]))


def holders(req: SimRequest):
    cond = (req.arg("condition") or "").lower()
    if len(cond) != 66 or not cond.startswith("0x"):
        raise HttpError(400, f"invalid condition {cond!r}: expected a 0x-prefixed 64-hex condition id")
    limit = int(req.arg("limit") or 100)
    if not 1 <= limit <= HOLDERS_MAX:
        raise HttpError(400, f"limit must be in [1, {HOLDERS_MAX}] with include_pnl=true")
    groups = req.sim.state["data_holders"].get(cond, [])
    return {"data": [{"token_id": g["token_id"], "holders": g["holders"][:limit]} for g in groups],
            "pagination": {"has_more": False, "next_cursor": None}}


def value_route(req: SimRequest):
    user = _user(req)
    w = req.sim.state["data_wallets"].get(user) or {}
    if w.get("value") is not None:
        v = w["value"]
    else:
        v = round(sum(r.get("current_value", 0.0) for r in w.get("OPEN", [])), 4)
    return {"data": {"proxy_wallet": user, "value": v}}
