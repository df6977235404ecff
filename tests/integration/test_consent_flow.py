"""Consent by email link, end to end: real SMTP (aiosmtpd), real HTTP (uvicorn), both databases.

Each test launches a campaign, delivers the mail to the SMTP sink, reads the message that arrived
and follows its links with an HTTP client, as an employee's browser (or a mail scanner) would.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import verify_chain
from orchestrator.campaigns.service import (
    CampaignScope,
    create_campaign,
    expire_overdue,
    launch_campaign,
)
from orchestrator.consent.config import ConsentConfig
from orchestrator.consent.explanation import explain
from orchestrator.consent.models import Consent, ConsentState, LinkPurpose
from orchestrator.consent.service import employee_facts
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.employees.models import Employee
from orchestrator.employees.service import import_directory
from orchestrator.jobs.models import Job, JobState
from orchestrator.notifications.delivery import SmtpSettings, deliver_due
from orchestrator.policies import load_policies
from orchestrator.web.app import create_app
from tests.support import Clock

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DEADLINE = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
SECRET = "consent-flow-test-secret-" + "x" * 24
POLICIES = ["linkedin-genai-training", "linkedin-data-processing-objection"]
PEOPLE = (
    "email,name,department,country,linkedin_url\n"
    "ann@example.com,Ann Lee,Engineering/Platform,DE,https://www.linkedin.com/in/ann-lee\n"
    "bob@example.com,Bob Stone,Sales,US,https://www.linkedin.com/in/bob-stone\n"
)
LINK = re.compile(r"http://127\.0\.0\.1:\d+/consent/(?:withdraw/)?[A-Za-z0-9._-]+")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


@dataclass
class World:
    engine: Engine
    settings: Settings
    config: ConsentConfig
    clock: Clock
    base_url: str
    campaign_id: int

    def deliver(self) -> None:
        smtp = SmtpSettings.from_settings(self.settings)
        report = deliver_due(self.engine, smtp=smtp, clock=self.clock)
        assert report.deferred == 0 and report.failed == 0, report.errors

    def snapshot(self) -> tuple:
        """Everything a GET must not change: consents, links, jobs and the audit log."""
        with Session(self.engine) as session:
            consents = session.exec(select(Consent.state, Consent.decided_at)).all()
            jobs = session.exec(select(func.count()).select_from(Job)).one()
            events = session.exec(select(func.count()).select_from(AuditEvent)).one()
        return tuple(consents), jobs, events

    def consent_of(self, email: str) -> Consent:
        with Session(self.engine) as session:
            return session.exec(select(Consent).join(Employee).where(Employee.email == email)).one()

    def jobs_of(self, email: str) -> list[Job]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(Job).join(Employee).where(Employee.email == email).order_by(Job.id)
                ).all()
            )

    def actions(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all())


@pytest.fixture
def world(engine: Engine, smtp_sink, live_server, tmp_path: Path) -> World:
    clock = Clock(NOW)
    policies = load_policies(POLICIES_DIR)
    holder: dict[str, object] = {}

    def make_app(base_url: str):
        settings = Settings(
            _env_file=None,
            data_dir=tmp_path / "data",
            secret_key=SECRET,
            public_base_url=base_url,
            smtp_host=smtp_sink.host,
            smtp_port=smtp_sink.port,
            contact_email="privacy@example.com",
            mail_from="IT privacy <optout@example.com>",
        )
        holder["settings"] = settings
        return create_app(settings, engine=engine, policies=policies, clock=clock)

    server = live_server(make_app)
    settings = holder["settings"]
    assert isinstance(settings, Settings)
    config = ConsentConfig.from_settings(settings, policies=policies)
    with session_scope(engine) as session:
        import_directory(session, data=PEOPLE.encode(), source="people.csv", actor="t", now=NOW)
        campaign = create_campaign(
            session,
            name="LinkedIn AI opt-out",
            policy_ids=POLICIES,
            scope=CampaignScope(everyone=True),
            policies=policies,
            deadline=DEADLINE,
            actor="cli:admin",
            now=NOW,
        )
        launch_campaign(session, campaign_id=campaign.id, config=config, actor="cli:admin", now=NOW)
    world = World(engine, settings, config, clock, server.url, campaign.id)
    world.deliver()
    return world


def links(message: EmailMessage) -> tuple[str, str]:
    """The decide and withdraw links of a consent email, from its plain-text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = LINK.findall(text)
    decide = [url for url in found if "/withdraw/" not in url]
    withdraw = [url for url in found if "/withdraw/" in url]
    assert len(decide) == 1 and len(withdraw) == 1, found
    return decide[0], withdraw[0]


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))


def browser() -> httpx.Client:
    return httpx.Client(headers={"User-Agent": BROWSER}, timeout=10)


