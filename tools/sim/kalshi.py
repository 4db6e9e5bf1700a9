"""Kalshi simulator: Trade API v2 public market data on its real paths, plus the website's v1 search.

    PM_MCP_KALSHI_URL = {url}/trade-api/v2          (v1 search: {url}/v1/search/series)

Routes (GET): /trade-api/v2/markets, /markets/{ticker}, /markets/{ticker}/orderbook, /markets/trades,
/events, /events/{event_ticker}, /series, /series/{series_ticker},
/series/{s}/markets/{t}/candlesticks; /v1/search/series. Query handling: ``status`` (open | closed |
settled | unopened, mapped to the Market.status values), ``event_ticker``, ``series_ticker``,
``tickers``, ``mve_filter`` (exclude | only), ``with_nested_markets``, ``limit`` + opaque ``cursor``
pages (an empty cursor marks the last page, as on Kalshi), ``depth`` on books, ``query`` on v1 search.
Errors use Kalshi's body ``{"error": {"code", "message"}}``. The sim replays recordings: time stands
still (a recorded "active" market stays active even after its close_time).

Data: the recorded real responses in tests/fixtures/kalshi (SOURCES.md); the files are never edited.
What the recordings lack is SYNTHETIC and built here in code (marked SYNTHETIC below):
- Event objects for KXEPLGAME-26MAR22TOTNFO and KXFEDDECISION-26SEP (only their markets were recorded);
- Series objects: from the recorded v1 search item of the series when there is one (title, category,
  fee_type, fee_multiplier are real), else a generic one (fee_type "quadratic");
- order books for markets other than KXEPLGAME-26MAR22TOTNFO-TOT: levels around each market's recorded
  best YES/NO bids, in the real wire shape (bids only, ascending, best LAST);
- candlesticks (no genuine recording was fetchable): a deterministic path ending at the market's last
  price, every 4th period without a trade (price null), in the SDK 3.34 shape;
- trades for markets other than the EPL one: none (an empty page);
- with ``synthetic=N`` (benchmarks), N generated open markets (``add_synthetic_catalog``);
- v2 market and event objects for the markets the recorded v1 search quotes (``add_v1_search_markets``), so
  every id a search returns opens with get_market;
- with ``world=True`` (or a number of markets), the SYNTHETIC world of tools/sim/world.py (``add_world``).

State (``sim.state``, shared with plugins such as tools/sim/kalshi_trading.py):
    markets: {ticker: Market dict}     events: {event_ticker: Event dict without "markets"}
    series: {series_ticker: Series dict}   books: {ticker: {"orderbook_fp": {...}}}
    trades: {ticker: [Trade dict]}     v1_search: the recorded v1 search body
Helpers for tests: ``add_market(sim, market, event=None, series=None)``, ``set_book(sim, ticker,
yes_bids, no_bids)`` (best-first (price, count) string pairs, stored in the wire order).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from tools.sim.base import Sim, SimRequest, SimResponse

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "kalshi"
API = "/trade-api/v2"

STATUS_FILTER = {  # REST filter value -> Market.status values it selects
    "open": {"active", "open"},
    "closed": {"closed", "inactive"},
    "settled": {"finalized", "settled", "determined", "amended"},
    "unopened": {"initialized", "unopened"},
}
CENT = Decimal("0.01")


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class KalshiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> SimResponse:
        return SimResponse.json({"error": {"code": self.code, "message": self.message}}, self.status)


def _wrap(handler):
    def run(req: SimRequest):
        try:
            return handler(req)
        except KalshiError as exc:
            return exc.response()
    run.__name__ = handler.__name__
    return run


# --- state ---------------------------------------------------------------------------------------
def add_market(sim: Sim, market: dict, event: dict | None = None, series: dict | None = None) -> None:
    """Register a Market (and optionally its Event / Series) in the sim."""
    st = sim.state
    m = copy.deepcopy(market)
    if m["ticker"] not in st["markets"]:
        st["by_event"].setdefault(m.get("event_ticker"), []).append(m["ticker"])
    st["markets"][m["ticker"]] = m
    if event is not None:
        ev = {k: v for k, v in copy.deepcopy(event).items() if k != "markets"}
        st["events"].setdefault(ev["event_ticker"], ev)
    if series is not None:
        st["series"].setdefault(series["ticker"], copy.deepcopy(series))


def set_book(sim: Sim, ticker: str, yes_bids: list[tuple[str, str]], no_bids: list[tuple[str, str]]) -> None:
    """Set a book from BEST-FIRST bid levels; stored as Kalshi sends it (ascending, best LAST)."""
    sim.state["books"][ticker] = {"orderbook_fp": {
        "yes_dollars": [[p, q] for p, q in sorted(yes_bids, key=lambda x: Decimal(x[0]))],
        "no_dollars": [[p, q] for p, q in sorted(no_bids, key=lambda x: Decimal(x[0]))],
    }}


def _series_ticker(event_ticker: str) -> str:
    return event_ticker.split("-", 1)[0]


def _synthetic_series(sim: Sim, series_ticker: str, event: dict | None) -> dict:
    """SYNTHETIC Series object; real title/category/fees from the recorded v1 search when it has the series."""
    for item in sim.state["v1_search"].get("current_page") or []:
        if item.get("series_ticker") == series_ticker:
            return {"ticker": series_ticker, "title": item.get("series_title"), "category": item.get("category"),
                    "frequency": (item.get("product_metadata") or {}).get("series_frequency") or "custom",
                    "tags": item.get("tags") or [], "fee_type": item.get("fee_type") or "quadratic",
                    "fee_multiplier": item.get("fee_multiplier", 1),
                    "settlement_sources": (event or {}).get("settlement_sources") or [],
                    "contract_url": "", "contract_terms_url": "", "additional_prohibitions": []}
    return {"ticker": series_ticker, "title": (event or {}).get("title") or series_ticker,
            "category": (event or {}).get("category") or "", "frequency": "custom", "tags": [],
            "fee_type": "quadratic", "fee_multiplier": 1,
            "settlement_sources": (event or {}).get("settlement_sources") or [],
            "contract_url": "", "contract_terms_url": "", "additional_prohibitions": []}


def _synthetic_book(m: dict) -> dict:
    """SYNTHETIC book around a market's recorded quotes: best YES bid / best NO bid plus 4 worse levels."""
    def levels(best: str | None) -> list[list[str]]:
        if not best or Decimal(best) <= 0:
            return []
        b = Decimal(best)
        seed = int(hashlib.sha256(m["ticker"].encode()).hexdigest()[:6], 16)
        out = []
        for i in range(5):
            p = b - CENT * i
            if p <= 0:
                break
            out.append([f"{p:.4f}", f"{(100 + (seed >> i) % 900) * (i + 1)}.00"])
        return sorted(out, key=lambda x: Decimal(x[0]))
    return {"orderbook_fp": {"yes_dollars": levels(m.get("yes_bid_dollars")),
                             "no_dollars": levels(m.get("no_bid_dollars"))}}


