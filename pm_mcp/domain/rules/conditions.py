"""What counts as YES, beyond subject, period and threshold: the clauses that make a look-alike another bet.

Two markets on one person and one date can still pay on different events. Three kinds of clause decide it,
and each is read from the rule text as written:

- **Rank**: "finishes in 1st place" needs the win; "the top two ... advance" needs second place or better.
  Read as the worst place that still pays (1 for a win, 2 for the top two).
- **Announcement**: "an announcement of the resignation ... will immediately resolve Yes" pays on the
  announcement; "must have an actual departure date" / "an announcement alone does not count" needs the
  event itself. Read as counts / does not count / not said.
- **Exclusions and sweeping inclusions**: "Death does NOT satisfy the Payout Criterion", "Temporary absences
  ... do NOT constitute leaving office", "a bill signed into law but not yet impacting consumers would not
  count" take cases out of YES; "for any period of time", "for any reason", "regardless of ..." put every
  case in. One side's exclusion against the other side's sweeping inclusion, or against the other side's own
  YES clause, is a different bet.

``compare_conditions`` turns two sides' clauses into differences (hard where one side pays in a case the
other provably does not; soft where one side is silent). Pure; every clause carries its words.
"""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re

from pydantic import BaseModel, Field

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.models import Clause, ConditionClauses, Span
from pm_mcp.domain.rules.sentences import split_sentences

__all__ = ["ConditionClauses", "read_conditions", "compare_conditions"]

_ORD = {"1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "one": 1, "two": 2, "three": 3,
        "four": 4, "five": 5}
_RANK_PLACE = _rx(
    r"\b(?:finish(?:es|ed)?|places?|placed|comes?|ends?|ranks?|ranked)\s+(?:in\s+)?(?:the\s+)?"
    r"(?P<ord>1st|first|2nd|second|3rd|third)\s+place\b|\b(?P<ord2>1st|first|2nd|second|3rd|third)[- ]place\s+finish",
    re.I)
_RANK_TOP = _rx(r"\btop[- ](?P<n>two|three|four|five|\d)\b", re.I)
_ADVANCE = _rx(r"\badvances?\b|\badvancing\b|\bqualif(?:y|ies)\s+for\s+the\s+(?:general|run-?off|final)", re.I)

_ANNOUNCE = _rx(r"\bannounce(?:ment|d|s)?\b", re.I)
# within the announcement's sentence: it does not count
_ANNOUNCE_NOT = _rx(r"\b(?:does|do|will|would|shall)\s+not\s+(?:count|suffice|qualify|be\s+enough)|"
                           r"\balone\s+(?:is|are|does|do)\s+not\b|\bnot\s+(?:sufficient|enough)\b", re.I)
# a sentence that demands the event itself
_ACTUAL = _rx(r"\bmust\s+(?:have\s+)?(?:an?\s+)?actual(?:ly)?\b|\bactual\s+(?:departure|resignation|exit|"
                     r"removal)\s+date\b|\bmust\s+(?:actually\s+)?(?:vacate|leave|depart)\b", re.I)

_EXCLUDE = _rx(r"\b(?:does|do|will|would|shall|did)\s+not\s+(?:count|satisfy|constitute|qualify)\b|"
                      r"\bnot\s+(?:count(?:ed)?|considered)\s+(?:as|towards?|toward)\b|\bwill\s+not\s+be\s+"
                      r"(?:counted|considered)\b", re.I)
_SWEEP = _rx(r"\bfor\s+any\s+(?:period|length|amount)\s+of\s+time\b|\bfor\s+any\s+reason\b|"
                    r"\bfor\s+whatever\s+reason\b|\bregardless\s+of\s+(?:the\s+)?(?:reason|cause|how)\b", re.I)
_STOP = {"the", "a", "an", "of", "to", "in", "on", "at", "by", "for", "and", "or", "is", "be", "will", "this",
         "that", "market", "resolve", "resolves", "their", "its", "his", "her", "if", "such", "as", "any", "not",
         "does", "do", "would", "shall", "count", "counts", "satisfy", "constitute", "qualify", "yes", "no",
         "contract", "payout", "criterion", "towards", "toward", "because", "even", "but", "yet", "was", "were",
         "been", "being", "has", "have", "had", "are", "with", "from", "into", "than", "then", "them", "they",
         "who", "which", "when", "where", "what", "all", "also", "only", "other", "these", "those", "there",
         "person", "people", "some", "still", "would", "could", "should", "must", "may", "might", "more"}
_WORD = re.compile(r"[a-z][a-z'-]{3,}")


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(x.start, x.end) for x in split_sentences(text)]


def _span(text: str, a: int, b: int) -> Span:
    return Span(start=a, end=b, quote=text[a:b])


def _keys(words: str) -> list[str]:
    return list(dict.fromkeys(w.strip("'-") for w in _WORD.findall(words.lower()) if w.strip("'-") not in _STOP))


