"""Are two markets the same contract? Compare two RuleAnalysis field by field.

Verdicts:
- ``equivalent``: every compared field was found on both sides and agrees (``mapping`` says whether
  YES on A is YES on B, or is NO on B: "stay below 4%" vs "exceed 4%").
- ``not_equivalent``: at least one hard difference (another named subject or member, another period,
  another measure, threshold, deadline date, disjoint sources, inverted comparators that leave a gap).
- ``uncertain``: nothing contradicts, but a field is unknown on one side or differs softly
  (edge-case handling, time zone / time of day, one source more). Read both rules.

Pure; every difference carries the spans on both sides.
"""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from pm_mcp.domain.rules import RuleAnalysis, Span, Status, Threshold
from pm_mcp.domain.rules.terms import canon_tokens, compare_terms, month_day, same_name

Verdict = Literal["equivalent", "not_equivalent", "uncertain"]

_INVERSE = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


class Difference(BaseModel):
    field: Literal["source", "threshold", "deadline", "time_zone", "edge_case", "outcome_mapping",
                   "multi_outcome", "oracle", "unknown_field", "subject", "period", "quantity"]
    severity: Literal["hard", "soft", "info"]
    detail: str
    a: list[Span] = Field(default_factory=list)
    b: list[Span] = Field(default_factory=list)
    core: bool = Field(True, description="A difference in what is bet on (subject, measure, threshold, date, "
                                         "primary source) or in reading it: it blocks EQUIVALENT. False: edge-case "
                                         "handling or who settles; listed, not blocking.")


class RuleComparison(BaseModel):
    verdict: Verdict
    mapping: Literal["same", "inverted", "unknown"] = Field(
        description="same: YES on A pays when YES on B pays; inverted: YES on A is NO on B.")
    differences: list[Difference] = Field(default_factory=list)
    summary: str
    edge: str = Field("", description="When equivalent: what differs outside the normal case, in words "
                                      "(postponement, ties, who settles).")
    a_hash: str
    b_hash: str


def _fmt(t: Threshold) -> str:
    v = "?" if t.value is None else f"{t.value.normalize():f}"
    if t.comparator == "between" and t.upper is not None:
        v = f"{v}..{t.upper.normalize():f}"
    return f"{t.comparator} {v}{' ' + t.unit if t.unit else ''}"


def _source_key(name: str) -> str:
    n = name.lower()
    parts = n.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else n  # api.binance.com ~ binance.com


def _compare_thresholds(a: Threshold, b: Threshold, *, whole_degrees: bool = False
                        ) -> tuple[str, Difference | None]:
    """-> (mapping, difference). ``whole_degrees``: the figure is reported in whole degrees (a temperature), so
    "greater than 90" is "91 or higher" and "less than 89" is "88 or lower"."""
    if whole_degrees:
        na, nb = _inclusive_whole(a), _inclusive_whole(b)
        if (na.comparator, na.value) != (a.comparator, a.value) or (nb.comparator, nb.value) != (b.comparator, b.value):
            m, d = _compare_thresholds(na, nb)
            if d is None or d.field == "outcome_mapping":
                note = Difference(field="threshold", severity="soft",
                                  detail=f"same on a whole-degree report only: {_fmt(a)} vs {_fmt(b)}",
                                  a=[a.span], b=[b.span])
                return m, (d if m == "inverted" else note)
    if a.unit and b.unit and a.unit != b.unit:
        return "unknown", Difference(field="threshold", severity="hard",
                                     detail=f"different units: {_fmt(a)} vs {_fmt(b)}", a=[a.span], b=[b.span])
    if a.value is None or b.value is None:
        if a.comparator == b.comparator and a.reference == b.reference:
            return "same", None
        return "unknown", Difference(field="threshold", severity="soft",
                                     detail=f"relative thresholds: {a.reference or _fmt(a)} vs {b.reference or _fmt(b)}",
                                     a=[a.span], b=[b.span])
    if a.comparator == b.comparator and a.value == b.value and a.upper == b.upper:
        return "same", None
    if _INVERSE.get(a.comparator) == b.comparator and a.value == b.value:
        return "inverted", Difference(field="outcome_mapping", severity="info",
                                      detail=f"inverted: YES on A ({_fmt(a)}) is NO on B ({_fmt(b)})",
                                      a=[a.span], b=[b.span])
    # on a 0.01 grid "> 4" and ">= 4.01" are the same; "< 4" and "> 4" leave a gap at 4 (both NO)
    same_dir = {a.comparator.strip("="), b.comparator.strip("=")}
    if len(same_dir) == 1 and a.comparator != b.comparator and a.value is not None and b.value is not None:
        lo, hi = sorted([a, b], key=lambda t: t.value)  # type: ignore[arg-type,return-value]
        strict = ">" if ">" in same_dir else "<"
        if Decimal(0) < hi.value - lo.value <= Decimal("0.01") and (  # type: ignore[operator]
                (strict == ">" and lo.comparator == ">" and hi.comparator == ">=") or
                (strict == "<" and lo.comparator == "<=" and hi.comparator == "<")):
            return "same", Difference(field="threshold", severity="soft",
                                      detail=f"same on a 0.01 grid only: {_fmt(a)} vs {_fmt(b)}", a=[a.span], b=[b.span])
    opp = {a.comparator.strip("="), b.comparator.strip("=")} == {">", "<"}
    if opp and a.value == b.value:
        return "inverted", Difference(field="threshold", severity="hard",
                                      detail=f"inverted but not complementary at the boundary: {_fmt(a)} vs "
                                             f"{_fmt(b)} (a value of exactly {a.value.normalize():f} pays neither YES)",
                                      a=[a.span], b=[b.span])
    return "unknown", Difference(field="threshold", severity="hard",
                                 detail=f"different thresholds: {_fmt(a)} vs {_fmt(b)}", a=[a.span], b=[b.span])


def _inclusive_whole(t: Threshold) -> Threshold:
    """A strict comparison with a whole number, on a whole-number report, as the inclusive one: > 90 is >= 91."""
    if t.value is None or t.value != t.value.to_integral_value() or t.comparator not in (">", "<"):
        return t
    if t.comparator == ">":
        return t.model_copy(update={"comparator": ">=", "value": t.value + 1})
    return t.model_copy(update={"comparator": "<=", "value": t.value - 1})


