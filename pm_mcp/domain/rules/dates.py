"""Dates, times and time zones, normalised to UTC (daylight saving handled)."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.models import REVIEW, TimePoint
from pm_mcp.domain.rules.sentences import Sentence, _span

# ---------------------------------------------------------------------------------------------
# dates, times, time zones

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
           "oct": 10, "nov": 11, "dec": 12}
_MON = (r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
        r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE_MDY = _rx(_MON + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d|:\d)"
                       r"(?:\s*[-–]\s*(?P<day2>\d{1,2})(?!\d|:\d))?(?:,?\s+(?P<year>(?:19|20)\d{2})(?!\d))?")
# "not after a digit" is checked after the first digit ((?<!\d\d) there is (?<!\d) before it): a pattern that
# starts with a digit lets the regex engine skip to the digits, one starting with a look-behind tries every position
_DATE_DMY = _rx(r"(?P<day>\d(?<!\d\d)\d?)\s+" + _MON + r",?\s+(?P<year>(?:19|20)\d{2}|['’]\d{2})(?!\d)")
_DATE_YMD = _rx(r"(?P<year>(?:19|20)(?<![\d/]\d\d)\d{2})[/-](?P<monn>\d{1,2})[/-](?P<day>\d{1,2})(?![\d/])")

_TZ = r"(?P<tz>ET|EST|EDT|CT|CST|CDT|MT|MST|MDT|PT|PST|PDT|UTC|GMT|BST|CET|CEST|EET|EEST|WET|WEST|JST|KST|HKT|" \
      r"SGT|AEST|AEDT|AWST|NZST|NZDT|BRT|ART|Z\b|Eastern(?: Time)?|" \
      r"Pacific(?: Time)?|Central(?: Time)?|Mountain(?: Time)?|(?:London|UK|Paris|Berlin|Madrid|Rome|Brussels|" \
      r"Central European|Tokyo|Seoul|Hong Kong|Singapore|Sydney|Melbourne|Brasilia|São Paulo|Buenos Aires|" \
      r"Kyiv|Moscow|Istanbul|Jerusalem|Israel|India|New Delhi|Mumbai|Beijing|Mexico City|Toronto|New York|" \
      r"Chicago|Los Angeles) (?:time|local time))(?![A-Za-z])"
_TIME = (r"(?:(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)|"
         r"(?P<h24>\d{1,2}):(?P<mi24>\d{2})(?::(?P<s24>\d{2}))?|(?P<noon>noon|midnight))")
_TAIL = _rx(r"^(?:,?\s*(?:at\s+)?\(?\s*)" + _TIME + r"(?:\s*\(?\s*" + _TZ + r")?\s*\)?")
_TAIL_RANGE = _rx(r"^\s*[-–]\s*" + _TIME + r"(?:\s*" + _TZ + r")?")
_TAIL_TZ = _rx(r"^,?\s*\(?\s*" + _TZ + r"\s*\)?")
_TIME_BEFORE = _rx(_TIME + r"(?:\s*" + _TZ + r")?,?\s+(?:on\s+)?$")
_SENT_TZ = _rx(r"(?:in the\s+)?" + _TZ + r"(?:\s+time\s*zone|\s+timezone)?|Eastern Time Zone")

_TZMAP: dict[str, Any] = {
    "ET": "America/New_York", "EASTERN": "America/New_York", "EASTERN TIME": "America/New_York",
    "CT": "America/Chicago", "CENTRAL": "America/Chicago", "CENTRAL TIME": "America/Chicago",
    "MT": "America/Denver", "MOUNTAIN": "America/Denver", "MOUNTAIN TIME": "America/Denver",
    "PT": "America/Los_Angeles", "PACIFIC": "America/Los_Angeles", "PACIFIC TIME": "America/Los_Angeles",
    "UTC": "UTC", "GMT": "UTC", "Z": "UTC",
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "WET": 0, "WEST": 1, "JST": 9, "KST": 9, "HKT": 8,
    "SGT": 8, "AEST": 10, "AEDT": 11, "AWST": 8, "NZST": 12, "NZDT": 13, "BRT": -3, "ART": -3,
}
# "London time", "Tokyo local time": the city's zone, daylight saving applied
_CITY_ZONES = {"LONDON": "Europe/London", "UK": "Europe/London", "PARIS": "Europe/Paris", "BERLIN": "Europe/Berlin",
               "MADRID": "Europe/Madrid", "ROME": "Europe/Rome", "BRUSSELS": "Europe/Brussels",
               "CENTRAL EUROPEAN": "Europe/Berlin", "TOKYO": "Asia/Tokyo", "SEOUL": "Asia/Seoul",
               "HONG KONG": "Asia/Hong_Kong", "SINGAPORE": "Asia/Singapore", "SYDNEY": "Australia/Sydney",
               "MELBOURNE": "Australia/Melbourne", "BRASILIA": "America/Sao_Paulo", "SÃO PAULO": "America/Sao_Paulo",
               "BUENOS AIRES": "America/Argentina/Buenos_Aires", "KYIV": "Europe/Kyiv", "MOSCOW": "Europe/Moscow",
               "ISTANBUL": "Europe/Istanbul", "JERUSALEM": "Asia/Jerusalem", "ISRAEL": "Asia/Jerusalem",
               "INDIA": "Asia/Kolkata", "NEW DELHI": "Asia/Kolkata", "MUMBAI": "Asia/Kolkata",
               "BEIJING": "Asia/Shanghai", "MEXICO CITY": "America/Mexico_City", "TORONTO": "America/Toronto",
               "NEW YORK": "America/New_York", "CHICAGO": "America/Chicago", "LOS ANGELES": "America/Los_Angeles"}
for _city, _zone in _CITY_ZONES.items():
    _TZMAP[_city + " TIME"] = _zone
    _TZMAP[_city + " LOCAL TIME"] = _zone
_DST_LABELS = {"EST": "America/New_York", "EDT": "America/New_York", "CST": "America/Chicago",
               "CDT": "America/Chicago", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
               "MST": "America/Denver", "MDT": "America/Denver"}


def to_utc(d: date, hh: int, mm: int, ss: int, tz_label: str) -> tuple[datetime, str, str | None]:
    """Local wall time + zone label -> (UTC datetime, zone used, note). ET/PT... follow DST via
    zoneinfo; EST/EDT... are the fixed offsets they name (with a note when it disagrees with DST)."""
    key = " ".join(tz_label.upper().split())
    z = _TZMAP.get(key)
    if z is None:
        raise ValueError(f"unknown time zone {tz_label!r}")
    naive = datetime(d.year, d.month, d.day, hh, mm, ss)
    note = None
    if isinstance(z, str):
        zone = ZoneInfo(z)
        return naive.replace(tzinfo=zone).astimezone(UTC), z, None
    off = timezone(timedelta(hours=z))
    if key in _DST_LABELS:
        real = naive.replace(tzinfo=ZoneInfo(_DST_LABELS[key])).utcoffset()
        if real is not None and real != timedelta(hours=z):
            note = (f"{key} names a fixed UTC{z:+d} offset but the local clock on that date is "
                    f"UTC{int(real.total_seconds() // 3600):+d}; the literal {key} offset was used: {REVIEW}")
    return naive.replace(tzinfo=off).astimezone(UTC), f"UTC{z:+03d}:00", note


def local_iso(d: date, hms: tuple[int, int, int], utc: datetime, tz_used: str) -> str:
    """The wall time as written with the offset it has on that date: '2026-11-04T10:00:00-05:00'."""
    zone = ZoneInfo(tz_used) if "/" in tz_used or tz_used == "UTC" else None
    if zone is not None:
        return utc.astimezone(zone).isoformat()
    naive = datetime(d.year, d.month, d.day, *hms)
    off = naive - utc.replace(tzinfo=None)
    return naive.replace(tzinfo=timezone(off)).isoformat()


# a time of day anywhere in a sentence (joined to a date of the same sentence that has none)
FREE_TIME = _rx(r"(?<![\d:])" + _TIME + r"(?:\s*\(?\s*" + _TZ + r"\s*\)?)?")
# "the day following", "two business days after", "the first Monday after": arithmetic on the date after it
_NUMW = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "fourteen": 14,
         "thirty": 30}
RELATIVE_BEFORE = _rx(r"(?:the\s+)?(?:(?P<day>day|calendar day|business day|trading day)|(?P<n>\d{1,3}|one|two|three|"
                      r"four|five|six|seven|ten|fourteen|thirty)\s+(?P<unit>calendar |business |trading )?days?)\s+"
                      r"(?P<dir>following|after|before|prior to)\s+(?:the\s+\w+(?:\s+\w+)?\s+(?:on|of)\s+|"
                      r"the\s+\w+(?:\s+\w+)?\s*\(|\(?)?$", re.I)


def shift_days(d: date, n: int, business: bool) -> date:
    step = 1 if n >= 0 else -1
    if not business:
        return d + timedelta(days=n)
    left = abs(n)
    while left:
        d += timedelta(days=step)
        if d.weekday() < 5:
            left -= 1
    return d


@dataclass
class _DateHit:
    start: int
    end: int  # end of date + time + zone
    day: int
    month: int
    year: int | None
    day2: int | None
    hms: tuple[int, int, int] | None
    hms2: tuple[int, int, int] | None
    tz_label: str | None
    time_at: tuple[int, int] | None = None  # where a time joined from elsewhere in the sentence was read
    rel_days: int = 0  # "the day following": +1
    rel_business: bool = False
    rel_words: str | None = None


def _parse_time(gd: dict[str, Any]) -> tuple[int, int, int] | None:
    if gd.get("noon"):
        return (12, 0, 0) if gd["noon"].lower() == "noon" else (0, 0, 0)
    if gd.get("h") is not None:
        h = int(gd["h"])
        mi = int(gd.get("mi") or 0)
        s = int(gd.get("s") or 0)
        ap = gd["ampm"].lower().replace(".", "")
        if not 1 <= h <= 12 or mi > 59 or s > 59:
            return None
        if ap == "pm" and h != 12:
            h += 12
        if ap == "am" and h == 12:
            h = 0
        return (h, mi, s)
    if gd.get("h24") is not None:
        h, mi, s = int(gd["h24"]), int(gd["mi24"]), int(gd.get("s24") or 0)
        if h > 23 or mi > 59 or s > 59:
            return None
        return (h, mi, s)
    return None


def _find_dates(text: str) -> list[_DateHit]:
    hits: list[_DateHit] = []
    taken: list[tuple[int, int]] = []
    for rx in (_DATE_MDY, _DATE_DMY, _DATE_YMD):
        for m in rx.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            gd = m.groupdict()
            month = _MONTHS[gd["mon"][:3].lower()] if gd.get("mon") else int(gd["monn"])
            day = int(gd["day"])
            if not (1 <= month <= 12 and 1 <= day <= 31):
                continue
            year = (2000 + int(gd["year"][1:]) if gd["year"][0] in "'’" else int(gd["year"])) \
                if gd.get("year") else None
            day2 = int(gd["day2"]) if gd.get("day2") else None
            end = m.end()
            hms = hms2 = None
            tz = None
            rest = text[end:end + 60]
            t = _TAIL.match(rest)
            if t:
                hms = _parse_time(t.groupdict())
                if hms is not None:
                    tz = t.group("tz")
                    end += t.end()
                    r2 = _TAIL_RANGE.match(text[end:end + 40])
                    if r2:
                        hms2 = _parse_time(r2.groupdict())
                        if hms2 is not None:
                            tz = r2.group("tz") or tz
                            end += r2.end()
            if hms is None:
                tt = _TAIL_TZ.match(rest)
                if tt:
                    tz = tt.group("tz")
                    end += tt.end()
                else:
                    before = _TIME_BEFORE.search(text[max(0, m.start() - 30):m.start()])
                    if before:
                        hms = _parse_time(before.groupdict())
                        tz = before.group("tz")
            # keep the span tidy: do not swallow a trailing ")" that has no "("
            quote = text[m.start():end]
            if quote.endswith(")") and quote.count("(") < quote.count(")"):
                end -= 1
            hits.append(_DateHit(m.start(), end, day, month, year, day2, hms, hms2, tz))
            taken.append((m.start(), end))
    hits.sort(key=lambda h: h.start)
    return hits


_KIND_BEFORE = [
    (_rx(r"(?:between|from)\s*$", re.I), "window_start"),
    (_rx(r"(?:no later than|on or before|by|until|through|thru|prior to|before|(?:^|\s)to|up to|"
                r"and|[-–])\s*(?:the\s+)?(?:resolution (?:time|date)|inauguration date|end of)?\s*[,(]?\s*$", re.I),
     "by"),
    (_rx(r"(?:(?:originally|initially)?\s*scheduled (?:for|on|to take place on)|taking place on|held on|"
                r"takes place on)\s*(?:[A-Z][a-z]+day,?\s*)?$", re.I), "scheduled"),
    (_rx(r"released? on\s*$|release(?:d)? date(?: of)?\s*$", re.I), "release"),
    (_rx(r"\b(?:on|as of|at|for|titled|candle for \S+)\s*(?:[A-Z][a-z]+day,?\s*)?[“\"]?(?:[A-Z][a-z]{2}\s)?$"),
     "at"),
]
_FALLBACK_SENT = _rx(
    r"50[-/ ]50|fifty|not (?:be )?(?:completed|decided|declared|finalized|known|played|released)|"
    r"no (?:statement|champion|winner|final data)|postpone|cancel|delayed|unavailable|not available|"
    r"if for (?:any|whatever) reason|will not resolve until|another credible|fair price|rescheduled", re.I)
_EVENT_SENT = _rx(r"\bgame\b|\bmatch\b|matchup|\bmeeting\b|\bfight\b|\bbout\b|\brace\b|in the upcoming|"
                         r"\bmatch(?:es)?\b", re.I)
_BACKGROUND_SENT = _rx(r"\b(?:was|were|had|has been|sworn in|theatrical release|started on|began on|born)\b", re.I)
_COND_SENT = _rx(r"resolves? to\s+[“\"]?(?:yes|no)|resolves? [“\"]?(?:yes|no)\b|will resolve to|resolve[sd]? (?:to )?[“\"]|"
                        r"this is a market on|this market asks|then the market resolves|market on (?:if|whether|who|how)|"
                        r"resolve according to|resolution time", re.I)


def join_times(text: str, hits: list[_DateHit], sent_at) -> None:
    """A date with no time of day takes the one time stated elsewhere in its sentence ("at 10:00 AM ET, once
    ..., on the day following the election (November 3, 2026)"); and "the day following <date>" shifts it."""
    taken = [(h.start, h.end) for h in hits]
    for h in hits:
        rel = RELATIVE_BEFORE.search(text[max(0, h.start - 60):h.start])
        if rel is not None:
            g = rel.groupdict()
            n = 1 if g.get("day") else (_NUMW.get((g.get("n") or "").lower()) or int(g["n"]))
            if g["dir"].lower() in ("before", "prior to"):
                n = -n
            h.rel_days = n
            h.rel_business = "business" in (g.get("day") or g.get("unit") or "").lower() or \
                "trading" in (g.get("day") or g.get("unit") or "").lower()
            h.rel_words = " ".join(rel.group(0).split()).rstrip(" (")
        if h.hms is not None:
            continue
        s = sent_at(h.start)
        if s is None:
            continue
        free = []
        for m in FREE_TIME.finditer(s.text):
            a, b = s.start + m.start(), s.start + m.end()
            if any(x <= a < y or x < b <= y for x, y in taken):
                continue
            hms = _parse_time(m.groupdict())
            if hms is not None:
                free.append((hms, m.group("tz"), a, b))
        same_sentence = [o for o in hits if o is not h and s.start <= o.start < s.end]
        if len(free) == 1 and not same_sentence:
            h.hms, h.tz_label, h.time_at = free[0][0], h.tz_label or free[0][1], (free[0][2], free[0][3])


def _infer_year(hit: _DateHit, hits: list[_DateHit], default_year: int | None) -> tuple[int | None, bool]:
    if hit.year:
        return hit.year, False
    # the next date within a short distance (a range "January 31 through February 1, 2023")
    i = hits.index(hit)
    if i + 1 < len(hits) and hits[i + 1].year and hits[i + 1].start - hit.end < 25:
        y = hits[i + 1].year
        if hits[i + 1].month < hit.month:
            y -= 1  # type: ignore[operator]
        return y, True
    if default_year:
        return default_year, True
    prev = [h for h in hits[:i] if h.year]
    if prev:
        return prev[-1].year, True
    nxt = [h for h in hits[i + 1:] if h.year]
    if nxt:
        return nxt[0].year, True
    return None, False


def _timepoint(text: str, hit: _DateHit, kind: str, hits: list[_DateHit], default_year: int | None,
               sent: Sentence | None, part: Literal["rules", "title"] = "rules") -> TimePoint:
    year, inferred = _infer_year(hit, hits, default_year)
    notes: list[str] = []
    day = hit.day2 if (hit.day2 and kind in ("by", "window_end", "at", "cutoff")) else hit.day
    hms = hit.hms2 if (hit.hms2 and kind in ("by", "window_end", "at", "cutoff", "other")) else hit.hms
    tz_label = hit.tz_label
    if hms is not None and tz_label is None and sent is not None:
        mt = _SENT_TZ.search(sent.text)
        if mt:
            tz_label = mt.group("tz") or "ET"
    d: date | None = None
    if year is not None:
        try:
            d = date(year, hit.month, day)
        except ValueError:
            notes.append(f"not a calendar date: {REVIEW}")
    if d is not None and hit.rel_days:
        d = shift_days(d, hit.rel_days, hit.rel_business)
        notes.append(f"{hit.rel_words}: {hit.rel_days:+d} {'business ' if hit.rel_business else ''}day(s) "
                     "from the date written")
    elif year is None:
        notes.append(f"the year is not stated: {REVIEW}")
    if inferred:
        notes.append("year inferred from context")
    utc = None
    tz_used = None
    local = None
    if d is not None and hms is not None and tz_label:
        try:
            utc, tz_used, n = to_utc(d, *hms, tz_label)
            local = local_iso(d, hms, utc, tz_used)
            if n:
                notes.append(n)
        except ValueError:
            notes.append(f"time zone {tz_label!r} not understood: {REVIEW}")
    elif d is not None and hms is None:
        notes.append("no time of day stated")
    if hit.time_at is not None:
        notes.append("time of day read from elsewhere in the sentence")
    elif d is not None and not tz_label:
        notes.append(f"no time zone stated: {REVIEW}")
    return TimePoint(kind=kind, date=d,  # type: ignore[arg-type]
                     time=(f"{hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}" if hms else None),
                     tz_label=tz_label, tz=tz_used, utc=utc, year_inferred=inferred, local=local,
                     span=_span(text, hit.start, hit.end, part), note="; ".join(notes) or None,
                     time_span=_span(text, *hit.time_at, part) if hit.time_at else None,
                     relative=(f"{hit.rel_words} ({hit.rel_days:+d} {'business ' if hit.rel_business else ''}day)"
                               if hit.rel_days else None))


def _classify_date(text: str, hit: _DateHit, sent: Sentence) -> str:
    prefix = text[max(sent.start, hit.start - 60):hit.start]
    tb = _TIME_BEFORE.search(prefix)
    if tb is not None:  # "as of 12 PM ET, June 23": the cue is before the time
        prefix = prefix[:tb.start()]
    prefix = prefix[-45:]
    for rx, kind in _KIND_BEFORE:
        if rx.search(prefix):
            return kind
    return "other"
