"""The `optout` command: thin commands that parse, call one service, and print.

`main()` is the console script. It turns every error a person can cause into a one-line message
(exit 2) and any other failure into a short note with where the details were logged (exit 1):
people never see a Python traceback.
"""

from __future__ import annotations

import sys

import typer

from orchestrator.cli import (
    admin,
    audit,
    campaigns,
    db,
    demo,
    employees,
    mail,
    policies,
    replica,
    reports,
    run_policy,
    serve,
    sessions,
    verify,
    worker,
)
from orchestrator.cli.context import report_failure

app = typer.Typer(
    name="optout",
    help="Fleet opt-out orchestrator: take employees' accounts out of AI-training programs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(employees.app, name="employees")
app.add_typer(sessions.app, name="sessions")
app.add_typer(policies.app, name="policies")
app.add_typer(replica.app, name="replica")
app.add_typer(audit.app, name="audit")
app.add_typer(campaigns.app, name="campaign")
app.add_typer(mail.app, name="mail")
app.add_typer(reports.bundle_app, name="bundle")
app.add_typer(reports.evidence_app, name="evidence")
app.command("report")(reports.report_command)
app.add_typer(admin.app, name="admin")
app.command("serve")(serve.serve_command)
app.command("demo")(demo.demo_command)
app.command("run-policy")(run_policy.run_policy_command)
app.command("worker")(worker.worker_command)
app.command("verify")(verify.verify_command)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except Exception as exc:  # the last line of defence for people's terminals
        sys.exit(report_failure(exc))
