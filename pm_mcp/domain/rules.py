"""Rule-text parsing with cited evidence.

``parse_rules(text, venue=..., market=...)`` reads one market's rule text (Polymarket ``description``,
Kalshi ``rules_primary`` + ``rules_secondary``, Manifold ``textDescription``) with patterns and a small
grammar (no LLM, no I/O, no clock) and returns a :class:`RuleAnalysis`: for every field its value,
the exact words it came from (``Span``: ``text[start:end] == quote``, always) and a status
(found / unknown / conflicting). What cannot be found is ``unknown`` with "review the rules", never a
guess. ``rules_hash`` is the contract the execution engine stores with each intent.

When a ``market`` (pm_mcp.domain.models.Market) is given, its title is used where the rules point at
it ("the price specified in the title") and to cross-check thresholds and dates; spans into the title
carry ``part="title"``. Market metadata that is not rule text (neg-risk flag, Polymarket
``resolutionSource``) is reported separately and never given a span.
"""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

import hashlib
import re
from bisect import bisect_right
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import date as Date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

REVIEW = "review the rules"


# ---------------------------------------------------------------------------------------------
# case-insensitive patterns, fast: Python's re.IGNORECASE is ~10x slower on alternations than a
# case-sensitive pattern on lower-cased text. ``_rx`` compiles both; offsets are identical because
# str.lower() never changes the length of text unless a character expands (then re.I is used).


def _lower_pattern(p: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(p):
        if p[i] == "\\":
            out.append(p[i:i + 2])
            i += 2
            continue
        if p.startswith("(?P", i):  # named groups keep their syntax (names are lower-case already)
            out.append("(?P")
            i += 3
            continue
        out.append(p[i].lower())
        i += 1
    return "".join(out)


class _CI:
    __slots__ = ("pattern", "_lc", "_ci")

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern = pattern
        self._lc = re.compile(_lower_pattern(pattern), flags & ~re.I)
        self._ci = re.compile(pattern, flags)

    def _pick(self, s: str) -> tuple[re.Pattern[str], str]:
        low = s.lower()
        return (self._lc, low) if len(low) == len(s) else (self._ci, s)

    def search(self, s: str):
        r, t = self._pick(s)
        return r.search(t)

    def match(self, s: str):
        r, t = self._pick(s)
        return r.match(t)

    def finditer(self, s: str):
        r, t = self._pick(s)
        return r.finditer(t)


class _Lazy:
    """Compiled on first use: ~80 patterns cost tens of ms to compile, which the server's cold start
    should not pay before anyone parses rules."""

    __slots__ = ("_pattern", "_flags", "_c")

    def __init__(self, pattern: str, flags: int) -> None:
        self._pattern, self._flags, self._c = pattern, flags, None

    def _get(self) -> Any:
        c = self._c
        if c is None:
            c = self._c = (_CI(self._pattern, self._flags) if self._flags & re.I
                           else re.compile(self._pattern, self._flags))
        return c

    @property
    def pattern(self) -> str:
        return self._pattern

    def search(self, s: str):
        return self._get().search(s)

    def match(self, s: str):
        return self._get().match(s)

    def finditer(self, s: str):
        return self._get().finditer(s)

    def sub(self, repl: str, s: str) -> str:
        return self._get().sub(repl, s)


def _rx(pattern: str, flags: int = 0) -> Any:
    """A pattern compiled lazily; with re.I it is matched on lower-cased text (group TEXT is then
    lower-case: callers slice the original text by offsets when they need the words)."""
    return _Lazy(pattern, flags)


# ---------------------------------------------------------------------------------------------
# hashing (the contract used by intents)

_WS = _rx(r"\s+")


def normalise_rule_text(text: str) -> str:
    """The canonical form that ``rules_hash`` hashes: Unicode NFKC, case-folded, every run of
    whitespace collapsed to one space, trimmed. Reflowing or re-casing the rules does not change
    the hash; changing a word, number, date or URL does."""
    t = unicodedata.normalize("NFKC", text or "")
    t = t.casefold()
    return _WS.sub(" ", t).strip()


def rules_hash(text: str) -> str:
    """sha256 (hex, 64 chars) of :func:`normalise_rule_text`. Store it with an intent and compare it
    again before submitting: a different hash means the venue changed the rules."""
    return hashlib.sha256(normalise_rule_text(text).encode("utf-8")).hexdigest()


def market_rule_text(market: Any) -> str:
    """The rule text of a Market: ``rule_text`` if set, else its ``rule_sources`` joined in order."""
    text = getattr(market, "rule_text", "") or ""
    if text.strip():
        return text
    parts = [v for v in (getattr(market, "rule_sources", None) or {}).values() if v]
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------------------
# output models


class Status(StrEnum):
    FOUND = "found"
    UNKNOWN = "unknown"
    CONFLICTING = "conflicting"


class Span(BaseModel):
    """Evidence: ``text[start:end] == quote`` where text is the rule text (part="rules") or the
    market title (part="title")."""

    start: int
    end: int
    quote: str
    part: Literal["rules", "title"] = "rules"


class SourceItem(BaseModel):
    name: str = Field(description="Canonical name: an agency/data series/oracle, or a URL's host.")
    kind: Literal["url", "agency", "data_series", "reporting", "official", "oracle"]
    url: str | None = None
    span: Span


class SourcesField(BaseModel):
    status: Status
    items: list[SourceItem] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict,
                                     description="Venue fields outside the rule text (no span).")
    note: str | None = None

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.items]


class Threshold(BaseModel):
    comparator: Literal[">", ">=", "<", "<=", "==", "between"]
    value: Decimal | None = Field(None, description="None when the reference is not a number "
                                                    "(e.g. 'the price at the beginning of the range').")
    upper: Decimal | None = None  # for "between"
    unit: str | None = None  # "%", "bps", "USD", "goals", ...
    reference: str | None = None  # the words the comparison is against when not a number
    span: Span