def load_recorded(sim: Sim) -> None:
    st = sim.state
    st.update(markets={}, by_event={}, events={}, series={}, books={}, trades={}, v1_search=load("v1_search_series_fed_2026-08.json"))
    # events with nested markets (recorded as a whole)
    for ev in load("get_events_nested_markets_2026-05.json")["events"]:
        for m in ev.get("markets") or []:
            add_market(sim, m)
        st["events"][ev["event_ticker"]] = {k: v for k, v in ev.items() if k != "markets"}
    # markets recorded without their events
    for m in load("markets_array_epl_event_2026-03.json"):
        add_market(sim, m)
    add_market(sim, load("market_object_epl_2026-03.json"))  # the same TOT market, recorded on its own
    for m in load("get_markets_kxfeddecision_2026-08.json")["markets"]:
        add_market(sim, m)
    for m in load("markets_array_mve_combos_2026-06.json"):
        add_market(sim, m)  # served by /markets unless mve_filter=exclude; no events for them
    # SYNTHETIC events for the markets recorded without one (fields from the markets themselves)
    st["events"].setdefault("KXEPLGAME-26MAR22TOTNFO", {
        "event_ticker": "KXEPLGAME-26MAR22TOTNFO", "series_ticker": "KXEPLGAME",
        "title": "Tottenham vs Nottingham", "sub_title": "Mar 22", "category": "Sports",
        "collateral_return_type": "MECNET", "mutually_exclusive": True, "strike_period": "",
        "settlement_sources": [], "available_on_brokers": True})
    st["events"].setdefault("KXFEDDECISION-26SEP", {
        "event_ticker": "KXFEDDECISION-26SEP", "series_ticker": "KXFEDDECISION",
        "title": "Fed decision in Sep 2026?", "sub_title": "On Sep 16, 2026", "category": "Economics",
        "collateral_return_type": "MECNET", "mutually_exclusive": True, "strike_period": "",
        "settlement_sources": [{"name": "Federal Reserve", "url": "https://www.federalreserve.gov/"}],
        "available_on_brokers": True})
    for ev in st["events"].values():
        s = ev.get("series_ticker") or _series_ticker(ev["event_ticker"])
        if s not in st["series"]:
            st["series"][s] = _synthetic_series(sim, s, ev)
    # the recorded book and trades
    st["books"]["KXEPLGAME-26MAR22TOTNFO-TOT"] = load("get_orderbook_epl_2026-03.json")
    st["trades"]["KXEPLGAME-26MAR22TOTNFO-TOT"] = load("trades_array_epl_2026-03.json")


