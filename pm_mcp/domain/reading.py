"""The assistant's reading of a market's rules, verified against the text.

The assistant can read; the server checks. A reading is a list of items ``{field, quote, value, at?}``
(fields: source, condition, threshold, deadline, edge_case, vague_phrase). :func:`verify_reading` checks each
one and either returns a :class:`VerifiedReading` or raises :class:`ReadingRejected` listing every bad item:

- the quote must occur, exactly, in the rule text or the market's title (its span is located and says which
  text it quotes); an ``at`` offset must point at it, and never past the end of the rules;
- dates and numbers are re-derived from the quote by our own parser (pm_mcp.domain.rules: the threshold
  patterns, the date finder with its time joining, relative days and time zones); a value that contradicts
  what the parser reads in its own quote is rejected, and the stored value is always ours;
- each field is compared with the deterministic reading (``parse_rules``): ``agree``, ``adds`` (we had
  nothing) or ``review`` (we read something else: shown, never silently chosen).

:func:`apply_reading` composes a verified reading with the deterministic analysis (what assess_market,
compare_rules and sizing then use): added fields filled in with the verified values, clarity given back what
the missing field had cost it, a verified vague phrase lowering it, each disagreement a "review" entry and a
contested field. :func:`review_comparison` adds the disagreements to a rule comparison.

Pure: no I/O, no clock.
"""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pm_mcp.domain.rules import REVIEW, RuleAnalysis, Span, Status, Threshold, TimePoint, split_sentences, to_utc
from pm_mcp.domain.rules.dates import _classify_date, _find_dates, _timepoint, join_times
from pm_mcp.domain.rules.flags import _sentence_index
from pm_mcp.domain.rules.metadata import words
from pm_mcp.domain.rules.models import AmbiguityFlag, EdgeCase, SourceItem
from pm_mcp.domain.rules.parse import CLARITY_COST, deadline_cost
from pm_mcp.domain.rules.sentences import Sentence
from pm_mcp.domain.rules.thresholds import _NUM, _threshold_equivalent, _threshold_in, _to_decimal
from pm_mcp.domain.rules_compare import Difference, RuleComparison
from pm_mcp.domain.untrusted import quote_inline

__all__ = ["FIELDS", "ReadingItem", "VerifiedItem", "VerifiedReading", "ReadingRejected", "verify_reading",
           "apply_reading", "review_comparison", "reading_lines"]

FieldName = Literal["source", "condition", "threshold", "deadline", "edge_case", "vague_phrase"]
FIELDS: tuple[str, ...] = get_args(FieldName)
EDGE_KINDS: tuple[str, ...] = get_args(EdgeCase.model_fields["kind"].annotation)
VAGUE_KINDS: tuple[str, ...] = get_args(AmbiguityFlag.model_fields["kind"].annotation)
MAX_ITEMS = 20
MAX_QUOTE = 600
MAX_VALUE = 200
MIN_QUOTE = 3  # characters that are not spaces: "a" or "of" occur in any text and prove nothing
VAGUE_PENALTY = CLARITY_COST["vague_phrase"]  # a vague phrase the parser did not flag (what parse_rules charges)
VAGUE_COUNTED = 3
REVIEW_PENALTY = 0.10  # a field the reading and the parser read differently
REVIEW_COUNTED = 2
_FALLBACK_KINDS = ("postponement", "cancellation", "fifty_fifty", "void", "other", "fair_price", "fallback_source")

Verdict = Literal["agree", "adds", "review"]


class ReadingItem(BaseModel):
    """One field of a reading: the exact words, and what they say."""

    model_config = ConfigDict(extra="forbid")

    field: FieldName
    quote: str = Field(description="The exact words, copied from the rules or the title", max_length=MAX_QUOTE)
    value: str | None = Field(None, description="What they say: a name, '>= 4%', '2026-04-03 08:30 ET', "
                                                "an edge-case kind ('postponement: No')", max_length=MAX_VALUE)
    at: int | None = Field(None, ge=0, description="The quote's offset in the rules (@N), if known")


