"""`optout audit`: read and verify the hash-chained audit log."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.audit.service import tail, verify_chain
from orchestrator.cli.context import console, errors, unit_of_work
from orchestrator.cli.employees import OutputFormat

app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
def verify_command() -> None:
    """Recompute every event's hash; name the first event that was altered, inserted or lost."""
    with unit_of_work() as session, console.status("Verifying the audit chain…"):
        report = verify_chain(session)
    if report.ok:
        head = f"head #{report.head.seq} {report.head.hash}" if report.head else "empty log"
        console.print(f"[green]Audit chain intact:[/] {report.checked} events; {head}.")
        return
    errors.print(
        f"[bold red]Audit chain broken at event #{report.broken_seq}:[/] {report.problem}. "
        f"The {report.checked} events before it are intact.",
        highlight=False,
    )
    raise typer.Exit(code=1)


@app.command("tail")
def tail_command(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 20,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
) -> None:
    """Show the newest audit events, oldest first."""
    with unit_of_work() as session:
        events = tail(session, limit=limit)
    if output is OutputFormat.JSON:
        typer.echo(
            json.dumps(
                [event.model_dump(mode="json") for event in events], ensure_ascii=False, indent=2
            )
        )
        return
    table = Table(title=f"Last {len(events)} audit events", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("time (UTC)", no_wrap=True)
    for column in ("actor", "action", "subject"):
        table.add_column(column, no_wrap=True, overflow="fold")
    table.add_column("data", no_wrap=True, overflow="ellipsis", max_width=60)
    for event in events:
        table.add_row(
            str(event.seq),
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.actor,
            event.action,
            f"{event.subject_type} {event.subject_id}",
            json.dumps(event.data, ensure_ascii=False)[:120],
        )
    console.print(table)