def test_employee_reads_the_email_and_approves_on_the_page(world: World, smtp_sink) -> None:
    [message] = smtp_sink.to("ann@example.com")
    assert len(smtp_sink.messages) == 2  # one per employee, nothing else
    assert message["Subject"].startswith("Your approval is needed: LinkedIn AI opt-out")
    assert message["From"] == "IT privacy <optout@example.com>"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for part in (text, html):
        assert "https://www.linkedin.com/in/ann-lee" in part  # which account
        assert "400 days" in part  # how long evidence is kept
        assert "privacy@example.com" in part  # who to ask
        assert "Friday 4 December 2026, 17:00 UTC" in part  # the deadline
    assert "Data for Generative AI Improvement" in text
    decide, withdraw = links(message)
    assert f'href="{decide}"' in html and f'href="{withdraw}"' in html

    before = world.snapshot()
    with browser() as client:
        page = client.get(decide)
        assert page.status_code == 200
        assert "Your approval is requested" in page.text
        assert 'value="approve"' in page.text and 'value="decline"' in page.text
        assert "https://www.linkedin.com/in/ann-lee" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert world.snapshot() == before  # opening the page decided nothing

        fields = form_fields(page.text)
        approved = client.post(decide, data={**fields, "decision": "approve"})
        assert approved.status_code == 200
        assert "your approval was recorded" in approved.text
        assert "Withdraw my approval" in approved.text

        again = client.post(decide, data={**fields, "decision": "approve"})
        assert again.status_code == 200
        assert "already recorded" in again.text

        reopened = client.get(decide)
        assert reopened.status_code == 410  # the link was used: it shows the decision
        assert "You approved this request" in reopened.text

    consent = world.consent_of("ann@example.com")
    assert consent.state == ConsentState.APPROVED
    assert consent.decided_at == NOW
    assert consent.decision_ip == "127.0.0.1"
    assert consent.decision_user_agent == BROWSER
    expected = explain(
        employee=employee_facts_of(world, "ann@example.com"),
        policies=[world.config.policies.get(p) for p in POLICIES],
        respond_by=DEADLINE,
        contact_email="privacy@example.com",
        retention_days=400,
    )
    assert consent.shown_text_sha256 == expected.sha256
    assert expected.html in page.text  # the hash covers exactly what the page showed
    assert consent.policy_versions == {p: world.config.policies.get(p).version for p in POLICIES}
    jobs = world.jobs_of("ann@example.com")
    assert sorted(job.policy_id for job in jobs) == sorted(POLICIES)  # one per policy, once
    for job in jobs:
        assert job.state == JobState.QUEUED
        assert job.consent_id == consent.id
        assert job.campaign_id == world.campaign_id
        assert job.next_attempt_at == NOW
        assert job.policy_version == consent.policy_versions[job.policy_id]
    assert world.jobs_of("bob@example.com") == []  # Bob has not answered
    assert world.consent_of("bob@example.com").state == ConsentState.PENDING
    actions = world.actions()
    assert actions.count("consent.approved") == 1
    assert actions.count("job.queued") == 2
    assert actions.count("mail.sent") == 2
    with Session(world.engine) as session:
        assert verify_chain(session).ok


def employee_facts_of(world: World, email: str):
    with Session(world.engine) as session:
        return employee_facts(session.exec(select(Employee).where(Employee.email == email)).one())


def test_decline_records_and_stops_and_the_link_cannot_then_approve(
    world: World, smtp_sink
) -> None:
    decide, _ = links(smtp_sink.to("bob@example.com")[0])
    with browser() as client:
        fields = form_fields(client.get(decide).text)
        declined = client.post(decide, data={**fields, "decision": "decline"})
        assert declined.status_code == 200
        assert "nothing will be done" in declined.text
        flipped = client.post(decide, data={**fields, "decision": "approve"})
        assert flipped.status_code == 409
        assert "You already declined this request" in flipped.text
    consent = world.consent_of("bob@example.com")
    assert consent.state == ConsentState.DECLINED
    assert consent.shown_text_sha256 is not None
    assert world.jobs_of("bob@example.com") == []
    assert world.actions().count("consent.declined") == 1


def test_withdrawing_cancels_the_queued_jobs(world: World, smtp_sink) -> None:
    decide, withdraw = links(smtp_sink.to("ann@example.com")[0])
    with browser() as client:
        fields = form_fields(client.get(decide).text)
        client.post(decide, data={**fields, "decision": "approve"}).raise_for_status()
        assert {job.state for job in world.jobs_of("ann@example.com")} == {JobState.QUEUED}

        world.clock.now = NOW + timedelta(hours=2)
        offer = client.get(withdraw)
        assert offer.status_code == 200
        assert "Withdraw my approval" in offer.text
        before = world.snapshot()
        assert client.head(withdraw).status_code == 200
        assert world.snapshot() == before
        done = client.post(withdraw, data=form_fields(offer.text))
        assert done.status_code == 200
        assert "Your approval was withdrawn" in done.text
        assert client.post(withdraw, data=form_fields(offer.text)).status_code == 200  # harmless
        assert client.get(decide).status_code == 410

    consent = world.consent_of("ann@example.com")
    assert consent.state == ConsentState.REVOKED
    assert consent.revoked_at == NOW + timedelta(hours=2)
    jobs = world.jobs_of("ann@example.com")
    assert [job.state for job in jobs] == [JobState.CANCELLED] * 2
    assert all("withdrawn by the employee" in (job.last_error or "") for job in jobs)
    actions = world.actions()
    assert actions.count("consent.revoked") == 1
    assert actions.count("job.cancelled") == 2


