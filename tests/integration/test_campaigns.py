"""Campaigns through the service layer: scope, exemptions by dated rules, steering, time passing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import verify_chain
from orchestrator.campaigns.models import Campaign, CampaignState, Exemption
from orchestrator.campaigns.service import (
    HELD_BY_PAUSE,
    CampaignError,
    CampaignScope,
    answer,
    campaign_status,
    cancel_campaign,
    create_campaign,
    expire_overdue,
    launch_campaign,
    launch_due_campaigns,
    pause_campaign,
    remind_due,
    resume_campaign,
    run_due,
)
from orchestrator.campaigns.timing import TimingError, parse_moment
from orchestrator.campaigns.windows import parse_windows
from orchestrator.consent.config import ConsentConfig
from orchestrator.consent.links import LinkSigner
from orchestrator.consent.models import Consent, ConsentState, LinkPurpose
from orchestrator.consent.service import (
    Decision,
    ProofItem,
    queue_receipt,
    read_link,
)
from orchestrator.core.db import session_scope
from orchestrator.core.errors import ConflictError, NotFoundError
from orchestrator.employees.models import Employee
from orchestrator.employees.service import import_directory
from orchestrator.jobs.models import Job, JobState
from orchestrator.jobs.queue import next_due_at, pending_count
from orchestrator.notifications.models import MailState, OutboxMessage
from orchestrator.policies import UnknownPolicyError, load_policies

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BEFORE_EU_CHANGE = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
GENAI = "linkedin-genai-training"
OBJECTION = "linkedin-data-processing-objection"
PEOPLE = (
    "email,name,department,country,linkedin_url\n"
    "ann@example.com,Ann Lee,Engineering/Platform,DE,https://www.linkedin.com/in/ann-lee\n"
    "bob@example.com,Bob Stone,Sales,US,https://www.linkedin.com/in/bob-stone\n"
    "chloe@example.com,Chloé Dubois,Engineering,FR,\n"
    "dev@example.com,Dev Patel,Sales/EMEA,GB,\n"
)
DECIDE_LINK = re.compile(r"https://optout\.example\.com/consent/([A-Za-z0-9._-]+)")
POLICIES = load_policies(POLICIES_DIR)
CONFIG = ConsentConfig(
    policies=POLICIES,
    signer=LinkSigner("campaign-test-secret-" + "c" * 32),
    public_base_url="https://optout.example.com",
    contact_email="privacy@example.com",
    evidence_retention_days=400,
)


@pytest.fixture
def directory(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        import_directory(session, data=PEOPLE.encode(), source="d.csv", actor="t", now=NOW)
    return engine


def create(engine: Engine, *, now: datetime = NOW, **overrides) -> int:
    values = {
        "name": "LinkedIn AI opt-out",
        "policy_ids": [GENAI],
        "scope": CampaignScope(everyone=True),
        "policies": POLICIES,
        "actor": "cli:admin",
        "now": now,
    }
    values.update(overrides)
    with session_scope(engine) as session:
        return create_campaign(session, **values).id


def launch(engine: Engine, campaign_id: int, *, now: datetime = NOW):
    with session_scope(engine) as session:
        return launch_campaign(
            session, campaign_id=campaign_id, config=CONFIG, actor="cli:admin", now=now
        )


def consents(engine: Engine) -> dict[str, Consent]:
    with Session(engine) as session:
        rows = session.exec(select(Consent, Employee.email).join(Employee)).all()
    return {email: consent for consent, email in rows}


def mail(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def audit_actions(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all())


def decide_token(engine: Engine, email: str) -> str:
    """The decide link's token from the newest consent email to `email`."""
    [*_, message] = [m for m in mail(engine) if m.to_address == email]
    return DECIDE_LINK.findall(message.text_body)[0]


def approve(engine: Engine, email: str, *, now: datetime = NOW) -> None:
    """Approve through the emailed link, as the consent page does."""
    token = decide_token(engine, email)
    with session_scope(engine) as session:
        view = read_link(session, token=token, purpose=LinkPurpose.DECIDE, config=CONFIG, now=now)
        answer(
            session,
            token=token,
            decision=Decision.APPROVE,
            shown_sha256=view.explanation.sha256,
            ip="10.0.0.1",
            user_agent="test",
            config=CONFIG,
            now=now,
        )


