"""The one time parser: what venues, the store and people write, as an aware UTC datetime.

    parse_time("2026-12-31T16:00:00Z")        # ISO 8601 with Z or an offset
    parse_time("2026-12-31 16:00:00+00")      # Postgres-style, short offset
    parse_time("2026-12-31")                  # a date: its midnight UTC
    parse_time(1767196800) / ("1767196800000")  # unix seconds or milliseconds
    parse_iso(row["created_at"])              # our own stored ISO text (naive means UTC)

``parse_time`` is lenient (None for what is not a time: callers decide whether that is an error);
``parse_iso`` is strict (our own rows are always ISO; anything else is a bug worth an exception).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["parse_time", "parse_iso"]

_TZ_SHORT = re.compile(r"([+-]\d{2})$")
_TZ_NOCOLON = re.compile(r"([+-]\d{2})(\d{2})$")
_FRACTION = re.compile(r"\.(\d+)")
_MS_AFTER = 1e11  # a unix timestamp above this is in milliseconds (1e11 s is the year 5138)


def parse_time(value: Any) -> datetime | None:
    """Lenient UTC time: ISO 8601 with Z/offset, "YYYY-MM-DD HH:MM:SS+00", date-only, unix s or ms; None when
    the value is empty or not a time. Raises OverflowError / OSError / ValueError only for a number beyond what a
    date can hold."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ts = float(value)
        if ts > _MS_AFTER:
            ts /= 1000
        return datetime.fromtimestamp(ts, UTC)
    s = str(value).strip()
    if s.isdigit():
        return parse_time(int(s))
    s = s.replace(" ", "T", 1)
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    s = _TZ_SHORT.sub(r"\1:00", s)
    s = _TZ_NOCOLON.sub(r"\1:\2", s)
    s = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], s)
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_iso(s: str) -> datetime:
    """Our own stored ISO text (naive means UTC); strict."""
    dt = datetime.fromisoformat(s)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
