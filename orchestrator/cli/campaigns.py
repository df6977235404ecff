"""`optout campaign`: create, launch and steer campaigns; see where they stand."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.campaigns.service import (
    CampaignScope,
    CampaignView,
    campaign_status,
    cancel_campaign,
    create_campaign,
    launch_campaign,
    list_campaigns,
    pause_campaign,
    remind_due,
    resume_campaign,
    run_due,
)
from orchestrator.campaigns.timing import parse_duration, parse_moment
from orchestrator.campaigns.windows import describe, parse_windows
from orchestrator.cli.context import actor, console, settings, unit_of_work
from orchestrator.cli.employees import OutputFormat
from orchestrator.cli.mail import deliver
from orchestrator.consent.config import ConsentConfig
from orchestrator.core.clock import utcnow
from orchestrator.core.models import MAX_ID
from orchestrator.policies import load_policies

app = typer.Typer(help="Campaigns: policies × employees, asked for consent.", no_args_is_help=True)

CampaignId = Annotated[
    int, typer.Argument(min=1, max=MAX_ID, help="The campaign's number (see `campaign list`).")
]


def _config() -> ConsentConfig:
    return ConsentConfig.from_settings(settings())


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


@app.command("create")
def create_command(
    name: Annotated[str, typer.Option(help="What the campaign is called in emails and lists.")],
    policy: Annotated[list[str], typer.Option("--policy", help="A policy id; repeat for several.")],
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="A department (with its sub-departments); repeatable."),
    ] = None,
    email: Annotated[
        list[str] | None, typer.Option("--email", help="An employee's email; repeatable.")
    ] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Every active employee.")] = False,
    deadline: Annotated[
        str | None,
        typer.Option(help="Answer by (ISO 8601; a bare date means its end); default: 14 days."),
    ] = None,
    remind_every: Annotated[
        str | None, typer.Option(help="Remind those who have not answered every 12h, 3d, 1w…")
    ] = None,
    start_at: Annotated[
        str | None, typer.Option(help="Launch by itself at this time (ISO 8601); default: by hand.")
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="Time zone of times given without an offset, e.g. Europe/Berlin.")
    ] = "UTC",
    window: Annotated[
        list[str] | None,
        typer.Option(
            "--window",
            help="Run jobs only in this window of the employee's local time, e.g. "
            "'mon-fri 22:00-06:00' or 'sat,sun 00:00-24:00'; repeatable. Default: any time.",
        ),
    ] = None,
) -> None:
    """Create a campaign (a draft to launch, or scheduled with --start-at)."""
    policies = load_policies(settings().policies_dir)
    now = utcnow()
    with unit_of_work() as session:
        view = create_campaign(
            session,
            name=name,
            policy_ids=policy,
            scope=CampaignScope(everyone, tuple(department or ()), tuple(email or ())),
            policies=policies,
            deadline=parse_moment(deadline, timezone=timezone, end_of_day=True)
            if deadline
            else None,
            remind_every=parse_duration(remind_every) if remind_every else None,
            starts_at=parse_moment(start_at, timezone=timezone) if start_at else None,
            timezone=timezone,
            run_windows=parse_windows(window or ()),
            actor=actor(),
            now=now,
        )
    console.print(f"Created campaign {view.id} ({view.state}): {view.name}.")
    if view.run_windows:
        console.print(
            f"Jobs run only {describe(view.run_windows)} on each employee's clock "
            f"(employees without a time zone: {view.timezone}).",
            highlight=False,
        )
    if view.starts_at:
        console.print(
            f"It launches by itself at {_when(view.starts_at)} (when `optout campaign tick` or "
            "the worker's scheduler runs)."
        )
    else:
        console.print(f"Launch it with `optout campaign launch {view.id}`.")


@app.command("launch")
def launch_command(campaign_id: CampaignId) -> None:
    """Decide exemptions, ask everyone else for consent by email, and send the mail."""
    config = _config()
    with console.status("Launching…"), unit_of_work() as session:
        report = launch_campaign(
            session, campaign_id=campaign_id, config=config, actor=actor(), now=utcnow()
        )
    console.print(
        f"Campaign {campaign_id} is {report.state}: {_count(report.in_scope, 'employee')} in "
        f"scope, {report.asked} asked for consent (answer by {_when(report.respond_by)}), "
        f"{report.exempt_employees} exempt from every policy "
        f"({_count(report.exemptions, 'exemption')} recorded with their rule and source)."
    )
    if report.asked:
        deliver()


@app.command("status")
def status_command(
    campaign_id: CampaignId,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
) -> None:
    """Counts per consent state, job state and mail state, and exemptions per policy."""
    with unit_of_work() as session:
        status = campaign_status(session, campaign_id=campaign_id)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(status.as_json(), ensure_ascii=False, indent=2))
        return
    campaign = status.campaign
    console.print(
        f"[bold]Campaign {campaign.id}: {campaign.name}[/] ({campaign.state})\n"
        f"policies {', '.join(campaign.policy_ids)}; scope {campaign.scope.describe()}\n"
        f"launched {_when(campaign.launched_at)}; answer by {_when(campaign.consent_deadline)}"
        + (
            f"; reminders every {campaign.reminder_interval_hours} h"
            if campaign.reminder_interval_hours
            else ""
        ),
        highlight=False,
    )
    table = Table(title_justify="left")
    for column in ("consents", "", "jobs", "", "mail", ""):
        table.add_column(column, justify="right" if not column else "left")
    rows = [list(group.items()) for group in (status.consents, status.jobs, status.mail)]
    for index in range(max(len(group) for group in rows)):
        cells: list[str] = []
        for group in rows:
            state, count = group[index] if index < len(group) else ("", "")
            cells += [state, str(count)]
        table.add_row(*cells)
    console.print(table)
    if status.held.get("run_window"):
        console.print(
            f"{_count(status.held['run_window'], 'job')} waiting for the run window "
            f"({describe(campaign.run_windows)}); "
            f"the next opens {_when(status.next_window_opens_at)}.",
            highlight=False,
        )
    if status.exemptions:
        console.print(
            "Exempt: "
            + ", ".join(f"{policy_id} {count}" for policy_id, count in status.exemptions.items())
        )


@app.command("list")
def list_command(
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
) -> None:
    """Every campaign, newest first."""
    with unit_of_work() as session:
        views = list_campaigns(session)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([view.as_json() for view in views], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(views)} campaigns", title_justify="left")
    for column in ("#", "name", "state", "policies", "scope", "launched", "answer by"):
        table.add_column(column)
    for view in views:
        table.add_row(
            str(view.id),
            view.name,
            view.state,
            ", ".join(view.policy_ids),
            view.scope.describe(),
            _when(view.launched_at),
            _when(view.consent_deadline),
        )
    console.print(table)


@app.command("remind")
def remind_command(
    campaign_id: Annotated[
        int | None,
        typer.Argument(min=1, max=MAX_ID, help="Only this campaign (default: every running one)."),
    ] = None,
    all_pending: Annotated[
        bool,
        typer.Option("--all-pending", help="Remind everyone who has not answered, now."),
    ] = False,
) -> None:
    """Remind employees who have not answered, at each campaign's cadence (or all now)."""
    if all_pending and campaign_id is None:
        raise typer.BadParameter("--all-pending needs a campaign number")
    config = _config()
    with unit_of_work() as session:
        count = remind_due(
            session,
            config=config,
            now=utcnow(),
            actor=actor(),
            campaign_id=campaign_id,
            everyone=all_pending,
        )
    console.print(f"{_count(count, 'reminder')} queued.")
    if count:
        deliver()