class VerifiedItem(BaseModel):
    n: int = Field(description="The item's number in the submitted reading (1-based).")
    field: FieldName
    quote: str
    span: Span = Field(description="Where the quote is: part 'rules' (offsets in the rule text) or 'title'.")
    value: str | None = Field(None, description="The assistant's words for the value.")
    derived: str | None = Field(None, description="What our parser reads in the quote (the value stored).")
    threshold: Threshold | None = None
    deadline: TimePoint | None = None
    kind: str | None = Field(None, description="edge_case / vague_phrase: the kind.")
    outcome: str | None = Field(None, description="edge_case: what it resolves to, as the quote says.")
    verdict: Verdict = Field(description="agree: the parser reads the same; adds: the parser had nothing; "
                                         "review: the parser reads something else (never silently chosen).")
    ours: str | None = Field(None, description="The deterministic reading of this field, in words.")


class VerifiedReading(BaseModel):
    rules_hash: str = Field(description="The contract hash the reading was verified against.")
    venue: str | None = None
    market_id: str | None = None
    items: list[VerifiedItem] = Field(default_factory=list)

    def of(self, verdict: Verdict) -> list[VerifiedItem]:
        return [i for i in self.items if i.verdict == verdict]


class ReadingRejected(ValueError):
    """The reading was not accepted; ``errors`` names each bad item and why. Nothing of it may be stored."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("reading rejected (nothing stored): " + "; ".join(errors))


class _Bad(ValueError):
    """One item's reason for rejection."""


# --- small readers ---------------------------------------------------------------------------------------------
_NUM_RX = re.compile(_NUM, re.I)
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset({"the", "of", "and", "by", "for", "in", "on", "at", "to", "a", "an", "as", "or", "its", "s"})
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?\s*"
                  r"(Z|[+-]\d{2}:?\d{2}|[A-Za-z][A-Za-z ]{0,24})?)?\s*$")


def _q(text: object, n: int = 60) -> str:
    """Words of the venue's or the assistant's inside our sentence: cleaned, capped, quoted (untrusted)."""
    return quote_inline(" ".join(str(text).split()), n)


def _numbers(text: str) -> list[Decimal]:
    out = []
    for m in _NUM_RX.finditer(text):
        v = _to_decimal(m.group("num"), m.group("neg"), m.group("scale"))
        if v is not None:
            out.append(v)
    return out


def _quote_numbers(text: str) -> set[Decimal]:
    """Every number of a text, with and without its scale ("$100k": 100 and 100000)."""
    out = set(_numbers(text))
    for m in _NUM_RX.finditer(text):
        v = _to_decimal(m.group("num"), m.group("neg"), None)
        if v is not None:
            out.add(v)
    return out


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _names(value: str, quote: str) -> bool:
    """Does the quote name what ``value`` names? A content word in common, the value as an acronym of the
    quote's capitalised words (BLS, AP), or the value written inside the quote without spaces (bls.gov)."""
    vt = [t for t in _tokens(value) if t not in _STOP and (len(t) > 1 or t.isdigit())]
    qt = set(_tokens(quote))
    if any(t in qt for t in vt):
        return True
    squash = "".join(_tokens(value))
    if squash and squash in "".join(_tokens(quote)):
        return True
    caps = [w for w in re.findall(r"[A-Za-z][\w’'.-]*", quote) if w[:1].isupper()]
    initials = "".join(w[0] for w in caps).casefold()
    return len(squash) >= 2 and squash.isalpha() and squash in initials


def _as_item(n: int, raw: Any) -> ReadingItem:
    if isinstance(raw, ReadingItem):
        return raw
    if not isinstance(raw, dict):
        raise _Bad(f"item {n} must be an object {{field, quote, value}}, got {type(raw).__name__}")
    extra = sorted(set(raw) - set(ReadingItem.model_fields))
    if extra:
        raise _Bad(f"item {n} has keys outside the schema: {', '.join(map(str, extra))[:80]} "
                   "(allowed: field, quote, value, at)")
    f = raw.get("field")
    if f not in FIELDS:
        raise _Bad(f"item {n}: field {_q(str(f), 40)} is not in the schema (allowed: {', '.join(FIELDS)})")
    try:
        return ReadingItem.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in e.get("loc", ())) or "item"
        raise _Bad(f"item {n} ({f}): {where}: {e.get('msg', 'invalid')}") from None