_TEMPERATURE = re.compile(r"\btemperature\b|°", re.I)


def _whole_degrees(a: RuleAnalysis, b: RuleAnalysis, ta: Threshold, tb: Threshold) -> bool:
    """Both sides read a temperature (a daily high or low, in degrees): the weather service reports whole degrees."""
    if any(t.unit and not t.unit.startswith("°") for t in (ta, tb)):
        return False
    for x in (a, b):
        t = x.terms
        if t is None or not ({"daily high", "daily low"} & set(t.qualifiers) or _TEMPERATURE.search(t.haystack)):
            return False
    return any(t.unit and t.unit.startswith("°") for t in (ta, tb)) or all(
        "°" in (x.terms.haystack if x.terms else "") for x in (a, b))


def _zero_change_is_hold(a: RuleAnalysis, b: RuleAnalysis, ta: Threshold | None, tb: Threshold | None
                         ) -> Difference | None:
    """One side reads a change of exactly 0 ("Hike of 0bps"), the other states no threshold but its question or
    label is a hold ("No change", "unchanged"): the same outcome, said in words."""
    one, other, side = (ta, b, "A") if ta is not None else (tb, a, "B")
    if one is None or one.comparator != "==" or one.value != 0 or other.terms is None:
        return None
    words = canon_tokens(f"{other.terms.question_text} {other.terms.label or ''}")
    phrase = " ".join(words)
    if "hold" not in words and "no change" not in phrase:
        return None
    return Difference(field="threshold", severity="info", core=False,
                      detail=f"{side}'s change of exactly {_fmt(one)} is the other side's hold ('{other.terms.label or other.terms.question_text}')")


# national agencies (by issuer, the table below) and the country whose figure they publish (real facts)
_AGENCY_COUNTRY = {"bls": "us", "bea": "us", "fed": "us", "noaa": "us", "nasa": "us"}


def _implied_names(x: RuleAnalysis) -> frozenset[str]:
    """Names a side says through its source without writing them: a US agency's figure is a US figure."""
    if x.sources.status != Status.FOUND:
        return frozenset()
    return frozenset(c for i in x.sources.items if (c := _AGENCY_COUNTRY.get(_issuer(_source_key(i.name)))))


def _named_outcomes(x: RuleAnalysis) -> list[str]:
    return [o for o in x.multi_outcome.outcomes if o.lower() not in ("yes", "no")]


def _side(outcome: str | None) -> str | None:
    """'yes' / 'no' for those words (and for no outcome: YES by convention), else the outcome's name."""
    o = (outcome or "yes").strip()
    return o.lower() if o.lower() in ("yes", "no") else o


def _outcome_differences(a: RuleAnalysis, b: RuleAnalysis, oa: str | None, ob: str | None,
                         same_contract: bool) -> tuple[list[Difference], bool]:
    """Which outcome of each market is the bet. -> (differences, inverted): a market that settles to named
    outcomes ("FaZe" / "illwill") has no YES of its own, so the bet must name one; two outcomes of one
    two-outcome market are each other's NO."""
    out: list[Difference] = []
    na, nb = _named_outcomes(a), _named_outcomes(b)
    for side, named, o in (("A", na, oa), ("B", nb, ob)):
        if len(named) >= 2 and _side(o) in ("yes", "no"):
            out.append(Difference(field="outcome_mapping", severity="soft",
                                  detail=f"{side} settles to named outcomes ({' / '.join(named[:4])}): say which "
                                         f"one is the bet ({side.lower()}_outcome) before reading the mapping"))
    sa, sb = _side(oa), _side(ob)
    if out or sa in ("yes", "no") or sb in ("yes", "no"):
        for side, named, o in (("A", na, sa), ("B", nb, sb)):
            if o not in ("yes", "no") and named and o not in named:
                out.append(Difference(field="outcome_mapping", severity="soft",
                                      detail=f"{side}'s outcome {o!r} is not one its rules name "
                                             f"({' / '.join(named[:4])})"))
        if not out and (sa in ("yes", "no")) != (sb in ("yes", "no")):
            # one bet is a named outcome ("Cowboys"), the other the YES (or NO) of a member ("Seattle"): which
            # result each is decides the mapping
            d, inverted = _named_vs_member(a, b, sa, sb, na, nb)
            return out + d, inverted
        return out, False
    # both bets name an outcome
    if same_contract:
        if sa.lower() == sb.lower():
            return out, False
        if len(na) == 2 and {sa.lower(), sb.lower()} == {x.lower() for x in na}:
            return [Difference(field="outcome_mapping", severity="info",
                               detail=f"the two outcomes of one market: '{sa}' on A is NO on B ('{sb}')")], True
        return [Difference(field="subject", severity="hard",
                           detail=f"different outcomes of one market: A is '{sa}', B is '{sb}'")], False
    return [Difference(field="outcome_mapping", severity="soft",
                       detail=f"A's outcome '{sa}' and B's '{sb}': check they name the same result")], False


def _named_vs_member(a: RuleAnalysis, b: RuleAnalysis, sa: str, sb: str, na: list[str],
                     nb: list[str]) -> tuple[list[Difference], bool]:
    """One side bets a named outcome of a market that settles to names, the other the YES of a member whose label
    names a result. -> (differences, inverted): the same result is the same bet; the other outcome of a
    two-outcome market is its NO; anything else is not read as either."""
    if sa in ("yes", "no"):  # B names the outcome, A is the member
        member, named_side, outcome, names = a, "B", sb, nb
    else:
        member, named_side, outcome, names = b, "A", sa, na
    label = member.terms.label if member.terms is not None else None
    if not label:
        return [Difference(field="outcome_mapping", severity="soft",
                           detail=f"{named_side}'s outcome '{outcome}' against the other side's YES, which names no "
                                  "result: check they are the same result")], False
    if same_name(outcome, label):
        return [], False
    others = [n for n in names if n.lower() != outcome.lower()]
    if len(names) == 2 and len(others) == 1 and same_name(others[0], label):
        return [Difference(field="outcome_mapping", severity="info",
                           detail=f"{named_side}'s outcome '{outcome}' is the other result of the market whose "
                                  f"'{others[0]}' is the other side's '{label}': YES on one is NO on the other")], True
    return [Difference(field="outcome_mapping", severity="soft",
                       detail=f"{named_side}'s outcome '{outcome}' and the other side's member '{label}': check they "
                              "name the same result")], False


