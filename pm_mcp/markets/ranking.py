"""Search ranking: one list across venues, events as one row, a relevance floor, venue diversity per page.

    rows, dropped = rank("fed cut december", markets, now=now)      # relevant rows, best first
    pages = diversify(rows, page=10)                                 # the same rows, each page mixed

Relevance (0..1) is field-weighted term coverage: each query term counts once, at the weight of the best
field it appears in (title and the member's own label 1.0, event title 0.8, outcome labels 0.7,
category 0.5, the first words of the rules 0.25); common words in market titles ("will", "price",
"above"...) weigh less than names, and numbers and months are terms of their own ("100k" = "$100,000",
"4%" = "4.00%", "Dec" = "December", "VI" = 6), a few venue synonyms are one word ("decrease" = "cut"),
so date and threshold words pick the member that says them. A long query may miss a number or a month
or a word (one of three terms; of two words, both count).
Term weights are fixed (not taken from the candidates), so a market scores the same whatever else the
local catalog holds: a cold and a warm server rank the venues' answers alike.

Quality (0..1), second: volume and liquidity on a log scale against a large market *in the market's own
unit* (dollars, contracts or mana are never added or compared as if they were one currency), the spread
of the quotes the list already carries, and time to close (past close, not resolved: lowest).

Rows: markets of one event (neg-risk members, strike ladders, brackets) that match become one row showing
the member the query picks (the best relevance, then the favourite), the price range and the best few
members. A venue's multiple-choice market is one market already: one row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from pm_mcp.domain.models import Market, MarketStatus
from pm_mcp.domain.vocabulary import with_equivalents

CANDIDATES = 30  # catalog candidates ranked per search (the venues add theirs)
FLOOR = 0.55  # rows below this relevance are dropped (and counted)
QUALITY_WEIGHT = 0.3
MEMBERS_SHOWN = 3
RULE_CHARS = 300
RANGE_WEIGHT = 0.5  # a number the query names inside a range the market states ('>25bps' for 50)
DATE_WEIGHT = 0.5  # a month the query names and the market closes or resolves in (not in its text)
UNVERIFIED_WEIGHT = 0.5  # a term the venue matched in outcome labels this copy of the market lacks
RELAXED_QUERIES = 3  # at most this many one-word-shorter searches per venue that found nothing relevant

# "next" is not generic: "next pope" asks who follows, and a market on the pope in office (a Person of the Year
# member named "Pope Leo XIV") is not about that; of "next", "pope" and "italian" one may be missing
STOPWORDS = frozenset("a an and are be by for from has have in is it of on or the to was with what who when does do "
                      "did at as this that vs v".split())
GENERIC = frozenset("will win wins winner price prices rate rates market markets today tomorrow end year years "
                    "above below before after how many much new be hit reach over under more less than "
                    "number yes no race".split())
MONTHS = {m: i for i, names in enumerate([
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")], 1) for m in names}
# volume / liquidity of a large market in each unit (Market.volume_unit): each venue judged on its own scale
VOLUME_SCALE = {"usd": 1e7, "contracts": 2e6, "mana": 1e5}
LIQUIDITY_SCALE = {"usd": 1e6, "contracts": 2e5, "mana": 1e4}
FIELD_WEIGHTS = (1.0, 1.0, 0.8, 0.7, 0.5, 0.25)  # title, member label, event title, outcomes, category, rules

# words the venues use for one another's ("a 25 bps decrease" is a cut), compared as the first word
SYNONYMS = {"decrease": "cut", "lower": "cut", "reduce": "cut", "hike": "raise", "increase": "raise",
            "winner": "win", "champion": "champion", "championship": "champion", "exceed": "above", "over": "above",
            "under": "below"}
_ROMAN = re.compile(r"^(?=[ivxlc]{2,7}$)c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}

# a question that asks for a count ("how many cuts", "number of rate cuts", "# of tweets"), and a member label that
# is one ("3+", "Exactly 2 cuts", "0 times", "10-19"; not a year, not a size such as "25 bps"): the term COUNT
COUNT = "~count"
_COUNT_PHRASE = re.compile(r"\bhow many\b|\bnumber of\b|# of\b")
_COUNT_LABEL = re.compile(r"^\s*(?:exactly\s+)?(?!(?:19|20)\d\d\b)\d{1,3}(?:\+|\s*(?:-|to)\s*\d{1,3})?"
                          r"(?:\s+(?!bps?\b|percent\b|pct\b)[a-z]+)?\s*$")
_TOKEN = re.compile(r"(\d[\d,]*(?:\.\d+)?)([km](?![a-z]))?|([^\W\d_]+)", re.UNICODE | re.IGNORECASE)


def _num(text: str, suffix: str | None) -> str:
    try:
        v = Decimal(text.replace(",", ""))
    except ArithmeticError:
        return text
    if suffix:
        v *= 1000 if suffix.lower() == "k" else 1_000_000
    return f"{v.normalize():f}"


_SUFFIXES = ("ations", "ation", "ating", "ated", "ates", "ions", "ion", "ings", "ing", "ees", "ee", "ed", "es")


@lru_cache(maxsize=50_000)
def _stem(w: str) -> str:
    """A light suffix stripper, the same on both sides: nominee / nominated / nomination -> "nomin"."""
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[:-len(suf)]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    if len(w) >= 5 and w.endswith("e"):
        return w[:-1]
    return w


def tokens(text: str) -> list[str]:
    """Words (lower case, plural-stemmed), numbers in one form, months as m1..m12."""
    return list(_tokens(text))


@lru_cache(maxsize=20_000)  # the same titles and labels come back search after search
def _tokens(text: str) -> tuple[str, ...]:
    out = []
    for num, suffix, word in _TOKEN.findall(with_equivalents(text.lower()[:2000])):
        if num:
            out.append(_num(num, suffix))
        elif word in MONTHS:
            out.append(f"m{MONTHS[word]}")
        elif _ROMAN.match(word):  # "GTA VI", "Super Bowl LXI"
            out.append(str(_roman(word)))
        else:
            out.append(_stem(SYNONYMS.get(word, word)))
    low = text.lower()
    if _COUNT_PHRASE.search(low) or _COUNT_LABEL.match(low):
        out.append(COUNT)
    return tuple(out)


def _roman(word: str) -> int:
    total = 0
    for a, b in zip(word, word[1:] + " ", strict=True):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES[b] > v else v
    return total


_STOP_STEMS = frozenset(_stem(w) for w in STOPWORDS)
_GENERIC_STEMS = frozenset(_stem(w) for w in GENERIC)


@dataclass(frozen=True)
class Query:
    terms: tuple[str, ...]
    weights: tuple[float, ...]
    informative: int = 0  # terms of weight 1 (names, topics, numbers, months)
    words: int = 0  # informative terms that are words (names, topics), not numbers or months
    bps: tuple[str, ...] = ()  # numbers the query names in basis points ("25 bps"): a size of a rate move

    @classmethod
    def parse(cls, text: str) -> Query:
        seen: list[str] = []
        for t in tokens(text):
            if t not in _STOP_STEMS and t not in seen:
                seen.append(t)
        weights = tuple(_weight(t) for t in seen)
        informative = sum(1 for w in weights if w >= 1.0)
        words = sum(1 for t, w in zip(seen, weights, strict=True) if w >= 1.0 and _is_word(t))
        low = text.lower()
        bps = tuple(_num(n, None) for n in _BPS.findall(low))
        return cls(tuple(seen), weights, informative, words, bps)

    @property
    def empty(self) -> bool:
        return not self.terms


_BPS = re.compile(r"(\d+)\s*(?:bps?|basis points?)\b")


def _is_word(t: str) -> bool:
    return not t[0].isdigit() and not (t[0] == "m" and t[1:].isdigit())


def venue_query(text: str) -> str:
    """What to send to a venue's own search: the person's words without stop and generic words ("will",
    "price", "above"...), which make an all-words search miss; the words as typed ("$150,000" stays)."""
    kept = [w for w in text.split() if any(t not in _STOP_STEMS and t not in _GENERIC_STEMS for t in tokens(w))]
    return " ".join(kept) if kept else text


def relaxed_queries(words: str, limit: int | None = None) -> list[str]:
    """What to ask a venue again when its all-words search found nothing relevant: the words with one left
    out (the last first: people name the subject first), each keeping a name or topic word. A person who
    finds nothing for "fed chair nominee" tries "fed chair" ("nominee" is "nominate" on that venue)."""
    parts = _quantities(words.split())
    limit = RELAXED_QUERIES if limit is None else limit
    if len(parts) < 2 or limit <= 0:
        return []
    out = []
    for i in reversed(range(len(parts))):
        rest = parts[:i] + parts[i + 1:]
        if any(_is_word(t) and _weight(t) >= 1.0 for w in rest for t in tokens(w) if t not in _STOP_STEMS):
            out.append(" ".join(rest))
        if len(out) >= limit:
            break
    return out


UNITS = frozenset("bps bp basis points percent pct cents degrees inches".split())


def _quantities(parts: list[str]) -> list[str]:
    """Words, with a number and the unit after it as one ("25 bps"): left out together, so a retry of
    "fed cut december 25 bps" can be "fed cut december" (a venue whose market says no size)."""
    out: list[str] = []
    for w in parts:
        if out and w.lower() in UNITS and re.fullmatch(r"\$?\d[\d,.]*[km%]?", out[-1], re.IGNORECASE):
            out[-1] += " " + w
        else:
            out.append(w)
    return out


def _weight(t: str) -> float:
    if t in _GENERIC_STEMS:
        return 0.4
    if _is_year(t):
        return 0.6  # a year: informative, but most titles carry one
    if len(t) == 1 and not t.isdigit():
        return 0.2
    return 1.0


class _Fields:
    """A market's field token sets, each tokenized (and its text built) only when a term was not found in a
    better field."""

    __slots__ = ("market", "sets")

    def __init__(self, m: Market):
        self.market = m
        self.sets: list[set[str] | None] = [None] * len(FIELD_WEIGHTS)

    def words(self, i: int) -> set[str]:
        got = self.sets[i]
        if got is None:
            text = _field_text(self.market, i)
            got = self.sets[i] = set(_tokens(text)) if text else set()
        return got


def _field_text(m: Market, i: int) -> str:
    if i == 0:
        return m.title
    if i == 1:
        return m.group_label or ""
    if i == 2:
        return m.event_title or ""
    if i == 3:
        return " ".join(o.label for o in m.outcomes[:12])
    if i == 4:
        return m.category or ""
    return m.rule_text[:RULE_CHARS]


def _matches(term: str, words: set[str]) -> bool:
    if term in words:
        return True
    if len(term) >= 3 and not term[0].isdigit():
        return any(w.startswith(term) for w in words)
    return False


def relevance(q: Query, m: Market, *, venue_matched: bool = False) -> float:
    """Weighted share of the query's terms found (each at its best field), 0 when more of the informative
    terms (names, numbers, months) are missing than a long query may miss: one of three, two of five.

    ``venue_matched``: the venue's own search returned this market for the query's words but this copy
    lacks its outcome labels (a multiple-choice market listed without its answers): a term found nowhere
    may be an answer's name, so it counts at UNVERIFIED_WEIGHT. A year the market cannot be about (it
    closes and resolves before that year begins, and no field names it) is a contradiction: 0."""
    if q.empty:
        return 1.0
    fields = _Fields(m)
    got = [0.0, 0.0]  # informative, other
    total = [0.0, 0.0]
    missing = missing_words = 0
    unverified = venue_matched and not m.outcomes
    if q.bps and _excludes_bps(m, q.bps):
        return 0.0
    for term, w in zip(q.terms, q.weights, strict=True):
        best, dated = 0.0, False
        for i, fw in enumerate(FIELD_WEIGHTS):  # best field first: stop at the first that has the term
            if _matches(term, fields.words(i)):
                best = fw
                break
        if best == 0.0 and _is_year(term) and _ends_before_year(m, int(term)):
            return 0.0
        if best == 0.0 and term == COUNT:
            return 0.0  # "how many cuts": a market on whether a cut happens does not answer it
        if best == 0.0 and term[0] == "m" and term[1:].isdigit() and _ends_in_month(m, int(term[1:])):
            # "by December": the market closes or resolves in December (it adds, but the word is still missing)
            best, dated = DATE_WEIGHT, True
        if best == 0.0 and term[0].isdigit() and not _is_year(term) and _within_bounds(m, Decimal(term)):
            # "50 bps" and a member "Cut >25bps": the number is inside the member's range (it adds, but an exact
            # number in a label ranks first and the word still counts as missing)
            best, dated = RANGE_WEIGHT, True
        if best == 0.0 and unverified:
            best = UNVERIFIED_WEIGHT
        kind = 0 if w >= 1.0 else 1
        got[kind] += w * best
        total[kind] += w
        if kind == 0 and (best < FIELD_WEIGHTS[-1] + 0.01 or dated):  # absent, only in the fine print or a date
            missing += 1
            missing_words += _is_word(term)
    # a long query may miss one term of three (two of five); of its names and topic words, one of three
    if q.informative and (missing > (q.informative - 1) // 2 or missing_words > (q.words - 1) // 2):
        return 0.0
    if not total[0]:
        return got[1] / total[1]
    # the names, numbers and months decide; generic words ("price", "will", a year) refine
    return 0.8 * got[0] / total[0] + (0.2 * got[1] / total[1] if total[1] else 0.2)


def _is_year(t: str) -> bool:
    return t.isdigit() and len(t) == 4 and 1990 <= int(t) <= 2100


_NUMBER = r"\$?(\d[\d,]*(?:\.\d+)?)\s*([km](?![a-z]))?"
_LOWER = re.compile(r"(?:>=?|≥|\babove|\bover|\bmore than|\bgreater than|\bat least|\bexceeds?)\s*" + _NUMBER)
_LOWER_AFTER = re.compile(_NUMBER + r"\s*(?:\+|or more\b|or higher\b|or above\b|and above\b)")
_UPPER = re.compile(r"(?:<=?|≤|\bbelow|\bunder|\bless than|\bfewer than)\s*" + _NUMBER)


def _bound(match: re.Match) -> Decimal | None:
    try:
        return Decimal(_num(match.group(1), match.group(2)))
    except ArithmeticError:
        return None


@lru_cache(maxsize=20_000)
def _bounds(text: str) -> tuple[tuple[Decimal, ...], tuple[Decimal, ...]]:
    """(lower bounds, upper bounds) a title or label states: "above 4%", ">25bps", "50+", "under 3"."""
    text = text.lower()
    lower = [b for rx in (_LOWER, _LOWER_AFTER) for mt in rx.finditer(text) if (b := _bound(mt)) is not None]
    upper = [b for mt in _UPPER.finditer(text) if (b := _bound(mt)) is not None]
    return tuple(lower), tuple(upper)


def _within_bounds(m: Market, value: Decimal) -> bool:
    """Whether ``value`` lies in the range the member's label (else its title) states."""
    for text in (m.group_label or "", m.title):
        lower, upper = _bounds(text)
        if lower:
            return any(value > b for b in lower) and not any(value >= b for b in upper)
        if upper:
            return any(value < b for b in upper)
    return False


