"""Run windows: the hours (in each employee's time zone) when a campaign's jobs may run.

A window is a set of weekdays and a start and end time, written `mon-fri 22:00-06:00` or
`sat,sun 00:00-24:00`. An end before the start runs past midnight: the days name the day the
window opens on. A campaign with no windows runs at any time. Working at night and at weekends,
in the account owner's own time zone, keeps the fleet's traffic looking like the people it acts
for rather than like a burst from one data centre.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orchestrator.core.errors import OrchestratorError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY
_SPEC = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})\s*$")


class RunWindowError(OrchestratorError):
    """A run window that cannot be understood; the message quotes it and says why."""


@dataclass(frozen=True)
class RunWindow:
    """Weekdays (0 = Monday) and minutes after midnight; `end` may be 1440 (24:00)."""

    days: frozenset[int]
    start: int
    end: int

    def describe(self) -> str:
        """The window as people write it, e.g. `mon-fri 22:00-06:00`."""
        return f"{_describe_days(self.days)} {_hhmm(self.start)}-{_hhmm(self.end)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "days": [DAY_NAMES[day] for day in sorted(self.days)],
            "start": _hhmm(self.start),
            "end": _hhmm(self.end),
        }

    def intervals(self) -> list[tuple[int, int]]:
        """Minutes of the week (Monday 00:00 = 0) the window covers, wrapping past Sunday."""
        length = (self.end - self.start) % _MINUTES_PER_DAY or _MINUTES_PER_DAY
        return [
            (day * _MINUTES_PER_DAY + self.start, day * _MINUTES_PER_DAY + self.start + length)
            for day in sorted(self.days)
        ]


def parse_window(spec: str) -> RunWindow:
    """Read `mon-fri 22:00-06:00`; days are names, ranges (`mon-fri`) or lists (`sat,sun`)."""
    match = _SPEC.match(spec.lower())
    if match is None:
        raise RunWindowError(
            f"run window {spec!r}: expected days and hours such as 'mon-fri 22:00-06:00'"
        )
    days = _parse_days(match["days"], spec)
    start = _minutes(match["start"], spec, allow_24=False)
    end = _minutes(match["end"], spec, allow_24=True)
    if start == end:
        raise RunWindowError(f"run window {spec!r}: it starts and ends at the same time")
    return RunWindow(days=days, start=start, end=end)


def parse_windows(specs: Iterable[str]) -> list[RunWindow]:
    """Parse several windows, as given on the command line or in an API request."""
    return [parse_window(spec) for spec in specs]


def windows_from_json(stored: Sequence[dict[str, Any]]) -> list[RunWindow]:
    """Windows as a campaign row keeps them."""
    return [
        parse_window(f"{','.join(item['days'])} {item['start']}-{item['end']}") for item in stored
    ]


def is_open(windows: Sequence[RunWindow], at: datetime, zone: ZoneInfo) -> bool:
    """Whether `at` falls inside one of the windows, read on the wall clock of `zone`."""
    if not windows:
        return True
    local = at.astimezone(zone)
    minute = local.weekday() * _MINUTES_PER_DAY + local.hour * 60 + local.minute
    return any(
        start <= week_minute < end
        for week_minute in (minute, minute + _MINUTES_PER_WEEK)
        for window in windows
        for start, end in window.intervals()
    )


def next_opening(windows: Sequence[RunWindow], at: datetime, zone: ZoneInfo) -> datetime:
    """The first moment at or after `at` (UTC) when a window is open in `zone`."""
    if is_open(windows, at, zone):
        return at
    local_today = at.astimezone(zone).date()
    openings = (
        _wall_clock(local_today + timedelta(days=offset), window.start, zone)
        for offset in range(8)
        for window in windows
        if (local_today + timedelta(days=offset)).weekday() in window.days
    )
    return min(opening for opening in openings if opening > at)


def describe(windows: Sequence[RunWindow]) -> str:
    """All windows in one line, for messages and status displays."""
    return "; ".join(window.describe() for window in windows) or "any time"


def _wall_clock(day: date, minute: int, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    # A wall-clock time skipped by a DST change becomes the first valid instant after it.
    return local.astimezone(ZoneInfo("UTC"))


def _parse_days(text: str, spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        start = _day(first, spec)
        end = _day(last, spec) if last else start
        days.update((start + step) % 7 for step in range((end - start) % 7 + 1))
    return frozenset(days)


def _day(name: str, spec: str) -> int:
    for names in (DAY_NAMES, _FULL_DAY_NAMES):
        if name in names:
            return names.index(name)
    raise RunWindowError(f"run window {spec!r}: {name!r} is not a day (use {', '.join(DAY_NAMES)})")


def _minutes(text: str, spec: str, *, allow_24: bool) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if (hours, minutes) == (24, 0) and allow_24:
        return _MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise RunWindowError(f"run window {spec!r}: {text!r} is not a time of day")
    return hours * 60 + minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _describe_days(days: frozenset[int]) -> str:
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}"
        if len(run) > 2
        else ",".join(DAY_NAMES[day] for day in run)
        for run in runs
    )
