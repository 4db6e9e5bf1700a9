"""Lazily compiled, fast case-insensitive patterns shared by the rule readers."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
import re._casefix as _casefix
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
# and lower-casing it each time cost more than some of the matches. Keyed by identity: an entry holds its text,
# so no other live object can have that id, and a hit is the same object. Emptied when full (a clear is atomic,
# so threads sharing it at worst lower a text again).
_LOWER: dict[int, tuple[str, str]] = {}  # id(text): (text, text.lower())


def _lower(s: str) -> str:
    hit = _LOWER.get(id(s))
    if hit is not None and hit[0] is s:
        return hit[1]
    low = s.lower()
    if len(s) >= 32:  # short strings are cheaper to lower again than to look up
        if len(_LOWER) >= 16:
            _LOWER.clear()
        _LOWER[id(s)] = (s, low)
    return low


class _Lazy:
    """A pattern compiled on first use (~140 patterns cost tens of ms to compile, which the server's cold start
    should not pay before anyone parses rules), behind the literal prefilter below: when none of its needles
    occurs in the string, the regex is not run. With re.I it is matched case-sensitively on the lower-cased
    string (offsets are the same), or with re.IGNORECASE when lower-casing changes the length.

    ``exact_case``: match exactly as re.IGNORECASE does. Lower-casing differs from it only where a character
    other than a letter's own capital folds to an ASCII letter: the dotless "ı" and the long "ſ" (the dotted
    "İ" lower-cases to two characters, caught by the length); a string holding one is matched with
    re.IGNORECASE. A pattern with any other cased non-ASCII character always is."""

    __slots__ = ("pattern", "_flags", "_re", "_lc", "_needles", "_exact", "_ready")

    def __init__(self, pattern: str, flags: int, exact_case: bool = False) -> None:
        self.pattern, self._flags, self._exact = pattern, flags, exact_case
        self._re: re.Pattern[str] | None = None  # as written (with re.I if asked)
        self._lc: re.Pattern[str] | None = None  # re.I patterns: the lower-cased pattern, case-sensitive
        self._needles: tuple[str, ...] | None = None
        self._ready = False

    def _compile(self) -> None:
        if self._flags & re.I and self._exact and not _ascii_cased(self.pattern):
            self._re = re.compile(self.pattern, self._flags)  # no lower-cased path: plain re.IGNORECASE
        elif self._flags & re.I:
            low = _lower_pattern(self.pattern)
            self._lc = re.compile(low, self._flags & ~re.I)
            self._needles = needles(low, self._flags & ~re.I)  # asked of the lower-cased string only
            # self._re (re.IGNORECASE) is compiled only when a string needs it (_folded)
        else:
            self._needles = needles(self.pattern, self._flags)
            self._re = re.compile(self.pattern, self._flags)
        self._ready = True  # last: another thread seeing it finds the patterns set

    def _folded(self) -> re.Pattern[str]:
        r = self._re
        if r is None:
            r = self._re = re.compile(self.pattern, self._flags)
        return r

    def _target(self, s: str) -> tuple[re.Pattern[str] | None, str]:
        """The compiled pattern and the string to run it on; None when the pattern cannot match ``s``."""
        if not self._ready:
            self._compile()
        r = self._lc
        if r is None:
            r = self._re
        else:
            low = _lower(s)
            if len(low) != len(s) or (self._exact and ("ı" in low or "ſ" in low)):
                return self._folded(), s  # no prefilter: case folding is not lower-casing here
            s = low
        nd = self._needles
        if nd is not None:
            for n in nd:
                if n in s:
                    return r, s
            return None, s
        return r, s

    def search(self, s: str):
        r, t = self._target(s)
        return None if r is None else r.search(t)

    def match(self, s: str):
        r, t = self._target(s)
        return None if r is None else r.match(t)

    def finditer(self, s: str):
        r, t = self._target(s)
        return iter(()) if r is None else r.finditer(t)

    def sub(self, repl: str, s: str) -> str:
        if self._flags & re.I:
            raise TypeError("sub() on a case-insensitive rule pattern would return lower-cased text")
        r, t = self._target(s)
        return s if r is None else r.sub(repl, t)


def _ascii_cased(pattern: str) -> bool:
    """Every cased character of the pattern is ASCII (and no escape could name another)."""
    if re.search(r"\\[uUxN0-7]", pattern):
        return False
    return all(c.isascii() or (c.lower() == c == c.upper() and ord(c) not in _casefix._EXTRA_CASES) for c in pattern)


_CI = _Lazy  # the former name of the case-insensitive kind (still importable from pm_mcp.domain.rules)


def _rx(pattern: str, flags: int = 0, exact_case: bool = False) -> Any:
    """A pattern compiled lazily; with re.I it is matched on lower-cased text (group TEXT is then
    lower-case: callers slice the original text by offsets when they need the words). ``exact_case``: see
    ``_Lazy``."""
    return _Lazy(pattern, flags, exact_case)


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


_MANY = 16  # most needles worth checking for one pattern; a set this small, the longer its shortest needle the better


def _reduce(c: frozenset[str]) -> frozenset[str]:
    """A needle containing another is implied by it: keep the shorter."""
    return frozenset(n for n in c if not any(o != n and o in n for o in c))


def _best(cands: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective requirement: a needle that occurs where the pattern does not match costs a regex run
    (tens of microseconds), a needle checked costs a substring scan (well under one), so: at most _MANY needles,
    then the longest shortest needle, then the fewest (an empty needle is useless)."""
    ok = [c for c in cands if c and "" not in c]
    if not ok:
        return None
    # reducing keeps the shortest needle; it only lowers the count, so sets far over _MANY stay over it
    ok = [_reduce(c) if len(c) <= 4 * _MANY else c for c in ok]
    return max(ok, key=lambda c: (len(c) <= _MANY, min(min(map(len, c)), 16), -len(c)))


def _seq(items: Any) -> _Known:
    """What a sequence of pieces can match / needs. Every run of consecutive pieces whose strings are known
    (while their combinations stay under _CAP) is a candidate requirement: its combinations."""
    chains: list[frozenset[str]] = []  # the runs of known pieces ending here, one per start
    whole: frozenset[str] | None = frozenset({""})  # the whole sequence so far, while it is known
    cands: list[frozenset[str]] = []
    for op, av in items:
        exact, req = _node(op, av)
        if req is not None:  # what a piece needs, the sequence needs
            cands.append(req)
        if exact is None:
            cands.extend(chains)
            chains, whole = [], None
            continue
        grown = []
        for ch in chains:
            if len(ch) * len(exact) <= _CAP:
                grown.append(frozenset(a + b for a in ch for b in exact))
            else:
                cands.append(ch)  # as long as it can get
        # a run starting here is needed only if no longer one is as small (its strings would contain these)
        chains = grown if any(len(g) <= len(exact) for g in grown) else [*grown, exact]
        if whole is not None:
            whole = frozenset(a + b for a in whole for b in exact) if len(whole) * len(exact) <= _CAP else None
    cands.extend(chains)
    return whole, _best(cands)


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
    return tuple(sorted(req, key=lambda n: (len(n), n))) if req else None  # short ones first: likelier to occur
