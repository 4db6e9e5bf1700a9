"""Polymarket simulator: Gamma, CLOB (market data) and Data API v2 on their real paths.

One server, three prefixes (the real hosts differ; so do the base URLs we set):
    PM_MCP_POLYMARKET_GAMMA_URL = {url}/gamma      PM_MCP_POLYMARKET_CLOB_URL = {url}/clob
    PM_MCP_POLYMARKET_DATA_URL  = {url}/data

Data: the recorded real responses in tests/fixtures/polymarket (see its SOURCES.md). Gamma markets
and events are served as recorded (JSON-string fields included). CLOB books: the two recorded books
by their token ids; for the Gamma markets' tokens, a book in the same recorded wire shape (strings,
best price LAST, ``min_order_size``/``tick_size``/``neg_risk``) built around the market's
``outcomePrices`` (no recorded book exists for those tokens). Price history: the recorded Data API
v2 wire shape and time base (first timestamp, resolution), 48 hourly points drifting deterministically
to the market's current price (only 2 recorded points exist, for an unknown token).

State (``sim.state``, shared with plugins such as polymarket_trading.py):
    markets: {gamma id: market dict}   events: {event id: event dict (with "markets")}
    books: {token id: book dict}       history: {token id: [{"timestamp", "price", ...}]}
Helpers for tests: ``add_market(sim, market, event=None)``, ``set_book(sim, token_id, bids, asks)``.
Options: ``synthetic=N`` adds N generated markets (tools/sim/synthetic.py) for benchmarks; ``world=True`` (or a
number of markets) adds the SYNTHETIC world of tools/sim/world.py (events with members, ladders, closed and
resolved markets).
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from tools.sim.base import HttpError, Sim, SimRequest

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "polymarket"

RECORDED_MARKET_FILES = [
    "gamma_market_binary_btc_updown_5m.json",
    "gamma_market_binary_closed_russia_ukraine_ceasefire.json",
    "gamma_market_sports_moneyline_closed.json",
    "gamma_market_negrisk_newsom_2028.json",
    "gamma_market_crypto_updown_5m_twap_reduced.json",
]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def token_ids(market: dict) -> list[str]:
    raw = market.get("clobTokenIds") or "[]"
    return json.loads(raw) if isinstance(raw, str) else list(raw)


def add_market(sim: Sim, market: dict, event: dict | None = None) -> None:
    """Register a Gamma market (and its event) in the sim's indexes."""
    st = sim.state
    m = copy.deepcopy(market)
    nested = m.get("events") or []
    st["markets"][str(m["id"])] = m
    st["by_slug"][m.get("slug") or ""] = str(m["id"])
    if m.get("conditionId"):
        st["by_condition"][m["conditionId"].lower()] = str(m["id"])
    for t in token_ids(m):
        st["by_token"][t] = str(m["id"])
    ev = event or (nested[0] if nested else None)
    if ev is not None:
        eid = str(ev["id"])
        if eid not in st["events"]:
            e = {k: v for k, v in copy.deepcopy(ev).items() if k != "markets"}
            e["markets"] = []
            st["events"][eid] = e
            st["event_by_slug"][e.get("slug") or ""] = eid
        e = st["events"][eid]
        if not any(str(x["id"]) == str(m["id"]) for x in e["markets"]):
            e["markets"].append({k: v for k, v in m.items() if k != "events"})
        st["market_event"][str(m["id"])] = eid