def _day(x: date | datetime | None) -> date | None:
    if isinstance(x, datetime):
        return (x.astimezone(UTC) if x.tzinfo else x).date()
    return x


def _words(d: date) -> str:
    return f"{d:%B} {d.day}, {d.year}"


def _close_dates_differ(a: RuleAnalysis, b: RuleAnalysis, ca: date | None, cb: date | None) -> Difference | None:
    """The two markets close (stop trading, then resolve) on different days. What is known between the two
    (a late announcement, a revised figure, an event after the first close) can pay on one and not on the other,
    unless both rules end on one and the same day (not a period: "in 2026" is settled by what is announced
    after it) that both closes come after."""
    if ca is None or cb is None or abs((ca - cb).days) <= 1:
        return None
    da, db = a.deadline.value, b.deadline.value
    for x, d, c in ((a, da, ca), (b, db, cb)):
        if x.deadline.status == Status.FOUND and d is not None and d.date is not None and c < d.date:
            return None  # a venue close before the rules' own deadline is not when it resolves (the rules run on)
    if a.deadline.status == Status.FOUND and b.deadline.status == Status.FOUND and da and db and \
            da.date and db.date and da.date == db.date and "window_end" not in (da.kind, db.kind) and \
            min(ca, cb) >= da.date:
        return None
    return Difference(field="deadline", severity="soft",
                      detail=f"the markets close on different dates: A on {_words(ca)} ({ca.isoformat()}), B on "
                             f"{_words(cb)} ({cb.isoformat()}); "
                             "what becomes known between the two (a late announcement, a revision) pays on one and "
                             "not the other: check when and on what each resolves")


