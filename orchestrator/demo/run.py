"""The main job, end to end, on embedded defaults: what a new user sees first.

Each step calls the same services an admin's commands call. Around the product run only local
stand-ins: the replica of the platform pages, an SMTP sink that keeps every message, and the
consent pages served over real HTTP; employees' answers are given by following the emailed
links, and the opt-outs run through ansible-runner and Chromium like any worker's.
"""

from __future__ import annotations

import re
import secrets
import shutil
import threading
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from importlib import resources
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from orchestrator.admins.models import Role
from orchestrator.admins.service import create_admin
from orchestrator.audit.service import verify_chain
from orchestrator.campaigns.service import CampaignScope, create_campaign, launch_campaign
from orchestrator.consent.config import ConsentConfig
from orchestrator.core.clock import utcnow
from orchestrator.core.db import make_engine, session_scope
from orchestrator.core.errors import OrchestratorError
from orchestrator.core.settings import Settings
from orchestrator.demo.scenario import Answer, Person, cast
from orchestrator.demo.servers import MailSink, ThreadedServer, free_port
from orchestrator.employees.models import Employee
from orchestrator.employees.service import import_directory, list_employees
from orchestrator.flows.engine_tasks import seed_replica_session
from orchestrator.flows.execute import CycleReport, WorkerConfig
from orchestrator.jobs.models import Job
from orchestrator.jobs.queue import what_they_wait_for
from orchestrator.migrations import upgrade
from orchestrator.notifications.delivery import SmtpSettings, deliver_due
from orchestrator.policies import PolicySet, load_policies
from orchestrator.replica import create_replica_app
from orchestrator.reports import (
    ReportFormat,
    ReportParameters,
    build_department_report,
    render_report,
    verify_bundle,
    write_evidence_bundle,
)
from orchestrator.web.app import create_app
from orchestrator.worker.loop import work

SAMPLE_DIRECTORY = "sample_directory.csv"
DEMO_ACTOR = "demo:admin"
POLICY_IDS = ("linkedin-genai-training", "linkedin-data-processing-objection")
_LINK = re.compile(r"https?://\S+/consent/(?:withdraw/)?[A-Za-z0-9._-]+")
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@dataclass(frozen=True)
class DemoResult:
    """What the demo left behind, for the summary and for the test that checks it."""

    output_dir: Path
    employees: int
    departments: dict[str, int]
    answers: dict[str, int]
    jobs: dict[str, int]
    reports: dict[str, Path]
    bundle: Path
    bundle_problems: list[str]
    audit_events: int
    people: list[Person] = field(default_factory=list)


def run_demo(output_dir: Path, *, console: Console, keep_running: bool = False) -> DemoResult:
    """Build a fresh installation in `output_dir` and run the whole product once."""
    _fresh_folder(output_dir)
    policies_dir, playbooks_dir = Path("policies"), Path("playbooks")
    if not (policies_dir.is_dir() and playbooks_dir.is_dir()):
        raise OrchestratorError(
            "run the demo from the project's folder (it needs policies/ and playbooks/)"
        )
    with ExitStack() as stack:
        mail = MailSink().start()
        stack.callback(mail.stop)
        replica = ThreadedServer(create_replica_app()).start()
        stack.callback(replica.stop)
        api_port = free_port()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=output_dir / "data",
            database_url=None,
            public_base_url=f"http://127.0.0.1:{api_port}",
            replica_url=replica.url,
            smtp_host=mail.host,
            smtp_port=mail.port,
            mail_from="IT privacy team <privacy@example.com>",
            contact_email="privacy@example.com",
            admin_email="it-admin@example.com",
            # The replica is ours: no need to pace it like a real platform.
            pace_per_minute=0,
        )
        settings.ensure_data_dir()
        engine = make_engine(settings.resolved_database_url)
        stack.callback(engine.dispose)
        policies = load_policies(settings.policies_dir)

        console.rule("1. Installation")
        upgrade(engine)
        api = ThreadedServer(create_app(settings, engine=engine, policies=policies), port=api_port)
        api.start()
        stack.callback(api.stop)
        console.print(
            f"Database {settings.resolved_database_url}\n"
            f"Admin UI and consent pages {api.url}\n"
            f"Replica of the platform pages {replica.url} (never the real sites)\n"
            f"SMTP sink 127.0.0.1:{mail.port}",
            highlight=False,
        )

        console.rule("2. Employee directory")
        people, departments = _import_directory(engine, settings, output_dir, console)

        console.rule("3. Campaign: both LinkedIn opt-outs, everyone")
        _launch(engine, settings, policies, console)

        console.rule("4. Employees answer by following the emailed link")
        answers = _answer_by_email(mail, people, console)

        console.rule("5. Opt-outs through ansible-runner and Chromium")
        jobs = run_jobs(engine, settings, policies, console)

        console.rule("6. Reports and the evidence bundle")
        reports, bundle, problems = _write_reports(engine, settings, policies, output_dir, console)

        with session_scope(engine) as session:
            chain = verify_chain(session)
        if not chain.ok:
            raise OrchestratorError(f"the demo's audit chain does not verify: {chain.problem}")

        result = DemoResult(
            output_dir=output_dir,
            employees=len(people),
            departments=departments,
            answers=answers,
            jobs=jobs,
            reports=reports,
            bundle=bundle,
            bundle_problems=problems,
            audit_events=chain.checked,
            people=people,
        )
        _summary(result, mail, console)
        if keep_running:
            _keep_admin_ui_running(engine, api.url, console)
    return result


