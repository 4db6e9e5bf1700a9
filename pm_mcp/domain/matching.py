"""Cross-venue candidate matching: which markets on venue B might be the same contract as one on A.

Pure and fast (20,000 x 20,000 titles in about a second on one core): titles are normalised into
tokens (case, accents, punctuation, synonyms such as Fed/FOMC/Federal Reserve, BTC/Bitcoin, cut/lower,
above/over/greater than, numbers such as "$120k" / "120,000" / "120000.00", months and ISO dates), an
inverted index over B's tokens finds the markets that share A's rarest tokens, and the few best are
scored by IDF-weighted cosine with a penalty when their numbers or years differ.

A candidate is only a look-alike: whether two markets are the same contract is decided by the rules
(``compare_rules``), never by the title.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

MONTHS = {
    "january": "jan", "jan": "jan", "february": "feb", "feb": "feb", "march": "mar", "mar": "mar",
    "april": "apr", "apr": "apr", "may": "may", "june": "jun", "jun": "jun", "july": "jul", "jul": "jul",
    "august": "aug", "aug": "aug", "september": "sep", "sept": "sep", "sep": "sep", "october": "oct",
    "oct": "oct", "november": "nov", "nov": "nov", "december": "dec", "dec": "dec",
}
_MONTH_NUM = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                          "nov", "dec"), start=1)}

# multi-word phrases (token tuples, longest first) and single words -> canonical token ("" = drop)
PHRASES: dict[tuple[str, ...], str] = {
    ("federal", "reserve"): "fed", ("fed", "funds", "rate"): "fed rate", ("basis", "point"): "bp",
    ("basis", "points"): "bp", ("interest", "rate"): "rate", ("interest", "rates"): "rate",
    ("greater", "than", "or", "equal", "to"): "gte", ("at", "least"): "gte", ("or", "more"): "gte",
    ("or", "above"): "gte", ("or", "higher"): "gte", ("greater", "than"): "gt", ("more", "than"): "gt",
    ("higher", "than"): "gt", ("less", "than"): "lt", ("lower", "than"): "lt", ("fewer", "than"): "lt",
    ("united", "states"): "us", ("u", "s"): "us", ("u", "s", "a"): "us", ("new", "york", "city"): "nyc",
    ("democratic", "party"): "democratic", ("republican", "party"): "republican", ("s&p", "500"): "spx",
    ("nasdaq", "100"): "ndx", ("consumer", "price", "index"): "cpi", ("gross", "domestic", "product"): "gdp",
    ("unemployment", "rate"): "unemployment", ("rate", "cut"): "cut", ("rate", "hike"): "hike",
}
_PHRASE_FIRST = {k[0] for k in PHRASES}
_PHRASE_MAX = max(len(k) for k in PHRASES)

SYNONYMS = {
    "fomc": "fed", "bps": "bp", "rates": "rate", "above": "gt", "over": "gt", "exceed": "gt", "exceeds": "gt",
    "exceeding": "gt", "below": "lt", "under": "lt", "usa": "us", "democrats": "democratic",
    "democrat": "democratic", "dem": "democratic", "dems": "democratic", "republicans": "republican",
    "gop": "republican", "presidential": "president", "sp500": "spx", "inflation": "cpi",
    "bitcoin": "btc", "xbt": "btc", "ethereum": "eth", "ether": "eth", "solana": "sol", "dogecoin": "doge",
    "cuts": "cut", "lower": "cut", "lowers": "cut", "decrease": "cut", "decreases": "cut",
    "reduce": "cut", "reduces": "cut", "hikes": "hike", "raise": "hike", "raises": "hike",
    "increase": "hike", "increases": "hike", "wins": "win", "won": "win", "winner": "win", "winning": "win",
    "beat": "win", "beats": "win", "defeat": "win", "defeats": "win",
    "nominee": "nomination", "nominated": "nomination", "nominate": "nomination",
    "elected": "election", "elect": "election", "elections": "election",
    "reach": "hit", "reaches": "hit", "hits": "hit", "touch": "hit", "touches": "hit",
    "maintain": "hold", "maintains": "hold", "unchanged": "hold", "pause": "hold", "holds": "hold",
    "percent": "%", "pct": "%", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte",
    "price": "", "prices": "", "value": "", "close": "", "closes": "", "closing": "",
}
MONTHS = {
    "january": "jan", "jan": "jan", "february": "feb", "feb": "feb", "march": "mar", "mar": "mar",
    "april": "apr", "apr": "apr", "may": "may", "june": "jun", "jun": "jun", "july": "jul", "jul": "jul",
    "august": "aug", "aug": "aug", "september": "sep", "sept": "sep", "sep": "sep", "october": "oct",
    "oct": "oct", "november": "nov", "nov": "nov", "december": "dec", "dec": "dec",
}
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

STOPWORDS = frozenset("""a an the of in on at by to for be is are was will would does do did has have
had this that these those it its their there what which who whom how when where why and or if as from
with than then into about after before during end market markets resolve resolves resolved yes no
question happen next meeting meetings day date year years time official officially any""".split())

_SCALE = {"k": Decimal(1000), "thousand": Decimal(1000), "m": Decimal(10**6), "mm": Decimal(10**6),
          "million": Decimal(10**6), "b": Decimal(10**9), "bn": Decimal(10**9), "billion": Decimal(10**9),
          "t": Decimal(10**12), "trillion": Decimal(10**12)}
_ORDINAL = frozenset(("st", "nd", "rd", "th"))
_UNIT_WORDS = {"bp": "bp", "bps": "bp", "pct": "%"}

# an ISO date, a number with an optional suffix glued to it, a word, a percent sign, a comparator
_TOK = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[t ][\d:.]+z?)?|(\d[\d,]*(?:\.\d+)?)([a-z]+)?|([a-z][a-z0-9&]*)|(%)|([<>]=?)")


def _canon_number(num: str, scale: Decimal | None = None) -> str:
    try:
        d = Decimal(num.replace(",", ""))
    except InvalidOperation:
        return num
    if scale is not None:
        d *= scale
    d = d.normalize()
    return format(d, "f")


def _stem(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss") and not w.endswith("us"):
        return w[:-1]
    return w


def _raw_tokens(t: str) -> list[str]:
    out: list[str] = []
    for y, mo, d, num, suffix, word, pct, cmp_ in _TOK.findall(t):
        if y:
            m = int(mo)
            out += [_MONTH_NAMES[m - 1] if 1 <= m <= 12 else mo, str(int(d)), y]
        elif num:
            if suffix in _SCALE:
                out.append(_canon_number(num, _SCALE[suffix]))
            elif not suffix or suffix in _ORDINAL:
                out.append(_canon_number(num))
            elif suffix in _UNIT_WORDS:
                out += [_canon_number(num), _UNIT_WORDS[suffix]]
            elif suffix in ("am", "pm"):
                out.append("t" + num + suffix)  # a time of day, not a number of the question
            else:
                out.append(num + suffix)  # "49ers", "4th" handled above
        elif word:
            out.append(word)
        elif pct:
            out.append("%")
        else:
            out.append(cmp_)
    # "$64 k", "2 billion": a scale word right after a number
    i = 1
    while i < len(out):
        if out[i] in _SCALE and out[i - 1][:1].isdigit() and out[i] not in ("t", "m", "b"):
            out[i - 1] = _canon_number(out[i - 1], _SCALE[out[i]])
            del out[i]
        elif out[i] in ("am", "pm") and out[i - 1][:1].isdigit():
            out[i - 1] = "t" + out[i - 1] + out[i]
            del out[i]
        else:
            i += 1
    return out


def normalise_title(text: str) -> list[str]:
    """Title -> canonical tokens (order kept, duplicates dropped)."""
    t = text or ""
    if not t.isascii():
        t = unicodedata.normalize("NFKD", t)
        t = "".join(c for c in t if not unicodedata.combining(c)).replace("\u2019", "'")
    toks = _raw_tokens(t.lower().replace("'s ", " ").replace("u.s.", "us "))
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    n = len(toks)
    while i < n:
        w = toks[i]
        if w in _PHRASE_FIRST:
            hit = None
            for k in range(min(_PHRASE_MAX, n - i), 1, -1):
                rep = PHRASES.get(tuple(toks[i:i + k]))
                if rep is not None:
                    hit = (k, rep)
                    break
            if hit is not None:
                i += hit[0]
                for r in hit[1].split():
                    if r not in seen:
                        seen.add(r)
                        out.append(r)
                continue
        i += 1
        if w in STOPWORDS:
            continue
        w = MONTHS.get(w, w)
        w = SYNONYMS.get(w, w)
        if not w:
            continue
        if w[0].isalpha():
            w = _stem(w)
            w = SYNONYMS.get(w, w)
            if len(w) < 2:
                continue
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def _is_year(tok: str) -> bool:
    return len(tok) == 4 and tok.isdigit() and tok[:2] in ("19", "20")


@dataclass(frozen=True, slots=True)
class MatchItem:
    """What matching needs of a market: its key, title and (optionally) when it closes."""

    key: str
    title: str
    close_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    a: int  # index into the A list
    b: int  # index into the B list
    score: float  # in [0, 1]; ranking only, not money
    shared: tuple[str, ...]


class TitleIndex:
    """An inverted index over one side's normalised titles, with document frequencies."""

    def __init__(self, titles: Sequence[str]):
        self.tokens: list[list[str]] = [normalise_title(t) for t in titles]
        self.postings: dict[str, list[int]] = {}
        for i, toks in enumerate(self.tokens):
            for tok in toks:
                p = self.postings.get(tok)
                if p is None:
                    self.postings[tok] = [i]
                else:
                    p.append(i)
        self.n = len(titles)

    def df(self, tok: str) -> int:
        p = self.postings.get(tok)
        return len(p) if p else 0