def compare_rules(a: RuleAnalysis, b: RuleAnalysis, *, a_outcome: str | None = None,
                  b_outcome: str | None = None, a_close: date | datetime | None = None,
                  b_close: date | datetime | None = None) -> RuleComparison:
    """``a_outcome`` / ``b_outcome``: the outcome of each market that is the bet (default its YES; "No" compares
    the NO side; a named outcome for a market that settles to names). ``a_close`` / ``b_close``: when each
    market closes (its ``close_time``), when known: different days can change what pays."""
    diffs: list[Difference] = []
    mapping = "same"
    unknown: list[str] = []
    same_contract = a.rules_hash == b.rules_hash
    outcome_diffs, outcome_inverted = _outcome_differences(a, b, a_outcome, b_outcome, same_contract)
    diffs += outcome_diffs

    # what each is a bet on: the named subject, the period, the measured quantity (a different one is a
    # different bet whatever the rule template says)
    if a.terms is not None and b.terms is not None:
        for td in compare_terms(a.terms, b.terms, a_implies=_implied_names(a), b_implies=_implied_names(b)):
            diffs.append(Difference(field=td.field, severity=td.severity, detail=td.detail, a=td.a, b=td.b))
    elif (a.terms is None) != (b.terms is None):
        diffs.append(Difference(field="subject", severity="soft",
                                detail="what one side is a bet on could not be read: check both name the same "
                                       "subject and period"))

    # sources
    if a.sources.status == Status.FOUND and b.sources.status == Status.FOUND:
        ka = {_source_key(i.name): i for i in a.sources.items}
        kb = {_source_key(i.name): i for i in b.sources.items}
        ia, ib = _issuers(ka), _issuers(kb)  # a series and its publisher, a site and its owner: one source
        common = set(ia) & set(ib)
        series_only = [side for side, x in (("A", a), ("B", b))
                       if all(i.via == "condition" or i.role == "measure" for i in x.sources.items)]
        if not common and series_only:
            # a side that names no publisher, only the series its YES clause measures ("the U-3 unemployment
            # rate"): who publishes it is not read, so it cannot be called another source
            side = series_only[0]
            x = a if side == "A" else b
            diffs.append(Difference(field="source", severity="soft",
                                    detail=f"{side} names no publisher, only the series it measures "
                                           f"({', '.join(i.name for i in x.sources.items)}): check it is the one "
                                           f"the other side's source ({', '.join(sorted(kb if side == 'A' else ka))}) "
                                           "publishes"))
        elif not common:
            diffs.append(Difference(field="source", severity="hard",
                                    detail=f"different resolution sources: {sorted(ka)} vs {sorted(kb)}",
                                    a=[i.span for i in ka.values()], b=[i.span for i in kb.values()]))
        elif set(ia) != set(ib):
            only_a = sorted(k for k in ka if _issuer(k) not in common)
            only_b = sorted(k for k in kb if _issuer(k) not in common)
            # the primary sources agree: one side naming one more (a fallback, a site) is listed, not blocking
            prim = _primary_issuers(a) & _primary_issuers(b) & common
            diffs.append(Difference(field="source", severity="soft",
                                    detail=f"sources overlap ({sorted(common)}); only A: {only_a}; only B: {only_b}",
                                    a=[ka[k].span for k in only_a], b=[kb[k].span for k in only_b],
                                    core=not prim))
    elif (a.sources.status == Status.FOUND) != (b.sources.status == Status.FOUND) and \
            (named := _source_named_by_other(a, b)) is not None:
        # one side names its source, the other names the same body in its terms ("the Fed raises ...")
        diffs.append(Difference(field="source", severity="soft", core=False,
                                detail=f"only {named[0]} states its source ({named[1]}); the other side's text "
                                       f"names the same body"))
    elif (a.sources.status == Status.FOUND) != (b.sources.status == Status.FOUND) and \
            (official := _same_official_figure(a, b)) is not None:
        # both read "the official closing price" of one thing; one side says who publishes that official figure
        diffs.append(Difference(field="source", severity="soft", core=False,
                                detail=f"only {official[0]} states its source; both read the {official[1]}, "
                                       "which has one publisher"))
    else:
        unknown.append("source")

    # threshold
    ta, tb = a.condition.threshold, b.condition.threshold
    sa, sb = a.condition.threshold_status, b.condition.threshold_status
    if Status.CONFLICTING in (sa, sb):
        diffs.append(Difference(field="threshold", severity="hard",
                                detail="a side's title and rules disagree on the threshold",
                                a=[ta.span] if ta else [], b=[tb.span] if tb else []))
    elif ta is not None and tb is not None:
        m, d = _compare_thresholds(ta, tb, whole_degrees=_whole_degrees(a, b, ta, tb))
        if d:
            diffs.append(d)
        mapping = m if m != "same" else mapping
        if (path := _touch_vs_snapshot(a, b)) is not None:
            diffs.append(path)
    elif (ta is None) != (tb is None) and (hold := _zero_change_is_hold(a, b, ta, tb)) is not None:
        diffs.append(hold)
    elif (ta is None) != (tb is None):
        one = ta or tb
        diffs.append(Difference(field="threshold", severity="hard",
                                detail=f"only {'A' if ta else 'B'} states a threshold ({_fmt(one)})",  # type: ignore[arg-type]
                                a=[ta.span] if ta else [], b=[tb.span] if tb else []))

    # deadline
    da, db = a.deadline.value, b.deadline.value
    if a.deadline.status == Status.FOUND and b.deadline.status == Status.FOUND and da and db:
        if da.utc and db.utc and abs((da.utc - db.utc).total_seconds()) <= 60:
            pass  # one instant: other zones, or "by 11:59:59 PM" and "before 12:00 AM" the next day
        elif da.date and db.date and _last_day(a, da) == _last_day(b, db) and not (da.utc and db.utc):
            pass  # "by December 31, 2027" and "before Jan 1, 2028": the same last day
        elif da.date and db.date and not (da.utc and db.utc) and (_in_day_range(da, db) or _in_day_range(db, da)):
            pass  # a meeting over two days ("July 28-29, 2026") and its last day ("July 29, 2026"): one period
        elif da.date and db.date and da.date != db.date:
            if da.utc and db.utc and da.utc == db.utc:
                pass  # same instant written in different zones
            else:
                diffs.append(Difference(field="deadline", severity="hard",
                                        detail=f"different dates: {da.date} vs {db.date}", a=[da.span], b=[db.span]))
        elif (da.date is None or db.date is None) and (md := _undated_day_differs(da, db)):
            # one side writes its date without a year ("March 8 at 7:00PM ET"): its month and day still compare
            diffs.append(Difference(field="deadline", severity="hard", detail=f"different dates: {md}",
                                    a=[da.span], b=[db.span]))
        elif da.utc and db.utc and da.utc != db.utc:
            diffs.append(Difference(field="deadline", severity="hard",
                                    detail=f"same date, different instants: {da.utc.isoformat()} vs {db.utc.isoformat()}",
                                    a=[da.span], b=[db.span]))
        elif (da.tz_label or db.tz_label) and (da.tz_label != db.tz_label) and not (da.utc and db.utc):
            diffs.append(Difference(field="time_zone", severity="soft",
                                    detail=f"time zone {da.tz_label or 'unstated'} vs {db.tz_label or 'unstated'}",
                                    a=[da.span], b=[db.span], core=not _both_scheduled(a, da, b, db, ta, tb)))
        elif (da.time is None) != (db.time is None):
            diffs.append(Difference(field="time_zone", severity="soft",
                                    detail=f"time of day {da.time or 'unstated'} vs {db.time or 'unstated'}",
                                    a=[da.span], b=[db.span], core=not _both_scheduled(a, da, b, db, ta, tb)))
    elif Status.CONFLICTING in (a.deadline.status, b.deadline.status):
        diffs.append(Difference(field="deadline", severity="hard", detail="a side states conflicting deadlines",
                                a=[da.span] if da else [], b=[db.span] if db else []))
    else:
        unknown.append("deadline")

    if (closes := _close_dates_differ(a, b, _day(a_close), _day(b_close))) is not None:
        diffs.append(closes)

    # edge cases: same kinds, same outcomes
    ea = {e.kind: e for e in a.edge_cases}
    eb = {e.kind: e for e in b.edge_cases}
    for kind in sorted(set(ea) | set(eb)):
        x, y = ea.get(kind), eb.get(kind)
        if x and y:
            if x.outcome and y.outcome and x.outcome.lower() != y.outcome.lower():
                diffs.append(Difference(field="edge_case", severity="soft",
                                        detail=f"{kind}: A resolves {x.outcome!r}, B resolves {y.outcome!r}",
                                        a=[x.span], b=[y.span]))
        else:
            diffs.append(Difference(field="edge_case", severity="soft",
                                    detail=f"{kind} handled only by {'A' if x else 'B'}",
                                    a=[x.span] if x else [], b=[y.span] if y else []))

    # multi-outcome structure
    ma, mb = a.multi_outcome, b.multi_outcome
    if ma.status == Status.FOUND and mb.status == Status.FOUND and ma.kind != mb.kind:
        grouped = {"neg_risk", "mutually_exclusive"}
        if not ({ma.kind, mb.kind} <= grouped):
            diffs.append(Difference(field="multi_outcome", severity="soft",
                                    detail=f"outcome structure {ma.kind} vs {mb.kind}", a=ma.spans, b=mb.spans))

    # the same contract (rule text, question and label): unknown fields settle identically on both sides.
    # The same rule text under another question or label is a template filled twice: nothing is implied.
    identical = same_contract
    both_asked = a.terms is not None and b.terms is not None and \
        (a.terms.question_text.strip() or a.terms.label) and (b.terms.question_text.strip() or b.terms.label)
    if not identical and a.text_hash and a.text_hash == b.text_hash and not both_asked:
        identical = True  # one side is the text alone: the text is the whole contract (terms compared above)
    elif not identical and a.text_hash and a.text_hash == b.text_hash and _same_question(a, b):
        identical = True  # one text, and two questions that say the same words ("4%" / "4.0%", "Nov" / "November")
    elif not identical and a.text_hash and a.text_hash == b.text_hash and not any(
            d.field == "subject" and d.severity == "hard" for d in diffs):
        diffs.append(_same_text_other_question(a, b))
    if not identical and a.terms is not None and b.terms is not None and \
            a.terms.subject_status == Status.UNKNOWN and b.terms.subject_status == Status.UNKNOWN:
        diffs.append(Difference(field="subject", severity="soft",
                                detail="what each side is a bet on (a name, a team, an asset) could not be read: "
                                       "check both are about the same thing"))
    if a.oracle and b.oracle and a.oracle.name != b.oracle.name:
        # The contract terms can still be the same; who settles them is a risk (a dispute may end
        # differently), not a different contract. Listed, but it does not block equivalence; callers
        # (arbitrage) must not call such a pair risk-free.
        diffs.append(Difference(field="oracle", severity="info",
                                detail=f"settled by {a.oracle.name} vs {b.oracle.name}: disputes and timing differ"))
    for f in ([] if identical else unknown):  # identical words settle identically, unknowns included
        if f == "deadline" and not _both_unknown(a, b, f) and (p := _same_short_period(a, b, diffs)):
            # no date in one side's rules, but both questions name the same quarter / month / day of one year
            diffs.append(Difference(field="unknown_field", severity="soft", core=False,
                                    detail=f"deadline unknown on one side; both name {p}"))
            continue
        if f == "deadline" and (p := _same_season(a, b, diffs)):
            # no date read, but both name one and the same season ("the 2022/23 Premier League season")
            diffs.append(Difference(field="unknown_field", severity="soft", core=False,
                                    detail=f"no deadline date read; both are about the {p} season"))
            continue
        if f == "source" and _both_unknown(a, b, f) and _event_without_measure(a, b, ta, tb, a_outcome, b_outcome):
            # an event with no number read against a publisher, and neither side names who decides it. That is
            # not "the event itself decides": a recession (NBER's call or two quarters of falling GDP), a win
            # (on the field or after appeals), a nomination (announced or confirmed) each has a defining body or
            # measure the rules leave unread. Unread on both sides is unread, never the same: it blocks.
            diffs.append(Difference(field="source", severity="soft",
                                    detail="no source stated on either side: who or what decides the event "
                                           "(the body that announces it, or the measure that defines it) is not "
                                           "read on either side; check both rules name the same one"))
            continue
        diffs.append(Difference(field="unknown_field", severity="soft",
                                detail=f"{f} unknown on {'both sides' if _both_unknown(a, b, f) else 'one side'}: "
                                       "review the rules"))
    if not identical and not (_yes_read(a, a_outcome) and _yes_read(b, b_outcome)):
        diffs.append(Difference(field="unknown_field", severity="soft",
                                detail="the YES condition was not found on one side: review the rules"))
    for d in diffs:
        if d.severity == "info" or (d.severity == "soft" and _edge_only(d)):
            d.core = False
    hard = [d for d in diffs if d.severity == "hard"]
    soft = [d for d in diffs if d.severity == "soft" and d.core]
    if hard:
        verdict: Verdict = "not_equivalent"
    elif soft:
        verdict = "uncertain"
    else:
        verdict = "equivalent"
    if verdict == "not_equivalent" and mapping == "inverted" and not any(
            d.field != "threshold" for d in hard):
        mapping = "inverted"
    if verdict != "equivalent" and mapping == "same" and any(
            d.field in ("threshold", "subject", "period", "quantity") for d in hard):
        mapping = "unknown"
    if outcome_inverted:
        mapping = {"same": "inverted", "inverted": "same"}.get(mapping, mapping)
    if (_side(a_outcome) == "no") != (_side(b_outcome) == "no"):  # the NO side of one market: flip
        mapping = {"same": "inverted", "inverted": "same"}.get(mapping, mapping)
    parts = [f"{verdict.replace('_', ' ')} (mapping: {mapping})"]
    edge = edge_words(a, b, diffs) if verdict == "equivalent" else ""
    if edge:
        parts.append(edge)
    # what decides the verdict first: hard, then blocking soft, then the rest
    order = sorted(diffs, key=lambda d: (d.severity != "hard", not (d.severity == "soft" and d.core)))
    for d in order[:6]:
        parts.append(f"{d.severity}: {d.field}: {d.detail}")
    return RuleComparison(verdict=verdict, mapping=mapping, differences=diffs,  # type: ignore[arg-type]
                          summary="; ".join(parts), edge=edge, a_hash=a.rules_hash, b_hash=b.rules_hash)