def test_eu_employees_are_exempt_from_the_linkedin_toggle_before_2025_11_03(
    directory: Engine,
) -> None:
    campaign_id = create(directory, now=BEFORE_EU_CHANGE, policy_ids=[GENAI, OBJECTION])
    report = launch(directory, campaign_id, now=BEFORE_EU_CHANGE)
    assert (report.in_scope, report.asked, report.exemptions) == (4, 4, 3)
    with Session(directory) as session:
        exemptions = session.exec(
            select(Exemption, Employee.email).join(Employee).order_by(Employee.email)
        ).all()
    assert [(e.policy_id, e.rule, email) for e, email in exemptions] == [
        (GENAI, "eu-eea-ch-excluded-at-launch", "ann@example.com"),
        (GENAI, "eu-eea-ch-excluded-at-launch", "chloe@example.com"),
        (GENAI, "uk-paused-after-ico", "dev@example.com"),
    ]
    for exemption, _ in exemptions:
        assert exemption.source and exemption.reason
        assert exemption.policy_version == POLICIES.get(GENAI).version
        assert exemption.decided_at == BEFORE_EU_CHANGE
    asked = consents(directory)
    assert set(asked["ann@example.com"].policy_versions) == {OBJECTION}  # the form still applies
    assert set(asked["bob@example.com"].policy_versions) == {GENAI, OBJECTION}
    ann_mail = next(m for m in mail(directory) if m.to_address == "ann@example.com")
    assert "Data Processing Objection Form" in ann_mail.text_body
    assert "Data for Generative AI Improvement" not in ann_mail.text_body
    assert audit_actions(directory).count("exemption.recorded") == 3


def test_after_2025_11_03_the_toggle_applies_in_the_eu_too(directory: Engine) -> None:
    report = launch(directory, create(directory, policy_ids=[GENAI]))
    assert (report.asked, report.exemptions, report.exempt_employees) == (4, 0, 0)


def test_employees_exempt_from_every_policy_get_no_email(directory: Engine) -> None:
    scope = CampaignScope(emails=("ann@example.com", "chloe@example.com", "bob@example.com"))
    campaign_id = create(directory, now=BEFORE_EU_CHANGE, scope=scope)
    report = launch(directory, campaign_id, now=BEFORE_EU_CHANGE)
    assert (report.in_scope, report.asked, report.exempt_employees) == (3, 1, 2)
    assert [m.to_address for m in mail(directory)] == ["bob@example.com"]
    assert set(consents(directory)) == {"bob@example.com"}


def test_nobody_to_ask_completes_the_campaign_at_launch(directory: Engine) -> None:
    scope = CampaignScope(departments=("Engineering",))  # Ann (DE) and Chloé (FR)
    report = launch(
        directory, create(directory, now=BEFORE_EU_CHANGE, scope=scope), now=BEFORE_EU_CHANGE
    )
    assert report.state == CampaignState.COMPLETED and report.asked == 0
    assert mail(directory) == []