class ConditionField(BaseModel):
    status: Status
    yes_if: str | None = Field(None, description="The clause that makes the market resolve YES.")
    yes_span: Span | None = None
    subject: str | None = None
    threshold_status: Status = Status.UNKNOWN
    threshold: Threshold | None = None
    conflicts: list[Threshold] = Field(default_factory=list)
    note: str | None = None


class TimePoint(BaseModel):
    kind: Literal["by", "before", "at", "scheduled", "window_start", "window_end", "release",
                  "cutoff", "other"]
    date: Date | None = None
    time: str | None = Field(None, description="Local time of day HH:MM:SS when stated.")
    tz_label: str | None = Field(None, description="The time zone as written (ET, EDT, UTC...).")
    tz: str | None = Field(None, description="IANA zone or fixed offset used to normalise.")
    utc: datetime | None = Field(None, description="Normalised to UTC; only when date, time and zone are known.")
    year_inferred: bool = False
    span: Span
    note: str | None = None


class DeadlineField(BaseModel):
    status: Status
    value: TimePoint | None = None
    window_start: TimePoint | None = None
    cutoff: TimePoint | None = Field(None, description="Fallback date: if undecided by then, an "
                                                       "alternative resolution applies (50-50, No...).")
    conflicts: list[TimePoint] = Field(default_factory=list)
    early_resolution_status: Status = Status.UNKNOWN
    early_resolution: bool | None = None
    early_resolution_span: Span | None = None
    note: str | None = None


class EdgeCase(BaseModel):
    kind: Literal["tie", "postponement", "cancellation", "fifty_fifty", "other", "void",
                  "fair_price", "revision", "fallback_source", "forfeit", "replacement"]
    outcome: str | None = None
    span: Span


class MultiOutcomeField(BaseModel):
    status: Status
    kind: Literal["binary", "categorical", "mutually_exclusive", "neg_risk", "unknown"] = "unknown"
    outcomes: list[str] = Field(default_factory=list)
    other_rule: Span | None = None
    spans: list[Span] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    note: str | None = None


class AmbiguityFlag(BaseModel):
    kind: Literal["credible_reporting", "consensus", "discretion", "subjective", "undefined_term",
                  "creator_judgement", "catch_all"]
    phrase: str
    span: Span


class OracleInfo(BaseModel):
    name: str
    basis: str
    span: Span | None = None


class RuleAnalysis(BaseModel):
    venue: str | None = None
    market_id: str | None = None
    text_length: int
    rules_hash: str
    oracle: OracleInfo | None = None
    sources: SourcesField
    condition: ConditionField
    deadline: DeadlineField
    edge_cases: list[EdgeCase] = Field(default_factory=list)
    multi_outcome: MultiOutcomeField
    ambiguity: list[AmbiguityFlag] = Field(default_factory=list)
    clarity: float = Field(description="Settlement clarity in [0, 1]; 1 = every field found, no ambiguity.")
    clarity_reasons: list[str] = Field(default_factory=list)
    review: list[str] = Field(default_factory=list, description="What a person must check by reading the rules.")

    def spans(self) -> list[Span]:
        """Every span in the analysis (for checking that quotes match)."""
        out: list[Span] = []

        def walk(o: Any) -> None:
            if isinstance(o, Span):
                out.append(o)
            elif isinstance(o, BaseModel):
                for name in type(o).model_fields:
                    walk(getattr(o, name))
            elif isinstance(o, (list, tuple)):
                for x in o:
                    walk(x)

        walk(self)
        return out


# ---------------------------------------------------------------------------------------------
# sentences


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