_BEFORE = re.compile(r"\b(?:before|prior\s+to|earlier\s+than)\s+(?:the\s+(?:start|beginning)\s+of\s+)?$", re.I)


def _last_day(x: RuleAnalysis, d) -> date | None:
    """The last day a deadline includes: "before Jan 1, 2028" (no time, or midnight) includes Dec 31, 2027."""
    if d.date is None:
        return None
    text = x.terms.rules_text if x.terms is not None else ""
    if d.span.part == "rules" and text and (d.time in (None, "00:00:00", "00:00")) and \
            _BEFORE.search(text[max(0, d.span.start - 40):d.span.start]):
        return d.date - timedelta(days=1)
    return d.date


_DAY_RANGE = re.compile(r"(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s*[-–]\s*(?P<d2>\d{1,2})(?!\d|:\d)")


def _in_day_range(x, y) -> bool:
    """``x`` is written as a span of days ("July 28-29, 2026") and ``y``'s date is one of them."""
    m = _DAY_RANGE.search(x.span.quote)
    if m is None or x.date is None or y.date is None or (x.date.year, x.date.month) != (y.date.year, y.date.month):
        return False
    d1, d2 = int(m.group("d1")), int(m.group("d2"))
    return d1 < d2 <= d1 + 3 and d1 <= y.date.day <= d2 and x.date.day in (d1, d2)


_QUESTION_FILLER = {"will", "the", "a", "an", "be", "in", "for", "on", "at", "of", "by", "is", "does", "do", "to"}


def _question_words(x: RuleAnalysis) -> list[str]:
    t = x.terms
    if t is None:
        return []
    out = []
    for w in canon_tokens(f"{t.question_text} {t.label or ''}"):
        if w in _QUESTION_FILLER:
            continue
        try:
            w = f"{Decimal(w).normalize():f}"
        except ArithmeticError:
            pass
        out.append(w)
    return sorted(out)


def _same_question(a: RuleAnalysis, b: RuleAnalysis) -> bool:
    """The two questions (and labels) say the same words, numbers and months compared by value."""
    wa, wb = _question_words(a), _question_words(b)
    return bool(wa) and wa == wb


_VALUE = re.compile(r"(?P<time>\b\d{1,2}:\d{2}\s*(?:[AaPp]\.?[Mm]\.?)?)|(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)"
                    r"(?:\s*(?P<mag>k|m|bn|b|thousand|million|billion)\b)?", re.I)
_MAG = {"k": 3, "thousand": 3, "m": 6, "million": 6, "b": 9, "bn": 9, "billion": 9}


