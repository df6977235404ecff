"""`optout employees`: import the HR directory and list employees."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.cli.context import actor, console, errors, unit_of_work
from orchestrator.core.clock import utcnow
from orchestrator.core.errors import OrchestratorError
from orchestrator.core.models import MAX_OFFSET
from orchestrator.employees.directory import DirectoryImportError
from orchestrator.employees.service import import_directory, list_employees

app = typer.Typer(help="The employee directory.", no_args_is_help=True)

SHOWN_PROBLEMS = 50


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _print_problems(exc: DirectoryImportError, problems_out: Path | None) -> None:
    table = Table(title=exc.message, title_justify="left", title_style="bold red")
    for column in ("row", "column", "reason"):
        table.add_column(column)
    for problem in exc.problems[:SHOWN_PROBLEMS]:
        table.add_row(str(problem.row or "-"), problem.column or "-", problem.reason)
    errors.print(table)
    hidden = len(exc.problems) - SHOWN_PROBLEMS
    if problems_out is not None:
        with problems_out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "column", "reason"])
            writer.writerows((p.row, p.column or "", p.reason) for p in exc.problems)
        errors.print(f"All {len(exc.problems)} problems were written to {problems_out}.")
    elif hidden > 0:
        errors.print(f"… and {hidden} more; add --problems-out FILE.csv to get all of them.")


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV or JSON export of the HR system.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and report; change nothing.")
    ] = False,
    deactivate_missing: Annotated[
        bool,
        typer.Option("--deactivate-missing", help="Deactivate employees absent from the file."),
    ] = False,
    problems_out: Annotated[
        Path | None, typer.Option(help="Write every problem of a rejected file to this CSV.")
    ] = None,
) -> None:
    """Create, update (by case-insensitive email) and optionally deactivate employees."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise OrchestratorError(f"cannot read {file}: {exc.strerror}") from exc
    try:
        with console.status(f"Importing {file.name}…"), unit_of_work() as session:
            report = import_directory(
                session,
                data=data,
                source=file.name,
                actor=actor(),
                now=utcnow(),
                deactivate_missing=deactivate_missing,
                dry_run=dry_run,
            )
    except DirectoryImportError as exc:
        _print_problems(exc, problems_out)
        raise typer.Exit(code=2) from exc
    table = Table(
        title=f"{file.name}: {report.rows} rows"
        + (" (dry run: nothing changed)" if dry_run else ""),
        title_justify="left",
    )
    table.add_column("employees")
    table.add_column("count", justify="right")
    for label, count in (
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("deactivated", report.deactivated),
        ("departments created", report.departments_created),
    ):
        table.add_row(label, str(count))
    console.print(table)
    if not dry_run:
        console.print("Every change was recorded in the audit log.")


@app.command("list")
def list_command(
    department: Annotated[
        str | None, typer.Option(help="Department path; includes its sub-departments.")
    ] = None,
    country: Annotated[str | None, typer.Option(help="Country code, e.g. DE.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Only active or inactive.")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Part of a name or email.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    offset: Annotated[int, typer.Option(min=0, max=MAX_OFFSET)] = 0,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
) -> None:
    """List employees, with filters."""
    with unit_of_work() as session:
        employees, total = list_employees(
            session,
            department=department,
            country=country,
            active=active,
            search=search,
            limit=limit,
            offset=offset,
        )
    if output is OutputFormat.JSON:
        payload = {"total": total, "employees": [asdict(employee) for employee in employees]}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    table = Table(
        title=f"{len(employees)} of {total} employees", title_justify="left", show_lines=False
    )
    for column in ("email", "name", "department", "country", "fleet host", "active"):
        table.add_column(column)
    for employee in employees:
        table.add_row(
            employee.email,
            employee.name,
            employee.department,
            employee.country,
            employee.fleet_host or "(local)",
            "yes" if employee.active else "no",
        )
    console.print(table)