def _ends_in_month(m: Market, month: int) -> bool:
    return any(t is not None and t.month == month for t in (m.close_time, m.resolution_time))


def _ends_before_year(m: Market, year: int) -> bool:
    times = [t for t in (m.close_time, m.resolution_time) if t is not None]
    return bool(times) and max(_aware(t) for t in times) < datetime(year, 1, 1, tzinfo=UTC)


_STRICT_BPS = re.compile(r"(?:>|<|\bgreater than|\bmore than|\bless than|\bover|\bunder|\babove|\bbelow)\s*(\d+)\s*bps?\b")


def _excludes_bps(m: Market, sizes: tuple[str, ...]) -> bool:
    """Whether the member's label (else its title) names a size the query asks for only as a strict bound: a
    rate move of "greater than 25bps" or ">25bps" is another outcome than one of 25 bps (moves come in sizes, so
    the bound excludes its own number), where "above $100,000" is the threshold a person naming 100k means.
    Every mention of the size must be a strict bound: "Cut 25bps" names it plainly."""
    text = f"{m.group_label or ''} {m.title}".lower()
    strict = _STRICT_BPS.findall(text)
    if not strict:
        return False
    every = _BPS.findall(text)  # every mention of a size, "25 basis points" too
    return any(s in strict and every.count(s) == strict.count(s) for s in sizes)


