"""`optout mail`: deliver the outbox now, and see what is waiting."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from orchestrator.cli.context import console, engine, errors, settings, unit_of_work
from orchestrator.notifications.delivery import DeliveryReport, SmtpSettings, deliver_due
from orchestrator.notifications.outbox import count_by_state, oldest_waiting

app = typer.Typer(help="Email: the outbox and its delivery over SMTP.", no_args_is_help=True)


def deliver(*, ignore_backoff: bool = False) -> DeliveryReport:
    """Send what is due after a command committed, and say what happened."""
    smtp = SmtpSettings.from_settings(settings())
    with console.status(f"Sending mail through {smtp.host}:{smtp.port}…"):
        report = deliver_due(engine(), smtp=smtp, actor="cli:mail", ignore_backoff=ignore_backoff)
    print_delivery(report)
    return report


def print_delivery(report: DeliveryReport) -> None:
    """One line on a delivery pass, and the reasons of any trouble."""
    if not (report.sent or report.deferred or report.failed or report.expired):
        console.print("No mail was due.")
        return
    console.print(
        f"Mail: {report.sent} sent, {report.deferred} waiting to retry, {report.failed} refused, "
        f"{report.expired} expired unsent."
    )
    for reason in report.errors[:5]:
        errors.print(f"  [yellow]{reason}[/]", highlight=False)
    if report.deferred:
        errors.print(
            "  Waiting messages are retried automatically (1 minute, doubling up to 1 hour); "
            "`optout mail send --now` retries them at once.",
            highlight=False,
        )


@app.command("send")
def send_command(
    now: Annotated[
        bool, typer.Option("--now", help="Also retry messages waiting for their next attempt.")
    ] = False,
) -> None:
    """Deliver every message that is due (each is recorded in the audit log)."""
    with unit_of_work():
        pass  # refuses early, with the fix, when the schema is not current
    deliver(ignore_backoff=now)


@app.command("status")
def status_command() -> None:
    """How many messages are in each state, and why the oldest waiting one has not gone out."""
    with unit_of_work() as session:
        counts = count_by_state(session)
        oldest = oldest_waiting(session)
    table = Table(title="Mail outbox", title_justify="left")
    table.add_column("state")
    table.add_column("messages", justify="right")
    for state, count in counts.items():
        table.add_row(state, str(count))
    console.print(table)
    if oldest is not None:
        console.print(
            f"Oldest waiting: #{oldest.id} to {oldest.to_address}, queued "
            f"{oldest.created_at:%Y-%m-%d %H:%M} UTC, {oldest.attempts} attempts"
            + (f"; last error: {oldest.last_error}" if oldest.last_error else ""),
            highlight=False,
        )