def test_scope_by_department_includes_sub_departments_and_emails(directory: Engine) -> None:
    scope = CampaignScope(departments=("Sales",), emails=("Chloe@Example.com",))
    launch(directory, create(directory, scope=scope))
    assert set(consents(directory)) == {"bob@example.com", "dev@example.com", "chloe@example.com"}


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"policy_ids": ["nope"]}, UnknownPolicyError, "unknown policy 'nope'; known policies"),
        ({"policy_ids": []}, CampaignError, "at least one policy"),
        ({"scope": CampaignScope()}, CampaignError, "--all, --department D or --email E"),
        ({"scope": CampaignScope(True, ("Sales",))}, CampaignError, "not both"),
        ({"scope": CampaignScope(departments=("Nope",))}, NotFoundError, "no such department"),
        ({"scope": CampaignScope(emails=("x@y.z",))}, NotFoundError, "no employee with the email"),
        ({"timezone": "Mars/Olympus"}, TimingError, "unknown time zone"),
        ({"starts_at": NOW - timedelta(hours=1)}, CampaignError, "in the past"),
        ({"deadline": NOW + timedelta(minutes=10)}, CampaignError, "less than 1 hour"),
        ({"remind_every": timedelta(minutes=5)}, CampaignError, "at most once an hour"),
        ({"name": "  "}, CampaignError, "needs a name"),
    ],
)
def test_create_refuses_what_cannot_work_with_a_clear_reason(
    directory: Engine, overrides: dict, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        create(directory, **overrides)
    with Session(directory) as session:
        assert session.exec(select(Campaign)).all() == []


def test_launch_twice_or_with_nobody_in_scope_is_refused(directory: Engine) -> None:
    campaign_id = create(directory)
    launch(directory, campaign_id)
    with pytest.raises(ConflictError, match="only a draft or scheduled campaign"):
        launch(directory, campaign_id)
    with session_scope(directory) as session:
        for employee in session.exec(select(Employee)).all():
            employee.active = False
            session.add(employee)
    with pytest.raises(ConflictError, match="has no active employee"):
        launch(directory, create(directory))


def test_a_scheduled_campaign_launches_itself_at_its_time_in_its_time_zone(
    directory: Engine,
) -> None:
    starts = parse_moment("2026-12-01T09:00", timezone="Europe/Berlin")
    assert starts == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    campaign_id = create(directory, starts_at=starts, timezone="Europe/Berlin")
    with session_scope(directory) as session:
        assert session.get(Campaign, campaign_id).state == CampaignState.SCHEDULED
        assert launch_due_campaigns(session, config=CONFIG, now=starts - timedelta(minutes=1)) == []
    with session_scope(directory) as session:
        [report] = launch_due_campaigns(session, config=CONFIG, now=starts)
    assert report.campaign_id == campaign_id and report.asked == 4
    assert report.respond_by == starts + timedelta(days=14)  # the default answer period
    assert len(mail(directory)) == 4


def test_reminders_follow_the_cadence_until_the_deadline(directory: Engine) -> None:
    deadline = NOW + timedelta(days=7)
    campaign_id = create(directory, remind_every=timedelta(days=2), deadline=deadline)
    launch(directory, campaign_id)
    approve(directory, "bob@example.com")

    def remind(now: datetime) -> int:
        with session_scope(directory) as session:
            return remind_due(session, config=CONFIG, now=now)

    assert remind(NOW + timedelta(days=2)) == 0  # the first emails were never delivered
    with session_scope(directory) as session:  # pretend delivery happened
        for message in session.exec(select(OutboxMessage)).all():
            message.state = MailState.SENT
            session.add(message)
    assert remind(NOW + timedelta(days=1)) == 0
    assert remind(NOW + timedelta(days=2)) == 3  # everyone but Bob, who answered
    assert remind(NOW + timedelta(days=2, hours=1)) == 0  # not twice in a row
    reminders = [m for m in mail(directory) if m.kind == "consent_reminder"]
    assert sorted(m.to_address for m in reminders) == [
        "ann@example.com",
        "chloe@example.com",
        "dev@example.com",
    ]
    assert reminders[0].subject.startswith("Reminder: your approval is needed")
    assert "You have not answered this request yet" in reminders[0].text_body
    with session_scope(directory) as session:
        for message in session.exec(select(OutboxMessage)).all():
            message.state = MailState.SENT
            session.add(message)
    with session_scope(directory) as session:
        pause_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=NOW)
    assert remind(NOW + timedelta(days=4, hours=1)) == 0  # paused: no reminders
    with session_scope(directory) as session:
        resume_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=NOW)
    assert remind(NOW + timedelta(days=4, hours=1)) == 3
    assert remind(deadline + timedelta(hours=1)) == 0  # past the deadline: nobody
    assert consents(directory)["ann@example.com"].reminders_sent == 2

    with session_scope(directory) as session:
        report = run_due(session, config=CONFIG, now=deadline + timedelta(hours=1))
    assert (report.expired, report.completed) == (3, [campaign_id])
    states = {email: c.state for email, c in consents(directory).items()}
    assert states == {
        "ann@example.com": "expired",
        "bob@example.com": "approved",
        "chloe@example.com": "expired",
        "dev@example.com": "expired",
    }
    with Session(directory) as session:
        assert session.get(Campaign, campaign_id).state == CampaignState.COMPLETED
        assert verify_chain(session).ok
    assert audit_actions(directory).count("consent.expired") == 3