# --- helpers ---------------------------------------------------------------------------------------
def _limit(req: SimRequest, default: int, maximum: int) -> int:
    raw = req.arg("limit")
    if raw in (None, ""):
        return default
    try:
        n = int(raw)
    except ValueError:
        raise KalshiError(400, "invalid_parameters", f"limit must be an integer, got {raw!r}") from None
    if n < 1 or n > maximum:
        raise KalshiError(400, "invalid_parameters", f"limit must be between 1 and {maximum}")
    return n


def _page(req: SimRequest, items: list, default: int, maximum: int) -> tuple[list, str]:
    """Slice by the opaque cursor; the next cursor, or "" on the last page."""
    limit = _limit(req, default, maximum)
    cursor = req.arg("cursor") or ""
    start = 0
    if cursor:
        m = re.fullmatch(r"pg([0-9]+)", cursor)
        if not m:
            raise KalshiError(400, "invalid_cursor", "invalid cursor")
        start = int(m.group(1))
    chunk = items[start:start + limit]
    nxt = f"pg{start + limit}" if start + limit < len(items) else ""
    return chunk, nxt


def _status_ok(req: SimRequest, m: dict) -> bool:
    status = req.arg("status")
    if not status:
        return True
    allowed: set[str] = set()
    for s in status.split(","):
        if s not in STATUS_FILTER:
            raise KalshiError(400, "invalid_parameters", f"invalid status filter {s!r}")
        allowed |= STATUS_FILTER[s]
    return m.get("status") in allowed


def _is_mve(m: dict) -> bool:
    return bool(m.get("mve_collection_ticker")) or str(m.get("event_ticker", "")).startswith("KXMVE")


def _event_markets(sim: Sim, event_ticker: str) -> list[dict]:
    st = sim.state
    return [st["markets"][t] for t in st["by_event"].get(event_ticker, [])]