# --- locating the quote ----------------------------------------------------------------------------------------
def _locate(it: ReadingItem, rules: str, title: str) -> Span:
    q = it.quote
    if len(q.strip()) < MIN_QUOTE:
        raise _Bad(f"quote {_q(q)} is too short to locate (at least {MIN_QUOTE} characters of the text)")
    if it.at is not None:
        if it.at >= len(rules) or it.at + len(q) > len(rules):
            raise _Bad(f"offset at={it.at} is past the end of the rule text ({len(rules)} characters)")
        if rules[it.at:it.at + len(q)] != q:
            found = rules.find(q)
            hint = (f"the quote is at @{found}" if found >= 0 else
                    "the quote is in the title, not the rules: leave at out" if q in title else
                    "and the quote is nowhere in the rule text")
            raise _Bad(f"the rules at @{it.at} do not read {_q(q)} ({hint})")
        return Span(start=it.at, end=it.at + len(q), quote=q, part="rules")
    for text, part in ((rules, "rules"), (title, "title")):
        i = text.find(q) if text else -1
        if i >= 0:
            return Span(start=i, end=i + len(q), quote=q, part=part)  # type: ignore[arg-type]
    squashed = " ".join(q.split()).casefold()
    near = squashed and any(squashed in " ".join(t.split()).casefold() for t in (rules, title) if t)
    raise _Bad(f"quote {_q(q)} is not in the rule text or the title"
               + (" (it differs in spacing or case: copy the words exactly)" if near else
                  " (copy the exact words; the server checks every quote)"))


def _text_of(span: Span, rules: str, title: str) -> str:
    return rules if span.part == "rules" else title


# --- the fields: re-derive, check the value against its quote --------------------------------------------------
def _threshold_of(it: ReadingItem, span: Span, text: str) -> Threshold:
    th = _threshold_in(text, span.start, span.quote, "title" if span.part == "title" else "rules")
    if th is None or th.value is None:
        raise _Bad(f"our parser reads no comparison with a number in {_q(span.quote)}: quote the words that "
                   "state it (e.g. 'above 4.0%'), the title's if the rules defer to it")
    if it.value is not None:
        nums = _numbers(it.value)
        if not nums:
            raise _Bad(f"value {_q(it.value)} has no number (the quote says {_fmt_th(th)})")
        allowed = {th.value} | ({th.upper} if th.upper is not None else set())
        if nums[0] != th.value or any(x not in allowed for x in nums):
            raise _Bad(f"value {_q(it.value)} contradicts its quote: our parser reads {_fmt_th(th)} in "
                       f"{_q(span.quote)}")
        own = _threshold_in(it.value, 0, it.value)
        if own is not None and own.comparator != th.comparator:
            raise _Bad(f"value {_q(it.value)} says {own.comparator} where its quote says {th.comparator} "
                       f"({_q(span.quote)})")
        if own is not None and own.unit and th.unit and own.unit != th.unit:
            raise _Bad(f"value {_q(it.value)} is in {own.unit} where its quote is in {th.unit}")
    return th


def _fmt_th(th: Threshold) -> str:
    v = f"{th.value}" + (f"-{th.upper}" if th.upper is not None else "")
    return f"{th.comparator} {v}{' ' + th.unit if th.unit else ''}"


def _fmt_tp(tp: TimePoint) -> str:
    s = f"{tp.date or '?'}" + (f" {tp.time}" if tp.time else "") + (f" {tp.tz_label}" if tp.tz_label else "")
    return s + (f" = {tp.utc.isoformat().replace('+00:00', 'Z')}" if tp.utc else "")