def test_pause_holds_jobs_and_resume_releases_them(directory: Engine) -> None:
    campaign_id = create(directory, policy_ids=[GENAI, OBJECTION])
    launch(directory, campaign_id)
    approve(directory, "bob@example.com")
    with session_scope(directory) as session:
        pause_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=NOW)
    approve(directory, "ann@example.com")  # answers still count while paused; work waits

    def job_states() -> dict[str, list[str]]:
        with Session(directory) as session:
            rows = session.exec(select(Employee.email, Job.state).join(Employee)).all()
        found: dict[str, list[str]] = {}
        for email, state in rows:
            found.setdefault(email, []).append(state)
        return found

    assert job_states() == {
        "ann@example.com": ["scheduled"] * 2,
        "bob@example.com": ["scheduled"] * 2,
    }
    with Session(directory) as session:
        assert {job.last_error for job in session.exec(select(Job)).all()} == {HELD_BY_PAUSE}
    with (
        session_scope(directory) as session,
        pytest.raises(ConflictError, match="only a running one pauses"),
    ):
        pause_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=NOW)
    with session_scope(directory) as session:
        resume_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=NOW)
    assert job_states() == {"ann@example.com": ["queued"] * 2, "bob@example.com": ["queued"] * 2}
    actions = audit_actions(directory)
    assert "campaign.paused" in actions and "campaign.resumed" in actions
    # Each job's own trail says it was held and released (as-of reports read it).
    assert (actions.count("job.held"), actions.count("job.released")) == (4, 4)


def test_cancel_withdraws_open_requests_their_mail_and_waiting_jobs(directory: Engine) -> None:
    campaign_id = create(directory)
    launch(directory, campaign_id)
    approve(directory, "bob@example.com")
    with session_scope(directory) as session:
        cancel_campaign(
            session, campaign_id=campaign_id, actor="cli:admin", now=NOW, reason="wrong scope"
        )
    states = {email: c.state for email, c in consents(directory).items()}
    assert states["bob@example.com"] == ConsentState.APPROVED  # an answer stays recorded
    assert [s for e, s in states.items() if e != "bob@example.com"] == ["cancelled"] * 3
    assert {m.state for m in mail(directory) if m.to_address != "bob@example.com"} == {"cancelled"}
    with Session(directory) as session:
        jobs = session.exec(select(Job)).all()
        assert [job.state for job in jobs] == [JobState.CANCELLED]
        assert "wrong scope" in (jobs[0].last_error or "")
        ann_link = read_link(
            session,
            token=decide_token(directory, "ann@example.com"),
            purpose=LinkPurpose.DECIDE,
            config=CONFIG,
            now=NOW,
        )
    assert ann_link.consent.state == ConsentState.CANCELLED and not ann_link.actionable
    with session_scope(directory) as session, pytest.raises(ConflictError, match="already"):
        cancel_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=NOW)


def test_status_counts_consents_jobs_mail_and_exemptions(directory: Engine) -> None:
    campaign_id = create(directory, now=BEFORE_EU_CHANGE, policy_ids=[GENAI, OBJECTION])
    launch(directory, campaign_id, now=BEFORE_EU_CHANGE)
    approve(directory, "bob@example.com", now=BEFORE_EU_CHANGE)
    with Session(directory) as session:
        status = campaign_status(session, campaign_id=campaign_id)
    assert status.consents == {
        "pending": 3,
        "approved": 1,
        "declined": 0,
        "revoked": 0,
        "expired": 0,
        "cancelled": 0,
    }
    assert status.jobs["queued"] == 2 and sum(status.jobs.values()) == 2
    assert status.mail["queued"] == 4
    assert status.exemptions == {GENAI: 3}
    assert status.as_json()["campaign"]["state"] == "running"
    with Session(directory) as session, pytest.raises(NotFoundError, match="no campaign 99"):
        campaign_status(session, campaign_id=99)