# --- handlers --------------------------------------------------------------------------------------
def get_markets(req: SimRequest):
    st = req.sim.state
    items = list(st["markets"].values())
    if req.arg("event_ticker"):
        items = [m for m in items if m.get("event_ticker") == req.arg("event_ticker")]
    if req.arg("series_ticker"):
        s = req.arg("series_ticker")
        items = [m for m in items if _series_ticker(m.get("event_ticker", "")) == s
                 or st["events"].get(m.get("event_ticker"), {}).get("series_ticker") == s]
    if req.arg("tickers"):
        wanted = set(req.arg("tickers").split(","))
        items = [m for m in items if m["ticker"] in wanted]
    mve = req.arg("mve_filter")
    if mve == "exclude":
        items = [m for m in items if not _is_mve(m)]
    elif mve == "only":
        items = [m for m in items if _is_mve(m)]
    items = [m for m in items if _status_ok(req, m)]
    chunk, cursor = _page(req, items, 100, 1000)
    return {"markets": chunk, "cursor": cursor}


def get_market(req: SimRequest):
    m = _one_market(req.sim.state, req.params["ticker"])
    if m is None:
        raise KalshiError(404, "not_found", "market not found")
    return {"market": m}


def get_orderbook(req: SimRequest):
    st = req.sim.state
    ticker = req.params["ticker"]
    market = _one_market(st, ticker)
    if market is None:
        raise KalshiError(404, "not_found", "market not found")
    book = copy.deepcopy(st["books"].get(ticker) or _synthetic_book(market))
    depth = int(req.arg("depth") or 0)
    if depth > 0:  # the best levels are LAST
        fp = book["orderbook_fp"]
        fp["yes_dollars"] = fp["yes_dollars"][-depth:]
        fp["no_dollars"] = fp["no_dollars"][-depth:]
    return book


def get_orderbooks(req: SimRequest):
    """``GET /markets/orderbooks?tickers=A&tickers=B`` (or a comma list): one entry per known ticker, in request
    order, with the same levels as the single-market endpoint (no ``depth``: the batch form has none). At most
    100 tickers, as Kalshi documents."""
    st = req.sim.state
    tickers = [t for v in req.query_lists.get("tickers", []) for t in v.split(",") if t]
    if not tickers:
        raise KalshiError(400, "invalid_parameters", "tickers is required")
    if len(tickers) > 100:
        raise KalshiError(400, "invalid_parameters", "at most 100 tickers per request")
    out = []
    for t in tickers:
        market = _one_market(st, t)
        if market is None:
            continue
        book = copy.deepcopy(st["books"].get(t) or _synthetic_book(market))
        out.append({"ticker": t, **book})
    return {"orderbooks": out}


def get_trades(req: SimRequest):
    st = req.sim.state
    ticker = req.arg("ticker")
    if ticker:
        items = list(st["trades"].get(ticker, []))
    else:
        items = [t for ts in st["trades"].values() for t in ts]
    chunk, cursor = _page(req, items, 100, 1000)
    return {"trades": chunk, "cursor": cursor}


def get_events(req: SimRequest):
    st = req.sim.state
    nested = req.arg("with_nested_markets") == "true"
    events = []
    for ev in st["events"].values():
        if req.arg("series_ticker") and ev.get("series_ticker") != req.arg("series_ticker"):
            continue
        if req.arg("status"):  # an event is open while one of its markets is
            if not any(_status_ok(req, m) for m in _event_markets(req.sim, ev["event_ticker"])):
                continue
        events.append(ev)
    chunk, cursor = _page(req, events, 200, 200)
    out = []
    for ev in chunk:
        e = dict(ev)
        if nested:
            e["markets"] = _event_markets(req.sim, ev["event_ticker"])
        out.append(e)
    return {"events": out, "cursor": cursor}


def get_event(req: SimRequest):
    st = req.sim.state
    extra = st.get("v1_objects", {"events": {}, "markets": {}, "by_event": {}})
    ev = st["events"].get(req.params["event_ticker"]) or extra["events"].get(req.params["event_ticker"])
    if ev is None:
        raise KalshiError(404, "not_found", "event not found")
    markets = _event_markets(req.sim, ev["event_ticker"]) or [
        extra["markets"][t] for t in extra["by_event"].get(ev["event_ticker"], [])]
    e = dict(ev)
    if req.arg("with_nested_markets") == "true":
        e["markets"] = markets
    return {"event": e, "markets": markets}