def _when(value: str, default_year: int | None) -> tuple[date | None, tuple[int, int, int] | None, datetime | None]:
    """The assistant's date value: (date, local time, UTC instant when a zone is given); ISO 8601 or words."""
    m = _ISO.match(value)
    if m:
        y, mo, d, hh, mi, ss, tz = m.groups()
        try:
            day = date(int(y), int(mo), int(d))
        except ValueError:
            raise _Bad(f"value {_q(value)} is not a calendar date") from None
        if hh is None:
            return day, None, None
        hms = (int(hh), int(mi), int(ss or 0))
        if hms[0] > 23 or hms[1] > 59 or hms[2] > 59:
            raise _Bad(f"value {_q(value)} is not a time of day")
        tz = (tz or "").strip()
        if not tz:
            return day, hms, None
        if tz == "Z" or tz.upper() == "UTC":
            return day, hms, datetime(day.year, day.month, day.day, *hms, tzinfo=UTC)
        off = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", tz)
        if off:
            sign = 1 if off.group(1) == "+" else -1
            delta = timedelta(hours=int(off.group(2)), minutes=int(off.group(3))) * sign
            return day, hms, datetime(day.year, day.month, day.day, *hms, tzinfo=UTC) - delta
        try:
            return day, hms, to_utc(day, *hms, tz)[0]
        except ValueError:
            raise _Bad(f"value {_q(value)}: time zone {_q(tz, 20)} is not one we know") from None
    hits = _find_dates(value)
    if not hits:
        raise _Bad(f"value {_q(value)} is not a date we can read (write YYYY-MM-DD, with HH:MM and a zone if "
                   "the rules give them)")
    h = hits[0]
    year = h.year or default_year
    if year is None:
        return None, h.hms, None
    try:
        day = date(year, h.month, h.day2 or h.day)
    except ValueError:
        raise _Bad(f"value {_q(value)} is not a calendar date") from None
    utc = None
    if h.hms is not None and h.tz_label:
        try:
            utc = to_utc(day, *h.hms, h.tz_label)[0]
        except ValueError:
            utc = None
    return day, h.hms, utc


def _same_when(tp: TimePoint, day: date | None, hms: tuple[int, int, int] | None, utc: datetime | None) -> bool:
    if utc is not None and tp.utc is not None:
        return abs((utc - tp.utc).total_seconds()) <= 60
    if day is not None and tp.date is not None and day != tp.date:
        return False
    if hms is not None and tp.time is not None and f"{hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}" != tp.time:
        return False
    return day is not None or hms is not None


def _deadline_of(it: ReadingItem, span: Span, text: str, default_year: int | None) -> TimePoint:
    if span.part == "rules":
        sents = split_sentences(text)
    else:
        sents = [Sentence(0, len(text), text)]
    sent_at = _sentence_index(sents)
    hits = _find_dates(text)
    join_times(text, hits, sent_at)
    points: list[TimePoint] = []
    for h in hits:
        if not (span.start <= h.start < span.end):
            continue
        s = sent_at(h.start) or Sentence(0, len(text), text)
        kind = _classify_date(text, h, s)
        if kind == "other" and h.rel_days:
            kind = "at"
        points.append(_timepoint(text, h, kind, hits, default_year, s, "title" if span.part == "title" else "rules"))
    if not points:
        raise _Bad(f"our parser finds no date in {_q(span.quote)}: quote the words with the date")
    if it.value is None:
        pref = [p for p in points if p.kind in ("by", "window_end", "at", "cutoff")]
        return (pref or points)[-1]
    day, hms, utc = _when(it.value, default_year)
    for p in points:
        if _same_when(p, day, hms, utc):
            return p
    raise _Bad(f"value {_q(it.value)} contradicts its quote: our parser reads "
               + "; ".join(_fmt_tp(p) + (f" ({p.relative})" if p.relative else "") for p in points[:3])
               + f" in {_q(span.quote)}")


