"""Lazily compiled, fast case-insensitive patterns shared by the rule readers."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from typing import Any

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


# The last few texts lower-cased: the readers run dozens of patterns over one text (or one sentence) in a row,
# and lower-casing it each time cost more than some of the matches. Keyed by identity (str is immutable), so a
# hit is the same object; a handful of entries, replaced in turn.
_LOWER: list[tuple[str | None, str]] = [(None, "")] * 8  # (text, text.lower()): one tuple, swapped whole
_lower_next = 0


def _lower(s: str) -> str:
    global _lower_next
    for k, low in _LOWER:
        if k is s:
            return low
    low = s.lower()
    if len(s) >= 32:  # short strings are cheaper to lower again than to look up
        i = _lower_next
        _LOWER[i] = (s, low)
        _lower_next = (i + 1) % len(_LOWER)
    return low


class _CI:
    __slots__ = ("pattern", "_lc", "_ci")

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern = pattern
        self._lc = re.compile(_lower_pattern(pattern), flags & ~re.I)
        self._ci = re.compile(pattern, flags)

    def _pick(self, s: str) -> tuple[re.Pattern[str], str]:
        low = _lower(s)
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
