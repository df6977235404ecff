"""Running the demo: each step calls the same services an admin's commands call."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orchestrator.audit.service import verify_chain
from orchestrator.core.clock import utcnow
from orchestrator.core.db import make_engine, session_scope
from orchestrator.core.errors import OrchestratorError
from orchestrator.core.settings import Settings
from orchestrator.employees.service import import_directory, list_employees
from orchestrator.migrations import upgrade

SAMPLE_DIRECTORY = "sample_directory.csv"
DEMO_ACTOR = "demo:admin"


@dataclass(frozen=True)
class DemoResult:
    """What the demo left behind, for the summary and for tests."""

    output_dir: Path
    employees: int
    departments: dict[str, int]
    audit_events: int


def run_demo(output_dir: Path, *, console: Console) -> DemoResult:
    """Build a fresh installation in `output_dir` and run every step that exists so far."""
    if output_dir.exists() and any(output_dir.iterdir()):
        if not (output_dir / "data").is_dir():
            raise OrchestratorError(
                f"{output_dir} exists and is not a demo output folder; choose another --out"
            )
        shutil.rmtree(output_dir)
    settings = Settings(data_dir=output_dir / "data", database_url=None)
    settings.ensure_data_dir()
    engine = make_engine(settings.resolved_database_url)

    console.rule("1. Database")
    upgrade(engine)
    console.print(f"Schema created in {settings.resolved_database_url}")

    console.rule("2. Employee directory")
    sample = resources.files("orchestrator.demo").joinpath(SAMPLE_DIRECTORY).read_bytes()
    (output_dir / SAMPLE_DIRECTORY).write_bytes(sample)
    with session_scope(engine) as session:
        report = import_directory(
            session, data=sample, source=SAMPLE_DIRECTORY, actor=DEMO_ACTOR, now=utcnow()
        )
    console.print(
        f"Imported {output_dir / SAMPLE_DIRECTORY}: {report.created} employees created "
        f"in {report.departments_created} departments."
    )
    with session_scope(engine) as session:
        employees, total = list_employees(session, limit=10_000)
    departments = Counter(employee.department.split("/")[0] for employee in employees)
    countries = Counter(employee.country for employee in employees)
    table = Table(title="Employees by department", title_justify="left")
    table.add_column("department")
    table.add_column("employees", justify="right")
    for department, count in sorted(departments.items()):
        table.add_row(department, str(count))
    console.print(table)
    console.print(
        f"{len(countries)} countries: "
        + ", ".join(f"{code} {count}" for code, count in countries.most_common())
    )

    console.rule("3. Audit log")
    with session_scope(engine) as session:
        chain = verify_chain(session)
    if not chain.ok:
        raise OrchestratorError(f"the demo's audit chain does not verify: {chain.problem}")
    head = f"#{chain.head.seq} {chain.head.hash[:16]}…" if chain.head else "none"
    console.print(f"{chain.checked} audit events, hash chain intact (head {head}).")
    engine.dispose()

    console.rule("Done")
    console.print(
        f"Everything is in {output_dir}/. Look around with, for example:\n"
        f"  OPTOUT_DATA_DIR={output_dir / 'data'} .venv/bin/optout employees list "
        "--department Engineering\n"
        f"  OPTOUT_DATA_DIR={output_dir / 'data'} .venv/bin/optout audit tail"
    )
    return DemoResult(output_dir, total, dict(departments), chain.checked)
