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
    # == _WS.sub(" ", t).strip(): str.split() and the regex's \s split on the same characters (str.isspace),
    # and the split is ~3x faster
    return " ".join(t.split())


def rules_hash(text: str) -> str:
    """sha256 (hex, 64 chars) of :func:`normalise_rule_text`. Store it with an intent and compare it
    again before submitting: a different hash means the venue changed the rules."""
    return hashlib.sha256(normalise_rule_text(text).encode("utf-8")).hexdigest()


def contract_hash(text: str, title: str = "", label: str | None = None) -> str:
    """The hash of the whole contract: the rule text AND what it is a bet on (the question and the member's
    label). Two members of one neg-risk event share their rule text but not this hash; an intent re-checked
    at execution notices a changed question or label too. Without a title or label it equals
    :func:`rules_hash` of the text."""
    title, label = (title or "").strip(), (label or "").strip()
    if not title and not label:
        return rules_hash(text)
    joined = "\x1f".join((normalise_rule_text(title), normalise_rule_text(label), normalise_rule_text(text)))
    return hashlib.sha256(("contract:" + joined).encode("utf-8")).hexdigest()


def market_contract_hash(market: Any) -> str:
    """:func:`contract_hash` of a Market (its rule text, title and ``group_label``)."""
    return contract_hash(market_rule_text(market), getattr(market, "title", "") or "",
                         getattr(market, "group_label", None))


def market_rule_text(market: Any) -> str:
    """The rule text of a Market: ``rule_text`` if set, else its ``rule_sources`` joined in order."""
    text = getattr(market, "rule_text", "") or ""
    if text.strip():
        return text
    parts = [v for v in (getattr(market, "rule_sources", None) or {}).values() if v]
    return "\n\n".join(parts)
