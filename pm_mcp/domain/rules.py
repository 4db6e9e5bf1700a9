"""Rule-text parsing with cited evidence. (Being filled in; ``rules_hash`` is a stable contract.)"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WS = re.compile(r"\s+")


def normalise_rule_text(text: str) -> str:
    """The canonical form that ``rules_hash`` hashes: Unicode NFKC, case-folded, every run of
    whitespace collapsed to one space, trimmed. Reflowing or re-casing the rules does not change
    the hash; changing a word, number, date or URL does."""
    t = unicodedata.normalize("NFKC", text or "")
    t = t.casefold()
    return _WS.sub(" ", t).strip()


def rules_hash(text: str) -> str:
    """sha256 (hex, 64 chars) of :func:`normalise_rule_text`. Store it with an intent and compare it
    again before submitting: a different hash means the venue changed the rules."""
    return hashlib.sha256(normalise_rule_text(text).encode("utf-8")).hexdigest()