def read_conditions(text: str) -> ConditionClauses:
    out = ConditionClauses()
    sents = _sentences(text)
    for a, b in sents:
        s = text[a:b]
        m = _RANK_PLACE.search(s)
        if m is not None:
            place = _ORD[(m.group("ord") or m.group("ord2")).lower()]
            if out.rank is None or place < out.rank:
                out.rank, out.rank_span = place, _span(text, a + m.start(), a + m.end())
        top = _RANK_TOP.search(s)
        if top is not None and _ADVANCE.search(s):
            n = top.group("n").lower()
            place = int(n) if n.isdigit() else _ORD[n]
            if out.rank is None:
                out.rank, out.rank_span = place, _span(text, a + top.start(), a + top.end())
        ann = _ANNOUNCE.search(s)
        if ann is not None and out.announcement is not False:
            if _ANNOUNCE_NOT.search(s):
                out.announcement, out.announcement_span = False, _span(text, a, b)
            elif re.search(r"\bresol(?:ve|ves|ved|ution)\b|\bcounts?\b|\bsuffices?\b|\bqualif", s, re.I):
                out.announcement, out.announcement_span = True, _span(text, a, b)
        if _ACTUAL.search(s) and not ann:
            out.announcement, out.announcement_span = False, _span(text, a, b)
        ex = _EXCLUDE.search(s)
        if ex is not None:
            before = s[:ex.start()]
            keys = _keys(before)
            if keys:
                out.exclusions.append(Clause(words=before.strip()[:160], span=_span(text, a, b), keys=keys))
        sw = _SWEEP.search(s)
        if sw is not None and out.sweeping is None:
            out.sweeping = _span(text, a + sw.start(), a + sw.end())
    return out


class ConditionDifference(BaseModel):
    severity: str  # "hard" | "soft"
    detail: str
    a: list[Span] = Field(default_factory=list)
    b: list[Span] = Field(default_factory=list)


def _place(n: int) -> str:
    return "1st place (a win)" if n == 1 else f"a top-{n} finish"


def _excluded_elsewhere(x: Clause, other: ConditionClauses) -> bool:
    return any(set(x.keys) & set(y.keys) for y in other.exclusions)


def compare_conditions(a: ConditionClauses, b: ConditionClauses, *, a_yes: str = "", b_yes: str = ""
                       ) -> list[ConditionDifference]:
    """``a_yes`` / ``b_yes``: each side's YES clause (an exclusion of what the other side's YES clause counts is a
    different bet)."""
    out: list[ConditionDifference] = []
    if a.rank is not None and b.rank is not None and a.rank != b.rank:
        out.append(ConditionDifference(severity="hard",
                                       detail=f"different results pay: A needs {_place(a.rank)}, B {_place(b.rank)}",
                                       a=[a.rank_span] if a.rank_span else [], b=[b.rank_span] if b.rank_span else []))
    if a.announcement is not None and b.announcement is not None and a.announcement != b.announcement:
        yes_side = "A" if a.announcement else "B"
        out.append(ConditionDifference(
            severity="hard", detail=f"{yes_side} resolves YES on an announcement; the other needs the event itself",
            a=[a.announcement_span] if a.announcement_span else [],
            b=[b.announcement_span] if b.announcement_span else []))
    elif (a.announcement is True) != (b.announcement is True) and (a.announcement is None or b.announcement is None):
        yes_side, other = ("A", "B") if a.announcement else ("B", "A")
        out.append(ConditionDifference(
            severity="soft", detail=f"{yes_side} resolves YES on an announcement; {other} does not say whether one "
                                    "counts",
            a=[a.announcement_span] if a.announcement_span else [],
            b=[b.announcement_span] if b.announcement_span else []))
    for side, mine, theirs, their_yes in (("A", a, b, b_yes), ("B", b, a, a_yes)):
        other = "B" if side == "A" else "A"
        for x in mine.exclusions:
            if _excluded_elsewhere(x, theirs):
                continue
            spans = {"a": [x.span], "b": []} if side == "A" else {"a": [], "b": [x.span]}
            counted = [k for k in x.keys if re.search(r"\b" + re.escape(k) + r"\b", their_yes.lower())]
            if theirs.sweeping is not None:
                spans["b" if side == "A" else "a"].append(theirs.sweeping)
                out.append(ConditionDifference(
                    severity="hard", detail=f"{side} excludes '{x.words[:80]}'; {other} counts every case "
                                            f"('{theirs.sweeping.quote}')", **spans))
            elif len(counted) >= 2 or (counted and len(x.keys) <= 2):
                out.append(ConditionDifference(
                    severity="hard", detail=f"{side} excludes '{x.words[:80]}', which {other}'s YES condition "
                                            "counts", **spans))
            else:
                out.append(ConditionDifference(
                    severity="soft", detail=f"{side} excludes '{x.words[:80]}'; {other} does not say", **spans))
    return out