def _fresh_folder(output_dir: Path) -> None:
    if output_dir.exists() and any(output_dir.iterdir()):
        if not (output_dir / "data").is_dir():
            raise OrchestratorError(
                f"{output_dir} exists and is not a demo output folder; choose another --out"
            )
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)


def _import_directory(
    engine: Engine, settings: Settings, output_dir: Path, console: Console
) -> tuple[list[Person], dict[str, int]]:
    sample = resources.files("orchestrator.demo").joinpath(SAMPLE_DIRECTORY).read_bytes()
    (output_dir / SAMPLE_DIRECTORY).write_bytes(sample)
    now = utcnow()
    with session_scope(engine) as session:
        report = import_directory(
            session, data=sample, source=SAMPLE_DIRECTORY, actor=DEMO_ACTOR, now=now
        )
    with session_scope(engine) as session:
        employees, _ = list_employees(session, limit=10_000)
        emails_in_file_order = [
            email
            for (email,) in session.execute(select(Employee.email).order_by(col(Employee.id))).all()
        ]
    people = cast(emails_in_file_order)
    # Each employee signed in to the replica once; the orchestrator keeps that session,
    # encrypted. One of them has since been signed out; two had switched it off already.
    with session_scope(engine) as session:
        for person in people:
            seed_replica_session(
                session,
                replica_url=settings.replica_url or "",
                employee_email=person.email,
                platform="linkedin",
                behaviours=person.replica_behaviours,
                secret=settings.secret(),
                actor=DEMO_ACTOR,
                now=now,
            )
    departments = Counter(employee.department.split("/")[0] for employee in employees)
    countries = Counter(employee.country for employee in employees)
    table = Table(title=f"{report.created} employees imported", title_justify="left")
    table.add_column("department")
    table.add_column("employees", justify="right")
    for department, count in sorted(departments.items()):
        table.add_row(department, str(count))
    console.print(table)
    console.print(
        f"{len(countries)} countries: "
        + ", ".join(f"{code} {count}" for code, count in countries.most_common()),
        highlight=False,
    )
    return people, dict(departments)


def _launch(engine: Engine, settings: Settings, policies: PolicySet, console: Console) -> None:
    config = ConsentConfig.from_settings(settings, policies=policies)
    now = utcnow()
    with session_scope(engine) as session:
        campaign = create_campaign(
            session,
            name="LinkedIn AI-training opt-out",
            policy_ids=POLICY_IDS,
            scope=CampaignScope(everyone=True),
            policies=policies,
            deadline=now + timedelta(days=14),
            remind_every=timedelta(days=3),
            actor=DEMO_ACTOR,
            now=now,
        )
        report = launch_campaign(
            session, campaign_id=campaign.id, config=config, actor=DEMO_ACTOR, now=now
        )
    delivered = deliver_due(engine, smtp=SmtpSettings.from_settings(settings), actor=DEMO_ACTOR)
    console.print(
        f"Campaign {report.campaign_id}: {report.in_scope} employees in scope, "
        f"{report.asked} asked for consent, {report.exemptions} exemptions recorded with their "
        f"rule and source; {delivered.sent} emails sent.",
        highlight=False,
    )


def _answer_by_email(mail: MailSink, people: list[Person], console: Console) -> dict[str, int]:
    answers: Counter[str] = Counter()
    with httpx.Client(headers={"User-Agent": "demo employee browser"}, timeout=30) as browser:
        for person in people:
            messages = mail.to(person.email)
            if not messages:
                answers["not asked (exempt)"] += 1
                continue
            if person.answer is Answer.SILENT:
                answers[person.answer.told] += 1
                continue
            link = _decide_link(messages[0])
            page = browser.get(link)
            fields = dict(_HIDDEN.findall(page.text))
            answered = browser.post(link, data={**fields, "decision": person.answer.value})
            if answered.status_code != 200:
                raise OrchestratorError(
                    f"the consent page refused {person.email}'s answer "
                    f"(HTTP {answered.status_code})"
                )
            answers[person.answer.told] += 1
    console.print(
        ", ".join(f"{count} {answer}" for answer, count in answers.items()), highlight=False
    )
    return dict(answers)


