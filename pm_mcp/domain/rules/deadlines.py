"""The deadline: the point in time (or period) by which the condition is judged."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from datetime import date, timedelta

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.dates import (
    _MON,
    _MONTHS,
    _SENT_TZ,
    FREE_TIME,
    _classify_date,
    _find_dates,
    _parse_time,
    _timepoint,
    join_times,
    local_iso,
    to_utc,
)
from pm_mcp.domain.rules.flags import _Flags
from pm_mcp.domain.rules.models import REVIEW, DeadlineField, Status, TimePoint
from pm_mcp.domain.rules.sentences import Sentence, _span

_PERIOD = _rx(
    r"\b(?P<pre>before|by|prior to)\s+(?:(?:the\s+)?end\s+of\s+)?(?P<y1>(?:19|20)\d{2})\b(?![-/]\d)|"
    r"\b(?:by|before|at|until)\s+the\s+end\s+of\s+(?P<y2>(?:19|20)\d{2})\b|"
    r"\bin\s+Q(?P<q>[1-4])\s+(?P<y3>(?:19|20)\d{2})\b|"
    r"\b(?:final|last)\s+(?P<trading>trading\s+)?day\s+of\s+" + _MON.replace("?P<mon>", "?P<mon1>") +
    r"\s+(?P<y4>(?:19|20)\d{2})\b|"
    r"\b(?:in|for|ending)\s+" + _MON.replace("?P<mon>", "?P<mon2>") + r",?\s+(?P<y5>(?:19|20)\d{2})\b|"
    r"(?<!beginning )(?<!starting )\b(?:in|for|from|during|throughout)\s+(?P<y6>(?:19|20)\d{2})\b"
    r"(?!\s*[-/]|\s+(?:season|election|midterm|nomination|presidential|to|through|until|and)\b)",
    re.I)


_PERIOD_NOTE = "a period, not a day"
_COMPARE = re.compile(r"\bcompar(?:e|es|ing)\b|\bthan the (?:19|20)\d\d-\d\d-\d\d\b", re.I)
_ZONE_AFTER = re.compile(r"\s*\(\s*(?P<tz>UTC|GMT|ET|EST|EDT|PT|PST|PDT|CT|CST|CDT)\s*\)")


# the rules defer the date to the title: "the date specified in the title", "the specified date"
_TITLE_DATE = _rx(r"(?:date|time|deadline|day|time range|period)(?: and time)? (?:specified|stated|listed|given|named|"
                  r"mentioned|indicated|shown|set out) in the (?:market'?s? )?(?:title|question)|"
                  r"\bthe (?:specified|listed|stated) (?:date|deadline|day|end date)|the date in the title", re.I)
_TIME_NEAR = FREE_TIME


def _with_rules_time(tp: TimePoint, text: str, sent: Sentence | None) -> TimePoint:
    """A title date joined to the time (and zone) the rules state in the sentence that points at the title."""
    if sent is None or tp.date is None:
        return tp
    times = []
    for m in _TIME_NEAR.finditer(sent.text):  # "12:00 ... (noon)" is one time
        hm = _parse_time(m.groupdict())
        if hm is not None and all(_parse_time(t.groupdict()) != hm for t in times):
            times.append(m)
    mz = _SENT_TZ.search(sent.text)
    tz = (times[0].group("tz") if len(times) == 1 else None) or (mz.group("tz") if mz else None)
    upd: dict = {}
    hms = None
    if len(times) == 1:
        m = times[0]
        hms = _parse_time(m.groupdict())
        upd.update(time=f"{hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}",  # type: ignore[index]
                   time_span=_span(text, sent.start + m.start(), sent.start + m.end()),
                   note="date from the title; time of day from the rules")
    if tz:
        upd["tz_label"] = tz
    if hms is not None and tz:
        try:
            utc, used, _ = to_utc(tp.date, *hms, tz)
            upd.update(tz=used, utc=utc, local=local_iso(tp.date, hms, utc, used))
        except ValueError:
            pass
    return tp.model_copy(update=upd)


def _period_timepoint(text: str, m: re.Match[str], part: str = "rules") -> TimePoint | None:
    import calendar
    g = m.groupdict()
    kind = "window_end"
    if g.get("y1"):
        y = int(g["y1"])
        if "end of" in m.group(0).lower():
            d, kind = date(y, 12, 31), "by"
        else:
            d, kind = date(y, 1, 1), "by"
    elif g.get("y2"):
        d, kind = date(int(g["y2"]), 12, 31), "by"
    elif g.get("q"):
        y, q = int(g["y3"]), int(g["q"])
        d = date(y, 3 * q, calendar.monthrange(y, 3 * q)[1])
    elif g.get("y4"):
        y, mo = int(g["y4"]), _MONTHS[g["mon1"][:3].lower()]
        d = date(y, mo, calendar.monthrange(y, mo)[1])
        if g.get("trading"):
            while d.weekday() >= 5:  # the last weekday (exchange holidays are not known here)
                d -= timedelta(days=1)
    elif g.get("y5"):
        y, mo = int(g["y5"]), _MONTHS[g["mon2"][:3].lower()]
        d = date(y, mo, calendar.monthrange(y, mo)[1])
    elif g.get("y6"):
        d = date(int(g["y6"]), 12, 31)
    else:
        return None
    return TimePoint(kind=kind, date=d, span=_span(text, m.start(), m.end(), part),  # type: ignore[arg-type]
                     note=_PERIOD_NOTE + ": the last day of the period (or the day it ends before); "
                                        "no time of day stated")


def _deadline(text: str, sents: list[Sentence], sent_at, default_year: int | None, title: str,
              review: list[str], _flags: _Flags) -> DeadlineField:
    hits = _find_dates(text)
    join_times(text, hits, sent_at)
    # title dates are used when the rules point at the title ("the time range specified in the title")
    title_hits = _find_dates(title) if title else []
    scored: list[tuple[int, int, TimePoint]] = []
    cutoffs: list[TimePoint] = []
    starts: list[TimePoint] = []
    scheduled: list[tuple[int, int, TimePoint]] = []  # "will be held on <date>" outside a condition
    prev_kind = None
    for h in hits:
        s = sent_at(h.start)
        if s is None:
            continue
        kind = _classify_date(text, h, s)
        if kind == "other" and h.rel_days:
            kind = "at"  # "on the day following the election (November 3, 2026)"
        if kind == "by" and prev_kind in ("window_start", "scheduled") and \
                re.search(r"(?:and|through|to|[-–])\s*$", text[max(0, h.start - 12):h.start]):
            kind = "window_end"
        prev_kind = kind
        fallback = _flags(s, "fallback")
        cond = _flags(s, "cond")
        tp = _timepoint(text, h, kind, hits, default_year, s)
        if kind == "window_start":
            starts.append(tp)
            continue
        if fallback and kind in ("by", "other", "at"):
            cutoffs.append(tp.model_copy(update={"kind": "cutoff"}))
            continue
        sc = 0
        if cond:
            sc += 3
        elif _flags(s, "background") and not (h.hms is not None and h.tz_label and kind in ("at", "by")):
            continue  # a past event; but "evidence as of 12 PM ET, June 23" is the observation time
        if kind in ("by", "window_end", "at"):
            sc += 2
        elif kind == "scheduled" and _flags(s, "event"):
            sc += 3
        elif kind == "release" and re.search(r"resolution source|report|releas", s.text, re.I):
            sc += 2
        if h.hms is not None:
            sc += 1
        if kind == "window_end" and scored and scored[-1][2].kind == "scheduled" \
                and 0 <= h.start - scored[-1][2].span.end < 15:
            prev = scored.pop()
            starts.append(prev[2].model_copy(update={"kind": "window_start"}))
            sc = max(sc, prev[0])
        if sc >= 2:
            scored.append((sc, -h.start, tp))
        elif kind == "scheduled":
            scheduled.append((1, -h.start, tp))
    # periods without a day, only when no day is named: "before 2027", "by the end of 2024", "in Q3 2026",
    # "in Sep 2026", "twelve months ending December 2026", "the final trading day of January 2026", "in 2026"
    dated = [x for x in scored if x[2].date is not None]
    if scored and not dated:
        # only days without a year ("by January 1", no close time): a period with a year may place it
        scored = [(sc - 2, pos, tp) for sc, pos, tp in scored]
    for pm in (_PERIOD.finditer(text) if not dated else ()):
        s = sent_at(pm.start())
        if s is None or _flags(s, "fallback") or (_flags(s, "background") and not _flags(s, "cond")):
            continue
        pt = _period_timepoint(text, pm)
        if pt is None:
            continue
        sc = (3 if _flags(s, "cond") else 0) + 1  # below an explicit date in the same kind of sentence
        if sc >= 1 and (_flags(s, "cond") or pt.kind == "by"):
            scored.append((max(sc, 2), -pm.start(), pt))
    if not scored and not cutoffs and len(scheduled) == 1:
        scored = scheduled  # the one scheduled date ("The election will be held on November 4, 2025") decides
    refers_title = _TITLE_DATE.search(text)
    if refers_title and title_hits:
        h = title_hits[-1]
        kind = _classify_date(title, h, Sentence(0, len(title), title))
        tp = _timepoint(title, h, "by" if kind == "by" else "at", title_hits, default_year,
                        Sentence(0, len(title), title), "title")
        if tp.time is None and tp.date is not None:
            # the rules may state the time and zone ("12:00 in the ET timezone on the date specified in the title")
            tp = _with_rules_time(tp, text, sent_at(refers_title.start()))
        if tp.date is not None:
            scored.append((10, 0, tp))
    elif refers_title and title:
        pm = _PERIOD.search(title)
        pt = _period_timepoint(title, pm, "title") if pm else None
        if pt is not None:
            scored.append((10, 0, _with_rules_time(pt, text, sent_at(refers_title.start()))))
    cutoff = None
    if cutoffs:
        cutoff = max(cutoffs, key=lambda t: (t.date or date.min, t.time or ""))
    if not scored:
        if cutoff is not None:
            return DeadlineField(status=Status.FOUND, value=cutoff, cutoff=cutoff,
                                 note="only a fallback date is stated; the market may resolve earlier")
        review.append("deadline / observation time")
        return DeadlineField(status=Status.UNKNOWN, cutoff=None,
                             note=f"no deadline or observation time found in the rule text: {REVIEW}")
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    best = scored[0][2]
    top = [t for sc, _, t in scored if sc == scored[0][0]]
    conflicts = [t for t in top if t.date and best.date and t.date != best.date
                 and not (t.note or "").startswith(_PERIOD_NOTE) and not (best.note or "").startswith(_PERIOD_NOTE)
                 and t.kind in ("by", "at", "window_end") and best.kind in ("by", "at", "window_end")
                 and not t.year_inferred and not best.year_inferred]
    # prefer the one with a time when two candidates name the same date (in any sentence that counts)
    for t in top + [t for _, _, t in scored if t.kind in ("by", "window_end")]:
        if t.date == best.date and best.time is None and t.time is not None:
            best = t
    # "Compare the close on D1 to the close on D2": the outcome is known on the later day
    bs = sent_at(best.span.start) if best.span.part == "rules" else None
    if bs is not None and _COMPARE.search(bs.text):
        later = [t for sc, _, t in scored if sc == scored[0][0] and t.date and best.date and t.date > best.date
                 and t.span.part == "rules" and bs.start <= t.span.start < bs.end]
        if later:
            best = max(later, key=lambda t: t.date)  # type: ignore[arg-type, return-value]
    # a zone written right after a date with no time ("on 2025-09-20 (UTC)")
    if best.tz_label is None and best.span.part == "rules":
        mz = _ZONE_AFTER.match(text, best.span.end)
        if mz:
            best = best.model_copy(update={"tz_label": mz.group("tz")})
    start = None
    if starts:
        before = [t for t in starts if t.span.start < best.span.start]
        start = before[-1] if before else None
    if conflicts:
        review.append("deadline (the rules state different dates)")
        return DeadlineField(status=Status.CONFLICTING, value=best, window_start=start, cutoff=cutoff,
                             conflicts=conflicts, note=f"different deadlines stated: {REVIEW}")
    if best.date is None:
        review.append("deadline year")
    return DeadlineField(status=Status.FOUND, value=best, window_start=start, cutoff=cutoff)
