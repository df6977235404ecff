"""`optout db`: create and upgrade the schema."""

from __future__ import annotations

import typer

from orchestrator.cli.context import console, engine, safe_database_url
from orchestrator.migrations import current_revision, head_revision, upgrade

app = typer.Typer(help="Create or upgrade the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Create the tables, or bring them up to this version's schema."""
    before = current_revision(engine())
    upgrade(engine())
    after = current_revision(engine())
    if before == after:
        console.print(f"{safe_database_url()} is already at schema {after}.")
    else:
        console.print(f"{safe_database_url()} upgraded from {before or 'empty'} to {after}.")


@app.command("status")
def status_command() -> None:
    """Show the schema revision of the database and of this version."""
    current, head = current_revision(engine()), head_revision(engine())
    state = "up to date" if current == head else "needs `optout db upgrade`"
    console.print(f"{safe_database_url()}: schema {current or 'empty'} (newest {head}): {state}")