def add_lone_events(sim: Sim) -> None:
    """SYNTHETIC: an event for each market recorded without one (its ``events`` field was not recorded). On
    Polymarket every market belongs to an event, and a lone binary's event carries the market's own question,
    slug, dates and closed flag; public-search, which returns events, finds the market through it. The event id
    is marked "syn-" so nobody mistakes it for a recorded one. Used with ``world=``; the default sim keeps the
    recordings as they are."""
    st = sim.state
    for mid, m in list(st["markets"].items()):
        if mid in st["market_event"]:
            continue
        closed = bool(m.get("closed"))
        add_market(sim, m, {
            "id": f"syn-{mid}", "slug": m.get("slug") or f"syn-{mid}", "ticker": m.get("slug") or f"syn-{mid}",
            "title": m.get("question") or "", "description": m.get("description") or "", "active": True,
            "closed": closed, "negRisk": bool(m.get("negRisk")), "startDate": m.get("startDate"),
            "endDate": m.get("endDate"), "volume": m.get("volumeNum") or m.get("volume") or 0, "tags": []})


def set_book(sim: Sim, token_id: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]], *,
             market: str = "", tick_size: str = "0.01", min_order_size: str = "5", neg_risk: bool = False) -> None:
    """Set a book given BEST-FIRST levels; it is stored in the wire order (best price LAST)."""
    sim.state["books"][token_id] = {
        "market": market, "asset_id": token_id, "timestamp": "1785734468581", "hash": "0" * 40,
        "bids": [{"price": p, "size": s} for p, s in reversed(bids)],
        "asks": [{"price": p, "size": s} for p, s in reversed(asks)],
        "min_order_size": min_order_size, "tick_size": tick_size, "neg_risk": neg_risk, "last_trade_price": "",
    }


def _synth_book(market: dict, token: str, index: int) -> dict:
    prices = json.loads(market.get("outcomePrices") or "[]") if isinstance(market.get("outcomePrices"), str) \
        else market.get("outcomePrices") or []
    tick = Decimal(str(market.get("orderPriceMinTickSize") or "0.01"))
    p = Decimal(str(prices[index])) if index < len(prices) else Decimal("0.5")
    p = (p / tick).to_integral_value() * tick
    bids, asks = [], []
    for k in range(1, 6):
        b = p - tick * k
        a = p + tick * k
        if b > 0:
            bids.append((str(b.quantize(tick)), str(Decimal(100 * k))))
        if a < 1:
            asks.append((str(a.quantize(tick)), str(Decimal(80 * k))))
    return {
        "market": market.get("conditionId", ""), "asset_id": token, "timestamp": "1785734468581",
        "hash": "d7df883ae546b09533a4f485bfae0810da1af04e",
        "bids": [{"price": x, "size": s} for x, s in reversed(bids)],  # worst first, as the CLOB sends it
        "asks": [{"price": x, "size": s} for x, s in reversed(asks)],
        "min_order_size": str(market.get("orderMinSize") or 5), "tick_size": str(tick),
        "neg_risk": bool(market.get("negRisk")), "last_trade_price": "",
    }


