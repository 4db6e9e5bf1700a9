"""Lazily compiled, fast case-insensitive patterns shared by the rule readers."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
import re._constants as _c
import re._parser as _parser
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


def _absent(needles: tuple[str, ...] | None, t: str) -> bool:
    """True when no needle occurs in ``t``: the pattern cannot match it."""
    if needles is None:
        return False
    for n in needles:
        if n in t:
            return False
    return True


class _Plain:
    """A case-sensitive pattern that skips the regex when none of its needles occurs."""

    __slots__ = ("pattern", "_re", "_needles")

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern = pattern
        self._re = re.compile(pattern, flags)
        self._needles = needles(pattern, flags)

    def search(self, s: str):
        return None if _absent(self._needles, s) else self._re.search(s)

    def match(self, s: str):
        return None if _absent(self._needles, s) else self._re.match(s)

    def finditer(self, s: str):
        return iter(()) if _absent(self._needles, s) else self._re.finditer(s)

    def sub(self, repl: str, s: str) -> str:
        return s if _absent(self._needles, s) else self._re.sub(repl, s)


class _CI:
    __slots__ = ("pattern", "_lc", "_ci", "_needles")

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern = pattern
        low = _lower_pattern(pattern)
        self._lc = re.compile(low, flags & ~re.I)
        self._ci = re.compile(pattern, flags)
        self._needles = needles(low, flags & ~re.I)  # asked of the lower-cased text only

    def _pick(self, s: str) -> tuple[re.Pattern[str] | None, str]:
        """The pattern and the string to match it on; pattern None: it cannot match."""
        low = _lower(s)
        if len(low) != len(s):
            return self._ci, s
        return (None if _absent(self._needles, low) else self._lc), low

    def search(self, s: str):
        r, t = self._pick(s)
        return None if r is None else r.search(t)

    def match(self, s: str):
        r, t = self._pick(s)
        return None if r is None else r.match(t)

    def finditer(self, s: str):
        r, t = self._pick(s)
        return iter(()) if r is None else r.finditer(t)


class _Lazy:
    """Compiled on first use: ~80 patterns cost tens of ms to compile, which the server's cold start
    should not pay before anyone parses rules."""

    __slots__ = ("_pattern", "_flags", "_c")

    def __init__(self, pattern: str, flags: int) -> None:
        self._pattern, self._flags, self._c = pattern, flags, None

    def _get(self) -> Any:
        c = self._c
        if c is None:
            c = self._c = (_CI if self._flags & re.I else _Plain)(self._pattern, self._flags)
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
# literal prefilter: most cue patterns do not match most texts, and ``needle in text`` (a C substring scan)
# is far cheaper than a regex search over the text. From the parsed pattern we derive NEEDLES, a few literal
# strings of which every match must contain at least one; when none occurs in the string, the search is
# skipped (its answer is known: no match). Sound by construction: each rule below only forgets constraints.

_CAP = 48  # most strings tracked for one piece of a pattern; beyond it the piece stops being "exact"
_LIT, _IN, _AT, _BRANCH = _c.LITERAL, _c.IN, _c.AT, _c.BRANCH
_SUB, _ATOMIC, _ASSERTS = _c.SUBPATTERN, _c.ATOMIC_GROUP, (_c.ASSERT, _c.ASSERT_NOT)
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)

_Known = tuple[frozenset[str] | None, frozenset[str] | None]  # (every string the piece can match, or None;
#                                                                 strings one of which every match contains, or None)


def _best(cands: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective requirement: longest shortest needle, then fewest needles (an empty needle is useless)."""
    ok = [c for c in cands if c and "" not in c]
    if not ok:
        return None
    best = max(ok, key=lambda c: (min(map(len, c)), -len(c)))
    # a needle containing another is implied by it
    return frozenset(n for n in best if not any(o != n and o in n for o in best))


def _seq(items: Any) -> _Known:
    chain: frozenset[str] | None = frozenset({""})  # the strings the current run of exact pieces can match
    cands: list[frozenset[str]] = []
    whole_exact = True
    for op, av in items:
        exact, req = _node(op, av)
        if exact is not None and len(chain) * len(exact) <= _CAP:
            chain = frozenset(a + b for a in chain for b in exact)
            continue
        whole_exact = False
        cands.append(chain)
        chain = exact if exact is not None else frozenset({""})
        if req is not None:
            cands.append(req)
    cands.append(chain)
    return (chain if whole_exact else None), _best(cands)


def _node(op: Any, av: Any) -> _Known:
    if op is _LIT:
        return frozenset({chr(av)}), None
    if op is _AT or op in _ASSERTS:  # zero-width: matches the empty string (the assertion is forgotten)
        return frozenset({""}), None
    if op is _IN:
        chars: set[str] = set()
        for iop, iav in av:
            if iop is _LIT:
                chars.add(chr(iav))
            elif iop is _c.RANGE and iav[1] - iav[0] < 10:
                chars.update(chr(x) for x in range(iav[0], iav[1] + 1))
            else:  # a negation, a category (\d, \s, \w) or a wide range: any character, as far as we know
                return None, None
        return (frozenset(chars) if len(chars) <= _CAP else None), None
    if op is _BRANCH:
        alts = [_seq(b) for b in av[1]]
        exacts = [e for e, _ in alts]
        union = frozenset().union(*exacts) if all(e is not None for e in exacts) else None  # type: ignore[arg-type]
        reqs = [r for _, r in alts]
        req = frozenset().union(*reqs) if all(r is not None for r in reqs) else None  # type: ignore[arg-type]
        return (union if union is not None and len(union) <= _CAP else None), req
    if op is _SUB:
        if (av[1] | av[2]) & re.I:  # a scoped (?i:...) would need case folding: know nothing
            return None, None
        return _seq(av[3])
    if op is _ATOMIC:
        return _seq(av)
    if op in _REPEATS:
        lo, hi, sub = av
        exact, req = _seq(sub)
        if exact is not None and hi <= 3 and len(exact) ** hi <= _CAP:
            out, power = set(), frozenset({""})
            for k in range(hi + 1):
                if k >= lo:
                    out |= power
                power = frozenset(a + b for a in power for b in exact)
            return frozenset(out), None
        return None, (req if lo >= 1 else None)
    return None, None  # anything else (\d, ., a back-reference, a conditional): no knowledge


def needles(pattern: str, flags: int = 0) -> tuple[str, ...] | None:
    """Literal strings one of which every match of ``pattern`` contains, or None when nothing is known
    (case-insensitive patterns: None; ``_CI`` asks about its lower-cased, case-sensitive pattern)."""
    try:
        parsed = _parser.parse(pattern, flags)
    except re.error:
        return None
    if parsed.state.flags & re.I:
        return None
    _, req = _seq(parsed)
    return tuple(sorted(req, key=len, reverse=True)) if req else None
