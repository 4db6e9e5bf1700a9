"""Numbers, comparators and thresholds (with units and scales)."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.models import Threshold
from pm_mcp.domain.rules.sentences import _span

# ---------------------------------------------------------------------------------------------
# numbers, comparators, thresholds

_NUMWORDS = {"once": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
             "eight": 8, "nine": 9, "ten": 10, "twice": 2}
_NUM = (r"(?P<neg>[-−])?(?P<cur>\$)?\s?(?P<num>\d[\d,]*(?:\.\d+)?|(?:once|twice|one|two|three|four|five|"
        r"six|seven|eight|nine|ten)\b)(?P<cur2>\s?\$)?(?:\s?(?P<scale>million|billion|trillion|thousand|"
        r"[kKmMbB]n?)\b)?")
_UNIT = (r"(?:\s?(?P<unit>%|percent(?:age points?)?\b|bps\b|basis points?\b|(?:USD|USDC|dollars?|cents?)\b|"
         r"(?:goals?|points?|games?|cuts?|hikes?|times?|tweets?|seats?|votes?|days?|hours?|weeks?|"
         r"degrees?|°[FC]?|yards?|runs?|wins?|people|deaths?|barrels?|mentions?)\b))?")
_NU = _NUM + _UNIT
_UNIT_AFTER = _rx(r"^\s+(?:full\s+|consecutive\s+)?" + _UNIT, re.I)

_CMP_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (_rx(r"\bbetween\s+" + _NU + r"\s+and\s+(?P<num_hi>[-−]?\$?\d[\d,]*(?:\.\d+)?)", re.I), "between"),
    # "between 72-73°", "be between 68-69°F"
    (_rx(r"\bbetween\s+" + _NUM + r"\s?[-–]\s?(?P<num_hi>\$?\d[\d,]*(?:\.\d+)?)" + _UNIT, re.I), "between"),
    # "reaches or falls below 5.0%", "reaches or exceeds $100"
    (_rx(r"\b(?:reach(?:es)?|hits?)\s+or\s+(?:falls?\s+|drops?\s+)?(?:below|under)\s*" + _NU, re.I), "<="),
    (_rx(r"\b(?:reach(?:es)?|hits?)\s+or\s+(?:exceeds?|goes above|rises above)\s*" + _NU, re.I), ">="),
    # "5+ times" (mention and count markets, usually in the title)
    (_rx(r"(?<![\w.-])(?P<num>\d[\d,]*)\+" + _UNIT, re.I), ">="),
    (_rx(r"(?:equal to or (?:greater|higher|more) than|equal to or (?:above|over)|greater than or equal to|at least|"
         r"no less than|not less than|at or (?:above|over|higher than)|a minimum of|≥|>=)\s*" + _NU,
                re.I), ">="),
    (_rx(r"(?:equal to or (?:less|lower|fewer) than|equal to or (?:below|under)|less than or equal to|at most|"
         r"no more than|not more than|at or (?:below|under|lower than)|a maximum of|≤|<=)\s*" + _NU,
                re.I), "<="),
    (_rx(r"(?<![\w-])" + _NU + r"\s+or\s+(?:more|higher|greater|above|over)\b", re.I), ">="),
    (_rx(r"(?<![\w-])" + _NU + r"\s+or\s+(?:less|lower|fewer|below|under)\b", re.I), "<="),
    (_rx(r"(?:more than|greater than|higher than|above|exceeds?|exceeding|in excess of|over|>)\s*" + _NU,
                re.I), ">"),
    (_rx(r"(?:less than|lower than|fewer than|below|under|<)\s*" + _NU, re.I), "<"),
    (_rx(r"\bexactly\s+" + _NU, re.I), "=="),
    # a verb phrase with a price, as titles put it: "dip to $2,500", "hit $150k", "reach $5"
    (_rx(r"\b(?:dips?|drops?|falls?|sinks?|crash(?:es)?|plunges?|declines?)\s+(?:to|below|under)\s*" + _NU, re.I), "<="),
    (_rx(r"\b(?:hits?|reach(?:es)?|rises?\s+to|climbs?\s+to|surges?\s+to|pumps?\s+to|jumps?\s+to|tops?)\s*"
         + _NU, re.I), ">="),
    (_rx(r"\b(?:cut|hike|raise|increase|decrease|change)\s+of\s+(?P<cmpsym>[<>]=?)?\s*" + _NU, re.I), "=="),
    (_rx(r"\b(?:increased?|decreased?|cut|hiked?|raised?|rates)\s+(?:\w+\s+)?(?:by\s+)?(?P<cmpsym>[<>]=?)?\s*"
                + _NUM + r"\s?(?P<unit>bps\b|basis points?\b|%|percent\b)", re.I), "=="),
]
# a comparison against a reference that is not a number: "the price at the beginning of that range",
# "the open price", "the listed price", "the simple average of ... before 8:30 PM EDT"
# "the specified threshold", "the 2025-09-20 Close" (another day's close)
_REF = r"(?P<ref>the (?:(?:listed|specified|open|opening|starting|beginning|final|closing|simple|stated)\s+|" \
       r"(?:19|20)\d\d-\d\d-\d\d\s+)?(?:price|value|level|average|threshold|close|closing price|open)\b[^.,;]*)"
_REL_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (_rx(r"(?:equal to or (?:greater|higher|more) than|equal to or (?:above|over)|greater than or equal to|at least|"
         r"no less than)\s+" + _REF, re.I), ">="),
    (_rx(r"(?:equal to or (?:less|lower) than|equal to or (?:below|under)|less than or equal to|at most)\s+" + _REF,
         re.I), "<="),
    (_rx(r"(?:higher than|greater than|above|more than)\s+" + _REF, re.I), ">"),
    (_rx(r"(?:lower than|less than|below)\s+" + _REF, re.I), "<"),
]
# a bucket market: "resolve to the temperature range that contains ...", "the higher range bracket"
_RANGE_MARKET = _rx(r"resolve to the (?:\w+ )?range (?:that )?contains|range bracket", re.I)
_SCALES = {"thousand": Decimal(10**3), "k": Decimal(10**3), "million": Decimal(10**6), "m": Decimal(10**6),
           "billion": Decimal(10**9), "b": Decimal(10**9), "bn": Decimal(10**9), "trillion": Decimal(10**12)}
_DATEISH_AFTER = _rx(r"^\s*(?:,\s*)?(?:\d{4}\b|[AaPp]\.?[Mm]\b|:\d)")


def _canon_unit(unit: str | None, cur: bool) -> str | None:
    if cur:
        return "USD"
    if not unit:
        return None
    u = unit.lower().strip()
    if u in ("%", "percent") or u.startswith("percentage point"):
        return "%"
    if u in ("bps", "basis point", "basis points"):
        return "bps"
    if u.startswith("dollar") or u in ("usd", "usdc"):
        return "USD"
    if u.startswith("cent"):
        return "cents"
    if u in ("times", "time", "tweets", "tweet"):
        return "times" if u.startswith("time") else "tweets"
    return u[:-1] if u.endswith("s") and len(u) > 3 and not u.endswith("ss") else u


def _to_decimal(num: str, neg: str | None, scale: str | None) -> Decimal | None:
    n = num.lower()
    if n in _NUMWORDS:
        v = Decimal(_NUMWORDS[n])
    else:
        try:
            v = Decimal(n.replace(",", ""))
        except InvalidOperation:
            return None
    if scale:
        v *= _SCALES.get(scale.lower(), Decimal(1))
    if neg:
        v = -v
    return v


def _threshold_in(text: str, s_start: int, s_text: str, part: Literal["rules", "title"] = "rules"
                  ) -> Threshold | None:
    best: tuple[int, Threshold] | None = None
    for rx, cmp in _CMP_PATTERNS:
        for m in rx.finditer(s_text):
            gd = m.groupdict()
            if not gd.get("num"):
                continue
            # skip dates and times ("over 2022", "at least 12:00 PM") and years
            if _DATEISH_AFTER.match(s_text[m.end("num"):m.end("num") + 6]) and not gd.get("unit"):
                continue
            raw_num = gd["num"].replace(",", "")
            if re.fullmatch(r"(19|20)\d{2}", raw_num) and not gd.get("cur") and not gd.get("unit"):
                continue
            value = _to_decimal(gd["num"], gd.get("neg"), gd.get("scale"))
            if value is None:
                continue
            comparator = cmp
            sym = gd.get("cmpsym")
            if sym:
                comparator = sym
            if comparator in (">", "<") and re.match(r"\s*\(?inclusive\b", s_text[m.end():m.end() + 15], re.I):
                comparator += "="  # "> 95% inclusive"
            upper = None
            if cmp == "between" and gd.get("num_hi"):
                upper = _to_decimal(gd["num_hi"].lstrip("$-−"), "-" if gd["num_hi"][:1] in "-−" else None,
                                    gd.get("scale"))
                if upper is not None and upper < value:
                    continue  # "between 5-3" is not a range (a score, a date)
            unit = _canon_unit(gd.get("unit"), bool(gd.get("cur") or gd.get("cur2")))
            if unit is None:
                after = _UNIT_AFTER.match(s_text[m.end():m.end() + 30])
                if after and after.group("unit"):
                    unit = _canon_unit(after.group("unit"), False)
            if unit is None and gd["num"].lower() in ("once", "twice"):
                unit = "times"
            st = s_start + m.start()
            th = Threshold(comparator=comparator, value=value, upper=upper, unit=unit,  # type: ignore[arg-type]
                           span=_span(text, st, s_start + m.end(), part))
            if best is None or m.start() < best[0]:
                best = (m.start(), th)
    if best is not None:
        return best[1]
    for rx, cmp in _REL_PATTERNS:
        m = rx.search(s_text)
        if m:
            ref = s_text[m.start("ref"):m.end("ref")].strip()
            st = s_start + m.start()
            return Threshold(comparator=cmp, value=None, reference=ref,  # type: ignore[arg-type]
                             span=_span(text, st, s_start + m.end(), part))
    return None


def _threshold_equivalent(a: Threshold, b: Threshold) -> bool:
    if a.value is None or b.value is None:
        return a.comparator == b.comparator
    if a.unit and b.unit and a.unit != b.unit:
        return False
    if a.comparator == b.comparator and a.value == b.value and a.upper == b.upper:
        return True
    # "> 1700" (title) and ">= 1700.01" (rules) on a cent grid say the same thing
    pair = {a.comparator, b.comparator}
    if pair == {">", ">="}:
        gt, ge = (a, b) if a.comparator == ">" else (b, a)
        return Decimal(0) < ge.value - gt.value <= Decimal("0.01")  # type: ignore[operator]
    if pair == {"<", "<="}:
        lt, le = (a, b) if a.comparator == "<" else (b, a)
        return Decimal(0) < lt.value - le.value <= Decimal("0.01")  # type: ignore[operator]
    return False