def _values(text: str) -> set[str]:
    """The numbers and clock times a question states, by value ("$100k" = "$100,000", "4%" = "4.0%",
    "5:20AM" = "5:20 am")."""
    out = set()
    for m in _VALUE.finditer(text):
        if m.group("time"):
            out.add(re.sub(r"[\s.]", "", m.group("time")).lower().lstrip("0"))
            continue
        v = Decimal(m.group("num").replace(",", ""))
        if m.group("mag"):
            v = v.scaleb(_MAG[m.group("mag").lower()])
        out.add(f"{v.normalize():f}")
    return out


def _label_key(label: str) -> tuple[list[str], set[str]]:
    """A label's words (one spelling) and its values: "25 bps decrease" = "25bps decrease" is not "No change"."""
    return sorted(t for t in canon_tokens(_VALUE.sub(" ", label)) if not t[0].isdigit()), _values(label)


def _same_text_other_question(a: RuleAnalysis, b: RuleAnalysis) -> Difference:
    """One rule text under two questions or labels (a template filled twice: members of one event, windows or
    strikes of one series). The rules say nothing of what differs, so the questions and labels decide: two
    members' labels in other words, or questions that state other numbers or times, are two bets; otherwise
    only a reader can tell."""
    ta, tb = a.terms, b.terms
    la, lb = (ta.label if ta else None), (tb.label if tb else None)
    if la and lb and _label_key(la) != _label_key(lb):
        return Difference(field="subject", severity="hard",
                          detail=f"two members of one event (the same rule text): A is '{la}', B is '{lb}'")
    qa, qb = (ta.question_text if ta else ""), (tb.question_text if tb else "")
    va, vb = _values(qa), _values(qb)
    if qa.strip() and qb.strip() and va != vb:
        only_a, only_b = sorted(va - vb), sorted(vb - va)
        return Difference(field="period", severity="hard",
                          detail=f"the same rule text under questions with other values: A asks '{qa.strip()}', "
                                 f"B asks '{qb.strip()}' ({', '.join(only_a) or 'none'} vs "
                                 f"{', '.join(only_b) or 'none'})")
    return Difference(field="subject", severity="soft",
                      detail="the same rule text under another question or label: the rules say nothing of what "
                             "differs; compare the two questions")


# a figure that pays if it crosses the line at any moment of a window (a maximum, a touch) against one that pays
# on its value at one time (a close, a reading on a date): another number
_TOUCH = re.compile(r"\bat\s+any\s+(?:time|point|moment)\b|\bany\s+(?:day|trading\s+day|time)\s+(?:from|between|"
                    r"during|before|until|through)\b|\b(?:reach|reaches|reached|hit|hits|touch|touches|touched)\b|"
                    r"\b(?:maximum|minimum|peak|intraday\s+(?:high|low))\s+(?:price|value|level|reading)\b", re.I)
_SNAPSHOT = re.compile(r"\b(?:on|as\s+of)\s+(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}|"
                       r"\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*)\b|"
                       r"\bclos(?:e|es|ing)\s+(?:price|value|level)\b|\bofficial\s+close\b", re.I)


def _yes_words(x: RuleAnalysis) -> str:
    return x.condition.yes_if or (x.terms.rules_text[:600] if x.terms is not None else "")


def _touch_vs_snapshot(a: RuleAnalysis, b: RuleAnalysis) -> Difference | None:
    """One YES clause pays on the figure at any time of a window, the other on its value at one time."""
    ya, yb = _yes_words(a), _yes_words(b)
    ta, tb = _TOUCH.search(ya), _TOUCH.search(yb)
    if (ta is None) == (tb is None):
        return None
    touch, snap, side, other = (ta, _SNAPSHOT.search(yb), "A", "B") if ta else (tb, _SNAPSHOT.search(ya), "B", "A")
    if snap is None:
        return None
    return Difference(field="quantity", severity="hard",
                      detail=f"{side} pays if the figure crosses the line at any time ('{touch.group(0)}'), {other} "
                             f"only on its value at one time ('{snap.group(0)}')")


def _both_unknown(a: RuleAnalysis, b: RuleAnalysis, f: str) -> bool:
    if f == "source":
        return a.sources.status == Status.UNKNOWN and b.sources.status == Status.UNKNOWN
    return a.deadline.status == Status.UNKNOWN and b.deadline.status == Status.UNKNOWN


# --- what does not block EQUIVALENT ----------------------------------------------------------------------------------
# The core of a bet (subject, measured quantity, threshold and comparator or the named outcome, date or period,
# primary source) must be read on both sides and agree. Edge-case handling (postponement, cancellation, a tie,
# 50-50 vs a fair price, revisions, a fallback source), the outcome structure once the bet's outcome is named, a
# 0.01 grid, and who settles disputes differ between venues without changing the bet in the normal case: they
# are listed (and said first in the summary) but do not block.
_EDGE_FIELDS = {"edge_case", "multi_outcome", "oracle"}


def _edge_only(d: Difference) -> bool:
    if d.field in _EDGE_FIELDS:
        return True
    return d.field == "threshold" and d.detail.startswith(("same on a 0.01 grid only", "same on a whole-degree report"))


_EDGE_WHEN = {"postponement": "if the event is postponed", "cancellation": "if it is cancelled",
              "tie": "on a tie", "fifty_fifty": "when it cannot be settled (50-50)",
              "fair_price": "when it cannot be settled (fair price)", "revision": "if the figure is revised",
              "fallback_source": "if the primary source is unavailable", "void": "if it is voided",
              "forfeit": "on a forfeit", "replacement": "if a participant is replaced", "other": "in another case"}


def edge_words(a: RuleAnalysis, b: RuleAnalysis, diffs: list[Difference]) -> str:
    """The non-blocking differences in plain words: "Same bet in the normal case; differs if the event is
    postponed: A resolves 'No', B does not say"."""
    ea = {e.kind: e for e in a.edge_cases}
    eb = {e.kind: e for e in b.edge_cases}
    said: list[str] = []
    for d in diffs:
        if d.field != "edge_case":
            continue
        kind = d.detail.split(" ", 1)[0].rstrip(":")
        x, y = ea.get(kind), eb.get(kind)

        def what(e) -> str:
            if e is None:
                return "does not say"
            return f"resolves {e.outcome!r}" if e.outcome else "has a rule for it"
        said.append(f"{_EDGE_WHEN.get(kind, kind)}: A {what(x)}, B {what(y)}")
    other = [d.detail for d in diffs if not d.core and d.severity == "soft" and d.field != "edge_case"]
    oracle = [d.detail for d in diffs if d.field == "oracle"]
    if not (said or other or oracle):
        return ""
    out = "Same bet in the normal case"
    if said:
        out += "; differs " + "; ".join(dict.fromkeys(said))
    if other:
        out += "; also: " + "; ".join(other[:3])
    if oracle:
        out += "; " + oracle[0]
    return out