@lru_cache(maxsize=16)
def _log_scale(scale: float) -> float:
    return math.log10(1 + scale)


def _log_share(x: Decimal | None, scale: float) -> float | None:
    if x is None or x <= 0:
        return None
    return min(1.0, math.log10(1 + float(x)) / _log_scale(scale))  # display-free ordering only


def spread_of(m: Market) -> Decimal | None:
    """The first outcome's ask - bid, when the list carried both (no book request)."""
    if not m.outcomes:
        return None
    o = m.outcomes[0]
    if o.best_bid is None or o.best_ask is None or o.best_ask < o.best_bid:
        return None
    return o.best_ask - o.best_bid


def past_close(m: Market, now: datetime) -> bool:
    """Trading time is over but the market is not resolved (the venue still lists it open or closed)."""
    return m.status != MarketStatus.RESOLVED and m.close_time is not None and _aware(m.close_time) < now


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def quality(m: Market, now: datetime, volume: Decimal | None = None, liquidity: Decimal | None = None, *,
            closed: bool | None = None) -> float:
    unit = (m.volume_unit or "USD").lower()
    vol = _log_share(volume if volume is not None else m.volume, VOLUME_SCALE.get(unit, 1e7)) or 0.0
    liq = _log_share(liquidity if liquidity is not None else m.liquidity, LIQUIDITY_SCALE.get(unit, 1e6))
    sp = spread_of(m)
    spread = 0.5 if sp is None else max(0.0, 1.0 - float(sp) / 0.2)
    if past_close(m, now) if closed is None else closed:
        timing = 0.0
    elif m.status == MarketStatus.RESOLVED:
        timing = 0.3
    elif m.close_time is not None and (_aware(m.close_time) - now).total_seconds() < 3600:
        timing = 0.6
    else:
        timing = 1.0
    if liq is None:  # no liquidity figure (some lists carry none): volume speaks for both
        return 0.6 * vol + 0.15 * spread + 0.25 * timing
    return 0.45 * vol + 0.15 * liq + 0.15 * spread + 0.25 * timing


