"""Run windows as admins write them, read on each employee's wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from orchestrator.campaigns.windows import (
    RunWindowError,
    describe,
    is_open,
    next_opening,
    parse_window,
    parse_windows,
    windows_from_json,
)

BERLIN = ZoneInfo("Europe/Berlin")
NIGHTS = parse_windows(["mon-fri 22:00-06:00", "sat,sun 00:00-24:00"])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("weekdays 22:00-06:00", "'weekdays' is not a day"),
        ("mon-fri 25:00-06:00", "'25:00' is not a time of day"),
        ("mon-fri 22:00-22:00", "starts and ends at the same time"),
        ("mon-fri 22-06", "expected days and hours"),
        ("", "expected days and hours"),
    ],
)
def test_bad_windows_are_refused_with_the_reason(spec: str, problem: str) -> None:
    with pytest.raises(RunWindowError, match=problem) as raised:
        parse_window(spec)
    assert repr(spec) in str(raised.value)


def test_days_accept_ranges_lists_and_full_names_and_read_back_the_same() -> None:
    window = parse_window("Monday-Wednesday,fri 09:30-17:00")
    assert window.describe() == "mon-wed,fri 09:30-17:00"
    assert parse_window("fri-mon 20:00-24:00").describe() == "mon,fri-sun 20:00-24:00"
    assert windows_from_json([w.to_json() for w in NIGHTS]) == NIGHTS
    assert describe(NIGHTS) == "mon-fri 22:00-06:00; sat,sun 00:00-24:00"
    assert describe([]) == "any time"


def test_a_night_window_runs_past_midnight_into_the_next_day() -> None:
    # Monday 2026-11-23; Berlin is UTC+1 in November.
    assert not is_open(NIGHTS, utc(2026, 11, 23, 9, 0), BERLIN)  # Mon 10:00
    assert is_open(NIGHTS, utc(2026, 11, 23, 21, 0), BERLIN)  # Mon 22:00
    assert is_open(NIGHTS, utc(2026, 11, 24, 4, 59), BERLIN)  # Tue 05:59
    assert not is_open(NIGHTS, utc(2026, 11, 24, 5, 0), BERLIN)  # Tue 06:00
    # Friday's night runs into Saturday, which is open all day; Sunday night is not a weekday
    # window, so Monday morning after 00:00 is shut.
    assert is_open(NIGHTS, utc(2026, 11, 28, 12, 0), BERLIN)
    assert not is_open(NIGHTS, utc(2026, 11, 30, 1, 0), BERLIN)  # Mon 02:00


def test_next_opening_is_in_the_employee_zone_and_now_when_already_open() -> None:
    monday_morning = utc(2026, 11, 23, 9, 0)
    assert next_opening(NIGHTS, monday_morning, BERLIN) == utc(2026, 11, 23, 21, 0)
    assert next_opening(NIGHTS, monday_morning, ZoneInfo("Asia/Tokyo")) == utc(2026, 11, 23, 13)
    open_now = utc(2026, 11, 23, 22, 0)
    assert next_opening(NIGHTS, open_now, BERLIN) == open_now
    assert next_opening([], monday_morning, BERLIN) == monday_morning


def test_a_window_opening_in_a_skipped_dst_hour_opens_when_the_clock_resumes() -> None:
    # Berlin skips 02:00-03:00 on Sunday 2027-03-28.
    window = [parse_window("sun 02:30-04:00")]
    saturday = utc(2027, 3, 27, 12, 0)
    opens = next_opening(window, saturday, BERLIN)
    assert opens.astimezone(BERLIN).hour in (1, 3)  # never a moment that does not exist
    assert is_open(window, utc(2027, 3, 28, 1, 45), BERLIN)  # 03:45 CEST