_ABBREV = {"u.s", "e.g", "i.e", "jr", "sr", "vs", "v", "st", "mr", "mrs", "ms", "dr", "no", "inc",
           "etc", "ex", "a.m", "p.m", "u.k", "d.c", "ft", "co", "corp", "ltd", "approx"}


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with offsets: split at line breaks and at . ! ? followed by space + capital/quote."""
    out: list[Sentence] = []
    start = 0
    n = len(text)
    i = 0

    def push(s: int, e: int) -> None:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Sentence(s, e, text[s:e]))

    while i < n:
        c = text[i]
        if c == "\n":
            push(start, i)
            start = i + 1
        elif c in ".!?":
            j = i + 1
            while j < n and text[j] in "\"'”’)":
                j += 1
            if j < n and text[j] in " \t" :
                k = j
                while k < n and text[k] in " \t":
                    k += 1
                if k < n and (text[k].isupper() or text[k] in "\"“(") and c == ".":
                    m = re.search(r"([A-Za-z.]+)$", text[start:i])
                    word = (m.group(1).lower().rstrip(".") if m else "")
                    if word not in _ABBREV and not (len(word) == 1 and word.isalpha()):
                        push(start, j)
                        start = j
                elif k < n and c in "!?":
                    push(start, j)
                    start = j
        i += 1
    push(start, n)
    return out


def _span(text: str, start: int, end: int, part: Literal["rules", "title"] = "rules") -> Span:
    # trim whitespace inside the span so quotes are tidy (and still exact)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start=start, end=end, quote=text[start:end], part=part)


# ---------------------------------------------------------------------------------------------
# sources

_URL = _rx(r"https?://[^\s)\]>,“”\"'<]+")
_SOURCE_CUE = _rx(
    r"resolution source|source for this|sources? (?:of|for) (?:this|resolution)|used to resolve|"
    r"will resolve according to|resolve[sd]? according to|according to|as per\b|measured by|reported by|"
    r"published (?:at|by|on)|official information|official (?:announcements?|sources?|website|statements?)|"
    r"consensus of|credible (?:media )?reporting|data stream|resolution will be based|"
    r"resolution of this market will be based|refers to the result|will be checked|calculated from|"
    r"prices listed|listed on|resolve (?:based )?on the (?:value|price|data)|settlement source|"
    r"source agency|source is|sources? will be|resolved? using|api url|used to determine|verified from|"
    r"information from", re.I)
_NOT_SOURCE = _rx(r"may be found here|you can read|invitation|discussion thread|for more information", re.I)
_NOT_THIS_SOURCE = _rx(r"(?:a source like|sources? such as|rather than|instead of|not according to)\s+"
                       r"(?:[\w.]+\s+){0,3}$", re.I)

# (regex, canonical name, kind). Case-sensitive where an acronym could be an ordinary word.
_AGENCIES: list[tuple[re.Pattern[str], str, str]] = [
    (_rx(r"Associated Press|\bAP\b"), "AP", "agency"),
    (_rx(r"\bFox News\b"), "Fox News", "agency"),
    (_rx(r"\bNBC\b"), "NBC", "agency"),
    (_rx(r"\bCNN\b"), "CNN", "agency"),
    (_rx(r"\bReuters\b"), "Reuters", "agency"),
    (_rx(r"\bBloomberg\b"), "Bloomberg", "agency"),
    (_rx(r"Bureau of Labor Statistics|\bBLS\b"), "BLS", "agency"),
    (_rx(r"Bureau of Economic Analysis|\bBEA\b"), "BEA", "agency"),
    (_rx(r"Consumer Price Index|\bCPI(?:-U)?\b"), "CPI", "data_series"),
    (_rx(r"\bGDP\b"), "GDP", "data_series"),
    (_rx(r"\bS&P 500\b"), "S&P 500", "data_series"),
    (_rx(r"\bNasdaq[- ]100\b|\bNASDAQ[- ]100\b"), "NASDAQ", "data_series"),
    (_rx(r"\bCF Benchmarks\b"), "CF Benchmarks", "data_series"),
    (_rx(r"Federal Open Market Committee|\bFOMC\b"), "FOMC", "agency"),
    (_rx(r"\bFederal Reserve\b(?! Bank of)"), "Federal Reserve", "agency"),
    (_rx(r"\bChainlink\b", re.I), "Chainlink", "data_series"),
    (_rx(r"\bBinance\b(?!\.us)"), "Binance", "agency"),
    (_rx(r"\bCoinbase\b"), "Coinbase", "agency"),
    (_rx(r"\bCoin[Gg]ecko\b"), "CoinGecko", "agency"),
    (_rx(r"\bCoinMarketCap\b"), "CoinMarketCap", "agency"),
    (_rx(r"\bFIFA\b"), "FIFA", "agency"),
    (_rx(r"National Basketball Association|\bNBA\b"), "NBA", "agency"),
    (_rx(r"National Football League|\bNFL\b"), "NFL", "agency"),
    (_rx(r"\bMLB\b|Major League Baseball"), "MLB", "agency"),
    (_rx(r"\b[Pp]remier [Ll]eague\b"), "Premier League", "agency"),
    (_rx(r"\bWimbledon\b"), "Wimbledon", "agency"),
    (_rx(r"\bNASDAQ\b|\bNasdaq\b"), "NASDAQ", "agency"),
    (_rx(r"New York Mercantile Exchange|\bNYMEX\b"), "NYMEX", "agency"),
    (_rx(r"\bCME\b"), "CME", "agency"),
    (_rx(r"Box Office Mojo", re.I), "Box Office Mojo", "agency"),
    (_rx(r"\bHLTV\b", re.I), "HLTV", "agency"),
    (_rx(r"\bTwitter account\b|\bX account\b"), "Twitter", "agency"),
    (_rx(r"\bGOP\b|Republican National Committee"), "GOP", "official"),
    (_rx(r"Democratic Party sources|Democratic National Committee|\bDNC\b"), "Democratic Party", "official"),
    (_rx(r"government of (?:the )?(?:United States|USA)|U\.?S\.? Government|federal government(?! shutdown)",
                re.I), "US government", "official"),
    (_rx(r"official announcements?"), "official announcements", "official"),
    (_rx(r"National Weather Service|\bNOAA\b"), "NOAA", "agency"),
    (_rx(r"\bAccu[Ww]eather\b"), "AccuWeather", "agency"),
    (_rx(r"\bThe Weather Company\b"), "The Weather Company", "agency"),
    (_rx(r"\bWunderground\b|\bWeather Underground\b"), "Wunderground", "agency"),
    (_rx(r"\bNASA\b"), "NASA", "agency"),
    (_rx(r"\bUMA\b"), "UMA", "oracle"),
    (_rx(r"credible (?:media )?report(?:ing|s)|credible (?:resolution )?sources?|media reporting|"
         r"media organi[sz]ations"),
     "credible reporting", "reporting"),
]


def _url_host(url: str) -> str:
    m = re.match(r"https?://([^/?#:]+)", url)
    host = (m.group(1) if m else url).lower()
    return host[4:] if host.startswith("www.") else host


def _sentence_of(sents: list[Sentence], starts: list[int], pos: int) -> int | None:
    i = bisect_right(starts, pos) - 1
    if i >= 0 and sents[i].start <= pos < sents[i].end:
        return i
    return None


_YES_SENT = _rx(r"then the market resolves to Yes|resolves? to [“\"]?Yes[”\"]?,? if\b", re.I)
# Kalshi KPI markets: "If Tesla Inc. reports Above 500000 total production ..." -- the company's report decides
_REPORTER = _rx(r"\bIf (?P<name>[A-Z][\w.&'’-]*(?: (?:[A-Z][\w.&'’-]*|&|of)){0,4}) reports\b")


def _find_sources(text: str, sents: list[Sentence]) -> list[SourceItem]:
    starts = [s.start for s in sents]
    ok = [bool(_SOURCE_CUE.search(s.text)) and not _NOT_SOURCE.search(s.text) for s in sents]
    # a data series named in the YES condition is what the market measures ("If the CPI ... is exactly 3.5%")
    yes_sent = [bool(_YES_SENT.search(s.text)) for s in sents]
    if not any(ok) and not any(yes_sent):
        return []
    found: list[tuple[int, SourceItem]] = []
    for m in _REPORTER.finditer(text):
        name = m.group("name").rstrip(",")
        if name.endswith(".") and not re.search(r"\b(?:Inc|Corp|Co|Ltd|Plc|N\.V|S\.A)\.$", name):
            name = name[:-1]
        found.append((m.start("name"), SourceItem(name=name, kind="official",
                                                  span=_span(text, m.start("name"), m.start("name") + len(name)))))
    url_spans: list[tuple[int, int]] = []
    for m in _URL.finditer(text):
        i = _sentence_of(sents, starts, m.start())
        url = m.group(0).rstrip(".;:")
        url_spans.append((m.start(), m.start() + len(url)))
        if i is None or not ok[i]:
            continue
        found.append((m.start(), SourceItem(name=_url_host(url), kind="url", url=url,
                                            span=_span(text, m.start(), m.start() + len(url)))))
    any_cue = any(ok)
    for rx, name, kind in _AGENCIES:
        if not any_cue and kind != "data_series":
            continue  # no source sentence: only a data series named in the YES condition can count
        for m in rx.finditer(text):
            if any(a <= m.start() < b for a, b in url_spans):
                continue  # an agency inside a URL is the URL's business
            if _NOT_THIS_SOURCE.search(text[max(0, m.start() - 40):m.start()]):
                continue  # "a source like Google or Coinbase may help", "not according to Coinbase"
            i = _sentence_of(sents, starts, m.start())
            if i is None or not (ok[i] or (kind == "data_series" and yes_sent[i])):
                continue
            found.append((m.start(), SourceItem(name=name, kind=kind,  # type: ignore[arg-type]
                                                span=_span(text, m.start(), m.end()))))
            break
    items: list[SourceItem] = []
    seen: set[str] = set()
    for _, it in sorted(found, key=lambda x: x[0]):
        if it.name.lower() not in seen:
            seen.add(it.name.lower())
            items.append(it)
    return items


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
    (_rx(r"(?:greater than or equal to|at least|no less than|not less than|a minimum of|≥|>=)\s*" + _NU,
                re.I), ">="),
    (_rx(r"(?:less than or equal to|at most|no more than|not more than|a maximum of|≤|<=)\s*" + _NU,
                re.I), "<="),
    (_rx(r"(?<![\w-])" + _NU + r"\s+or\s+(?:more|higher|greater|above|over)\b", re.I), ">="),
    (_rx(r"(?<![\w-])" + _NU + r"\s+or\s+(?:less|lower|fewer|below|under)\b", re.I), "<="),
    (_rx(r"(?:more than|greater than|higher than|above|exceeds?|exceeding|in excess of|over|>)\s*" + _NU,
                re.I), ">"),
    (_rx(r"(?:less than|lower than|fewer than|below|under|<)\s*" + _NU, re.I), "<"),
    (_rx(r"\bexactly\s+" + _NU, re.I), "=="),
    (_rx(r"\b(?:cut|hike|raise|increase|decrease|change)\s+of\s+(?P<cmpsym>[<>]=?)?\s*" + _NU, re.I), "=="),
    (_rx(r"\b(?:increased?|decreased?|cut|hiked?|raised?|rates)\s+(?:\w+\s+)?(?:by\s+)?(?P<cmpsym>[<>]=?)?\s*"
                + _NUM + r"\s?(?P<unit>bps\b|basis points?\b|%|percent\b)", re.I), "=="),
]
# a comparison against a reference that is not a number: "the price at the beginning of that range",
# "the open price", "the listed price", "the simple average of ... before 8:30 PM EDT"
_REF = r"(?P<ref>the (?:(?:listed|specified|open|opening|starting|beginning|final|closing|simple)\s+)?" \
       r"(?:price|value|level|average)[^.,;]*)"
_REL_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (_rx(r"(?:greater than or equal to|at least|no less than)\s+" + _REF, re.I), ">="),
    (_rx(r"(?:less than or equal to|at most)\s+" + _REF, re.I), "<="),
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


# ---------------------------------------------------------------------------------------------
# dates, times, time zones

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
           "oct": 10, "nov": 11, "dec": 12}
_MON = (r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
        r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE_MDY = _rx(_MON + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d|:\d)"
                       r"(?:\s*[-–]\s*(?P<day2>\d{1,2})(?!\d|:\d))?(?:,?\s+(?P<year>(?:19|20)\d{2})(?!\d))?")
_DATE_DMY = _rx(r"(?<!\d)(?P<day>\d{1,2})\s+" + _MON + r",?\s+(?P<year>(?:19|20)\d{2}|['’]\d{2})(?!\d)")
_DATE_YMD = _rx(r"(?<![\d/])(?P<year>(?:19|20)\d{2})[/-](?P<monn>\d{1,2})[/-](?P<day>\d{1,2})(?![\d/])")

_TZ = r"(?P<tz>ET|EST|EDT|CT|CST|CDT|MT|MST|MDT|PT|PST|PDT|UTC|GMT|BST|CET|CEST|Z\b|Eastern(?: Time)?|" \
      r"Pacific(?: Time)?|Central(?: Time)?|Mountain(?: Time)?)(?![A-Za-z])"
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
    "BST": 1, "CET": 1, "CEST": 2,
}
_DST_LABELS = {"EST": "America/New_York", "EDT": "America/New_York", "CST": "America/Chicago",
               "CDT": "America/Chicago", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
               "MST": "America/Denver", "MDT": "America/Denver"}


def to_utc(d: date, hh: int, mm: int, ss: int, tz_label: str) -> tuple[datetime, str, str | None]:
    """Local wall time + zone label -> (UTC datetime, zone used, note). ET/PT... follow DST via
    zoneinfo; EST/EDT... are the fixed offsets they name (with a note when it disagrees with DST)."""
    key = tz_label.upper().strip()
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
_COND_SENT = _rx(r"resolves? to\s+[“\"]?(?:yes|no)|will resolve to|resolve[sd]? (?:to )?[“\"]|"
                        r"this is a market on|this market asks|then the market resolves|market on (?:if|whether|who|how)|"
                        r"resolve according to|resolution time", re.I)


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
    else:
        notes.append(f"the year is not stated: {REVIEW}")
    if inferred:
        notes.append("year inferred from context")
    utc = None
    tz_used = None
    if d is not None and hms is not None and tz_label:
        try:
            utc, tz_used, n = to_utc(d, *hms, tz_label)
            if n:
                notes.append(n)
        except ValueError:
            notes.append(f"time zone {tz_label!r} not understood: {REVIEW}")
    elif d is not None and hms is None:
        notes.append("no time of day stated")
    elif d is not None and not tz_label:
        notes.append(f"no time zone stated: {REVIEW}")
    return TimePoint(kind=kind, date=d,  # type: ignore[arg-type]
                     time=(f"{hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}" if hms else None),
                     tz_label=tz_label, tz=tz_used, utc=utc, year_inferred=inferred,
                     span=_span(text, hit.start, hit.end, part), note="; ".join(notes) or None)


def _classify_date(text: str, hit: _DateHit, sent: Sentence) -> str:
    prefix = text[max(sent.start, hit.start - 45):hit.start]
    for rx, kind in _KIND_BEFORE:
        if rx.search(prefix):
            return kind
    return "other"


# ---------------------------------------------------------------------------------------------
# edge cases, multi-outcome, ambiguity, early resolution

_EDGE: list[tuple[str, re.Pattern[str]]] = [
    ("tie", _rx(r"\bties?\b|\btied\b|\bdraw\b|exactly between two|exactly equal|evenly split|"
                r"half of the (?:voting )?seats", re.I)),
    ("postponement", _rx(r"postpone|delay|reschedul|not (?:be )?(?:completed|decided|declared|finalized|"
                                r"known|finali[sz]ed)|if no (?:statement|champion|winner)|not (?:yet )?released|"
                                r"not aired",
                                re.I)),
    ("cancellation", _rx(r"cancel+(?:ed|ation)?|called off|not played at all|abandon", re.I)),
    ("fifty_fifty", _rx(r"50[-/]50|fifty[- ]fifty", re.I)),
    ("other", _rx(r"resolves? to\s+[“\"]Other[”\"]|[“\"]Other[”\"] (?:market|outcome)", re.I)),
    ("void", _rx(r"\bvoid\b|\binvalid\b|\bN/A\b|\bannul", re.I)),
    ("fair_price", _rx(r"fair (?:market )?price", re.I)),
    ("revision", _rx(r"revis(?:ed|ion)|restat|preliminary|finali[sz]ed|studio estimates|initial release",
                            re.I)),
    ("fallback_source", _rx(r"(?:is|are) unavailable|not available|another credible|"
                                   r"may be used in the event|nearest previous date|if .{0,60}has not published|"
                                   r"rendered (?:permanently )?unavailable|other information from \S+ may be used",
                                   re.I)),
    ("forfeit", _rx(r"forfeit|walkover|disqualif|\bdefault\b|"
                    r"\b(?:player|team|competitor|fighter)s? retires?\b|retire[sd]? (?:hurt|injured|during)",
                    re.I)),
    ("replacement", _rx(r"replacement of the|replaced by", re.I)),
]
_OUTCOME_IN = _rx(r"resolves?\s+(?:to\s+)?(?:a\s+)?(?P<o>50[-/]50|fifty[- ]fifty|[“\"][^”\"]{1,40}[”\"]|"
                         r"Yes\b|No\b|a fair price|fair price)", re.I)

_AMBIG: list[tuple[str, re.Pattern[str]]] = [
    ("credible_reporting", _rx(r"credible (?:media )?report(?:ing|s)|credible (?:resolution )?sources?|"
                                      r"media reporting", re.I)),
    ("consensus", _rx(r"\b(?:wide )?consensus (?:of|among|between)\b", re.I)),
    ("discretion", _rx(r"(?:at|in) (?:the|its|their|our|his|her) (?:sole )?discretion|sole discretion|"
                              r"as determined by|in the (?:opinion|judg(?:e)?ment) of|deems? appropriate", re.I)),
    ("subjective", _rx(r"\breasonabl[ey]\b|\bsignificant(?:ly)?\b|\bsubstantial(?:ly)?\b|"
                              r"\bmeaningful(?:ly)?\b|\bwidely\b|\bcompelling\b|\bgenerally\b|\bmajor\b|"
                              r"\bspirit of\b", re.I)),
    ("undefined_term", _rx(r"in accordance with the rules|fair (?:market )?price|other relevant|similar agreements|"
                                  r"any ambiguity|specified in the title|otherwise has no path|"
                                  r"minor (?:discrepancies|formatting)", re.I)),
    ("creator_judgement", _rx(r"\bI (?:find|think|feel|believe|decide|judge|will decide)\b|"
                                     r"\bI'll\b|\bmy (?:judg(?:e)?ment|opinion|discretion)\b|"
                                     r"\bI reserve the right\b|\bthe creator will (?:determine|decide|judge)\b|"
                                     r"\bfinal determination\b", re.I)),
    ("catch_all", _rx(r"may also be considered|further official|other relevant (?:announcements|information)|"
                            r"at the time of resolution, any", re.I)),
]

_EARLY_YES = _rx(
    r"may (?:immediately )?resolve (?:to [“\"]?\w+[”\"]? )?(?:as soon as|immediately|early)|"
    r"will (?:resolve|settle) (?:immediately|as soon as)|resolve immediately|(?:will|may) resolve as soon as|"
    r"close and expire early|expire early|may immediately resolve|will immediately resolve|"
    r"will resolve as soon as|will resolve once|"
    r"this market will resolve once|only resolve to [“\"]No[”\"] once|accelerated determination|"
    r"at any point before the (?:market['’]?s )?(?:scheduled )?clos", re.I)
_EARLY_NO = _rx(r"may only resolve once|only resolve (?:after|once)(?! the)|will not resolve (?:early|before)|"
                       r"(?<!, )can ?not resolve until|"
                       r"may only resolve once the|only resolve once the", re.I)


# ---------------------------------------------------------------------------------------------
# the parser


def _oracle_for(venue: str | None, text: str) -> OracleInfo | None:
    m = re.search(r"\bUMA\b", text)
    if m:
        return OracleInfo(name="UMA", basis="named in the rules", span=_span(text, m.start(), m.end()))
    v = (venue or "").lower()
    if v == "polymarket":
        return OracleInfo(name="UMA Optimistic Oracle",
                          basis="Polymarket markets resolve through UMA (proposals can be disputed)")
    if v == "kalshi":
        return OracleInfo(name="Kalshi",
                          basis="the exchange determines the outcome under its rulebook and the contract terms")
    if v == "manifold":
        return OracleInfo(name="market creator", basis="Manifold markets are resolved by their creator")
    return None


def _yes_clause(text: str, sents: list[Sentence]) -> tuple[str | None, Span | None]:
    pats = [
        _rx(r"resolves?\s+to\s+[“\"]?Yes[”\"]?,?\s+if\s+(?P<c>.+?)(?=\.\s|\.$|\.\n|$|,? (?:and|or) [“\"]No|"
                   r"\. Otherwise|,? otherwise)", re.I | re.S),
        _rx(r"\bIf\s+(?P<c>.+?),?\s+then the market resolves to Yes", re.I | re.S),
        _rx(r"resolve[sd]?\s+(?:to\s+)?[“\"]?Yes[”\"]?\s+if\s+(?P<c>.+?)(?=\.\s|\.$|$)", re.I | re.S),
        _rx(r"(?:this is a market on|this market asks) (?:if|whether)\s+(?P<c>.+?)(?=\.\s|\.$|$)", re.I | re.S),
        _rx(r"resolve[sd]?\s+to\s+[“\"](?!Yes|No)[^”\"]{1,40}[”\"]\s+if\s+(?P<c>.+?)(?=\.\s|\.$|$|,)",
                   re.I | re.S),
    ]
    for rx in pats:
        m = rx.search(text)
        if m and m.group("c").strip():
            sp = _span(text, m.start("c"), m.end("c"))
            return sp.quote, sp
    return None, None


def parse_rules(text: str, *, venue: str | None = None, market: Any = None) -> RuleAnalysis:
    """Parse one market's rule text into cited fields. Pure and deterministic.

    ``market`` (optional, a pm_mcp Market or anything with ``title``, ``close_time``, ``neg_risk``,
    ``mutually_exclusive``, ``resolution_source``, ``id``, ``venue``) supplies the title and metadata.
    """
    text = text or ""
    if market is not None and venue is None:
        venue = getattr(market, "venue", None)
    title: str = (getattr(market, "title", None) or "") if market is not None else ""
    close_time = getattr(market, "close_time", None) if market is not None else None
    default_year = close_time.year if isinstance(close_time, datetime) else None
    sents = split_sentences(text)
    sent_at = _sentence_index(sents)
    _flags = _Flags()
    review: list[str] = []
    reasons: list[str] = []
    score = 1.0

    # --- sources
    items = _find_sources(text, sents)
    meta_sources: dict[str, str] = {}
    rs = getattr(market, "resolution_source", None) if market is not None else None
    if rs:
        meta_sources["resolution_source"] = str(rs)
    only_reporting = items and all(i.kind == "reporting" for i in items)
    if items:
        sources = SourcesField(status=Status.FOUND, items=items, metadata=meta_sources)
    else:
        sources = SourcesField(status=Status.UNKNOWN, metadata=meta_sources,
                               note=f"no resolution source named in the rule text: {REVIEW}")
        review.append("resolution source")
        score -= 0.2 if meta_sources else 0.25
        reasons.append("-0.25 no resolution source in the rule text" if not meta_sources
                       else "-0.20 resolution source only in venue metadata, not in the rule text")
    if only_reporting:
        score -= 0.1
        reasons.append("-0.10 the only source is 'credible reporting'")

    # --- condition
    yes_if, yes_span = _yes_clause(text, sents)
    threshold: Threshold | None = None
    cond_sents = [s for s in sents if _flags(s, "cond") and not _flags(s, "fallback")]
    if yes_span is not None:
        threshold = _threshold_in(text, yes_span.start, yes_span.quote)
    if threshold is None:
        for s in cond_sents:
            threshold = _threshold_in(text, s.start, s.text)
            if threshold is not None:
                break
    title_th = _threshold_in(title, 0, title, "title") if title else None
    conflicts: list[Threshold] = []
    th_status = Status.UNKNOWN
    cond_note = None
    refers_title = bool(re.search(r"specified in the title|in the title|the listed (?:price|term|value)",
                                  text, re.I))
    if threshold is not None and threshold.value is None and title_th is not None and refers_title:
        threshold = title_th if title_th.comparator == threshold.comparator else threshold.model_copy(
            update={"value": title_th.value, "unit": title_th.unit})
    elif threshold is None and title_th is not None and refers_title:
        threshold = title_th
    if threshold is None:
        mr = _RANGE_MARKET.search(text)
        if mr and title_th is not None and title_th.comparator == "between":
            threshold = title_th
        elif mr:
            threshold = Threshold(comparator="between", value=None, reference="the market's range (not stated)",
                                  span=_span(text, mr.start(), mr.end()))
    if threshold is not None:
        th_status = Status.FOUND
        if title_th is not None and threshold.span.part == "rules" and not _threshold_equivalent(threshold, title_th):
            th_status = Status.CONFLICTING
            conflicts = [title_th]
            cond_note = f"the title and the rules state different thresholds: {REVIEW}"
            review.append("threshold (title and rules disagree)")
            score -= 0.25
            reasons.append("-0.25 title and rule text give different thresholds")
    subject = None
    if yes_span is not None and threshold is not None and threshold.span.part == "rules" \
            and yes_span.start <= threshold.span.start < yes_span.end:
        subject = text[yes_span.start:threshold.span.start].strip(" ,") or None
    elif yes_if:
        subject = yes_if
    if yes_span is None and threshold is None:
        cond_status = Status.UNKNOWN
        cond_note = f"no 'resolves Yes if ...' clause or threshold found: {REVIEW}"
        review.append("condition")
        score -= 0.2
        reasons.append("-0.20 the YES condition was not found")
    else:
        cond_status = th_status if th_status == Status.CONFLICTING else Status.FOUND
    condition = ConditionField(status=cond_status, yes_if=yes_if, yes_span=yes_span, subject=subject,
                               threshold_status=th_status, threshold=threshold, conflicts=conflicts,
                               note=cond_note)

    # --- deadline
    deadline = _deadline(text, sents, sent_at, default_year, title, review, _flags)
    if deadline.status == Status.UNKNOWN:
        score -= 0.2
        reasons.append("-0.20 no deadline or observation time in the rule text")
    elif deadline.status == Status.CONFLICTING:
        score -= 0.2
        reasons.append("-0.20 the rule text gives conflicting deadlines")
    elif deadline.value is not None:
        if deadline.value.date is None:
            score -= 0.1
            reasons.append("-0.10 the deadline has no year")
        elif deadline.value.time is not None and deadline.value.tz_label is None:
            score -= 0.1
            reasons.append("-0.10 the deadline has a time but no time zone")
        elif deadline.value.time is None:
            score -= 0.05
            reasons.append("-0.05 the deadline has no time of day / time zone")

    # --- early resolution
    m_yes = _EARLY_YES.search(text)
    m_no = _EARLY_NO.search(text)
    if m_no is not None:
        deadline.early_resolution_status = Status.FOUND
        deadline.early_resolution = False
        deadline.early_resolution_span = _span(text, m_no.start(), m_no.end())
    elif m_yes is not None:
        deadline.early_resolution_status = Status.FOUND
        deadline.early_resolution = True
        deadline.early_resolution_span = _span(text, m_yes.start(), m_yes.end())

    # --- edge cases
    edges: list[EdgeCase] = []
    starts = [s.start for s in sents]
    kinds_by_sent: dict[int, list[str]] = {}
    for k, rx in _EDGE:
        for m in rx.finditer(text):
            i = _sentence_of(sents, starts, m.start())
            if i is not None and k not in kinds_by_sent.setdefault(i, []):
                kinds_by_sent[i].append(k)
    order = {k: n for n, (k, _) in enumerate(_EDGE)}
    for i in sorted(kinds_by_sent):
        s = sents[i]
        kinds = sorted(kinds_by_sent[i], key=order.__getitem__)
        outs = list(_OUTCOME_IN.finditer(s.text))
        outcome = s.text[outs[-1].start("o"):outs[-1].end("o")].strip("“”\"") if outs else None
        if outcome and re.fullmatch(r"50[-/]50|fifty[- ]fifty", outcome, re.I):
            outcome = "50-50"
        for k in kinds:
            if k == "fifty_fifty":
                oc = "50-50"
            elif k == "fair_price":
                oc = "fair price"
            else:
                oc = outcome
            edges.append(EdgeCase(kind=k, outcome=oc, span=_span(text, s.start, s.end)))  # type: ignore[arg-type]

    # --- multi-outcome
    multi = _multi_outcome(text, sents, market)

    # --- ambiguity
    flags: list[AmbiguityFlag] = []
    for kind, rx in _AMBIG:
        for m in rx.finditer(text):
            if kind == "undefined_term" and title and m.group(0).lower() == "specified in the title":
                continue  # the title is at hand: the term is defined by it
            flags.append(AmbiguityFlag(kind=kind, phrase=text[m.start():m.end()],  # type: ignore[arg-type]
                                       span=_span(text, m.start(), m.end())))
    if (venue or "").lower() == "manifold" and not any(f.kind == "creator_judgement" for f in flags):
        review.append("Manifold: the creator resolves; check their track record")
    flags.sort(key=lambda f: f.span.start)
    weights = {"credible_reporting": 0.05, "consensus": 0.05, "discretion": 0.15, "subjective": 0.05,
               "undefined_term": 0.07, "creator_judgement": 0.2, "catch_all": 0.05}
    kinds_seen: dict[str, int] = {}
    amb_pen = 0.0
    for f in flags:
        kinds_seen[f.kind] = kinds_seen.get(f.kind, 0) + 1
        if kinds_seen[f.kind] <= 2:
            amb_pen += weights[f.kind]
    amb_pen = min(amb_pen, 0.4)
    if amb_pen:
        score -= amb_pen
        reasons.append(f"-{amb_pen:.2f} ambiguous wording: " + ", ".join(sorted(kinds_seen)))
    if (venue or "").lower() == "manifold":
        score -= 0.1
        reasons.append("-0.10 resolved by the market creator (Manifold)")
    if not text.strip():
        score = 0.0
        reasons = ["0.00 no rule text"]
        review = [f"the market has no rule text: {REVIEW} on the venue's page"]
    if text.strip() and not any(e.kind in ("postponement", "cancellation", "fifty_fifty", "void", "other",
                                           "fair_price", "fallback_source") for e in edges):
        score -= 0.05
        reasons.append("-0.05 no fallback for postponement/cancellation/missing data")
    score = max(0.0, min(1.0, round(score, 2)))
    if not reasons:
        reasons.append("1.00 source, condition and deadline found; no ambiguous wording")

    return RuleAnalysis(
        venue=venue, market_id=(getattr(market, "id", None) if market is not None else None),
        text_length=len(text), rules_hash=rules_hash(text), oracle=_oracle_for(venue, text),
        sources=sources, condition=condition, deadline=deadline, edge_cases=edges, multi_outcome=multi,
        ambiguity=flags, clarity=score, clarity_reasons=reasons, review=review)


_FLAG_RX = {"cond": _COND_SENT, "fallback": _FALLBACK_SENT, "background": _BACKGROUND_SENT, "event": _EVENT_SENT}


class _Flags:
    """Per-parse memo of the sentence classifiers (one sentence is asked about several dates)."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, int], bool] = {}

    def __call__(self, s: Sentence, name: str) -> bool:
        key = (name, s.start)
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = bool(_FLAG_RX[name].search(s.text))
        return v


