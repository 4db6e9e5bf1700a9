"""Manifold simulator: API v0 reads on their real paths.

    PM_MCP_MANIFOLD_URL = {url}          (paths /v0/...)

Routes (GET): /v0/search-markets (``term``, ``limit``, ``offset``, ``filter`` = all | open | closed |
resolved | closing-*, ``contractType``, ``sort`` = score | liquidity | newest | close-date ...),
/v0/market/{id}, /v0/market/{id}/prob, /v0/market-probs?ids=, /v0/slug/{slug}, /v0/bets (``contractId``
| ``contractSlug``, ``limit``, ``afterTime``/``beforeTime``). Errors are ``{"message": ...}`` as on
Manifold. ``filter=open`` uses the real clock (closeTime vs now), as Manifold does.

Data (tests/fixtures/manifold, SOURCES.md): the recorded search response (3 BINARY LiteMarkets,
served as they are for search, /market/{id} and /slug/{slug}: they have no description), the legacy
2022 FREE_RESPONSE FullMarket from the docs, and two SYNTHETIC FullMarkets (a binary one with a TipTap
description and a cpmm-multi-1 multiple-choice one). The synthetic markets' ``closeTime`` is moved to
90 days after the sim starts, so "open" searches keep finding them whatever the date.
Bets are SYNTHETIC (no list of bets was recorded): a deterministic path of ``probAfter`` values per
market / answer over the 7 days before the sim started, ending at the current probability.

Option ``world=True`` (or a number of markets): the SYNTHETIC world of tools/sim/world.py.

State: ``markets`` {id: market dict}, ``bets`` {id: [bet dicts, newest first]}. Helper for tests:
``add_market(sim, market)``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from tools.sim.base import Sim, SimRequest, SimResponse

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "manifold"
RECORDED_FULL = ["docs_example_get_market_free_response_legacy_2022.json"]
SYNTHETIC_FULL = ["synthetic_fullmarket_binary.json", "synthetic_fullmarket_multiple_choice.json"]
DAY_MS = 86_400_000


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _err(status: int, message: str) -> SimResponse:
    return SimResponse.json({"message": message}, status)


def _prob(m: dict) -> float | None:
    pool, p = m.get("pool"), m.get("p")
    if isinstance(pool, dict) and p is not None and pool.get("YES") and pool.get("NO"):
        return p * pool["NO"] / ((1 - p) * pool["YES"] + p * pool["NO"])
    return m.get("probability")


def _answer_prob(a: dict) -> float | None:
    if a.get("poolYes") and a.get("poolNo"):
        return a["poolNo"] / (a["poolYes"] + a["poolNo"])
    return a.get("prob", a.get("probability"))


def _synthetic_bets(m: dict, now_ms: int) -> list[dict]:
    """SYNTHETIC bets: 48 per (answer) path over the last 7 days, newest first, ending at the current prob."""
    seed = int(hashlib.sha256(str(m["id"]).encode()).hexdigest()[:8], 16)
    paths = [(a.get("id"), _answer_prob(a)) for a in m.get("answers") or []] if m.get("answers") else \
        [(None, _prob(m))]
    bets = []
    n = 48
    for answer_id, current in paths:
        if current is None:
            continue
        for i in range(n):
            t = now_ms - (n - 1 - i) * (7 * DAY_MS // n)
            drift = (((seed >> (i % 20)) % 9) - 4) / 100 * (n - 1 - i) / (n - 1)
            prob = min(0.99, max(0.01, current + drift)) if i < n - 1 else current
            bets.append({"id": f"synthbet{m['id']}{answer_id or ''}{i}", "contractId": m["id"],
                         "answerId": answer_id, "createdTime": t, "amount": 10, "shares": 10,
                         "outcome": "YES", "probBefore": prob, "probAfter": prob, "isFilled": True,
                         "isCancelled": False, "isRedemption": False, "limitProb": None, "fills": []})
    return sorted(bets, key=lambda b: b["createdTime"], reverse=True)


def add_market(sim: Sim, market: dict) -> None:
    m = copy.deepcopy(market)
    sim.state["markets"][str(m["id"])] = m
    sim.state["bets"][str(m["id"])] = _synthetic_bets(m, sim.state["started_ms"])


def load_all(sim: Sim) -> None:
    now_ms = int(time.time() * 1000)
    sim.state.update(markets={}, bets={}, started_ms=now_ms)
    for m in load("search_markets_fed_2026-08.json"):
        add_market(sim, m)
    for name in RECORDED_FULL:
        add_market(sim, load(name))
    for name in SYNTHETIC_FULL:
        m = load(name)
        m["closeTime"] = now_ms + 90 * DAY_MS  # SYNTHETIC: stays open whenever the tests run
        add_market(sim, m)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _is_open(m: dict, now_ms: int) -> bool:
    return not m.get("isResolved") and (m.get("closeTime") or 0) > now_ms


def search_markets(req: SimRequest):
    st = req.sim.state
    now_ms = int(time.time() * 1000)
    term = _words(req.arg("term") or "")
    try:
        limit = int(req.arg("limit") or 100)
        offset = int(req.arg("offset") or 0)
    except ValueError:
        return _err(400, "limit and offset must be integers")
    if not (0 <= limit <= 1000) or not (0 <= offset <= 1000):
        return _err(400, "limit and offset must be between 0 and 1000")
    flt = req.arg("filter") or "all"
    ctype = (req.arg("contractType") or "ALL").upper()
    out = []
    for m in st["markets"].values():
        words = _words(m.get("question") or "") + _words(" ".join(a.get("text", "") for a in m.get("answers") or []))
        if term and not all(any(w.startswith(t) for w in words) for t in term):
            continue
        if flt == "open" and not _is_open(m, now_ms):
            continue
        if flt == "closed" and (m.get("isResolved") or (m.get("closeTime") or 0) > now_ms):
            continue
        if flt == "resolved" and not m.get("isResolved"):
            continue
        if flt.startswith("closing-"):
            horizon = {"closing-day": 1, "closing-week": 7, "closing-month": 30, "closing-90-days": 90}.get(flt, 30)
            if not _is_open(m, now_ms) or m.get("closeTime", 0) > now_ms + horizon * DAY_MS:
                continue
        if ctype != "ALL" and m.get("outcomeType") != ctype:
            continue
        out.append(m)
    sort = req.arg("sort") or "score"
    keys = {"liquidity": "totalLiquidity", "newest": "createdTime", "close-date": "closeTime",
            "24-hour-vol": "volume24Hours", "most-popular": "uniqueBettorCount"}
    if sort in keys:
        out.sort(key=lambda m: m.get(keys[sort]) or 0, reverse=sort != "close-date")
    # LiteMarkets: search results carry no description and no answers
    lite = [{k: v for k, v in m.items() if k not in ("description", "textDescription", "answers", "groupSlugs")}
            for m in out[offset:offset + limit]]
    return lite


def get_market(req: SimRequest):
    m = req.sim.state["markets"].get(req.params["id"])
    return m if m is not None else _err(404, "Contract not found")


def get_slug(req: SimRequest):
    for m in req.sim.state["markets"].values():
        if m.get("slug") == req.params["slug"] or (m.get("url") or "").rstrip("/").endswith("/" + req.params["slug"]):
            return m
    return _err(404, "Contract not found")


def get_prob(req: SimRequest):
    m = req.sim.state["markets"].get(req.params["id"])
    if m is None:
        return _err(404, "Contract not found")
    if m.get("answers"):
        return {"answerProbs": {a["id"]: _answer_prob(a) for a in m["answers"]}}
    return {"prob": _prob(m)}


def get_market_probs(req: SimRequest):
    ids = [i for v in req.query_lists.get("ids", []) for i in v.split(",") if i]
    out = {}
    for i in ids[:100]:
        m = req.sim.state["markets"].get(i)
        if m is None:
            continue
        out[i] = {"answerProbs": {a["id"]: _answer_prob(a) for a in m["answers"]}} if m.get("answers") \
            else {"prob": _prob(m)}
    return out


def get_bets(req: SimRequest):
    st = req.sim.state
    cid = req.arg("contractId")
    if not cid and req.arg("contractSlug"):
        cid = next((k for k, m in st["markets"].items() if m.get("slug") == req.arg("contractSlug")), None)
    bets = list(st["bets"].get(cid, [])) if cid else [b for bs in st["bets"].values() for b in bs]
    after, before = req.arg("afterTime"), req.arg("beforeTime")
    if after:
        bets = [b for b in bets if b["createdTime"] > int(after)]
    if before:
        bets = [b for b in bets if b["createdTime"] < int(before)]
    limit = int(req.arg("limit") or 1000)
    return bets[:limit]


def install(sim: Sim, **options: Any) -> None:
    load_all(sim)
    if options.get("world"):  # SYNTHETIC events of tools/sim/world.py (multiple choice for events with members)
        from tools.sim.world import manifold_items, world_events

        for m in manifold_items(world_events("manifold", options["world"]), sim.state["started_ms"]):
            add_market(sim, m)
    sim.set_env(PM_MCP_MANIFOLD_URL="{url}")
    sim.add_route("GET", "/v0/search-markets", search_markets)
    sim.add_route("GET", "/v0/market/{id}", get_market)
    sim.add_route("GET", "/v0/market/{id}/prob", get_prob)
    sim.add_route("GET", "/v0/market-probs", get_market_probs)
    sim.add_route("GET", "/v0/slug/{slug}", get_slug)
    sim.add_route("GET", "/v0/bets", get_bets)
