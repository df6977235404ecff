"""Mail delivery over real SMTP (aiosmtpd): outages delay mail, never lose or duplicate it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import verify_chain
from orchestrator.campaigns.models import Campaign, CampaignState
from orchestrator.campaigns.service import CampaignScope, create_campaign, launch_campaign
from orchestrator.consent.config import ConsentConfig
from orchestrator.consent.links import LinkSigner
from orchestrator.core.db import session_scope
from orchestrator.employees.service import import_directory
from orchestrator.notifications.delivery import SmtpSettings, deliver_due, retry_delay
from orchestrator.notifications.models import MailState, OutboxMessage
from orchestrator.notifications.outbox import enqueue
from orchestrator.policies import load_policies
from tests.support import Clock

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PEOPLE = "email,name,department,country\n" + "".join(
    f"person{i}@example.com,Person {i},Ops,US\n" for i in range(5)
)


def smtp_for(sink) -> SmtpSettings:
    return SmtpSettings(host=sink.host, port=sink.port, mail_from="Opt-out <optout@example.com>")


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def actions(engine: Engine, prefix: str) -> list[str]:
    with Session(engine) as session:
        found = session.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    return [action for action in found if action.startswith(prefix)]


@pytest.fixture
def launched(engine: Engine) -> int:
    """A campaign launched for five employees: five consent emails queued."""
    policies = load_policies(POLICIES_DIR)
    config = ConsentConfig(
        policies=policies,
        signer=LinkSigner("mail-test-secret-" + "m" * 32),
        public_base_url="https://optout.example.com",
        contact_email="privacy@example.com",
        evidence_retention_days=400,
    )
    with session_scope(engine) as session:
        import_directory(session, data=PEOPLE.encode(), source="d.csv", actor="t", now=NOW)
        campaign = create_campaign(
            session,
            name="LinkedIn AI opt-out",
            policy_ids=["linkedin-genai-training"],
            scope=CampaignScope(everyone=True),
            policies=policies,
            actor="cli:admin",
            now=NOW,
        )
        launch_campaign(session, campaign_id=campaign.id, config=config, actor="cli:admin", now=NOW)
    return campaign.id


def test_smtp_down_at_launch_then_up_delivers_every_message_exactly_once(
    engine: Engine, launched: int, stopped_smtp_sink
) -> None:
    clock = Clock(NOW)
    smtp = smtp_for(stopped_smtp_sink)
    down = deliver_due(engine, smtp=smtp, clock=clock)
    assert (down.sent, down.deferred) == (0, 5)
    assert "cannot connect" in down.errors[0]
    with Session(engine) as session:
        assert session.get(Campaign, launched).state == CampaignState.RUNNING  # launch stood
    for message in outbox(engine):
        assert message.state == MailState.QUEUED
        assert message.attempts == 1
        assert message.next_attempt_at == NOW + timedelta(minutes=1)
        assert message.lease_expires_at is None
        assert "cannot connect" in (message.last_error or "")

    clock.now = NOW + timedelta(minutes=1, seconds=5)
    assert deliver_due(engine, smtp=smtp, clock=clock).deferred == 5  # still down
    assert {m.next_attempt_at for m in outbox(engine)} == {clock.now + timedelta(minutes=2)}

    stopped_smtp_sink.start()
    clock.now += timedelta(minutes=1)
    assert deliver_due(engine, smtp=smtp, clock=clock).sent == 0  # not due yet: backoff holds
    clock.now += timedelta(minutes=1, seconds=1)
    up = deliver_due(engine, smtp=smtp, clock=clock)
    assert (up.sent, up.deferred, up.failed) == (5, 0, 0)
    assert deliver_due(engine, smtp=smtp, clock=clock, ignore_backoff=True).sent == 0

    received = stopped_smtp_sink.messages
    assert sorted(m["To"] for m in received) == [f"person{i}@example.com" for i in range(5)]
    assert len({m["Message-ID"] for m in received}) == 5
    for message in outbox(engine):
        assert message.state == MailState.SENT
        assert message.attempts == 3
        assert message.sent_at == clock.now
        assert f"<{message.message_id}@example.com>" in {m["Message-ID"] for m in received}
    assert (
        actions(engine, "mail.") == ["mail.queued"] * 5 + ["mail.deferred"] * 10 + ["mail.sent"] * 5
    )
    with Session(engine) as session:
        assert verify_chain(session).ok


def test_a_refused_recipient_fails_for_good_and_the_rest_goes_out(
    engine: Engine, launched: int, smtp_sink
) -> None:
    smtp_sink.refuse.add("person2@example.com")
    report = deliver_due(engine, smtp=smtp_for(smtp_sink), clock=Clock(NOW))
    assert (report.sent, report.failed, report.deferred) == (4, 1, 0)
    failed = [m for m in outbox(engine) if m.state == MailState.FAILED]
    assert [m.to_address for m in failed] == ["person2@example.com"]
    assert "550" in (failed[0].last_error or "")
    later = deliver_due(
        engine, smtp=smtp_for(smtp_sink), clock=Clock(NOW + timedelta(days=1)), ignore_backoff=True
    )
    assert later.sent == later.failed == 0  # a permanent refusal is not retried
    assert len(smtp_sink.messages) == 4
    assert actions(engine, "mail.failed") == ["mail.failed"]


def test_a_message_past_its_deadline_expires_unsent(engine: Engine, smtp_sink) -> None:
    with session_scope(engine) as session:
        enqueue(
            session,
            to="late@example.com",
            kind="opt_out_receipt",
            context=receipt_context(),
            actor="t",
            now=NOW,
            send_before=NOW + timedelta(hours=1),
        )
    report = deliver_due(engine, smtp=smtp_for(smtp_sink), clock=Clock(NOW + timedelta(hours=2)))
    assert (report.expired, report.sent) == (1, 0)
    assert smtp_sink.messages == []
    assert outbox(engine)[0].state == MailState.EXPIRED


def test_two_senders_at_once_send_each_message_once(engine: Engine, smtp_sink) -> None:
    with session_scope(engine) as session:
        for index in range(30):
            enqueue(
                session,
                to=f"r{index}@example.com",
                kind="opt_out_receipt",
                context=receipt_context(),
                actor="t",
                now=NOW,
            )
    sent: list[int] = []

    def sender() -> None:
        sent.append(deliver_due(engine, smtp=smtp_for(smtp_sink), clock=Clock(NOW)).sent)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 30
    assert sorted(m["To"] for m in smtp_sink.messages) == sorted(
        f"r{index}@example.com" for index in range(30)
    )


def test_retry_delay_doubles_up_to_an_hour() -> None:
    minutes = [retry_delay(n) / timedelta(minutes=1) for n in (1, 2, 3, 6, 7, 50, 10_000)]
    assert minutes == [1, 2, 4, 32, 60, 60, 60]


def receipt_context() -> dict:
    return {
        "employee_name": "Ann",
        "title": "Turn off LinkedIn's AI training",
        "account": "LinkedIn https://www.linkedin.com/in/ann",
        "outcome_label": "Opted out",
        "outcome_detail": "The setting was on and is now off.",
        "verified_at": "Monday 23 November 2026, 09:00 UTC",
        "policy_version": "abc123def456",
        "proof": [],
        "revoke_url": "https://optout.example.com/consent/withdraw/t",
        "contact_email": "privacy@example.com",
        "retention_days": 400,
    }