def get_series_list(req: SimRequest):
    items = list(req.sim.state["series"].values())
    if req.arg("category"):
        items = [s for s in items if s.get("category") == req.arg("category")]
    return {"series": items}


def get_series(req: SimRequest):
    st = req.sim.state
    s = st["series"].get(req.params["series_ticker"]) or \
        st.get("v1_objects", {}).get("series", {}).get(req.params["series_ticker"])
    if s is None:
        raise KalshiError(404, "not_found", "series not found")
    return {"series": s}


def get_candlesticks(req: SimRequest):
    """SYNTHETIC candlesticks (see the module docstring)."""
    st = req.sim.state
    ticker = req.params["ticker"]
    m = _one_market(st, ticker)
    if m is None or _series_ticker(m.get("event_ticker", "")) != req.params["series_ticker"] and \
            st["events"].get(m.get("event_ticker"), {}).get("series_ticker") != req.params["series_ticker"]:
        raise KalshiError(404, "not_found", "market not found")
    try:
        start, end, period = int(req.arg("start_ts")), int(req.arg("end_ts")), int(req.arg("period_interval"))
    except (TypeError, ValueError):
        raise KalshiError(400, "invalid_parameters", "start_ts, end_ts and period_interval are required") from None
    if period not in (1, 60, 1440):
        raise KalshiError(400, "invalid_parameters", "period_interval must be 1, 60 or 1440")
    step = period * 60
    first = (start // step + 1) * step
    ends = list(range(first, end + 1, step))[-500:]
    last = Decimal(m.get("last_price_dollars") or "0.5")
    seed = int(hashlib.sha256(ticker.encode()).hexdigest()[:8], 16)
    candles = []
    n = len(ends)
    for i, ts in enumerate(ends):
        wiggle = Decimal(((seed >> (i % 24)) % 7) - 3) * CENT * (n - 1 - i) / max(n - 1, 1)
        px = min(max(last + wiggle, CENT), Decimal("0.99")).quantize(CENT, rounding=ROUND_HALF_EVEN)
        bid, ask = max(px - CENT, CENT), min(px + CENT, Decimal("0.99"))
        traded = i == n - 1 or i % 4 != 1
        p = f"{px:.4f}" if traded else None
        candles.append({
            "end_period_ts": ts,
            "yes_bid": {k: f"{bid:.4f}" for k in ("open_dollars", "low_dollars", "high_dollars", "close_dollars")},
            "yes_ask": {k: f"{ask:.4f}" for k in ("open_dollars", "low_dollars", "high_dollars", "close_dollars")},
            "price": {"open_dollars": p, "low_dollars": p, "high_dollars": p, "close_dollars": p,
                      "mean_dollars": p, "previous_dollars": p},
            "volume_fp": f"{(seed >> (i % 16)) % 50 if traded else 0}.00",
            "open_interest_fp": m.get("open_interest_fp") or "0.00",
        })
    return {"ticker": ticker, "candlesticks": candles}


def v1_search(req: SimRequest):
    """The recorded v1 search page, narrowed to items whose text matches a word of ``query``."""
    body = req.sim.state["v1_search"]
    words = [w for w in re.findall(r"[a-z0-9]+", (req.arg("query") or "").lower()) if len(w) >= 2]
    items = []
    for item in body.get("current_page") or []:
        text = " ".join(str(x) for x in (item.get("series_ticker"), item.get("series_title"), item.get("event_title"),
                                         item.get("event_subtitle"), " ".join(item.get("tags") or []),
                                         " ".join(item.get("topic_keywords") or []))).lower()
        tokens = re.findall(r"[a-z0-9]+", text)
        if words and any(any(t.startswith(w) for t in tokens) for w in words):
            items.append(item)
    return {**{k: v for k, v in body.items() if k != "current_page"}, "current_page": items,
            "total_results_count": len(items), "next_cursor": ""}


def add_synthetic_catalog(sim: Sim, n: int, seed: int = 11) -> None:
    """SYNTHETIC: n open markets in events of 1-5 (mutually exclusive when several), in the recorded wire
    shape (fixed-point strings, price_ranges), titles from tools/sim/synthetic.py's vocabulary. Benchmarks."""
    import random
    from datetime import UTC, datetime, timedelta

    from tools.sim.synthetic import CATEGORIES, _title

    rng = random.Random(seed)
    base = datetime(2070, 1, 1, tzinfo=UTC)  # far ahead: open whenever the benchmark runs
    i = ev_no = 0
    while i < n:
        ev_no += 1
        size = min(rng.randint(1, 5), n - i)
        series = f"KXSYN{ev_no % 997:03d}"
        event_ticker = f"{series}-{ev_no:06d}"
        title = _title(rng)
        cat = rng.choice(CATEGORIES)
        event = {"event_ticker": event_ticker, "series_ticker": series, "title": title, "sub_title": "",
                 "category": cat, "collateral_return_type": "MECNET" if size > 1 else "",
                 "mutually_exclusive": size > 1, "settlement_sources": [], "strike_period": ""}
        close = (base + timedelta(days=rng.randint(1, 900))).strftime("%Y-%m-%dT%H:%M:%SZ")
        for k in range(size):
            i += 1
            bid = rng.randint(1, 97)
            m = {"ticker": f"{event_ticker}-M{k}", "event_ticker": event_ticker, "market_type": "binary",
                 "title": title, "yes_sub_title": _title(rng)[5:-1] if size > 1 else "", "no_sub_title": "",
                 "status": "active", "close_time": close, "expected_expiration_time": close,
                 "expiration_time": close, "yes_bid_dollars": f"{bid / 100:.4f}",
                 "yes_ask_dollars": f"{(bid + 2) / 100:.4f}", "no_bid_dollars": f"{(98 - bid) / 100:.4f}",
                 "no_ask_dollars": f"{(100 - bid) / 100:.4f}", "last_price_dollars": f"{(bid + 1) / 100:.4f}",
                 "volume_fp": f"{rng.randint(0, 500000)}.00", "volume_24h_fp": f"{rng.randint(0, 5000)}.00",
                 "open_interest_fp": f"{rng.randint(0, 100000)}.00", "liquidity_dollars": "0.0000",
                 "price_level_structure": "linear_cent",
                 "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
                 "rules_primary": f"If {title[5:-1]}, then the market resolves to Yes. Synthetic benchmark market.",
                 "rules_secondary": "", "result": ""}
            add_market(sim, m, event)
        if series not in sim.state["series"]:
            sim.state["series"][series] = _synthetic_series(sim, series, event)


def add_v1_search_markets(sim: Sim) -> None:
    """SYNTHETIC v2 objects for the markets the recorded v1 search quotes (its series were not recorded on the
    v2 paths), so every id the search returns opens, books and charts: the search item's own fields (title,
    subtitle, bid/ask, close, volume, result), a generic rule text marked SYNTHETIC. They answer on the
    one-object paths (/markets/{t}, its book and candlesticks, /events/{e}, /series/{s}) and stay out of the
    listings, which serve the recorded responses as they were."""
    st = sim.state
    extra = st.setdefault("v1_objects", {"markets": {}, "events": {}, "series": {}, "by_event": {}})
    for item in st["v1_search"].get("current_page") or []:
        et, series = item.get("event_ticker"), item.get("series_ticker")
        if not et or not series or _is_mve(item) or et in st["events"]:
            continue
        title = (item.get("event_title") or item.get("series_title") or et).strip()
        ev = {"event_ticker": et, "series_ticker": series, "title": title,
              "sub_title": item.get("event_subtitle") or "", "category": item.get("category") or "",
              "collateral_return_type": "", "mutually_exclusive": False, "strike_period": "",
              "settlement_sources": [], "available_on_brokers": True}
        extra["events"][et] = ev
        for m in item.get("markets") or []:
            ticker = m.get("ticker")
            if not ticker or ticker in st["markets"] or _is_mve(m):
                continue
            sub = (m.get("yes_subtitle") or "").strip()
            bid = Decimal(m.get("yes_bid_dollars") or "0")
            ask = Decimal(m.get("yes_ask_dollars") or "0")
            extra["markets"][ticker] = {
                "ticker": ticker, "event_ticker": et, "market_type": "binary", "title": title,
                "yes_sub_title": sub, "no_sub_title": sub, "status": "finalized" if m.get("result") else "active",
                "close_time": m.get("close_ts"), "expected_expiration_time": m.get("expected_expiration_ts"),
                "expiration_time": m.get("expected_expiration_ts") or m.get("close_ts"),
                "yes_bid_dollars": f"{bid:.4f}", "yes_ask_dollars": f"{ask:.4f}",
                "no_bid_dollars": f"{(1 - ask if ask else Decimal(0)):.4f}",
                "no_ask_dollars": f"{(1 - bid if bid else Decimal(1)):.4f}",
                "last_price_dollars": m.get("last_price_dollars") or f"{bid:.4f}",
                "volume_fp": f"{int(m.get('volume') or 0)}.00", "volume_24h_fp": "0.00", "open_interest_fp": "0.00",
                "liquidity_dollars": "0.0000", "price_level_structure": "linear_cent",
                "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
                "rules_primary": f"SYNTHETIC rule text (the v1 search carries none): {title} {sub}".strip(),
                "rules_secondary": "", "result": m.get("result") or ""}
            extra["by_event"].setdefault(et, []).append(ticker)
        if series not in st["series"] and series not in extra["series"]:
            extra["series"][series] = _synthetic_series(sim, series, ev)


def _one_market(st: dict, ticker: str) -> dict | None:
    """A market by ticker: the listed ones, then the v1 search's (``add_v1_search_markets``)."""
    return st["markets"].get(ticker) or st.get("v1_objects", {}).get("markets", {}).get(ticker)


def add_world(sim: Sim, n: int | bool = True) -> None:
    """SYNTHETIC: the tools/sim/world.py events of this venue (``world=True``: the curated ones; a number: up to
    about that many markets with generated ladders)."""
    from tools.sim.world import kalshi_items, world_events

    for market, event in kalshi_items(world_events("kalshi", n)):
        add_market(sim, market, event)
        s = event["series_ticker"]
        if s not in sim.state["series"]:
            sim.state["series"][s] = _synthetic_series(sim, s, event)


def install(sim: Sim, **options: Any) -> None:
    load_recorded(sim)
    add_v1_search_markets(sim)
    if options.get("synthetic"):
        add_synthetic_catalog(sim, int(options["synthetic"]))
    if options.get("world"):
        add_world(sim, options["world"])
    sim.set_env(PM_MCP_KALSHI_URL="{url}" + API)
    for path, fn in [
        ("/markets", get_markets), ("/markets/trades", get_trades), ("/markets/{ticker}", get_market),
        ("/markets/{ticker}/orderbook", get_orderbook), ("/markets/orderbooks", get_orderbooks),
        ("/events", get_events),
        ("/events/{event_ticker}", get_event), ("/series", get_series_list), ("/series/{series_ticker}", get_series),
        ("/series/{series_ticker}/markets/{ticker}/candlesticks", get_candlesticks),
    ]:
        sim.add_route("GET", API + path, _wrap(fn))
    sim.add_route("GET", "/v1/search/series", _wrap(v1_search))