def _sentence_index(sents: list[Sentence]):
    starts = [s.start for s in sents]

    def at(pos: int) -> Sentence | None:
        i = _sentence_of(sents, starts, pos)
        return None if i is None else sents[i]
    return at


_PERIOD = _rx(
    r"\b(?P<pre>before|by|prior to)\s+(?:(?:the\s+)?end\s+of\s+)?(?P<y1>(?:19|20)\d{2})\b(?![-/]\d)|"
    r"\b(?:by|before)\s+the\s+end\s+of\s+(?P<y2>(?:19|20)\d{2})\b|"
    r"\bin\s+Q(?P<q>[1-4])\s+(?P<y3>(?:19|20)\d{2})\b|"
    r"\b(?:final|last)\s+(?P<trading>trading\s+)?day\s+of\s+" + _MON.replace("?P<mon>", "?P<mon1>") +
    r"\s+(?P<y4>(?:19|20)\d{2})\b|"
    r"\b(?:in|for|ending)\s+" + _MON.replace("?P<mon>", "?P<mon2>") + r",?\s+(?P<y5>(?:19|20)\d{2})\b|"
    r"(?<!beginning )(?<!starting )\bin\s+(?P<y6>(?:19|20)\d{2})\b"
    r"(?!\s*[-/]|\s+(?:season|election|midterm|nomination|presidential))",
    re.I)