def match_candidates(a: Sequence[MatchItem | str], b: Sequence[MatchItem | str], *, top_k: int = 3,
                     min_score: float = 0.45, shortlist: int = 24, max_days_apart: float | None = 45.0
                     ) -> list[Candidate]:
    """For each market of ``a``, up to ``top_k`` markets of ``b`` that look like the same question.

    Candidates come from B's inverted index: the B titles holding A's rarest tokens (their union, while
    it stays within ``shortlist``); when even A's rarest token is common, by progressive intersection
    (the titles holding the rarest token, intersected with those holding the next rarest, and so on
    while the set stays non-empty, until at most ``shortlist`` remain). The survivors are scored by IDF-weighted
    cosine, with a penalty when their numbers or years differ. When both sides have a close time,
    pairs further apart than ``max_days_apart`` are dropped (a different deadline is a different
    contract)."""
    a_titles = [x if isinstance(x, str) else x.title for x in a]
    b_titles = [x if isinstance(x, str) else x.title for x in b]
    a_close = [None if isinstance(x, str) else x.close_time for x in a]
    b_close = [None if isinstance(x, str) else x.close_time for x in b]
    bi = TitleIndex(b_titles)
    a_tokens = [normalise_title(t) for t in a_titles]
    # IDF over both sides
    df: Counter[str] = Counter()
    for toks in a_tokens:
        df.update(toks)
    postings = bi.postings
    for tok, post in postings.items():
        df[tok] += len(post)
    # a floor on the corpus size keeps a handful of titles (a focused search) from giving every
    # word that happens to appear once an outsized weight
    n = max(len(a_titles) + len(b_titles), 1000)
    w2 = {tok: math.log((n + 1) / (c + 0.5)) ** 2 for tok, c in df.items()}
    b_sets = [frozenset(toks) for toks in bi.tokens]
    b_norm = [math.sqrt(sum(w2[t] for t in toks)) or 1.0 for toks in bi.tokens]
    b_nums = [_numbers(toks) for toks in bi.tokens]
    post_sets = {tok: frozenset(p) for tok, p in postings.items()}
    plen = {tok: len(p) for tok, p in postings.items()}
    out: list[Candidate] = []
    max_seconds = None if max_days_apart is None else max_days_apart * 86400
    for ai, toks in enumerate(a_tokens):
        present = sorted((t for t in toks if t in plen), key=plen.__getitem__)
        if not present:
            continue
        # rare tokens: the union of their titles while it stays small (one token the partner lacks
        # does not lose it); common tokens only: narrow down by intersection
        cand: set[int] | frozenset[int] = set()
        for t in present:
            if len(cand) + plen[t] > shortlist:
                break
            cand.update(postings[t])
        if not cand:
            cand = post_sets[present[0]]
            for t in present[1:]:
                if len(cand) <= shortlist:
                    break
                nxt = cand & post_sets[t]
                if nxt:
                    cand = nxt
            if len(cand) > shortlist * 8:
                continue  # nothing distinguishes this title (all its tokens are everywhere)
        a_set = frozenset(toks)
        a_norm = math.sqrt(sum(w2[t] for t in toks)) or 1.0
        a_num, a_years, a_months = _numbers(toks)
        ca = a_close[ai]
        scored: list[Candidate] = []
        for bj in cand:
            if max_seconds is not None and ca is not None:
                cb = b_close[bj]
                if cb is not None and abs((ca - cb).total_seconds()) > max_seconds:
                    continue
            shared = a_set & b_sets[bj]
            sc = sum(w2[t] for t in shared) / (a_norm * b_norm[bj])
            b_num, b_years, b_months = b_nums[bj]
            # a different year, month or number is a different question: penalise what both state
            if a_years and b_years and not (a_years & b_years):
                sc *= 0.3
            if a_months and b_months and not (a_months & b_months):
                sc *= 0.4
            if a_num and b_num and a_num != b_num:
                sc *= 0.5 if not (a_num & b_num) else 0.8 ** len(a_num ^ b_num)
            if sc >= min_score:
                scored.append(Candidate(ai, bj, round(sc, 4), tuple(sorted(shared))))
        if scored:
            scored.sort(key=lambda c: -c.score)
            out.extend(scored[:top_k])
    return out


_MONTH_SET = frozenset(_MONTH_NAMES)


def _numbers(toks: Sequence[str]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(numbers other than years, years, months) among the tokens."""
    months = frozenset(t for t in toks if t in _MONTH_SET)
    nums = [t for t in toks if t[0].isdigit()]
    if not nums:
        return frozenset(), frozenset(), months
    years = frozenset(t for t in nums if _is_year(t))
    return frozenset(nums) - years, years, months
