"""The rule parser's speed-ups must never change an answer.

- The literal prefilter (pm_mcp/domain/rules/_regex.py) skips a pattern only when none of its needles occurs, so
  every match of every pattern must contain a needle, and a parse with the prefilter equals the parse without
  it, on every text we hold and on generated ones.
- The sentence splitter visits only the candidate ends; it must split exactly as the character-by-character
  loop it replaced (kept here as the reference)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pm_mcp.domain.rules as rules_pkg
from pm_mcp.domain.models import Market
from pm_mcp.domain.rules import parse_rules
from pm_mcp.domain.rules._regex import _Lazy, needles
from pm_mcp.domain.rules.sentences import _ABBREV, _ASCII_WORD, Sentence, _split

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _texts() -> list[dict]:
    out = []
    for rel in ("corpus.json", "heldout/heldout.json", "fresh/fresh.json"):
        out += json.loads((FIXTURES / rel).read_text(encoding="utf-8"))
    return out


def _patterns() -> list[_Lazy]:
    """Every lazily compiled pattern of the rules package (module globals, and inside their lists and dicts)."""
    found: dict[int, _Lazy] = {}

    def walk(v: object, depth: int = 0) -> None:
        if isinstance(v, _Lazy):
            found[id(v)] = v
        elif depth < 3 and isinstance(v, (list, tuple, dict)):
            for x in (v.values() if isinstance(v, dict) else v):
                walk(x, depth + 1)

    for info in pkgutil.iter_modules(rules_pkg.__path__):
        mod = importlib.import_module(f"pm_mcp.domain.rules.{info.name}")
        for v in vars(mod).values():
            walk(v)
    for lz in found.values():
        lz._compile()
    return list(found.values())


def _raw(p: _Lazy) -> tuple[re.Pattern[str], bool]:
    """The compiled pattern the needles were derived from, and whether it is matched on lower-cased text."""
    return (p._lc, True) if p._lc is not None else (p._re, False)  # type: ignore[return-value]


PATTERNS = _patterns()
TEXTS = _texts()


def test_the_package_patterns_are_found_and_most_have_needles():
    assert len(PATTERNS) > 100
    assert sum(p._needles is not None for p in PATTERNS) > 0.9 * len(PATTERNS)


@pytest.mark.parametrize("pattern, expected", [
    (r"abc|de", {"abc", "de"}),
    (r"colou?r", {"color", "colour"}),
    (r"[ab]c\b", {"ac", "bc"}),
    (r"foo(?=bar)", {"foo"}),
    (r"(?<!x)yes", {"yes"}),
    (r"\bsources?\s*:", {"source"}),
    (r"x?", None),
    (r"\d+", None),
    (r"(?i)abc", None),
    (r"abc|\w+", None),          # one alternative needs no literal: nothing is known
    (r"(?i:abc)", None),         # a scoped case-insensitive piece would need case folding
    (r"ab(?i:c)def", {"def"}),   # ... the rest of the pattern still counts
])
def test_needles_of_small_patterns(pattern, expected):
    got = needles(pattern)
    assert (set(got) if got is not None else None) == expected


def test_every_match_of_every_pattern_on_every_text_contains_a_needle():
    strings = [e["text"] for e in TEXTS] + [e.get("title") or "" for e in TEXTS]
    checked = 0
    for p in PATTERNS:
        rx, lower = _raw(p)
        for s in strings:
            t = s.lower() if lower else s
            if lower and len(t) != len(s):
                continue  # that text is matched with re.IGNORECASE and no prefilter
            for m in rx.finditer(t):
                checked += 1
                if p._needles is None:
                    continue
                assert any(n in m.group(0) for n in p._needles), (p.pattern, m.group(0), p._needles)
    assert checked > 1000


def _parse_all(items: list[tuple[str, str, Market]]) -> list[str]:
    return [parse_rules(t, venue=v, market=m).model_dump_json() for t, v, m in items]


def _without_prefilter(fn):
    saved = [(p, p._needles) for p in PATTERNS]
    try:
        for p in PATTERNS:
            p._needles = None
        return fn()
    finally:
        for p, n in saved:
            p._needles = n


def _market(e: dict) -> Market:
    ct = e.get("close_time")
    return Market(id=e["id"], venue=e["venue"], title=e.get("title") or "", rule_text=e["text"],
                  close_time=datetime.fromisoformat(ct.replace("Z", "+00:00")) if ct else None,
                  resolution_source=e.get("resolution_source"))


def test_parses_with_and_without_the_prefilter_are_identical_on_every_text():
    items = [(e["text"], e["venue"], _market(e)) for e in TEXTS]
    assert _parse_all(items) == _without_prefilter(lambda: _parse_all(items))


# generated texts: pieces of real rule texts (where the cues live), needles, and random characters
_WORDS = sorted({w for e in TEXTS[:60] for w in re.findall(r"\S+", e["text"])})[:4000]
_NEEDLES = sorted({n for p in PATTERNS for n in (p._needles or ())})


@settings(max_examples=120, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_WORDS), st.sampled_from(_NEEDLES), st.sampled_from(_NEEDLES).map(str.upper),
                          st.sampled_from([" ", "\n", ". ", ", ", "“", "”", "\"", "$", "%"]), st.text(max_size=6)),
                max_size=40),
       st.sampled_from(["", "Will X dip to $2,500 by March 11?", "Bitcoin above $100k on June 30, 2026?"]))
def test_parses_with_and_without_the_prefilter_are_identical_on_generated_text(parts, title):
    text = " ".join(parts)
    items = [(text, "polymarket", Market(id="g", venue="polymarket", title=title, rule_text=text))]
    assert _parse_all(items) == _without_prefilter(lambda: _parse_all(items))
    for p in PATTERNS:
        rx, lower = _raw(p)
        t = text.lower() if lower else text
        if p._needles is not None and not (lower and len(t) != len(text)):
            if not any(n in t for n in p._needles):
                assert rx.search(t) is None, (p.pattern, text)


# --- the sentence splitter -----------------------------------------------------------------------------------

def _split_reference(text: str) -> list[Sentence]:
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
                    w = i  # the run of ASCII letters and dots that ends the sentence so far
                    while w > start and text[w - 1] in _ASCII_WORD:
                        w -= 1
                    word = text[w:i].lower().rstrip(".")
                    if word not in _ABBREV and not (len(word) == 1 and word.isalpha()):
                        push(start, j)
                        start = j
                elif k < n and c in "!?":
                    push(start, j)
                    start = j
        i += 1
    push(start, n)
    return out


def test_split_matches_the_character_loop_on_every_text():
    for e in TEXTS:
        for t in (e["text"], e.get("title") or ""):
            assert _split(t) == _split_reference(t)


_SPLIT_BITS = [". ", "! ", "? ", ".\n", "\n", " ", "\t", "U.S. ", "Mr. ", "a. ", "e.g. ", "”. ", "\"", "“", "(", ")",
               "’", "'", "A", "b", "Yes", "no", "3.5", "...", "!?", "?\" X"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_SPLIT_BITS), st.text(max_size=4)), max_size=30))
def test_split_matches_the_character_loop_on_generated_text(parts):
    t = "".join(parts)
    assert _split(t) == _split_reference(t)


# --- exact_case patterns match as re.IGNORECASE does ---------------------------------------------------------

EXACT = [p for p in PATTERNS if p._exact]


def _variants(t: str) -> list[str]:
    """A text, and the same with letters that fold to ASCII under re.IGNORECASE without lower-casing to it."""
    return [t, t.replace("i", "ı"), t.replace("s", "ſ"), t.replace("I", "İ"), t.upper(), t.replace("k", "\u212a")]


def _spans(rx, t: str) -> list[tuple[int, int]]:
    return [m.span() for m in rx.finditer(t)]


def test_exact_case_patterns_match_as_re_ignorecase_on_every_text_and_its_variants():
    assert len(EXACT) >= 5
    checked = 0
    for p in EXACT:
        ref = re.compile(p.pattern, p._flags)
        for e in TEXTS:
            for t in _variants(e["text"]):
                got = _spans(p, t)
                assert got == _spans(ref, t), (p.pattern, t[:80])
                checked += bool(got)
    assert checked > 20  # the patterns do match, with the variants too


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_NEEDLES), st.sampled_from(["ı", "ſ", "İ", "\u212a", "I", "S", " ", "."]),
                          st.text(max_size=4)), max_size=20))
def test_exact_case_patterns_match_as_re_ignorecase_on_generated_text(parts):
    t = "".join(parts)
    for p in EXACT:
        assert _spans(p, t) == _spans(re.compile(p.pattern, p._flags), t), p.pattern


# --- regexes rewritten for the engine's sake match as the originals did ------------------------------------------

from pm_mcp.domain.rules import dates as _dates  # noqa: E402

_REWRITTEN = [  # (the original, the pattern now in the package)
    (r"(?<!\d)(?P<day>\d{1,2})\s+" + _dates._MON + r",?\s+(?P<year>(?:19|20)\d{2}|['’]\d{2})(?!\d)", _dates._DATE_DMY),
    (r"(?<![\d/])(?P<year>(?:19|20)\d{2})[/-](?P<monn>\d{1,2})[/-](?P<day>\d{1,2})(?![\d/])", _dates._DATE_YMD),
]
_DATE_BITS = ["1", "2", "9", "0", "19", "20", "2026", "31", "/", "-", " ", "  ", ",", "'", "’", "Jan", "May", "June",
              "Sept.", "December", "x", "\n", "a", "ı"]


def _found(rx, t: str) -> list:
    return [(m.span(), m.groupdict()) for m in rx.finditer(t)]


def test_rewritten_patterns_match_as_the_originals_on_every_text():
    for old, new in _REWRITTEN:
        ref = re.compile(old, new._flags)
        for e in TEXTS:
            for t in (e["text"], e.get("title") or ""):
                assert _found(new, t) == _found(ref, t), (old, t[:80])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_DATE_BITS), max_size=16))
def test_rewritten_patterns_match_as_the_originals_on_generated_text(parts):
    t = "".join(parts)
    for old, new in _REWRITTEN:
        assert _found(new, t) == _found(re.compile(old, new._flags), t), (old, t)


# --- the rules hash: str.split() collapses exactly what the \s+ regex did ------------------------------------------

def test_normalise_rule_text_splits_on_exactly_the_regex_whitespace():
    import sys
    import unicodedata

    from pm_mcp.domain.rules.hashing import _WS, normalise_rule_text

    ws = re.compile(r"\s")
    assert all(bool(ws.match(c)) == c.isspace() for c in map(chr, range(sys.maxunicode + 1)))
    old = lambda t: _WS.sub(" ", unicodedata.normalize("NFKC", t).casefold()).strip()  # noqa: E731
    for e in TEXTS:
        for t in (e["text"], e.get("title") or "", " \x1c a\u3000b\u2028c\x85 \t\n"):
            assert normalise_rule_text(t) == old(t)