def _check_condition(it: ReadingItem, span: Span) -> None:
    if not it.value:
        return
    have = _quote_numbers(span.quote)
    for x in _numbers(it.value):
        if x not in have:
            raise _Bad(f"value {_q(it.value)} names {x}, which its quote {_q(span.quote)} does not")
    quoted = {(h.month, h.day) for h in _find_dates(span.quote)}
    for h in _find_dates(it.value):
        if (h.month, h.day) not in quoted:
            raise _Bad(f"value {_q(it.value)} names a date its quote {_q(span.quote)} does not")


def _edge_of(it: ReadingItem, span: Span) -> tuple[str, str | None]:
    raw = (it.value or "").strip()
    m = re.match(r"^\s*([\w /-]+?)\s*(?::|->|→|=)\s*(.+)$", raw)
    kind_w, outcome = (m.group(1), m.group(2).strip().strip("\"'“”")) if m else (raw, None)
    kind = re.sub(r"[\s-]+", "_", kind_w.strip().casefold())
    kind = {"50_50": "fifty_fifty", "50/50": "fifty_fifty", "draw": "tie", "cancelled": "cancellation",
            "canceled": "cancellation", "postponed": "postponement", "delay": "postponement"}.get(kind, kind)
    if kind not in EDGE_KINDS:
        raise _Bad(f"value {_q(raw or '(none)')} must name an edge-case kind ({', '.join(EDGE_KINDS)}), "
                   "optionally ': <outcome>'")
    if outcome:
        o = outcome.casefold()
        fifty = o in ("50-50", "50/50", "fifty-fifty") and re.search(r"50[-/]50|fifty", span.quote, re.I)
        if not fifty and o not in span.quote.casefold():
            raise _Bad(f"value {_q(raw)} says it resolves {_q(outcome, 30)}, which its quote {_q(span.quote)} "
                       "does not say")
    return kind, outcome


def _vague_of(it: ReadingItem) -> str:
    first = re.split(r"[\s:]+", (it.value or "").strip(), maxsplit=1)[0].casefold().replace("-", "_")
    return first if first in VAGUE_KINDS else "undefined_term"


# --- compared with the deterministic reading -------------------------------------------------------------------
def _overlap(a: Span | None, b: Span) -> bool:
    return a is not None and a.part == b.part and a.start < b.end and b.start < a.end


def _compare(v: VerifiedItem, a: RuleAnalysis) -> tuple[Verdict, str | None]:
    f, sp = v.field, v.span
    if f == "source":
        items = [i for i in a.sources.items if i.role == "primary"] or a.sources.items
        if not items:
            return "adds", None
        ours = ", ".join(i.name for i in items[:3])
        same = any(_overlap(i.span, sp) or _names(i.name, v.value or sp.quote) or _names(v.value or "", i.span.quote)
                   for i in items)
        return ("agree" if same else "review"), ours
    if f == "threshold":
        th = a.condition.threshold
        if th is None:
            return "adds", None
        assert v.threshold is not None
        return ("agree" if _threshold_equivalent(v.threshold, th) else "review"), _fmt_th(th) if th.value is not None \
            else f"{th.comparator} {th.reference}"
    if f == "deadline":
        tp = a.deadline.value
        if tp is None or a.deadline.status == Status.UNKNOWN:
            return "adds", None
        assert v.deadline is not None
        d = v.deadline
        if d.utc is not None and tp.utc is not None:
            same = abs((d.utc - tp.utc).total_seconds()) <= 60
        else:
            same = d.date == tp.date and (d.time is None or tp.time is None or d.time == tp.time)
        return ("agree" if same and a.deadline.status == Status.FOUND else "review"), _fmt_tp(tp)
    if f == "condition":
        c = a.condition
        if c.status == Status.UNKNOWN:
            return "adds", None
        spans = [s for s in (c.yes_span, c.threshold.span if c.threshold else None) if s is not None]
        ours = c.yes_span.quote if c.yes_span else (_fmt_th(c.threshold) if c.threshold else None)
        return ("agree" if any(_overlap(s, sp) for s in spans) else "review"), ours
    if f == "edge_case":
        same = [e for e in a.edge_cases if e.kind == v.kind]
        if not same:
            return "adds", ", ".join(sorted({e.kind for e in a.edge_cases})) or None
        e = same[0]
        ours = e.kind + (f" -> {e.outcome}" if e.outcome else "")
        if v.outcome and e.outcome and v.outcome.casefold() != e.outcome.casefold():
            return "review", ours
        return "agree", ours
    flags = [fl for fl in a.ambiguity if _overlap(fl.span, sp)]
    return ("agree", f"{flags[0].kind}: {flags[0].phrase}") if flags else ("adds", None)


