"""Reading the durations and moments admins type: `3d`, `2026-12-03T18:00` in a time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestrator.core import durations
from orchestrator.core.clock import as_utc
from orchestrator.core.errors import OrchestratorError


class TimingError(OrchestratorError):
    """A time or time zone that cannot be read."""


def parse_duration(text: str) -> timedelta:
    """A reminder cadence or a token's lifetime: `12h`, `3d` or `2w`, never 0 (minutes would
    let a campaign mail people every few minutes)."""
    return durations.parse_duration(text, units="hdw", allow_zero=False)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (Europe/Berlin, UTC...)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimingError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC"
        ) from exc


def parse_moment(text: str, *, timezone: str, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or date-time as UTC; without an offset it is read in `timezone`.

    A bare date means the start of that day, or its last minute with `end_of_day` (a deadline
    of `2026-12-03` lasts all of that day).
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            moment = datetime.combine(day, time(23, 59) if end_of_day else time(0, 0))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise TimingError(
            f"cannot read the time {text!r}: write ISO 8601 such as 2026-12-03 or "
            "2026-12-03T18:00 (optionally with an offset such as +01:00)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    try:
        return as_utc(moment)
    except OverflowError as exc:  # 9999-12-31 in a zone behind UTC is past Python's last day
        raise TimingError(f"the time {text!r} is out of range") from exc


def parse_as_of(text: str | None, *, now: datetime, name: str = "as_of") -> datetime | None:
    """A report's as-of moment (UTC without an offset): a bare date means the end of that day,
    so its events count; never the future, since a report shows what has happened."""
    if text is None or not text.strip():
        return None
    try:
        moment = parse_moment(text, timezone="UTC")
        if len(text.strip()) == 10:
            moment += timedelta(days=1) - timedelta(microseconds=1)
    except OverflowError as exc:
        raise TimingError(f"{name} {text!r} is out of range") from exc
    if moment > now:
        raise TimingError(f"{name} {text!r} is in the future; a report shows what has happened")
    return moment
