"""Sentences with offsets, and spans that always quote the text exactly."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from dataclasses import dataclass
from typing import Literal

from pm_mcp.domain.rules.models import Span

# ---------------------------------------------------------------------------------------------
# sentences


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


_ABBREV = {"u.s", "e.g", "i.e", "jr", "sr", "vs", "v", "st", "mr", "mrs", "ms", "dr", "no", "inc",
           "etc", "ex", "a.m", "p.m", "u.k", "d.c", "ft", "co", "corp", "ltd", "approx"}


_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")
# the last texts split (parse_rules, the terms and the condition readers split the same text): keyed by
# identity, the sentences are frozen, each caller gets its own list
_SPLIT_CACHE: list[tuple[str, tuple[Sentence, ...]]] = []


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with offsets: split at line breaks and at . ! ? followed by space + capital/quote."""
    for key, sents in _SPLIT_CACHE:
        if key is text:
            return list(sents)
    out = _split(text)
    if len(text) >= 64:
        _SPLIT_CACHE.insert(0, (text, tuple(out)))
        del _SPLIT_CACHE[4:]
    return out


_BREAK = re.compile(r"[\n.!?]")  # the only characters where a sentence can end


def _split(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    start = 0
    n = len(text)

    def push(s: int, e: int) -> None:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Sentence(s, e, text[s:e]))

    # visit only the candidate ends (a C scan), not every character
    for bm in _BREAK.finditer(text):
        i = bm.start()
        c = text[i]
        if c == "\n":
            push(start, i)
            start = i + 1
        else:
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
    push(start, n)
    return out


def _span(text: str, start: int, end: int, part: Literal["rules", "title"] = "rules") -> Span:
    # trim whitespace inside the span so quotes are tidy (and still exact)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start=start, end=end, quote=text[start:end], part=part)