def _derived_words(v: VerifiedItem) -> str | None:
    if v.threshold is not None:
        return _fmt_th(v.threshold)
    if v.deadline is not None:
        return _fmt_tp(v.deadline)
    if v.kind is not None:
        return v.kind + (f" -> {v.outcome}" if v.outcome else "")
    return None


def _verify_one(n: int, raw: Any, a: RuleAnalysis, rules: str, title: str, default_year: int | None) -> VerifiedItem:
    it = _as_item(n, raw)
    try:
        span = _locate(it, rules, title)
        text = _text_of(span, rules, title)
        th = tp = None
        kind = outcome = None
        if it.field == "source" and it.value and not _names(it.value, span.quote):
            raise _Bad(f"value {_q(it.value)} is not named in its quote {_q(span.quote)}")
        if it.field == "threshold":
            th = _threshold_of(it, span, text)
        elif it.field == "deadline":
            tp = _deadline_of(it, span, text, default_year)
        elif it.field == "condition":
            _check_condition(it, span)
        elif it.field == "edge_case":
            kind, outcome = _edge_of(it, span)
        elif it.field == "vague_phrase":
            kind = _vague_of(it)
    except _Bad as exc:
        raise _Bad(f"item {n} ({it.field}): {exc}") from None
    v = VerifiedItem(n=n, field=it.field, quote=it.quote, span=span, value=it.value, threshold=th, deadline=tp,
                     kind=kind, outcome=outcome, verdict="adds")
    v.derived = _derived_words(v)
    v.verdict, v.ours = _compare(v, a)
    return v


def verify_reading(items: Sequence[Any], *, analysis: RuleAnalysis, rules: str, title: str = "",
                   default_year: int | None = None) -> VerifiedReading:
    """Check every item against ``rules`` and ``title`` and compare it with ``analysis`` (parse_rules of the same
    market). Raises :class:`ReadingRejected` naming every bad item; otherwise the verified reading, bound to
    ``analysis.rules_hash``. ``default_year``: the year a date without one falls in (the market's close)."""
    if not isinstance(items, (list, tuple)):
        raise ReadingRejected(["reading must be a list of {field, quote, value} items"])
    if not items:
        raise ReadingRejected(["reading is empty: give at least one {field, quote, value} item"])
    if len(items) > MAX_ITEMS:
        raise ReadingRejected([f"reading has {len(items)} items; at most {MAX_ITEMS}"])
    errors: list[str] = []
    out: list[VerifiedItem] = []
    for n, raw in enumerate(items, 1):
        try:
            out.append(_verify_one(n, raw, analysis, rules or "", title or "", default_year))
        except _Bad as exc:
            errors.append(str(exc))
    if errors:
        raise ReadingRejected(errors)
    return VerifiedReading(rules_hash=analysis.rules_hash, venue=analysis.venue, market_id=analysis.market_id,
                           items=out)


# --- composing with the deterministic analysis -----------------------------------------------------------------
_PENALTY = re.compile(r"^-(\d+\.\d+) ")
_MISSING_REASON = {
    "source": re.compile(r"no resolution source in the rule text|resolution source only in venue metadata"),
    "condition": re.compile(r"the YES condition was not found"),
    "deadline": re.compile(r"no deadline or observation time"),
    "edge_case": re.compile(r"no fallback for postponement"),
}
_MISSING_EVIDENCE = {"source": "source", "condition": "condition", "deadline": "deadline", "threshold": "threshold",
                     "edge_case": "fallback for postponement"}
_MISSING_REVIEW = {"source": "resolution source", "condition": "condition", "deadline": "deadline"}