def _price(m: Market) -> Decimal | None:
    return m.outcomes[0].price if m.outcomes else None


@dataclass
class Row:
    """One search row: a market, or an event's matching members with the one the query picks first."""
    market: Market  # the member shown (the query's pick)
    relevance: float
    score: float
    members: list[Market] = field(default_factory=list)  # best first; [market] for a lone market
    member_count: int = 1
    price_low: Decimal | None = None
    price_high: Decimal | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.market.venue, self.market.id)

    @property
    def grouped(self) -> bool:
        return self.member_count > 1


def _group_key(m: Market) -> tuple[str, str]:
    gid = m.group_id or m.event_id
    return (m.venue, "g:" + gid) if gid else (m.venue, "m:" + m.id)


def rank(query: str, markets: Sequence[Market], *, now: datetime | None = None, floor: float = FLOOR,
         venue_matched: Set[tuple[str, str]] = frozenset()) -> tuple[list[Row], int]:
    """(rows best first, number of markets dropped below the relevance floor: those of events none of whose
    members reaches it). ``markets`` may hold one market twice (the first copy counts). ``venue_matched``:
    (venue, id) of the markets a venue's search returned for these words (see :func:`relevance`)."""
    now = _aware(now) if now is not None else datetime.now(UTC)
    q = Query.parse(query)
    groups: dict[tuple[str, str], list[tuple[float, Market]]] = {}
    seen: set[tuple[str, str]] = set()
    for m in markets:
        if (m.venue, m.id) in seen:
            continue
        seen.add((m.venue, m.id))
        rel = relevance(q, m, venue_matched=(m.venue, m.id) in venue_matched)
        groups.setdefault(_group_key(m), []).append((rel, m))
    rows, dropped = [], 0
    for members in groups.values():
        # an event counts when one of its members matches; then all its members found are its row
        if max(r for r, _ in members) < floor:
            dropped += len(members)
            continue
        rows.append(_row(members, now))
    rows.sort(key=lambda r: (-r.score, r.market.venue, r.market.id))
    return rows, dropped