def test_receipt_lists_the_proof_and_a_withdraw_link(directory: Engine) -> None:
    launch(directory, create(directory))
    approve(directory, "ann@example.com")
    ann = consents(directory)["ann@example.com"]
    with session_scope(directory) as session:
        message = queue_receipt(
            session,
            consent_id=ann.id,
            policy_id=GENAI,
            policy_version=ann.policy_versions[GENAI],
            outcome="Opted out",
            detail="The setting was on; it is now off, checked after a reload.",
            proof=[
                ProofItem("screenshot_after", "a" * 64, NOW, "https://www.linkedin.com/x"),
                ProofItem("control_state", "b" * 64, NOW),
            ],
            verified_at=NOW,
            config=CONFIG,
            actor="worker:1",
            now=NOW,
        )
    assert message.kind == "opt_out_receipt" and message.to_address == "ann@example.com"
    assert message.subject == 'Opted out: Turn off LinkedIn\'s "Data for Generative AI Improvement"'
    for body in (message.text_body, message.html_body):
        assert "a" * 64 in body and "b" * 64 in body
        assert "https://optout.example.com/consent/withdraw/" in body
        assert "400 days" in body
    assert "consent.receipt_queued" in audit_actions(directory)


def test_every_change_is_in_the_audit_chain(directory: Engine) -> None:
    campaign_id = create(directory, policy_ids=[GENAI, OBJECTION])
    launch(directory, campaign_id)
    approve(directory, "ann@example.com")
    with session_scope(directory) as session:
        expire_overdue(session, now=NOW + timedelta(days=15))
    actions = audit_actions(directory)
    assert actions.count("campaign.created") == 1
    assert actions.count("campaign.launched") == 1
    assert actions.count("consent.requested") == 4
    assert actions.count("mail.queued") == 4
    assert actions.count("consent.approved") == 1
    assert actions.count("job.queued") == 2
    assert actions.count("consent.expired") == 3
    assert actions.count("campaign.completed") == 1
    with Session(directory) as session:
        assert verify_chain(session).ok


WORLD = (
    "email,name,department,country,time_zone\n"
    "ann@example.com,Ann Lee,Engineering,DE,Europe/Berlin\n"
    "bob@example.com,Bob Stone,Sales,US,America/New_York\n"
    "chloe@example.com,Chloé Dubois,Engineering,FR,\n"
)
NIGHTS = parse_windows(["mon-fri 22:00-06:00"])


def waiting_jobs(engine: Engine) -> dict[str, tuple[str, str | None, datetime]]:
    """email → (state, hold, next attempt) of each employee's job."""
    with Session(engine) as session:
        rows = session.exec(select(Employee.email, Job).join(Employee)).all()
    return {
        email: (job.state, job.hold, job.next_attempt_at.astimezone(UTC)) for email, job in rows
    }


