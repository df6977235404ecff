"""`optout db`: create and upgrade the schema."""

from __future__ import annotations

import time

import typer

from orchestrator.cli.context import console, engine, safe_database_url
from orchestrator.core.clock import utcnow
from orchestrator.migrations import current_revision, head_revision, upgrade
from orchestrator.reports.upkeep import ReportsUpkeep, keep_reports_current

app = typer.Typer(help="Create or upgrade the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Create the tables, or bring them up to this version's schema; then bring what reports
    read up to date (the projection of now and the hourly status history), so that reports
    after an upgrade never derive from the whole audit log while the worker catches up."""
    before = current_revision(engine())
    upgrade(engine())
    after = current_revision(engine())
    if before == after:
        console.print(f"{safe_database_url()} is already at schema {after}.")
    else:
        console.print(f"{safe_database_url()} upgraded from {before or 'empty'} to {after}.")
    started = time.monotonic()
    upkeep = keep_reports_current(engine(), now=utcnow())
    console.print(_describe(upkeep, time.monotonic() - started), highlight=False)


def _describe(upkeep: ReportsUpkeep, seconds: float) -> str:
    projection, history = upkeep.projection, upkeep.history
    if projection.rebuilt:
        took_in = f"built for {projection.employees} employees"
    elif projection.employees:
        took_in = f"{projection.events} events taken in ({projection.employees} employees)"
    else:
        took_in = "already current"
    if history.through_hour is None:
        recorded = "nothing to record yet"
    else:
        recorded = (
            f"recorded through {history.through_hour:%Y-%m-%d %H:%M} UTC"
            f" ({history.hours} hours with changes now)"
        )
    return f"Reports: projection {took_in}; status history {recorded} ({seconds:.1f} s)."


@app.command("status")
def status_command() -> None:
    """Show the schema revision of the database and of this version."""
    current, head = current_revision(engine()), head_revision(engine())
    state = "up to date" if current == head else "needs `optout db upgrade`"
    console.print(f"{safe_database_url()}: schema {current or 'empty'} (newest {head}): {state}")