def _row(members: list[tuple[float, Market]], now: datetime) -> Row:
    # the pick: best relevance, then open before past-close, then the favourite (highest price)
    keyed = [(-round(r, 6), past_close(m, now), -(_price(m) or Decimal(0)), m.id, r, m) for r, m in members]
    keyed.sort(key=lambda k: k[:4])
    _, closed, _, _, rel, top = keyed[0]
    ms = [k[5] for k in keyed]
    if len(ms) == 1:
        q = quality(top, now, closed=closed)
    else:
        vols = [m.volume for m in ms if m.volume is not None]
        liqs = [m.liquidity for m in ms if m.liquidity is not None]
        q = quality(top, now, sum(vols, Decimal(0)) if vols else None, sum(liqs, Decimal(0)) if liqs else None,
                    closed=closed)
    prices = [p for p in (_price(m) for m in ms) if p is not None]
    return Row(market=top, relevance=rel, score=rel + QUALITY_WEIGHT * q, members=ms[:MEMBERS_SHOWN],
               member_count=len(ms), price_low=min(prices) if prices else None,
               price_high=max(prices) if prices else None)


def diversify(rows: list[Row], page: int) -> list[Row]:
    """The rows in page order: each page of ``page`` rows shows every venue that still has rows (its best
    one in place of the weakest row of the venue with most rows on that page); order within a page by score."""
    rest = list(rows)
    out: list[Row] = []
    while rest:
        chunk, rest = rest[:page], rest[page:]
        present = {r.market.venue for r in chunk}
        for venue in sorted({r.market.venue for r in rest} - present):
            counts: dict[str, int] = {}
            for r in chunk:
                counts[r.market.venue] = counts.get(r.market.venue, 0) + 1
            crowd = max(counts, key=lambda v: (counts[v], v))
            if len(chunk) < page:
                pass
            elif counts[crowd] <= 1:
                break
            else:
                weakest = max((i for i, r in enumerate(chunk) if r.market.venue == crowd),
                              key=lambda i: (-chunk[i].score, i))
                rest.insert(0, chunk.pop(weakest))
            pick = next(i for i, r in enumerate(rest) if r.market.venue == venue)
            chunk.append(rest.pop(pick))
        rest.sort(key=lambda r: (-r.score, r.market.venue, r.market.id))
        chunk.sort(key=lambda r: (-r.score, r.market.venue, r.market.id))
        out += chunk
    return out
