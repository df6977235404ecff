"""`optout verify`: queue read-only re-checks of accounts that were proven opted out."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer

from orchestrator.cli.context import actor, console, unit_of_work
from orchestrator.core.clock import utcnow
from orchestrator.core.errors import OrchestratorError
from orchestrator.jobs.queue import queue_verifications

_DURATION = re.compile(r"^\s*(\d+)\s*([dhms])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `15m` or `0s` as a timedelta."""
    match = _DURATION.match(text)
    if match is None:
        raise OrchestratorError(f"{text!r} is not a duration such as 30d, 12h, 15m or 0s")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def verify_command(
    older_than: Annotated[
        str, typer.Option(help="Re-check accounts whose proof is older than this (30d, 12h…).")
    ] = "30d",
) -> None:
    """Queue re-checks; workers read each setting without clicking and repair any drift."""
    with unit_of_work() as session:
        queued = queue_verifications(
            session, older_than=parse_duration(older_than), now=utcnow(), actor=actor()
        )
    console.print(f"{queued} re-checks queued; a worker runs them (`optout worker`).")
