"""`optout sessions`: keep the browser sessions employees provide, encrypted at rest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.context import actor, console, settings, unit_of_work
from orchestrator.core.clock import utcnow
from orchestrator.core.errors import OrchestratorError
from orchestrator.employees.sessions import parse_storage_state, store_session

app = typer.Typer(help="Employees' platform sessions (never passwords).", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(help="Playwright storage-state JSON exported by the employee.")
    ],
    employee: Annotated[str, typer.Option(help="The employee's email.")],
    platform: Annotated[str, typer.Option(help="Platform name, e.g. linkedin.")],
) -> None:
    """Encrypt and keep an employee's session for one platform (replaces an older one)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise OrchestratorError(f"cannot read {file}: {exc.strerror}") from exc
    state = parse_storage_state(data, source=file.name)
    with unit_of_work() as session:
        store_session(
            session,
            employee_email=employee,
            platform=platform,
            storage_state=state,
            secret=settings().secret(),
            actor=actor(),
            now=utcnow(),
        )
    console.print(
        f"Stored {employee}'s {platform} session ({len(state['cookies'])} cookies), encrypted. "
        f"You can delete {file} now."
    )
