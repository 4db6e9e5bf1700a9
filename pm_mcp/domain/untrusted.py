"""Venue-written text is data, never instructions: one convention for showing it.

Titles, outcome labels, rule texts, descriptions and registration files are written by whoever made
the market (anyone, on Manifold). Before any of it is shown to the person (dialog, approval page) or
to the model (tool text), it goes through this module:

- ``clean_inline(text, limit)``: one line. Control characters (terminal escape sequences whole), bidi
  overrides/isolates and zero-width characters are removed, every run of whitespace (newlines included) becomes one space, and the
  result is capped at ``limit`` characters (an ellipsis marks the cut).
- ``clean_block(text, limit)``: several lines. The same characters are removed, but newlines stay
  (at most one blank line in a row); capped at ``limit``.
- ``quote_inline(text, limit)``: ``clean_inline`` wrapped in double quotes (inner double quotes become
  single ones), for a title inside one of our own sentences.
- ``quote_block(text, limit, what)``: the labelled block used in every tool answer::

      venue text (untrusted, quoted as written): rules
      > first line of the venue's text
      > second line

  Every line of the venue's text starts with "> ", so nothing in it can look like our own words.

- ``quote_label(text, limit)``: an outcome label inside our sentence: one short plain word ("Yes",
  "Trump", "3-4%") stays bare, anything else ("Gavin Newsom", a sentence) is quoted like a title.
- ``strip_invisible(text)`` and ``clean_json(value)``: for JSON (the ``market://`` and ``erc8004://``
  resources): invisible and control characters removed from every string, newlines and tabs kept,
  nothing capped, the structure and the keys kept.

Rule analysis (``pm_mcp.domain.rules``) keeps working on the ORIGINAL text, so its spans and offsets
still point into what the venue published; only what is displayed is cleaned. Structured tool output
keeps the venue's strings as published (they are data a client may match, hash or cite by offset).
"""

from __future__ import annotations

import re
import unicodedata

VENUE_TEXT_LABEL = "venue text (untrusted, quoted as written)"
INLINE_LIMIT = 120
LABEL_LIMIT = 40
BLOCK_LIMIT = 4000

# bidi embeddings/overrides/isolates and marks, zero-width characters, the BOM, the interlinear
# annotation characters, and letters/marks that render as nothing (Hangul fillers, the combining
# grapheme joiner, Khmer inherent vowels, Mongolian variation selectors): all invisible, all able
# to make text read differently from what it is
_INVISIBLE = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064"
    "\u2066\u2067\u2068\u2069\ufeff\ufff9\ufffa\ufffb\u00ad\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5"
    "\u180b\u180c\u180d\u180e\u180f")
_LINE_BREAKS = frozenset("\n\r\x85\u2028\u2029")
_SPACES = frozenset("\t\v\f")
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_ODD = re.compile(r"[^\x20-\x7e]")  # everything that is not printable ASCII goes through _keep
# terminal escape sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL", two-character ESC x): removed whole,
# not just their ESC, so "[31m" does not stay behind
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_WS = re.compile(r"\s+")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_PLAIN_LABEL = re.compile(r"[\w$%.,+&/'()<>=-]{1,24}")  # one word, no underscore (see quote_label)


def _keep(ch: str, *, newlines: bool, tabs: bool = False) -> str:
    """What one character becomes on display: itself, a space, a newline, or nothing."""
    if ch in _INVISIBLE:
        return ""
    if ch in _LINE_BREAKS:
        return "\n" if newlines else " "
    if ch in _SPACES:
        return "\t" if tabs and ch == "\t" else " "
    if unicodedata.category(ch) in _DROP_CATEGORIES:
        return ""
    return ch


def _chars(s: str, *, newlines: bool, tabs: bool = False) -> str:
    if "\x1b" in s or "\x9b" in s:
        s = _ESCAPES.sub("", s)
    return _ODD.sub(lambda m: _keep(m.group(), newlines=newlines, tabs=tabs), s)


def _text(text: object, limit: int) -> tuple[str, bool]:
    """``text`` as a str, cut (before cleaning) to what a ``limit``-character display can need."""
    s = "" if text is None else str(text)
    if limit > 0 and len(s) > 8 * limit + 256:  # cleaning only shortens: the rest cannot be shown
        return s[: 8 * limit + 256], True
    return s, False


def _cap(text: str, limit: int, cut: bool = False) -> str:
    if limit <= 0 or (len(text) <= limit and not cut):
        return text
    if limit == 1:
        return "\u2026"
    return text[: limit - 1].rstrip() + "\u2026"


def clean_inline(text: object, limit: int = INLINE_LIMIT) -> str:
    """One displayable line from venue text (see the module docstring); ``limit`` <= 0: no cap."""
    s, cut = _text(text, limit)
    s = _WS.sub(" ", _chars(s, newlines=False)).strip()
    return _cap(s, limit, cut)


def clean_block(text: object, limit: int = BLOCK_LIMIT) -> str:
    """Displayable multi-line venue text: invisible and control characters removed, newlines kept."""
    s, cut = _text(text, limit)
    s = _chars(s.replace("\r\n", "\n"), newlines=True)
    s = "\n".join(line.rstrip() for line in s.split("\n"))
    s = _BLANKS.sub("\n\n", s).strip("\n")
    return _cap(s, limit, cut)


def quote_inline(text: object, limit: int = INLINE_LIMIT) -> str:
    """A venue title inside our own sentence: cleaned, capped, in double quotes."""
    return '"' + clean_inline(text, limit).replace('"', "'") + '"'


def quote_label(text: object, limit: int = LABEL_LIMIT) -> str:
    """An outcome label inside our sentence: bare when it is one short plain word, else quoted."""
    s = clean_inline(text, limit)
    if _PLAIN_LABEL.fullmatch(s) and "_" not in s:
        return s
    return '"' + s.replace('"', "'") + '"'


def quote_block(text: object, limit: int = BLOCK_LIMIT, what: str = "") -> str:
    """The labelled, line-prefixed block for venue text in tool answers (see the module docstring)."""
    body = clean_block(text, limit)
    head = VENUE_TEXT_LABEL + (f": {clean_inline(what, 80)}" if what else "")
    if not body:
        return head + "\n> (none published)"
    return head + "\n" + "\n".join("> " + line if line else ">" for line in body.split("\n"))


def strip_invisible(text: str) -> str:
    """Invisible and control characters removed; newlines (any kind, as "\\n") and tabs kept; no cap."""
    return _chars(text.replace("\r\n", "\n"), newlines=True, tabs=True)


def clean_json(value: object, inline_keys: frozenset[str] | set[str] = frozenset()) -> object:
    """A JSON-like value with ``strip_invisible`` applied to every string (keys too); strings under a key
    in ``inline_keys`` become one line (``clean_inline`` without a cap). Structure and keys are kept."""
    if isinstance(value, str):
        return strip_invisible(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = strip_invisible(k) if isinstance(k, str) else k
            out[key] = clean_inline(v, 0) if k in inline_keys and isinstance(v, str) else clean_json(v, inline_keys)
        return out
    if isinstance(value, (list, tuple)):
        return [clean_json(v, inline_keys) for v in value]
    return value
