"""Durations people type (`30d`, `12h`, `2w`), read the same way wherever one is asked for."""

from __future__ import annotations

import re
from datetime import timedelta

from orchestrator.core.errors import OrchestratorError

# A century: anything longer is a slip of the keyboard, and a date that far off overflows
# Python's dates when it is added to now (a reminder every 999999999d would stop the worker).
LONGEST = timedelta(days=36_525)

_PATTERN = re.compile(r"^\s*(\d+)\s*([a-z])\s*$", re.IGNORECASE)
_UNITS: dict[str, tuple[str, timedelta, str]] = {
    "s": ("seconds", timedelta(seconds=1), "30s"),
    "m": ("minutes", timedelta(minutes=1), "15m"),
    "h": ("hours", timedelta(hours=1), "12h"),
    "d": ("days", timedelta(days=1), "30d"),
    "w": ("weeks", timedelta(weeks=1), "2w"),
}


class DurationError(OrchestratorError):
    """A duration that cannot be read, or one too long to mean anything."""


def parse_duration(text: str, *, units: str = "wdhms", allow_zero: bool = True) -> timedelta:
    """`text` as a timedelta: a whole number and one of `units` (letters of `smhdw`).

    Raises:
        DurationError: unreadable, a unit not in `units`, zero when not allowed, or over
            LONGEST; the message says how to write one.
    """
    match = _PATTERN.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in units:
        names = [_UNITS[letter][0] for letter in units]
        examples = [_UNITS[letter][2] for letter in units]
        raise DurationError(
            f"cannot read the duration {text!r}: write a whole number of "
            f"{_listed(names)} such as {_listed(examples)}"
        )
    count, (_, one, _) = int(match.group(1)), _UNITS[unit]
    if count == 0 and not allow_zero:
        raise DurationError(f"the duration {text!r} must be longer than 0")
    if count > LONGEST // one:  # checked before multiplying: a huge count overflows timedelta
        raise DurationError(
            f"the duration {text!r} is longer than {LONGEST.days:,} days: a century at most"
        )
    return count * one


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
