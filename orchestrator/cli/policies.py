"""`optout policies`: list, show and validate the opt-out policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.cli.context import actor, console, settings, unit_of_work
from orchestrator.cli.employees import OutputFormat
from orchestrator.core.clock import utcnow
from orchestrator.jobs.queue import paused_policies, resume_policy
from orchestrator.policies import PolicySet, load_policies

app = typer.Typer(help="The opt-out policies (policies/*.yml).", no_args_is_help=True)


def loaded_policies(directory: Path | None = None) -> PolicySet:
    """The policy set from `directory` or the configured policies directory."""
    return load_policies(directory or settings().policies_dir)


@app.command("list")
def list_command(
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
) -> None:
    """List the policies with their platform, kind and version."""
    policies = loaded_policies()
    if output is OutputFormat.JSON:
        rows = [
            {
                "id": loaded.policy.id,
                "platform": loaded.policy.platform,
                "kind": loaded.policy.kind,
                "title": loaded.policy.title,
                "version": loaded.version,
                "verified_on": loaded.policy.verified_on,
            }
            for loaded in policies
        ]
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"{len(policies)} policies in {policies.directory}", title_justify="left")
    for column in ("id", "platform", "kind", "title", "version", "checked live"):
        table.add_column(column)
    for loaded in policies:
        policy = loaded.policy
        table.add_row(
            policy.id,
            policy.platform,
            policy.kind,
            policy.title,
            loaded.short_version,
            str(policy.verified_on) if policy.verified_on else "never",
        )
    console.print(table)


@app.command("show")
def show_command(
    policy_id: Annotated[str, typer.Argument(help="The policy id, e.g. linkedin-genai-training.")],
    raw: Annotated[bool, typer.Option("--raw", help="Print the policy file itself.")] = False,
) -> None:
    """Show what a policy does, where, for whom, and what it leaves uncovered."""
    loaded = loaded_policies().get(policy_id)
    if raw:
        typer.echo(loaded.path.read_text(encoding="utf-8"), nl=False)
        return
    policy = loaded.policy
    console.print(f"[bold]{policy.title}[/]  ({policy.id}, version {loaded.short_version})")
    console.print(policy.description, highlight=False)
    console.print(f"\n[bold]Where:[/] {policy.start_url} ({policy.kind})")
    console.print("[bold]Steps:[/] " + ", ".join(step.keyword for step in policy.steps))
    end_state = policy.verify.control_state or f"captured {policy.verify.captured}"
    console.print(f"[bold]Verified by:[/] {end_state}; reload first: {policy.verify.reload}")
    console.print("[bold]Evidence:[/] " + ", ".join(policy.evidence))
    console.print(f"[bold]Never opens:[/] {', '.join(policy.deny_urls) or '-'}")
    if policy.applicability:
        table = Table(title="Applicability rules", title_justify="left")
        for column in ("rule", "effect", "regions", "from", "until", "confidence"):
            table.add_column(column)
        for rule in policy.applicability:
            table.add_row(
                rule.id,
                rule.effect,
                ", ".join(rule.regions),
                str(rule.effective_from),
                str(rule.effective_until or "-"),
                rule.confidence,
            )
        console.print(table)
    console.print(f"[bold]Residual risk:[/] {policy.residual_risk}", highlight=False)
    checked = policy.verified_on or "never (labels come from public research, see the file)"
    console.print(f"[bold]Checked against the live site:[/] {checked}")


@app.command("validate")
def validate_command(
    directory: Annotated[
        Path | None, typer.Argument(help="Directory to check (default: the configured one).")
    ] = None,
) -> None:
    """Load every policy; list every problem (file, line, location, reason) if any."""
    policies = loaded_policies(directory)
    console.print(f"{len(policies)} policies in {policies.directory} are valid:")
    for loaded in policies:
        console.print(f"  {loaded.policy.id}  {loaded.version}")


@app.command("paused")
def paused_command() -> None:
    """List the policies paused after repeated identical failures, with the failure."""
    with unit_of_work() as session:
        paused = paused_policies(session)
    if not paused:
        console.print("No policy is paused.")
        return
    table = Table(title="Paused policies", title_justify="left")
    for column in ("policy", "since", "failures in a row", "failure"):
        table.add_column(column)
    for health in paused:
        since = health.paused_at.strftime("%Y-%m-%d %H:%M UTC") if health.paused_at else "-"
        table.add_row(
            health.policy_id, since, str(health.failures_in_a_row), health.failure_reason or "-"
        )
    console.print(table)


@app.command("resume")
def resume_command(
    policy_id: Annotated[str, typer.Argument(help="The paused policy's id.")],
) -> None:
    """Let a paused policy take jobs again, once its page and file have been reviewed."""
    loaded_policies().get(policy_id)  # refuses an unknown id with the known ones
    with unit_of_work() as session:
        resume_policy(session, policy_id=policy_id, actor=actor(), now=utcnow())
    console.print(f"{policy_id} takes jobs again; its waiting jobs run on the next pass.")
