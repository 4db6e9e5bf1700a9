"""The outcome structure: binary, quoted outcomes, members of a multi-outcome event."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from typing import Any

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.models import REVIEW, MultiOutcomeField, Span, Status
from pm_mcp.domain.rules.sentences import Sentence, _span

_QUOTED_OUTCOME = _rx(r"resolves?\s+(?:to\s+)?[“\"](?P<o>[^”\"]{1,40})[”\"]|"
                             r"(?:,|\band|\bor)\s+(?:to\s+)?[“\"](?P<o2>[^”\"]{1,40})[”\"]\s+if\b", re.I)


def _multi_outcome(text: str, sents: list[Sentence], market: Any) -> MultiOutcomeField:
    meta: dict[str, str] = {}
    if market is not None:
        if getattr(market, "neg_risk", False):
            meta["neg_risk"] = "true"
        if getattr(market, "mutually_exclusive", False):
            meta["mutually_exclusive"] = "true"
        if getattr(market, "group_id", None):
            meta["group_id"] = str(market.group_id)
    spans: list[Span] = []
    outcomes: list[str] = []
    for m in _QUOTED_OUTCOME.finditer(text):
        g = "o" if m.group("o") is not None else "o2"
        o = text[m.start(g):m.end(g)].strip().rstrip(".,")
        if o.lower() in ("yes", "no", "50-50"):
            if o.lower() in ("yes", "no") and o.capitalize() not in outcomes:
                outcomes.append(o.capitalize())
            continue
        if o not in outcomes:
            outcomes.append(o)
            spans.append(_span(text, m.start(g), m.end(g)))
    other = None
    mo = re.search(r"(?:if none[^.]*?|otherwise[^.]*?)resolves? to\s+[“\"]?Other[”\"]?|"
                   r"resolves? to\s+[“\"]Other[”\"]", text, re.I)
    if mo:
        other = _span(text, mo.start(), mo.end())
    mx = re.search(r"mutually exclusive|only one (?:bucket|outcome|market)[^.]*can resolve to yes", text, re.I)
    if mx:
        spans.append(_span(text, mx.start(), mx.end()))
    tie_market = re.search(r"the market called [“\"][^”\"]+[”\"] resolves to Yes", text, re.I)
    if tie_market:
        spans.append(_span(text, tie_market.start(), tie_market.end()))
    named = [o for o in outcomes if o not in ("Yes", "No")]
    if meta.get("neg_risk"):
        kind = "neg_risk"
    elif mx or meta.get("mutually_exclusive") or tie_market:
        kind = "mutually_exclusive"
    elif len(named) >= 2:
        kind = "categorical"
    elif (mc := re.search(r"resolve to the (?:\w+ )?range (?:that )?contains|range bracket|multiple[- ]choice|"
                          r"resolve according to the (?:party|winner|candidate|person|team)\b", text, re.I)):
        kind = "categorical"
        spans.append(_span(text, mc.start(), mc.end()))
    elif re.search(r"\b(?:Yes|YES)\b", text) or "Yes" in outcomes:
        kind = "binary"
    else:
        kind = "unknown"
    if kind == "unknown":
        return MultiOutcomeField(status=Status.UNKNOWN, metadata=meta,
                                 note=f"outcome structure not stated: {REVIEW}")
    note = None
    if kind in ("neg_risk", "mutually_exclusive"):
        note = ("one market of a mutually exclusive set: at most one member resolves YES; "
                "buying YES here is not the same as NO on the others when an unlisted outcome can win")
    return MultiOutcomeField(status=Status.FOUND, kind=kind,  # type: ignore[arg-type]
                             outcomes=named or [o for o in outcomes],
                             other_rule=other, spans=spans, metadata=meta, note=note)
