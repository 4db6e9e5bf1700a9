"""The price-history window every venue adapter takes: ``interval`` is the window ending now (1h, 6h, 1d,
1w, 1m = 30 days, max) unless ``start`` is given, and one point per bucket of 1 minute up to 6 hours,
1 hour up to a week, else 1 day. Pure.

    WINDOWS = {**HISTORY_WINDOWS, "max": timedelta(days=3 * 365)}         # "max" is the venue's own reach
    start, end = history_window(self.name, interval, WINDOWS, start, end, self.now)
    step = history_bucket(end - start)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from pm_mcp.venues.base import VenueError

HISTORY_WINDOWS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "1d": timedelta(days=1),
                   "1w": timedelta(weeks=1), "1m": timedelta(days=30)}


def history_window(venue: str, interval: str, windows: Mapping[str, timedelta], start: datetime | None,
                   end: datetime | None, now: Callable[[], datetime]) -> tuple[datetime, datetime]:
    """(start, end) of a history request: ``end`` defaults to now, ``start`` to ``interval`` before it.
    VenueError for an interval the venue does not know; ValueError when start is not before end."""
    if interval not in windows:
        raise VenueError(venue, f"interval {interval!r} is not one of {', '.join(windows)}")
    end = end or now()
    start = start or end - windows[interval]
    if start >= end:
        raise ValueError("the history start must be before its end")
    return start, end


def history_bucket(window: timedelta) -> timedelta:
    """One point per bucket: 1 min up to 6 h, 1 h up to a week, else 1 day."""
    if window <= timedelta(hours=6):
        return timedelta(minutes=1)
    if window <= timedelta(weeks=1):
        return timedelta(hours=1)
    return timedelta(days=1)


__all__ = ["HISTORY_WINDOWS", "history_window", "history_bucket"]
