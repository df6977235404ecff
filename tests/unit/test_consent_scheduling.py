"""Reading the times and cadences an admin types for a consent campaign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.campaigns.timing import TimingError, parse_duration, parse_moment, zone
from orchestrator.core.durations import DurationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12h", timedelta(hours=12)), ("3d", timedelta(days=3)), (" 2W ", timedelta(weeks=2))],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3", "1.5d", "3 days", "-1d", "5m"])
def test_unreadable_cadences_say_how_to_write_them(text: str) -> None:
    with pytest.raises(DurationError, match="hours, days or weeks such as 12h, 30d or 2w"):
        parse_duration(text)


def test_a_cadence_of_nothing_is_refused() -> None:
    with pytest.raises(DurationError, match="must be longer than 0"):
        parse_duration("0d")


def test_moments_are_read_in_the_campaign_time_zone_unless_they_carry_an_offset() -> None:
    berlin = "Europe/Berlin"
    assert parse_moment("2026-12-01T09:00", timezone=berlin) == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert parse_moment("2026-07-01T09:00", timezone=berlin) == datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert parse_moment("2026-12-01T09:00+00:00", timezone=berlin) == datetime(
        2026, 12, 1, 9, tzinfo=UTC
    )
    assert parse_moment("2026-12-01T09:00Z", timezone=berlin) == datetime(
        2026, 12, 1, 9, tzinfo=UTC
    )
    assert parse_moment("2026-12-03", timezone=berlin, end_of_day=True) == datetime(
        2026, 12, 3, 22, 59, tzinfo=UTC
    )
    assert parse_moment("2026-12-03", timezone="UTC") == datetime(2026, 12, 3, tzinfo=UTC)


def test_bad_times_and_zones_are_refused_with_examples() -> None:
    with pytest.raises(TimingError, match="ISO 8601"):
        parse_moment("next tuesday", timezone="UTC")
    with pytest.raises(TimingError, match="IANA name"):
        zone("Europe/Atlantis")
    with pytest.raises(TimingError, match="IANA name"):
        parse_moment("2026-12-03T10:00", timezone="../etc/passwd")