_PERIOD_NOTE = "a period, not a day"


def _period_timepoint(text: str, m: re.Match[str]) -> TimePoint | None:
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
    return TimePoint(kind=kind, date=d, span=_span(text, m.start(), m.end()),  # type: ignore[arg-type]
                     note=_PERIOD_NOTE + ": the last day of the period (or the day it ends before); "
                                        "no time of day stated")


def _deadline(text: str, sents: list[Sentence], sent_at, default_year: int | None, title: str,
              review: list[str], _flags: _Flags) -> DeadlineField:
    hits = _find_dates(text)
    # title dates are used when the rules point at the title ("the time range specified in the title")
    title_hits = _find_dates(title) if title else []
    scored: list[tuple[int, int, TimePoint]] = []
    cutoffs: list[TimePoint] = []
    starts: list[TimePoint] = []
    prev_kind = None
    for h in hits:
        s = sent_at(h.start)
        if s is None:
            continue
        kind = _classify_date(text, h, s)
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
        elif _flags(s, "background"):
            continue
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
    # periods without a day, only when no day is named: "before 2027", "by the end of 2024", "in Q3 2026",
    # "in Sep 2026", "twelve months ending December 2026", "the final trading day of January 2026", "in 2026"
    for pm in (_PERIOD.finditer(text) if not scored else ()):
        s = sent_at(pm.start())
        if s is None or _flags(s, "fallback") or (_flags(s, "background") and not _flags(s, "cond")):
            continue
        pt = _period_timepoint(text, pm)
        if pt is None:
            continue
        sc = (3 if _flags(s, "cond") else 0) + 1  # below an explicit date in the same kind of sentence
        if sc >= 1 and (_flags(s, "cond") or pt.kind == "by"):
            scored.append((max(sc, 2), -pm.start(), pt))
    refers_title = re.search(r"(?:time range|date|time) specified in the title", text, re.I)
    if refers_title and title_hits:
        h = title_hits[-1]
        tp = _timepoint(title, h, "at", title_hits, default_year, Sentence(0, len(title), title), "title")
        scored.append((10, 0, tp))
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
    # prefer the one with a time when two candidates name the same date
    for t in top:
        if t.date == best.date and best.time is None and t.time is not None:
            best = t
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
