"""`optout verify`: queue read-only re-checks of accounts that were proven opted out."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli.context import actor, console, unit_of_work
from orchestrator.core.clock import utcnow
from orchestrator.core.durations import parse_duration
from orchestrator.jobs.queue import queue_verifications


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
