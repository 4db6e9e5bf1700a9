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