def install(sim: Sim, *, synthetic: int = 0, world: int | bool = False, **_: Any) -> None:
    sim.set_env(PM_MCP_POLYMARKET_GAMMA_URL="{url}/gamma", PM_MCP_POLYMARKET_CLOB_URL="{url}/clob",
                PM_MCP_POLYMARKET_DATA_URL="{url}/data")
    st = sim.state
    for key in ("markets", "events", "by_slug", "by_condition", "by_token", "event_by_slug", "market_event",
                "books", "history", "clob_markets"):
        st.setdefault(key, {})

    for name in RECORDED_MARKET_FILES:
        add_market(sim, load(name))
    for ev in load("gamma_events_negrisk_dem_nominee_2028.json"):
        for m in ev["markets"]:
            add_market(sim, m, ev)
    for ev in load("gamma_public_search_bitcoin.json")["events"]:
        for m in ev["markets"]:
            add_market(sim, m, ev)
    # the event of the newsom market carries the full metadata; the events listing had tags
    for name in ("clob_book_2024.json", "clob_book_negrisk_empty_ask_2026.json"):
        book = load(name)
        st["books"][book["asset_id"]] = book
    cm = load("clob_market_trump_2024.json")
    st["clob_markets"][cm["condition_id"]] = cm
    st["recorded_history"] = load("data_v2_prices_history.json")
    if synthetic:
        from tools.sim.synthetic import gamma_catalog

        for market, event in gamma_catalog(synthetic):
            add_market(sim, market, event)
    if world:  # SYNTHETIC events of tools/sim/world.py
        from tools.sim.world import gamma_items, world_events

        for market, event in gamma_items(world_events("polymarket", world)):
            add_market(sim, market, event)
        add_lone_events(sim)

    g, c, d = "/gamma", "/clob", "/data"
    sim.add_route("GET", f"{g}/public-search", public_search)
    sim.add_route("GET", f"{g}/markets", list_markets)
    sim.add_route("GET", f"{g}/markets/keyset", markets_keyset)
    sim.add_route("GET", f"{g}/markets/{{id}}", get_market)
    sim.add_route("GET", f"{g}/markets/slug/{{slug}}", get_market_by_slug)
    sim.add_route("GET", f"{g}/events", list_events)
    sim.add_route("GET", f"{g}/events/keyset", events_keyset)
    sim.add_route("GET", f"{g}/events/{{id}}", get_event)
    sim.add_route("GET", f"{g}/events/slug/{{slug}}", get_event_by_slug)
    sim.add_route("GET", f"{c}/book", get_book)
    sim.add_route("POST", f"{c}/books", get_books)
    sim.add_route("GET", f"{c}/tick-size", get_tick_size)
    sim.add_route("GET", f"{c}/neg-risk", get_neg_risk)
    sim.add_route("GET", f"{c}/prices-history", clob_prices_history)
    sim.add_route("GET", f"{c}/markets/{{condition_id}}", clob_market)
    sim.add_route("GET", f"{d}/v2/prices-history", data_prices_history)


# --- Gamma ---------------------------------------------------------------------------------------
def _market_with_events(sim: Sim, m: dict) -> dict:
    out = dict(m)
    eid = sim.state["market_event"].get(str(m["id"]))
    if eid and "events" not in out:
        out["events"] = [{k: v for k, v in sim.state["events"][eid].items() if k != "markets"}]
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _event_text(ev: dict) -> str:
    parts = [ev.get("title") or "", ev.get("slug") or "", ev.get("ticker") or ""]
    for m in ev.get("markets", []):
        parts += [m.get("question") or "", m.get("groupItemTitle") or "", m.get("slug") or ""]
    for t in ev.get("tags") or []:
        parts.append(t.get("label") or "")
    return " ".join(parts).lower()


def public_search(req: SimRequest) -> Any:
    q = (req.arg("q") or "").strip()
    if not q:
        raise HttpError(400, "q is required")
    words = _words(q)
    limit = int(req.arg("limit_per_type") or 5)
    page = int(req.arg("page") or 1)
    status = req.arg("events_status")
    keep_closed = req.arg("keep_closed_markets") in ("1", "true")
    hits = []
    for ev in req.sim.state["events"].values():
        if status == "active" and ev.get("closed"):
            continue
        if status == "closed" and not ev.get("closed"):
            continue
        text = _event_text(ev)
        if all(w in text for w in words):
            e = dict(ev)
            if not keep_closed:
                e["markets"] = [m for m in ev["markets"] if not m.get("closed")] or ev["markets"]
            hits.append(e)
    hits.sort(key=lambda e: -float(e.get("volume") or 0))
    start = (page - 1) * limit
    chunk = hits[start:start + limit]
    return {"events": chunk, "tags": [], "profiles": [],
            "pagination": {"hasMore": start + limit < len(hits), "totalResults": len(hits)}}