# a data series and its publisher, a site and its owner, an agency and its parent: the same source (real facts)
_ISSUER_OF = {
    "bls": "bls", "bls.gov": "bls", "bureau of labor statistics": "bls", "cpi": "bls", "cpi-u": "bls",
    "u-3 unemployment rate": "bls", "unemployment rate": "bls", "nonfarm payrolls": "bls", "non-farm payrolls": "bls",
    "bea": "bea", "bea.gov": "bea", "gdp": "bea",
    "fomc": "fed", "federal reserve": "fed", "federalreserve.gov": "fed", "fed": "fed",
    "noaa": "noaa", "noaa.gov": "noaa", "nws": "noaa", "weather.gov": "noaa", "national weather service": "noaa",
    "nasdaq": "nasdaq", "nasdaq.com": "nasdaq",
    "nasa": "nasa", "nasa.gov": "nasa", "giss.nasa.gov": "nasa",
}


def _issuer(key: str) -> str:
    """One name per body: the table above, else a site by its name ('coingecko.com' -> 'coingecko') and an
    agency by its letters ('CoinGecko' -> 'coingecko', 'Box Office Mojo' -> 'boxofficemojo')."""
    k = key.lower().strip()
    if k in _ISSUER_OF:
        return _ISSUER_OF[k]
    if k.startswith("nws") or re.search(r"\bnws\b|\bnational weather service\b", k):
        return "noaa"  # "the corresponding NWS Climatological Report" is the weather service's
    if re.fullmatch(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}", k):
        k = k.split(".")[-2]
    return re.sub(r"[^a-z0-9]", "", k) or k


def _issuers(keys: dict) -> dict[str, object]:
    return {_issuer(k): v for k, v in keys.items()}


def _primary_issuers(x: RuleAnalysis) -> set[str]:
    prim = [i for i in x.sources.items if i.role == "primary" and i.kind != "oracle"]
    return {_issuer(_source_key(i.name)) for i in (prim or x.sources.items)}


_ISSUER_WORDS = {"bls": r"bureau of labor statistics|\bbls\b|\bcpi\b|consumer price index",
                 "bea": r"bureau of economic analysis|\bbea\b|\bgdp\b",
                 "fed": r"federal reserve|\bfomc\b|\bthe fed\b|federal open market committee",
                 "noaa": r"\bnoaa\b|national weather service|\bnws\b",
                 "nasa": r"\bnasa\b"}


def _named_in(item, text: str) -> bool:
    """Does ``text`` (the other market's title, label and rules) name this source: its publisher's words, the
    agency's own pattern, or the site's host?"""
    from pm_mcp.domain.rules.sources import _AGENCIES

    low = text.lower()
    iss = _issuer(_source_key(item.name))
    rx = _ISSUER_WORDS.get(iss)
    if rx is not None:
        return re.search(rx, low) is not None
    if item.kind == "url":
        host = _source_key(item.name).removeprefix("www.")
        if len(host) >= 5 and host in low:
            return True
        # the body behind the site, named in words: "ir.tesla.com" and "If Tesla Inc. reports ..."
        if len(iss) >= 4 and re.search(r"(?<![\w.])" + re.escape(iss) + r"(?![\w]|\.\w)", low):
            return True
    pats = [p for p, name, _ in _AGENCIES if _issuer(name) == iss]
    if pats:
        return any(p.search(text) for p in pats)
    # a body named in words ("If Tesla Inc. reports ..."): the same words on the other side
    words = re.sub(r"[\s,]+(?:inc|corp|corporation|co|ltd|llc|plc)\.?$", "", item.name.strip(), flags=re.I).lower()
    return item.kind != "url" and len(words) >= 4 and re.search(
        r"(?<![\w])" + re.escape(words) + r"(?![\w])", low) is not None


def _source_named_by_other(a: RuleAnalysis, b: RuleAnalysis) -> tuple[str, str] | None:
    """One side reads a source, the other none: -> (side, source) when the other side's text names that same
    body (its publisher, the body deciding: 'If the Federal Reserve raises ...', or the site or agency its YES
    clause reads: 'the closing price ... on CoinGecko'), else None. Every primary source must be named."""
    known, other, side = (a, b, "A") if a.sources.status == Status.FOUND else (b, a, "B")
    if other.terms is None:
        return None
    prim = [i for i in known.sources.items if i.role == "primary" and i.kind not in ("oracle", "reporting")]
    if not prim:
        return None
    by_issuer: dict[str, list] = {}
    for i in prim:
        by_issuer.setdefault(_issuer(_source_key(i.name)), []).append(i)
    # each body (an agency and its site are one) must be named by the other side
    for items in by_issuer.values():
        if not any(_named_in(i, other.terms.haystack) for i in items):
            return None
    return side, ", ".join(items[0].name for items in by_issuer.values())


_SEASON = re.compile(r"(?<![\d/])(?P<y1>(?:19|20)?\d{2})\s*[/–-]\s*(?P<y2>(?:19|20)?\d{2})(?![\d/])"
                     r"(?=(?:\s+[A-Z][\w'’.-]*|\s+regular){0,4}\s+season\b)")


