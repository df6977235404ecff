"""`optout run-policy`: run one policy for one employee, here, for debugging."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.automation.engine import run_task_alone, write_outcome
from orchestrator.cli.context import actor, console, settings, unit_of_work
from orchestrator.cli.policies import loaded_policies
from orchestrator.core.clock import utcnow
from orchestrator.core.errors import OrchestratorError
from orchestrator.flows.engine_tasks import engine_task, seed_replica_session
from orchestrator.replica import Behaviour


def run_policy_command(
    policy_id: Annotated[str, typer.Argument(help="The policy id, e.g. linkedin-genai-training.")],
    employee: Annotated[str, typer.Option(help="The employee's email.")],
    verify_only: Annotated[
        bool, typer.Option("--verify-only", help="Read the state; never click (re-verification).")
    ] = False,
    seed_replica: Annotated[
        bool,
        typer.Option(
            "--seed-replica",
            help="Create the employee's account on the replica (OPTOUT_REPLICA_URL) and use it.",
        ),
    ] = False,
    behaviour: Annotated[
        list[Behaviour] | None,
        typer.Option(help="Replica behaviour for --seed-replica (repeatable)."),
    ] = None,
    headed: Annotated[bool, typer.Option("--headed", help="Show the browser window.")] = False,
) -> None:
    """Run one policy for one employee against the replica (or the real site), print the proof."""
    current = settings()
    loaded = loaded_policies().get(policy_id)
    if seed_replica and current.replica_url is None:
        raise OrchestratorError(
            "--seed-replica needs OPTOUT_REPLICA_URL (see optout replica serve)"
        )
    evidence_dir = current.resolved_evidence_dir / "debug"
    task_id = f"{utcnow():%Y%m%dT%H%M%S}-{policy_id}-{employee.lower()}"
    with unit_of_work() as session:
        if seed_replica:
            assert current.replica_url is not None
            seed_replica_session(
                session,
                replica_url=current.replica_url,
                employee_email=employee,
                platform=loaded.policy.platform,
                behaviours=[str(item) for item in behaviour or []],
                secret=current.secret(),
                actor=actor(),
                now=utcnow(),
            )
        task = engine_task(
            session,
            loaded=loaded,
            employee_email=employee,
            secret=current.secret(),
            evidence_dir=evidence_dir,
            task_id=task_id,
            replica_url=current.replica_url,
            mode="verify" if verify_only else "opt_out",
            on=datetime.now(UTC).date(),
        )
    target = task.base_url or loaded.policy.origin
    with console.status(f"Running {policy_id} for {employee} on {target}…"):
        outcome = run_task_alone(task, headless=not headed)
    outcome_file = write_outcome(outcome, evidence_dir)
    table = Table(title=f"{policy_id} for {employee}", title_justify="left", show_header=False)
    table.add_row("outcome", f"[bold]{outcome.status.value}[/]")
    table.add_row("why", outcome.message)
    for label, value in (
        ("step", outcome.step),
        ("what the employee must do", outcome.employee_action),
        ("retry later", "yes" if outcome.transient else None),
        ("rule", outcome.rule_id and f"{outcome.rule_id} ({outcome.rule_source})"),
        ("control", outcome.control and outcome.control.aria),
        ("captured", outcome.captured and json.dumps(outcome.captured)),
        ("final URL", outcome.final_url),
    ):
        if value:
            table.add_row(label, str(value))
    for item in outcome.evidence:
        table.add_row(item.kind, f"{evidence_dir / item.path}\nsha256 {item.sha256}")
    table.add_row("outcome record", str(outcome_file))
    console.print(table)
    if not outcome.status.compliant and outcome.status.value != "not_applicable":
        raise typer.Exit(code=1)
