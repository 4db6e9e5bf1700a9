"""Pure reading helpers the venue parsers share (``pm_mcp/venues/<name>/parse.py``). No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def text_fields(raw: Mapping[str, Any], *keys: str) -> dict[str, str]:
    """The text fields of a payload among ``keys`` that say something, stripped, in the order of ``keys``
    (a market's rule texts: each one a source the rules are read from)."""
    out: dict[str, str] = {}
    for key in keys:
        text = (raw.get(key) or "").strip()
        if text:
            out[key] = text
    return out


__all__ = ["text_fields"]
