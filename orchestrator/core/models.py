"""Helpers for table definitions shared by every room."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import CheckConstraint

# The largest id a PostgreSQL integer column holds: a larger one typed by a person or client
# is refused as out of range, never sent to the database (which would fail on it).
MAX_ID = 2**31 - 1
# How far into a listing a page may start: beyond what any table here holds, within int64.
MAX_OFFSET = 1_000_000_000


def one_of(
    column: str, choices: Iterable[StrEnum] | Iterable[str], *, name: str
) -> CheckConstraint:
    """A CHECK constraint keeping `column` within an enum's values, the same on every database."""
    values = ", ".join(f"'{choice}'" for choice in choices)
    return CheckConstraint(f"{column} IN ({values})", name=name)