def tick(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        run_due(session, config=CONFIG, now=now)


def test_jobs_wait_for_the_run_window_on_each_employees_clock(engine: Engine) -> None:
    with session_scope(engine) as session:
        import_directory(session, data=WORLD.encode(), source="d.csv", actor="t", now=NOW)
    # NOW is Monday 09:00 UTC: 10:00 in Berlin, 04:00 in New York, 18:00 in Tokyo.
    campaign_id = create(engine, run_windows=NIGHTS, timezone="Asia/Tokyo")
    launch(engine, campaign_id)
    for email in ("ann@example.com", "bob@example.com", "chloe@example.com"):
        approve(engine, email)

    assert waiting_jobs(engine) == {
        "ann@example.com": ("scheduled", "run_window", datetime(2026, 11, 23, 21, 0, tzinfo=UTC)),
        "bob@example.com": ("scheduled", "run_window", datetime(2026, 11, 24, 3, 0, tzinfo=UTC)),
        # No time zone of her own: the campaign's (Tokyo, 22:00 = 13:00 UTC).
        "chloe@example.com": ("scheduled", "run_window", datetime(2026, 11, 23, 13, 0, tzinfo=UTC)),
    }
    with Session(engine) as session:
        status = campaign_status(session, campaign_id=campaign_id)
        ann_job = session.exec(
            select(Job).join(Employee).where(Employee.email == "ann@example.com")
        ).one()
    assert status.held == {"run_window": 3}
    with Session(engine) as session:  # a worker --until-empty waits for the opening or stops
        assert pending_count(session, now=NOW) == (0, 3)
        assert next_due_at(session) == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert status.next_window_opens_at == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert status.as_json()["campaign"]["run_windows"] == ["mon-fri 22:00-06:00"]
    assert ann_job.last_error is not None
    assert "mon-fri 22:00-06:00, Europe/Berlin" in ann_job.last_error
    assert "Mon 2026-11-23 22:00 CET" in ann_job.last_error

    tick(engine, datetime(2026, 11, 23, 13, 30, tzinfo=UTC))
    assert {email: state for email, (state, _, _) in waiting_jobs(engine).items()} == {
        "ann@example.com": "scheduled",
        "bob@example.com": "scheduled",
        "chloe@example.com": "queued",
    }
    # Not claimed before Tokyo's window shut at 06:00 (21:00 UTC): held again until Tuesday night.
    tick(engine, datetime(2026, 11, 23, 21, 30, tzinfo=UTC))
    jobs = waiting_jobs(engine)
    assert jobs["chloe@example.com"] == (
        "scheduled",
        "run_window",
        datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
    )
    assert jobs["ann@example.com"][:2] == ("queued", None)
    actions = audit_actions(engine)
    assert actions.count("job.held") == 4 and actions.count("job.released") == 2


def test_windows_and_pause_each_release_only_their_own_holds(engine: Engine) -> None:
    with session_scope(engine) as session:
        import_directory(session, data=WORLD.encode(), source="d.csv", actor="t", now=NOW)
    campaign_id = create(engine, run_windows=NIGHTS)
    launch(engine, campaign_id)
    approve(engine, "ann@example.com")  # held by the window until 21:00 UTC
    with session_scope(engine) as session:
        pause_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=NOW)
    approve(engine, "bob@example.com")  # held by the pause
    holds = {email: hold for email, (_, hold, _) in waiting_jobs(engine).items()}
    assert holds == {"ann@example.com": "run_window", "bob@example.com": "campaign_paused"}

    # The window opens while the campaign is paused: nothing is released.
    tick(engine, datetime(2026, 11, 23, 21, 30, tzinfo=UTC))
    assert {state for state, _, _ in waiting_jobs(engine).values()} == {"scheduled"}

    # Resuming releases the paused job only; the window pass then decides for each.
    with session_scope(engine) as session:
        resume_campaign(
            session,
            campaign_id=campaign_id,
            actor="cli:admin",
            now=datetime(2026, 11, 23, 21, 30, tzinfo=UTC),
        )
    jobs = waiting_jobs(engine)
    assert jobs["bob@example.com"][:2] == ("queued", None)
    assert jobs["ann@example.com"][:2] == ("scheduled", "run_window")
    tick(engine, datetime(2026, 11, 23, 21, 31, tzinfo=UTC))
    jobs = waiting_jobs(engine)
    assert jobs["ann@example.com"][:2] == ("queued", None)  # Berlin: Mon 22:31, inside
    assert jobs["bob@example.com"][:2] == ("scheduled", "run_window")  # New York: 16:31, outside


def test_a_campaign_without_windows_runs_at_any_time(directory: Engine) -> None:
    campaign_id = create(directory)
    launch(directory, campaign_id)
    approve(directory, "bob@example.com")
    tick(directory, NOW)
    assert waiting_jobs(directory)["bob@example.com"][:2] == ("queued", None)