def _seasons(x: RuleAnalysis) -> set[tuple[int, int]]:
    """The seasons a market names ("the 2022/23 season", "22/23 season", "2022-2023 NBA season") as (start,
    end) years; a pair of years that is not one year apart is not a season."""
    if x.terms is None:
        return set()
    out = set()
    for m in _SEASON.finditer(x.terms.haystack):
        y1, y2 = int(m.group("y1")), int(m.group("y2"))
        y1 = y1 + 2000 if y1 < 100 else y1
        y2 = (y1 // 100) * 100 + y2 if y2 < 100 else y2
        if y2 == y1 + 1:
            out.add((y1, y2))
    return out


def _same_season(a: RuleAnalysis, b: RuleAnalysis, diffs: list[Difference]) -> str | None:
    """Both sides name one and the same sports season and nothing says a period or deadline differs."""
    if any(d.field in ("period", "deadline") for d in diffs):
        return None
    sa, sb = _seasons(a), _seasons(b)
    if len(sa) != 1 or sa != sb:
        return None
    y1, y2 = next(iter(sa))
    return f"{y1}/{str(y2)[-2:]}"


def _event_without_measure(a: RuleAnalysis, b: RuleAnalysis, ta: Threshold | None, tb: Threshold | None,
                           oa: str | None = None, ob: str | None = None) -> bool:
    """Neither side reads a number against a threshold (no price, figure or count that a publisher reports), and
    both sides' subjects and YES conditions were read: a bet on an event, which needs no named reporter."""
    if ta is not None or tb is not None or a.terms is None or b.terms is None:
        return False
    if Status.CONFLICTING in (a.condition.threshold_status, b.condition.threshold_status):
        return False
    return (a.terms.subject_status == Status.FOUND and b.terms.subject_status == Status.FOUND
            and _yes_read(a, oa) and _yes_read(b, ob))


def _yes_read(x: RuleAnalysis, outcome: str | None) -> bool:
    """The YES condition of the bet is read: from the rules' YES clause, or, for a market that settles to named
    outcomes ("If the Seahawks win, the market will resolve to 'Seahawks'"), from the outcome the bet names."""
    if x.condition.status == Status.FOUND:
        return True
    named = _named_outcomes(x)
    o = _side(outcome)
    return len(named) >= 2 and o not in ("yes", "no") and o in named


def _undated_day_differs(da, db) -> str | None:
    """One date has no year: -> the two days in words when its month and day differ from the dated one's."""
    undated, dated = (da, db) if da.date is None else (db, da)
    md = month_day(undated.span.quote)
    other = (dated.date.month, dated.date.day) if dated.date is not None else month_day(dated.span.quote)
    if md is None or other is None or md == other:
        return None
    if dated.date is None:  # neither has a year
        return f"'{da.span.quote}' vs '{db.span.quote}'"
    words = f"'{undated.span.quote}' vs {dated.date.isoformat()}"
    return words if undated is da else f"{dated.date.isoformat()} vs '{undated.span.quote}'"


_SCHEDULED = re.compile(r"\bscheduled\b(?:\s+(?:for|on|at))?[^.;\n]{0,25}$", re.I)


def _both_scheduled(a: RuleAnalysis, da, b: RuleAnalysis, db, ta: Threshold | None, tb: Threshold | None) -> bool:
    """Both dates are when an event is scheduled ("the game, scheduled for August 15 at 8:00PM ET" / "originally
    scheduled for Aug 15, 2026") and no number is read at a time: a kickoff time on one side only is not a
    different observation time."""
    if ta is not None or tb is not None:
        return False
    for x, d in ((a, da), (b, db)):
        text = x.terms.rules_text if x.terms is not None else ""
        if d.span.part != "rules" or not text or not _SCHEDULED.search(text[max(0, d.span.start - 60):d.span.start]):
            return False
    return True


_OFFICIAL = re.compile(r"\bofficial\s+(?P<what>(?:closing|opening|settlement|final)\s+(?:price|value|level))\b", re.I)


def _same_official_figure(a: RuleAnalysis, b: RuleAnalysis) -> tuple[str, str] | None:
    """One side names no source, and both YES conditions read the same official figure of a listed thing ("the
    official closing price for NVIDIA (NVDA)" / "the official closing price of NVIDIA Corporation (NVDA)"): an
    official close has one publisher, which the other side names. -> (side naming it, the figure's words)."""
    known, other, side = (a, b, "A") if a.sources.status == Status.FOUND else (b, a, "B")
    if known.terms is None or other.terms is None or known.condition.threshold is None or \
            other.condition.threshold is None:
        return None
    mo = _OFFICIAL.search(other.condition.yes_if or "")
    mk = _OFFICIAL.search(known.condition.yes_if or "")
    if mo is None or mk is None or mo.group("what").lower() != mk.group("what").lower():
        return None
    return side, f"official {mo.group('what').lower()}"


_IN_YEAR = re.compile(r"\b(?:in|for|during|calendar\s+year|full[- ]year|fiscal\s+year)\s+(?:the\s+)?$", re.I)


def _same_whole_year(a: RuleAnalysis, b: RuleAnalysis) -> int | None:
    """Both sides are about one and the same calendar year as a whole ("sales volume in 2026" / "for calendar year
    2026"): no shorter period, no "before", each year written after "in" / "for" / "during", and a deadline read
    on either side is that year's last day. -> the year."""
    years = set()
    for x in (a, b):
        t = x.terms
        ps = t.periods if t is not None else []
        if not ps or any(p.kind != "year" or p.before or p.year is None for p in ps):
            return None
        for p in ps:
            text = {"title": t.question_text, "label": t.label or "", "rules": t.rules_text}.get(p.span.part or "", "")
            if not _IN_YEAR.search(text[max(0, p.span.start - 20):p.span.start]):
                return None
        years |= {p.year for p in ps}
        d = x.deadline.value
        if x.deadline.status == Status.FOUND and d is not None and d.date is not None and (d.date.month, d.date.day) != (12, 31):
            return None
    return next(iter(years)) if len(years) == 1 else None


def _same_short_period(a: RuleAnalysis, b: RuleAnalysis, diffs: list[Difference]) -> str | None:
    """Both sides name one and the same quarter, month or day, with its year (not a year alone), and nothing
    says a period or a deadline differs: -> that period in words, else None."""
    if any(d.field in ("period", "deadline") for d in diffs) or a.terms is None or b.terms is None:
        return None

    def keys(t) -> set[tuple]:
        out = set()
        for p in t.periods:
            if p.year is None or p.kind == "year":
                continue
            out.add((p.kind, p.year, p.quarter if p.kind == "quarter" else p.month, p.day))
        return out

    ka, kb = keys(a.terms), keys(b.terms)
    if not ka and not kb and (year := _same_whole_year(a, b)) is not None:
        return f"the year {year}"
    if len(ka) != 1 or ka != kb:
        return None
    p = next(x for x in a.terms.periods if x.year is not None and x.kind != "year")
    return p.words()