def _give_back(a: RuleAnalysis, field: str, why: str) -> float:
    """Remove the clarity reason a missing ``field`` cost and return its penalty (0 when there is none)."""
    rx = _MISSING_REASON.get(field)
    for r in list(a.clarity_reasons) if rx else []:
        m = _PENALTY.match(r)
        if m and rx.search(r):  # type: ignore[union-attr]
            a.clarity_reasons.remove(r)
            a.clarity_reasons.append(f"+{m.group(1)} {why}")
            return float(m.group(1))
    return 0.0


def _deadline_cost(tp: TimePoint) -> tuple[float, str | None]:
    """What parse_rules charges a deadline it found (no year / a time without a zone / no time of day)."""
    return deadline_cost(tp)


def _add(a: RuleAnalysis, v: VerifiedItem) -> float:
    """Fill the field the parser missed with the verified value; the change of clarity."""
    words_ = f"from a verified reading: {_q(v.quote, 50)}"
    delta = 0.0
    if v.field == "source":
        url = re.search(r"https?://\S+", v.value or v.quote)
        name = " ".join((v.value or v.quote).split())[:80]
        a.sources.items.append(SourceItem(name=name, kind="url" if url and not v.value else "official",
                                          url=url.group(0) if url else None, span=v.span, role="primary", via="cue"))
        if a.sources.status == Status.UNKNOWN:
            a.sources.status = Status.FOUND
            a.sources.note = "the source comes from the assistant's verified reading (its quote is in the text)"
            delta += _give_back(a, "source", f"resolution source {words_}")
        a.sources.words = words(a.sources)
    elif v.field == "threshold":
        c = a.condition
        c.threshold, c.threshold_status = v.threshold, Status.FOUND
        if c.status == Status.UNKNOWN:
            c.status, c.note = Status.FOUND, None
            delta += _give_back(a, "condition", f"YES condition (threshold) {words_}")
    elif v.field == "condition":
        c = a.condition
        c.status, c.yes_if, c.yes_span, c.note = Status.FOUND, v.quote, v.span, None
        delta += _give_back(a, "condition", f"YES condition {words_}")
    elif v.field == "deadline" and v.deadline is not None and a.deadline.value is None:
        a.deadline.status, a.deadline.value, a.deadline.note = Status.FOUND, v.deadline, None
        delta += _give_back(a, "deadline", f"deadline {words_}")
        cost, reason = _deadline_cost(v.deadline)
        if cost and delta:
            delta -= cost
            a.clarity_reasons.append(reason)  # type: ignore[arg-type]
    elif v.field == "edge_case" and v.kind is not None:
        a.edge_cases.append(EdgeCase(kind=v.kind, outcome=v.outcome, span=v.span))  # type: ignore[arg-type]
        if v.kind in _FALLBACK_KINDS:
            delta += _give_back(a, "edge_case", f"fallback ({v.kind}) {words_}")
    elif v.field == "vague_phrase":
        a.ambiguity.append(AmbiguityFlag(kind=v.kind or "undefined_term", phrase=v.quote, span=v.span))  # type: ignore[arg-type]
    return delta


def _fix_evidence(a: RuleAnalysis, v: VerifiedItem) -> None:
    ev = a.clarity_evidence
    if ev is None:
        return
    key = _MISSING_EVIDENCE.get(v.field)
    if v.verdict == "adds" and key:
        ev.missing = [m for m in ev.missing if not m.startswith(key)]
        ev.found.append(f"{v.field.replace('_', ' ')} (verified reading)")
    if v.verdict == "adds" and v.field == "vague_phrase":
        ev.vague.append(f"{v.kind}: {v.quote} (verified reading)")
    if v.verdict == "review":
        ev.contested.append(f"{v.field.replace('_', ' ')} (verified reading: {v.derived or v.value or v.quote}; "
                            f"parser: {v.ours})"[:200])


