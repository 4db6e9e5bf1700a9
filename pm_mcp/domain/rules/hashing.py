"""The rules hash: the contract the execution engine stores with every intent."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import hashlib
import unicodedata
from typing import Any

from pm_mcp.domain.rules._regex import _rx


# ---------------------------------------------------------------------------------------------
# hashing (the contract used by intents)

_WS = _rx(r"\s+")


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


def market_rule_text(market: Any) -> str:
    """The rule text of a Market: ``rule_text`` if set, else its ``rule_sources`` joined in order."""
    text = getattr(market, "rule_text", "") or ""
    if text.strip():
        return text
    parts = [v for v in (getattr(market, "rule_sources", None) or {}).values() if v]
    return "\n\n".join(parts)