def test_withdraw_link_before_any_answer_declines(world: World, smtp_sink) -> None:
    _, withdraw = links(smtp_sink.to("bob@example.com")[0])
    with browser() as client:
        offer = client.get(withdraw)
        assert offer.status_code == 200
        assert "You have not approved this request" in offer.text
        assert client.post(withdraw, data=form_fields(offer.text)).status_code == 200
    assert world.consent_of("bob@example.com").state == ConsentState.DECLINED


def test_forged_foreign_expired_and_unknown_links_get_clear_pages(world: World, smtp_sink) -> None:
    decide, withdraw = links(smtp_sink.to("ann@example.com")[0])
    forged = decide[:-3] + ("AAA" if not decide.endswith("AAA") else "BBB")
    with browser() as client:
        page = client.get(forged)
        assert page.status_code == 400
        assert "This link does not work" in page.text
        assert "copy the whole address" in page.text

        # A withdraw token is not a decide token, even though both are genuine.
        swapped = f"{world.base_url}/consent/{withdraw.rsplit('/', 1)[1]}"
        assert client.get(swapped).status_code == 400

        genuine_but_unknown = world.config.signer.issue(
            consent_id=999_999, purpose=LinkPurpose.DECIDE, expires_at=DEADLINE
        )
        page = client.get(f"{world.base_url}/consent/{genuine_but_unknown}")
        assert page.status_code == 404
        assert "we have no record of this link" in page.text.lower()

        world.clock.now = DEADLINE - timedelta(minutes=30)  # opened shortly before the deadline
        fields = form_fields(client.get(decide).text)
        world.clock.now = DEADLINE + timedelta(minutes=1)
        before = world.snapshot()
        expired = client.get(decide)
        assert expired.status_code == 410
        assert "This request has expired" in expired.text
        late = client.post(decide, data={**fields, "decision": "approve"})
        assert late.status_code == 410
        assert "deadline to answer this request has passed" in late.text
        assert world.snapshot() == before

    with session_scope(world.engine) as session:
        report = expire_overdue(session, now=world.clock.now)
    assert report.expired == 2 and report.completed == [world.campaign_id]
    assert world.consent_of("ann@example.com").state == ConsentState.EXPIRED
    assert world.jobs_of("ann@example.com") == []
    with browser() as client:
        assert "This request has expired" in client.get(decide).text


def test_mail_scanner_prefetch_decides_nothing(world: World, smtp_sink) -> None:
    decide, withdraw = links(smtp_sink.to("ann@example.com")[0])
    before = world.snapshot()
    scanner = httpx.Client(headers={"User-Agent": "SafeLinks-Scanner/2.0"}, timeout=10)
    with scanner:
        for url in (decide, withdraw, decide):
            assert scanner.head(url).status_code == 200
            assert scanner.get(url).status_code == 200
        # A scanner that "clicks" the button without the page's form token gets nothing done.
        assert scanner.post(decide, data={"decision": "approve"}).status_code == 403
        forged_form = {"decision": "approve", "csrf": "x", "shown": "y"}
        assert scanner.post(decide, data=forged_form).status_code == 403
    assert world.snapshot() == before
    with browser() as client:  # the person still decides afterwards
        fields = form_fields(client.get(decide).text)
        assert client.post(decide, data={**fields, "decision": "approve"}).status_code == 200


def test_a_form_from_another_browser_or_an_older_text_is_refused(world: World, smtp_sink) -> None:
    decide, _ = links(smtp_sink.to("ann@example.com")[0])
    with browser() as first, browser() as second:
        fields = form_fields(first.get(decide).text)
        second.get(decide)  # has its own CSRF cookie
        assert second.post(decide, data={**fields, "decision": "approve"}).status_code == 403
        stale = {**fields, "shown": hashlib.sha256(b"an older text").hexdigest()}
        changed = first.post(decide, data={**stale, "decision": "approve"})
        assert changed.status_code == 409
        assert "read it again" in changed.text
        assert 'value="approve"' in changed.text  # the current text, ready to answer
    assert world.consent_of("ann@example.com").state == ConsentState.PENDING


def test_simultaneous_clicks_record_one_decision_and_one_set_of_jobs(
    world: World, smtp_sink
) -> None:
    decide, _ = links(smtp_sink.to("ann@example.com")[0])
    with browser() as client:
        fields = form_fields(client.get(decide).text)
        cookies = dict(client.cookies)
    statuses: list[int] = []

    def click() -> None:
        with httpx.Client(cookies=cookies, timeout=30) as tab:
            statuses.append(tab.post(decide, data={**fields, "decision": "approve"}).status_code)

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    assert len(world.jobs_of("ann@example.com")) == 2
    assert world.actions().count("consent.approved") == 1
    with Session(world.engine) as session:
        assert verify_chain(session).ok
        assert session.exec(select(func.count()).select_from(Job)).one() == 2
        assert (
            session.exec(
                select(func.count()).where(col(Consent.state) == ConsentState.APPROVED)
            ).one()
            == 1
        )
