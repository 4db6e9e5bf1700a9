"""Market control for the simulators: move a book, change a market's status or settlement, change its
rule text, so that tests and benchmarks drive real watch triggers.

In-process (tests hold the Sim)::

    from tools.sim.control import move_book, set_status, set_rules, set_fields
    move_book(sim, "<token id>", bids=[("0.38", "100")], asks=[("0.35", "10")])   # Polymarket: by token id
    move_book(sim, "KX-TICKER", bids=[("0.40", "10")], asks=[("0.45", "10")])     # Kalshi: YES bids / YES asks
    set_status(sim, "559652", "proposed")   # open | closed | proposed | disputed | resolved:<outcome>
    set_rules(sim, "559652", "new rule text")
    set_fields(sim, "559652", {"endDate": "2026-12-02T12:00:00Z"})               # any raw field

Over HTTP (a sim started by hand): ``POST /_sim/market`` with ``{"op": "book", "key": ..., "bids": [[p, s]],
"asks": [[p, s]]}``, ``{"op": "status", "market": ..., "status": ...}``, ``{"op": "rules", "market": ...,
"text": ...}`` or ``{"op": "fields", "market": ..., "fields": {...}}``. Control requests are not logged.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tools.sim.base import HttpError, Sim, SimRequest, SimResponse

Levels = list[tuple[str, str]]


def _market(sim: Sim, market_id: str) -> dict:
    m = sim.state.get("markets", {}).get(str(market_id))
    if m is None:
        raise HttpError(404, f"no market {market_id!r} in the {sim.venue} simulator")
    return m


def move_book(sim: Sim, key: str, bids: Levels, asks: Levels) -> None:
    """Replace one book (best-first levels). Polymarket: ``key`` is the token id; Kalshi: the ticker, ``asks``
    are YES asks (stored as NO bids at 1 - price)."""
    if sim.venue == "polymarket":
        from tools.sim.polymarket import set_book

        old = sim.state["books"].get(key) or {}
        set_book(sim, key, bids, asks, market=old.get("market", ""), tick_size=old.get("tick_size", "0.01"),
                 min_order_size=old.get("min_order_size", "5"), neg_risk=bool(old.get("neg_risk", False)))
    elif sim.venue == "kalshi":
        from tools.sim.kalshi import set_book as kalshi_book

        no_bids = [(str(Decimal(1) - Decimal(p)), s) for p, s in asks]
        kalshi_book(sim, key, bids, no_bids)
    else:
        raise HttpError(400, f"move_book is not supported for the {sim.venue} simulator; use set_fields")


def set_fields(sim: Sim, market_id: str, fields: dict[str, Any]) -> None:
    """Set raw fields of a market as the venue's API writes them (and of its copy inside its event)."""
    m = _market(sim, market_id)
    m.update(fields)
    for ev in sim.state.get("events", {}).values():
        for member in ev.get("markets", []) if isinstance(ev, dict) else []:
            if str(member.get("id", member.get("ticker"))) == str(market_id):
                member.update(fields)


def set_status(sim: Sim, market_id: str, status: str) -> None:
    """open | closed | proposed | disputed | resolved:<outcome> (Polymarket's UMA states; Kalshi's statuses)."""
    state, _, outcome = status.partition(":")
    if sim.venue == "polymarket":
        m = _market(sim, market_id)
        fields: dict[str, Any] = {"closed": state != "open", "active": True,
                                  "acceptingOrders": state == "open", "umaResolutionStatus": None}
        if state in ("proposed", "disputed", "resolved"):
            fields["umaResolutionStatus"] = state
        if state == "resolved" and outcome:
            labels = json.loads(m.get("outcomes") or "[]")
            fields["outcomePrices"] = json.dumps(["1" if x.lower() == outcome.lower() else "0" for x in labels])
        set_fields(sim, market_id, fields)
    elif sim.venue == "kalshi":
        kalshi = {"open": "active", "closed": "closed", "proposed": "determined", "disputed": "disputed",
                  "resolved": "finalized"}
        fields = {"status": kalshi.get(state, state)}
        if state == "resolved" and outcome:
            fields["result"] = outcome.lower()
        set_fields(sim, market_id, fields)
    else:
        fields = {"isResolved": state == "resolved"}
        if outcome:
            fields["resolution"] = outcome.upper()
        set_fields(sim, market_id, fields)


def set_rules(sim: Sim, market_id: str, text: str) -> None:
    field = {"polymarket": "description", "kalshi": "rules_primary"}.get(sim.venue, "textDescription")
    set_fields(sim, market_id, {field: text})


def handle(sim: Sim, req: SimRequest) -> SimResponse:
    """``POST /_sim/market`` (see the module docstring)."""
    spec = req.json() or {}
    op = spec.get("op")
    try:
        if op == "book":
            move_book(sim, str(spec["key"]), [tuple(x) for x in spec.get("bids", [])],
                      [tuple(x) for x in spec.get("asks", [])])
        elif op == "status":
            set_status(sim, str(spec["market"]), str(spec["status"]))
        elif op == "rules":
            set_rules(sim, str(spec["market"]), str(spec["text"]))
        elif op == "fields":
            set_fields(sim, str(spec["market"]), dict(spec["fields"]))
        else:
            return SimResponse.json({"error": "op must be book, status, rules or fields"}, 400)
    except HttpError as exc:
        return SimResponse.json({"error": exc.message}, exc.status)
    except (KeyError, TypeError, ValueError) as exc:
        return SimResponse.json({"error": f"bad control request: {exc}"}, 400)
    return SimResponse.json({"ok": True})