def _decide_link(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    for link in _LINK.findall(text):
        if "/withdraw/" not in link:
            return str(link)
    raise OrchestratorError(f"the email to {message['To']} carries no approve link")


def run_jobs(
    engine: Engine, settings: Settings, policies: PolicySet, console: Console
) -> dict[str, int]:
    """Work the queue until nothing is due soon; say how each run went, how many jobs ended in
    each state, and what the jobs left behind wait for (and who can release them)."""

    def show(report: CycleReport, due: int, later: int) -> None:
        states = ", ".join(f"{state} {count}" for state, count in sorted(report.states.items()))
        console.print(
            f"  run of {report.claimed} jobs: {states or 'nothing due'}; {due + later} waiting",
            highlight=False,
        )

    with console.status("Workers running opt-outs on the replica…"):
        totals = work(
            engine,
            settings=settings,
            policies=policies,
            config=WorkerConfig(name="demo-worker", batch_size=40, forks=2),
            until_empty=True,
            poll_seconds=0.5,
            max_wait=timedelta(seconds=60),
            on_cycle=show,
        )
    deliver_due(engine, smtp=SmtpSettings.from_settings(settings), actor=DEMO_ACTOR)
    with Session(engine) as session:
        jobs = dict(session.execute(select(Job.state, func.count()).group_by(col(Job.state))).all())
    console.print(
        f"{totals.claimed} jobs in {totals.cycles} worker cycles: "
        + ", ".join(f"{state} {count}" for state, count in sorted(jobs.items())),
        highlight=False,
    )
    for waiting in totals.left_waiting:
        console.print(what_they_wait_for(waiting), highlight=False)
    return {str(state): int(count) for state, count in jobs.items()}


def _write_reports(
    engine: Engine, settings: Settings, policies: PolicySet, output_dir: Path, console: Console
) -> tuple[dict[str, Path], Path, list[str]]:
    folder = output_dir / "reports"
    folder.mkdir()
    params = ReportParameters(
        department=None, as_of=None, generated_at=utcnow(), generated_by=DEMO_ACTOR
    )
    written: dict[str, Path] = {}
    with Session(engine) as session:
        report = build_department_report(session, params=params, policies=policies)
        for fmt in ReportFormat:
            path = folder / f"compliance.{fmt.value}"
            with path.open("wb") as handle:
                for chunk in render_report(report, fmt):
                    handle.write(chunk)
            written[fmt.value] = path
        bundle = output_dir / "evidence-bundle.zip"
        write_evidence_bundle(
            session, params=params, policies=policies, settings=settings, out=bundle
        )
    verification = verify_bundle(bundle)
    for name, path in written.items():
        console.print(f"{name.upper():5} {path} ({path.stat().st_size:,} bytes)", highlight=False)
    console.print(
        f"Evidence bundle {bundle}: {verification.files_checked} files, signature and hashes "
        + ("verified" if verification.ok else "FAILED: " + "; ".join(verification.problems)),
        highlight=False,
    )
    return written, bundle, list(verification.problems)


def _summary(result: DemoResult, mail: MailSink, console: Console) -> None:
    console.rule("Done")
    table = Table(title="What happened", title_justify="left")
    table.add_column("step")
    table.add_column("result")
    table.add_row("employees", f"{result.employees} in {len(result.departments)} departments")
    table.add_row("answers", ", ".join(f"{k} {v}" for k, v in result.answers.items()))
    table.add_row("jobs", ", ".join(f"{k} {v}" for k, v in sorted(result.jobs.items())))
    table.add_row("emails", f"{len(mail.messages)} delivered to the local SMTP sink")
    table.add_row("audit log", f"{result.audit_events} events, hash chain intact")
    table.add_row(
        "evidence bundle",
        "verified" if not result.bundle_problems else "; ".join(result.bundle_problems),
    )
    console.print(table)
    data = result.output_dir / "data"
    console.print(
        f"Look in {result.output_dir}/: reports/compliance.html (open it in a browser), "
        "compliance.pdf, .csv and .json; evidence-bundle.zip (check it with "
        f"`optout bundle verify {result.bundle}`); data/evidence/ holds the screenshots.\n"
        f"Explore with the CLI: OPTOUT_DATA_DIR={data} .venv/bin/optout campaign status 1",
        highlight=False,
    )


def _keep_admin_ui_running(engine: Engine, url: str, console: Console) -> None:
    password = secrets.token_urlsafe(12)
    with session_scope(engine) as session:
        create_admin(
            session,
            username="demo-admin",
            password=password,
            role=Role.ADMIN,
            actor=DEMO_ACTOR,
            now=utcnow(),
        )
    console.print(
        f"\nThe admin UI runs at {url}/admin — sign in as demo-admin with the password "
        f"{password}\nPress Ctrl-C to stop.",
        highlight=False,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("Stopped.")
