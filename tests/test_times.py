"""The one time parser (pm_mcp.domain.times): every form the venues, the store and people write."""

from datetime import UTC, datetime

import pytest

from pm_mcp.domain.times import parse_iso, parse_time

NOON = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2026-12-31T12:00:00Z", "2026-12-31T12:00:00+00:00", "2026-12-31 12:00:00+00",
                                   "2026-12-31T07:00:00-0500", "2026-12-31T12:00:00.000Z", 1798718400,
                                   "1798718400", 1798718400000, "2026-12-31T12:00:00"])
def test_every_form_is_the_same_instant(value):
    assert parse_time(value) == NOON


@pytest.mark.parametrize("value", [None, "", "soon", "31/12/2026", "2026-13-01"])
def test_what_is_not_a_time_is_none(value):
    assert parse_time(value) is None


def test_a_date_alone_is_its_midnight_utc_and_stored_rows_are_strict():
    assert parse_time("2026-12-31") == datetime(2026, 12, 31, tzinfo=UTC)
    assert parse_iso("2026-12-31T12:00:00") == NOON
    with pytest.raises(ValueError):
        parse_iso("soon")