def _filter_markets(req: SimRequest, markets: list[dict]) -> list[dict]:
    st = req.sim.state
    ql = req.query_lists
    out = markets
    if "id" in ql:
        ids = set(ql["id"])
        out = [m for m in out if str(m["id"]) in ids]
    if "slug" in ql:
        slugs = set(ql["slug"])
        out = [m for m in out if m.get("slug") in slugs]
    if "condition_ids" in ql:
        cids = {c.lower() for v in ql["condition_ids"] for c in v.split(",")}
        out = [m for m in out if (m.get("conditionId") or "").lower() in cids]
    if "clob_token_ids" in ql:
        toks = {t for v in ql["clob_token_ids"] for t in v.split(",")}
        out = [m for m in out if toks & set(token_ids(m))]
    for flag in ("closed", "active", "archived"):
        v = req.arg(flag)
        if v is not None:
            want = v in ("true", "1")
            out = [m for m in out if bool(m.get(flag)) == want]
    del st
    return out


def list_markets(req: SimRequest) -> Any:
    if "offset" in req.query and "slug" not in req.query and "id" not in req.query and req.arg("legacy") is None:
        pass  # legacy offset listing still answers (the fact sheet is unsure it was sunset)
    ms = _filter_markets(req, list(req.sim.state["markets"].values()))
    offset = int(req.arg("offset") or 0)
    limit = int(req.arg("limit") or 100)
    return [_market_with_events(req.sim, m) for m in ms[offset:offset + limit]]


def _keyset(items: list[dict], req: SimRequest, key: str, max_limit: int) -> dict:
    if "offset" in req.query:
        raise HttpError(400, "offset is not supported on keyset endpoints; use after_cursor")
    limit = min(int(req.arg("limit") or 20), max_limit)
    start = int(req.arg("after_cursor") or 0)
    page = items[start:start + limit]
    nxt = str(start + limit) if start + limit < len(items) else None
    out: dict[str, Any] = {key: page}
    if nxt is not None:
        out["next_cursor"] = nxt
    return out


def markets_keyset(req: SimRequest) -> Any:
    ms = _filter_markets(req, list(req.sim.state["markets"].values()))
    return _keyset([_market_with_events(req.sim, m) for m in ms], req, "markets", 100)


def get_market(req: SimRequest) -> Any:
    m = req.sim.state["markets"].get(req.params["id"])
    if m is None:
        raise HttpError(404, "market not found")
    return _market_with_events(req.sim, m)


def get_market_by_slug(req: SimRequest) -> Any:
    mid = req.sim.state["by_slug"].get(req.params["slug"])
    if mid is None:
        raise HttpError(404, "market not found")
    return _market_with_events(req.sim, req.sim.state["markets"][mid])


def _events_filtered(req: SimRequest) -> list[dict]:
    evs = list(req.sim.state["events"].values())
    if "slug" in req.query_lists:
        slugs = set(req.query_lists["slug"])
        evs = [e for e in evs if e.get("slug") in slugs]
    if "id" in req.query_lists:
        ids = set(req.query_lists["id"])
        evs = [e for e in evs if str(e["id"]) in ids]
    v = req.arg("closed")
    if v is not None:
        evs = [e for e in evs if bool(e.get("closed")) == (v in ("true", "1"))]
    return evs


def list_events(req: SimRequest) -> Any:
    evs = _events_filtered(req)
    offset = int(req.arg("offset") or 0)
    limit = int(req.arg("limit") or 100)
    return evs[offset:offset + limit]


def events_keyset(req: SimRequest) -> Any:
    return _keyset(_events_filtered(req), req, "events", 500)


def get_event(req: SimRequest) -> Any:
    e = req.sim.state["events"].get(req.params["id"])
    if e is None:
        raise HttpError(404, "event not found")
    return e


def get_event_by_slug(req: SimRequest) -> Any:
    eid = req.sim.state["event_by_slug"].get(req.params["slug"])
    if eid is None:
        raise HttpError(404, "event not found")
    return req.sim.state["events"][eid]


# --- CLOB ----------------------------------------------------------------------------------------
def _book_for(sim: Sim, token: str) -> dict:
    st = sim.state
    if token in st["books"]:
        return st["books"][token]
    mid = st["by_token"].get(token)
    if mid is None:
        raise HttpError(404, "No orderbook exists for the requested token id")
    m = st["markets"][mid]
    if m.get("closed"):
        raise HttpError(404, "No orderbook exists for the requested token id")
    return _synth_book(m, token, token_ids(m).index(token))