def apply_reading(analysis: RuleAnalysis, reading: "VerifiedReading | None") -> RuleAnalysis:
    """The analysis with a verified reading composed in (a copy; the input is unchanged). A reading verified
    against another rules hash is ignored: the rules changed since."""
    if reading is None or reading.rules_hash != analysis.rules_hash or not reading.items:
        return analysis
    a = analysis.model_copy(deep=True)
    delta = 0.0
    vague = reviews = 0
    for v in reading.items:
        if v.verdict == "adds":
            delta += _add(a, v)
            gone = _MISSING_REVIEW.get(v.field)
            if gone and v.field in ("source", "condition", "deadline"):
                a.review = [r for r in a.review if not r.startswith(gone) or "disagree" in r]
            if v.field == "vague_phrase" and vague < VAGUE_COUNTED:
                vague += 1
                delta -= VAGUE_PENALTY
                a.clarity_reasons.append(f"-{VAGUE_PENALTY:.2f} vague wording (verified reading): {_q(v.quote, 50)}")
                a.review.append(f"vague wording {_q(v.quote, 50)} ({v.kind})")
        elif v.verdict == "review":
            a.review.append(f"{v.field.replace('_', ' ')}: the verified reading says {v.derived or v.value or v.quote} "
                            f"({_q(v.quote, 50)}), the parser read {v.ours} - {REVIEW}")
            if reviews < REVIEW_COUNTED:
                reviews += 1
                delta -= REVIEW_PENALTY
                a.clarity_reasons.append(f"-{REVIEW_PENALTY:.2f} the verified reading and the parser disagree on "
                                         f"{v.field.replace('_', ' ')}")
        _fix_evidence(a, v)
    a.clarity = max(0.0, min(1.0, round(a.clarity + delta, 2)))
    a.clarity_reasons = [r for r in a.clarity_reasons if not r.startswith("1.00 ")] or a.clarity_reasons
    return a


_DIFF_FIELD = {"source": "source", "threshold": "threshold", "deadline": "deadline", "edge_case": "edge_case"}


def review_comparison(cmp: RuleComparison, a: "VerifiedReading | None", b: "VerifiedReading | None") -> RuleComparison:
    """Each disagreement of a side's verified reading as a soft difference (an equivalent verdict becomes
    uncertain: a person reads the rules first). ``cmp`` compared the analyses with the readings applied."""
    diffs: list[Difference] = []
    for side, r, h in (("A", a, cmp.a_hash), ("B", b, cmp.b_hash)):
        if r is None or r.rules_hash != h:
            continue
        for v in r.of("review"):
            d = Difference(field=_DIFF_FIELD.get(v.field, "unknown_field"), severity="soft",  # type: ignore[arg-type]
                           detail=f"{side}: the verified reading says {v.derived or v.value or v.quote}, the parser "
                                  f"read {v.ours}: review the rules")
            (d.a if side == "A" else d.b).append(v.span)
            diffs.append(d)
    if not diffs:
        return cmp
    verdict = "uncertain" if cmp.verdict == "equivalent" else cmp.verdict
    return cmp.model_copy(update={"differences": cmp.differences + diffs, "verdict": verdict,
                                  "summary": cmp.summary.replace("equivalent (", f"{verdict} (", 1)
                                  if cmp.verdict == "equivalent" else cmp.summary})


def reading_lines(r: "VerifiedReading | None", label: str = "Verified reading") -> list[str]:
    """A verified reading in a tool answer: one line, the fields with their verdicts (review first)."""
    if r is None or not r.items:
        return []
    order = {"review": 0, "adds": 1, "agree": 2}
    parts = []
    for v in sorted(r.items, key=lambda v: (order[v.verdict], v.n)):
        what = v.derived or v.value or ""
        where = f"@{v.span.start}" if v.span.part == "rules" else v.span.part
        tag = "REVIEW" if v.verdict == "review" else v.verdict
        parts.append(f"{v.field} [{tag}] {_q(v.quote, 50)} ({where})" + (f" = {_q(what, 50)}" if what else "")
                     + (f" vs parser {_q(v.ours, 50)}" if v.verdict == "review" and v.ours else ""))
    return [f"{label}: " + "; ".join(parts[:10])]
