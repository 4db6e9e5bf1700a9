"""Venue-written text is data, never instructions: one convention for showing it.

Titles, outcome labels, rule texts, descriptions and registration files are written by whoever made
the market (anyone, on Manifold). Before any of it is shown to the person (dialog, approval page) or
to the model (tool text), it goes through this module:

- ``clean_inline(text, limit)``: one line. Control characters, bidi overrides/isolates and zero-width
  characters are removed, every run of whitespace (newlines included) becomes one space, and the
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

Rule analysis (``pm_mcp.domain.rules``) keeps working on the ORIGINAL text, so its spans and offsets
still point into what the venue published; only what is displayed is cleaned.
"""

from __future__ import annotations

import re
import unicodedata

VENUE_TEXT_LABEL = "venue text (untrusted, quoted as written)"
INLINE_LIMIT = 120
BLOCK_LIMIT = 4000

# bidi embeddings/overrides/isolates and marks, zero-width characters, the BOM, the interlinear
# annotation characters: all invisible, all able to make text read differently from what it is
_INVISIBLE = {
    "\u061c", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d",
    "\u202e", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064", "\u2066", "\u2067", "\u2068", "\u2069",
    "\ufeff", "\ufff9", "\ufffa", "\ufffb",
}
_WS = re.compile(r"\s+")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def _keep(ch: str, *, newlines: bool) -> str:
    if ch in _INVISIBLE:
        return ""
    if ch in "\n\r" and newlines:
        return "\n"
    if ch in "\t\n\r\v\f\x85\u2028\u2029":
        return " " if not newlines or ch in "\t\v\f" else "\n"
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn") and ch != "\u00ad":
        return ""
    if ch == "\u00ad":  # soft hyphen: invisible
        return ""
    return ch


def _cap(text: str, limit: int) -> str:
    if limit <= 0 or len(text) <= limit:
        return text
    return text[: max(1, limit - 1)].rstrip() + "\u2026"


def clean_inline(text: object, limit: int = INLINE_LIMIT) -> str:
    """One displayable line from venue text (see the module docstring)."""
    s = "" if text is None else str(text)
    s = "".join(_keep(ch, newlines=False) for ch in s)
    s = _WS.sub(" ", s).strip()
    return _cap(s, limit)


def clean_block(text: object, limit: int = BLOCK_LIMIT) -> str:
    """Displayable multi-line venue text: invisible and control characters removed, newlines kept."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n")
    s = "".join(_keep(ch, newlines=True) for ch in s)
    s = "\n".join(line.rstrip() for line in s.split("\n"))
    s = _BLANKS.sub("\n\n", s).strip("\n")
    return _cap(s, limit)


def quote_inline(text: object, limit: int = INLINE_LIMIT) -> str:
    """A venue title inside our own sentence: cleaned, capped, in double quotes."""
    return '"' + clean_inline(text, limit).replace('"', "'") + '"'


def quote_block(text: object, limit: int = BLOCK_LIMIT, what: str = "") -> str:
    """The labelled, line-prefixed block for venue text in tool answers (see the module docstring)."""
    body = clean_block(text, limit)
    head = VENUE_TEXT_LABEL + (f": {what}" if what else "")
    if not body:
        return head + "\n> (none published)"
    return head + "\n" + "\n".join("> " + line if line else ">" for line in body.split("\n"))