def get_book(req: SimRequest) -> Any:
    token = req.arg("token_id")
    if not token:
        raise HttpError(400, "Invalid token id")
    return _book_for(req.sim, token)


def get_books(req: SimRequest) -> Any:
    body = req.json()
    if not isinstance(body, list):
        raise HttpError(400, "Invalid payload")
    out = []
    for item in body:
        try:
            out.append(_book_for(req.sim, str(item.get("token_id"))))
        except HttpError:
            continue
    return out


def _market_for_token(req: SimRequest) -> dict:
    token = req.arg("token_id") or ""
    mid = req.sim.state["by_token"].get(token)
    if mid is None:
        if token in req.sim.state["books"]:
            b = req.sim.state["books"][token]
            return {"orderPriceMinTickSize": b.get("tick_size", "0.01"), "negRisk": b.get("neg_risk", False)}
        raise HttpError(404, "market not found")
    return req.sim.state["markets"][mid]


def get_tick_size(req: SimRequest) -> Any:
    m = _market_for_token(req)
    return {"minimum_tick_size": float(m.get("orderPriceMinTickSize") or 0.01)}


def get_neg_risk(req: SimRequest) -> Any:
    return {"neg_risk": bool(_market_for_token(req).get("negRisk"))}


def clob_market(req: SimRequest) -> Any:
    cm = req.sim.state["clob_markets"].get(req.params["condition_id"])
    if cm is None:
        raise HttpError(404, "market not found")
    return cm


def _history(sim: Sim, token: str) -> list[dict]:
    st = sim.state
    if token in st["history"]:
        return st["history"][token]
    mid = st["by_token"].get(token)
    if mid is None:
        raise HttpError(404, "token not found")
    m = st["markets"][mid]
    prices = json.loads(m.get("outcomePrices") or "[]") if isinstance(m.get("outcomePrices"), str) else []
    idx = token_ids(m).index(token)
    end_p = Decimal(str(prices[idx])) if idx < len(prices) else Decimal("0.5")
    rec = st["recorded_history"]
    t0 = int(rec[0]["timestamp"])
    step = int(rec[0]["resolution_seconds"]) * 60  # hourly points
    n = 48
    start_p = min(max(end_p + Decimal("0.05") * (1 if idx == 0 else -1), Decimal("0.01")), Decimal("0.99"))
    pts = []
    for i in range(n):
        frac = Decimal(i) / Decimal(n - 1)
        wiggle = Decimal(((i * 7919) % 11) - 5) / Decimal(1000)
        p = start_p + (end_p - start_p) * frac + (wiggle if 0 < i < n - 1 else 0)
        p = min(max(p, Decimal("0.001")), Decimal("0.999")).quantize(Decimal("0.0001"))
        pts.append({"timestamp": t0 + i * step, "price": float(p), "resolution_seconds": step})
    return pts


def data_prices_history(req: SimRequest) -> Any:
    token = req.arg("token_id")
    if not token:
        raise HttpError(400, "token_id is required")
    given = [k for k in ("interval", "start", "as_of") if k in req.query]
    if len(given) != 1:
        raise HttpError(400, "exactly one of interval, start or as_of is required")
    pts = _history(req.sim, token)
    if "start" in req.query:
        lo = int(req.arg("start") or 0)
        hi = int(req.arg("end") or 2 ** 40)
        pts = [p for p in pts if lo <= p["timestamp"] <= hi]
    return {"data": pts, "pagination": {"has_more": False, "next_cursor": None}}


def clob_prices_history(req: SimRequest) -> Any:
    token = req.arg("market")
    if not token:
        raise HttpError(400, "market (token id) is required")
    return {"history": [{"t": p["timestamp"], "p": p["price"]} for p in _history(req.sim, token)]}
