"""The outcome structure: binary, quoted outcomes, members of a multi-outcome event."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from typing import Any

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.models import REVIEW, MultiOutcomeField, Span, Status
from pm_mcp.domain.rules.sentences import Sentence, _span

_QUOTED_OUTCOME = _rx(r"resolves?\s+(?:to\s+)?[“\"](?P<o>[^”\"]{1,40})[”\"]|"
                             r"(?:,|\band|\bor)\s+(?:to\s+)?[“\"](?P<o2>[^”\"]{1,40})[”\"]\s+if\b", re.I)
# behind the literal prefilter, matched exactly as re.IGNORECASE does (exact_case)
_OTHER = _rx(r"(?:if none[^.]*?|otherwise[^.]*?)resolves? to\s+[“\"]?Other[”\"]?|resolves? to\s+[“\"]Other[”\"]",
             re.I, exact_case=True)
_EXCLUSIVE = _rx(r"mutually exclusive|only one (?:bucket|outcome|market)[^.]*can resolve to yes", re.I, exact_case=True)
_TIE_MARKET = _rx(r"the market called [“\"][^”\"]+[”\"] resolves to Yes", re.I, exact_case=True)
_CATEGORICAL = _rx(r"resolve to the (?:\w+ )?range (?:that )?contains|range bracket|multiple[- ]choice|"
                   r"resolve according to the (?:party|winner|candidate|person|team)\b", re.I, exact_case=True)
_YES_WORD = _rx(r"\b(?:Yes|YES)\b")


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
    mo = _OTHER.search(text)
    if mo:
        other = _span(text, mo.start(), mo.end())
    mx = _EXCLUSIVE.search(text)
    if mx:
        spans.append(_span(text, mx.start(), mx.end()))
    tie_market = _TIE_MARKET.search(text)
    if tie_market:
        spans.append(_span(text, tie_market.start(), tie_market.end()))
    named = [o for o in outcomes if o not in ("Yes", "No")]
    if meta.get("neg_risk"):
        kind = "neg_risk"
    elif mx or meta.get("mutually_exclusive") or tie_market:
        kind = "mutually_exclusive"
    elif len(named) >= 2:
        kind = "categorical"
    elif (mc := _CATEGORICAL.search(text)):
        kind = "categorical"
        spans.append(_span(text, mc.start(), mc.end()))
    elif _YES_WORD.search(text) or "Yes" in outcomes:
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
