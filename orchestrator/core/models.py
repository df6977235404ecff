"""Helpers for table definitions shared by every room."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import CheckConstraint


def one_of(
    column: str, choices: Iterable[StrEnum] | Iterable[str], *, name: str
) -> CheckConstraint:
    """A CHECK constraint keeping `column` within an enum's values, the same on every database."""
    values = ", ".join(f"'{choice}'" for choice in choices)
    return CheckConstraint(f"{column} IN ({values})", name=name)