def _steer(verb: str, view: CampaignView) -> None:
    console.print(f"Campaign {view.id} ({view.name}) {verb}; it is now {view.state}.")


@app.command("pause")
def pause_command(campaign_id: CampaignId) -> None:
    """Hold a running campaign: no reminders; its jobs wait until it resumes."""
    with unit_of_work() as session:
        view = pause_campaign(session, campaign_id=campaign_id, actor=actor(), now=utcnow())
    _steer("paused", view)


@app.command("resume")
def resume_command(campaign_id: CampaignId) -> None:
    """Resume a paused campaign."""
    with unit_of_work() as session:
        view = resume_campaign(session, campaign_id=campaign_id, actor=actor(), now=utcnow())
    _steer("resumed", view)


@app.command("cancel")
def cancel_command(
    campaign_id: CampaignId,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Stop a campaign: withdraw unanswered requests and cancel jobs not yet started."""
    with unit_of_work() as session:
        view = cancel_campaign(
            session, campaign_id=campaign_id, actor=actor(), now=utcnow(), reason=reason
        )
    _steer("cancelled", view)


@app.command("tick")
def tick_command() -> None:
    """Do what is due now: launch scheduled campaigns, expire overdue requests, remind, send."""
    config = _config()
    with unit_of_work() as session:
        report = run_due(session, config=config, now=utcnow(), actor=actor())
    console.print(
        f"{_count(len(report.launched), 'campaign')} launched, "
        f"{_count(report.expired, 'request')} expired, "
        f"{_count(len(report.completed), 'campaign')} completed, "
        f"{_count(report.reminded, 'reminder')} queued."
    )
    deliver()
