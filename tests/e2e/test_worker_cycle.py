"""A worker cycle end to end: claimed jobs through real ansible-runner and Chromium, recorded."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import verify_chain
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.employees.service import import_directory
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.flows.engine_tasks import seed_replica_session
from orchestrator.flows.execute import CycleReport, WorkerConfig, run_cycle
from orchestrator.jobs.models import Job, JobState, Run
from orchestrator.notifications.models import OutboxMessage
from orchestrator.notifications.webhook import SIGNATURE_HEADER, sign
from orchestrator.policies import load_policies
from orchestrator.replica import Platform
from tests import factories
from tests.e2e.conftest import Replica
from tests.support import Clock, worker_settings

pytestmark = [pytest.mark.browser, pytest.mark.ansible]

REPO = Path(__file__).resolve().parents[2]
POLICIES = load_policies(REPO / "policies")
# The engine checks batch deadlines against the real clock, so the test runs at the real time.
NOW = datetime.now(UTC).replace(microsecond=0)
TOGGLE, FORM = "linkedin-genai-training", "linkedin-data-processing-objection"


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on a free local port that keeps every (signature, body) it gets."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers[SIGNATURE_HEADER], body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_cycle_opts_out_records_evidence_and_retries(
    replica, engine: Engine, database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    prefix = "pg" if database_url.startswith("postgresql") else "lite"
    people = {
        f"{prefix}-ok@example.com": (),
        f"{prefix}-away@example.com": ("signed_out",),
        f"{prefix}-flaky@example.com": ("save_fails_once",),
    }
    settings = worker_settings(
        tmp_path,
        database_url=database_url,
        replica_url=replica.base_url,
        webhook_url=receiver.url,
    )
    versions = {TOGGLE: POLICIES.get(TOGGLE).version, FORM: POLICIES.get(FORM).version}
    factories.consenting_employees(
        engine,
        replica_url=replica.base_url,
        secret=settings.secret(),
        people=people,
        policies=versions,
        now=NOW,
        country="DE",
    )
    clock = Clock(NOW)
    worker = WorkerConfig(name="test-worker", batch_size=10, forks=2)

    report = run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=clock)

    assert report.claimed == 6
    with Session(engine) as session:
        jobs = {(j.employee_id, j.policy_id): j for j in session.exec(select(Job)).all()}
        states = sorted((j.state, j.outcome or "") for j in jobs.values())
    assert states == sorted(
        [
            (JobState.SUCCEEDED, "changed"),  # ok: toggle
            (JobState.SUCCEEDED, "changed"),  # ok: form
            (JobState.NEEDS_ACTION, "needs_employee_action"),  # away: toggle
            (JobState.NEEDS_ACTION, "needs_employee_action"),  # away: form
            (JobState.QUEUED, "failed"),  # flaky: the save failed once; retried later
            (JobState.SUCCEEDED, "changed"),  # flaky: form
        ]
    )
    ok = replica.client.account_state(Platform.LINKEDIN, f"{prefix}-ok@example.com")
    assert ok.toggles["data_for_ai_improvement"] is False
    assert len(ok.objection_submissions) == 1

    with Session(engine) as session:
        records = session.exec(select(EvidenceRecord)).all()
        assert {"screenshot_before", "screenshot_after", "control_state", "confirmation"} <= {
            r.kind for r in records
        }
        for item in records:
            data = (settings.resolved_evidence_dir / (item.path or "")).read_bytes()
            assert hashlib.sha256(data).hexdigest() == item.sha256
        retry = next(j for j in jobs.values() if j.state == JobState.QUEUED)
        assert retry.next_attempt_at > NOW

    with Session(engine) as session:
        mail = {(m.to_address, m.kind) for m in session.exec(select(OutboxMessage)).all()}
    assert mail == {
        (f"{prefix}-ok@example.com", "opt_out_receipt"),  # one per verified policy
        (f"{prefix}-away@example.com", "needs_action"),  # one per policy that needs them
        (f"{prefix}-flaky@example.com", "opt_out_receipt"),  # the form went through
    }
    with Session(engine) as session:
        receipts = session.exec(
            select(OutboxMessage).where(OutboxMessage.to_address == f"{prefix}-ok@example.com")
        ).all()
        assert len(receipts) == 2
        hashes = {r.sha256 for r in records if r.kind != "outcome"}
        for receipt in receipts:  # each lists the proof with its SHA-256
            assert any(digest in receipt.text_body for digest in hashes)
        away = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "needs_action")
        ).first()
        assert away is not None and "Sign in to LinkedIn" in away.text_body

    clock.now = retry.next_attempt_at + timedelta(seconds=1)
    again = run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=clock)
    assert again.claimed == 1
    flaky = replica.client.account_state(Platform.LINKEDIN, f"{prefix}-flaky@example.com")
    assert flaky.toggles["data_for_ai_improvement"] is False
    assert flaky.toggle_changes["data_for_ai_improvement"] == 1
    assert len(flaky.objection_submissions) == 1
    with Session(engine) as session:
        assert session.get(Job, retry.id).state == JobState.SUCCEEDED  # type: ignore[union-attr]
        assert verify_chain(session).ok
    events = [json.loads(body) for _, body in receiver.posts]
    assert len(events) == 7  # six first attempts and the retry
    assert sorted(e["state"] for e in events).count("succeeded") == 4
    for signature, body in receiver.posts:
        assert signature == sign(body, secret=settings.secret())
    # A second pass has nothing to do: every job ended exactly once.
    assert run_cycle(engine, settings=settings, policies=POLICIES, worker=worker).claimed == 0


def test_a_changed_page_pauses_the_policy_and_tells_the_admins(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    prefix = "pg-gone" if database_url.startswith("postgresql") else "lite-gone"
    emails = [f"{prefix}-{n}@example.com" for n in range(3)]
    settings = worker_settings(
        tmp_path,
        database_url=database_url,
        replica_url=replica.base_url,
        policy_pause_after_failures=2,
        admin_email="it-admins@example.com",
    )
    directory = "email,name,department,country\n" + "".join(f"{e},P,Ops,DE\n" for e in emails)
    with session_scope(engine) as session:
        import_directory(session, data=directory.encode(), source="d.csv", actor="t", now=NOW)
        for email in emails:
            seed_replica_session(
                session,
                replica_url=replica.base_url,
                employee_email=email,
                platform="linkedin",
                behaviours=("setting_absent",),
                secret=settings.secret(),
                actor="t",
                now=NOW,
            )
    factories.approved_jobs(
        engine, emails=emails[:2], policies={TOGGLE: POLICIES.get(TOGGLE).version}, now=NOW
    )
    worker = WorkerConfig(name="test-worker", batch_size=10, forks=1)
    run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=Clock(NOW))
    factories.approved_jobs(
        engine, emails=emails[2:], policies={TOGGLE: POLICIES.get(TOGGLE).version}, now=NOW
    )

    later = run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=Clock(NOW))

    assert later.claimed == 0  # paused: the third employee's job waits for a review
    with Session(engine) as session:
        states = sorted(j.state for j in session.exec(select(Job)).all())
        assert states == [JobState.FAILED, JobState.FAILED, JobState.QUEUED]
        [mail] = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "policy_paused"))
        assert mail.to_address == "it-admins@example.com"
        assert "no element matches 'training_toggle'" in mail.text_body
        [summary] = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "failure_summary")
        )
        assert summary.to_address == "it-admins@example.com"
        assert summary.subject == "2 opt-out jobs failed"
        assert all(email in summary.text_body for email in emails[:2])


def _one_employee_with_playbooks(
    playbooks: Path,
    *,
    email: str,
    policies: tuple[str, ...],
    replica: Replica,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
) -> Settings:
    """Settings whose worker runs the given (altered) play, and one employee consenting to
    the given policies."""
    settings = worker_settings(
        tmp_path, database_url=database_url, replica_url=replica.base_url, playbooks_dir=playbooks
    )
    factories.consenting_employees(
        engine,
        replica_url=replica.base_url,
        secret=settings.secret(),
        people={email: ()},
        policies={policy: POLICIES.get(policy).version for policy in policies},
        now=NOW,
    )
    return settings


def _playbooks_whose_clean_up_fails(into: Path) -> Path:
    """The shipped play with one change: its clean-up task fails on the host (after removing
    the work directory), as when a host's temporary directory cannot be emptied."""
    shipped = (REPO / "playbooks" / "optout.yml").read_text(encoding="utf-8")
    clean_up = "            state: absent\n"
    assert shipped.count(clean_up) == 1, "the play's clean-up task changed; update this test"
    into.mkdir()
    (into / "optout.yml").write_text(
        shipped.replace(clean_up, clean_up + "          failed_when: true\n"), encoding="utf-8"
    )
    return into


def test_a_host_whose_clean_up_fails_after_its_archive_arrived_keeps_its_outcomes(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    email = f"{'pg' if database_url.startswith('postgresql') else 'lite'}-untidy@example.com"
    settings = _one_employee_with_playbooks(
        _playbooks_whose_clean_up_fails(tmp_path / "playbooks"),
        email=email,
        policies=(TOGGLE, FORM),
        replica=replica,
        engine=engine,
        database_url=database_url,
        tmp_path=tmp_path,
    )
    clock = Clock(NOW)
    worker = WorkerConfig(name="test-worker", batch_size=10, forks=1)

    report = run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=clock)

    assert report.states == {JobState.SUCCEEDED: 2}
    clock.now = NOW + timedelta(days=1)  # long past any retry's backoff: nothing is left to run
    assert run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=clock) == (
        CycleReport(claimed=0)
    )
    state = replica.client.account_state(Platform.LINKEDIN, email)
    assert state.toggle_changes["data_for_ai_improvement"] == 1
    assert len(state.objection_submissions) == 1
    with Session(engine) as session:
        jobs = session.exec(select(Job)).all()
        assert {(job.state, job.attempts, job.last_error) for job in jobs} == {
            (JobState.SUCCEEDED, 1, None)
        }
        run = session.exec(select(Run)).one()
        [warning] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "run.host_warning")
        ).all()
    assert (warning.subject_type, warning.subject_id) == ("run", str(run.id))
    assert warning.data["host"] == "localhost"
    assert (
        "'Remove the work directory (batch, sessions, evidence copies)' failed"
        in (warning.data["warning"])
    )
    assert run.status == "failed"  # Ansible's word for the play; its event log shows the task


def _playbooks_that_send_back_a_truncated_archive(into: Path) -> Path:
    """The shipped play with one change: the host cuts its result archive short before it is
    fetched, so the fetch (checksum and all) brings back a whole copy of a broken archive."""
    shipped = (REPO / "playbooks" / "optout.yml").read_text(encoding="utf-8")
    fetch = "        - name: Bring the outcomes and evidence back to the controller\n"
    assert shipped.count(fetch) == 1, "the play's fetch task changed; update this test"
    damage = (
        "        - name: Cut the archive short\n"
        "          ansible.builtin.command:\n"
        "            argv: [truncate, --size=200, '{{ optout_work.path }}/result.tar.gz']\n"
        "          changed_when: true\n\n"
    )
    into.mkdir()
    (into / "optout.yml").write_text(shipped.replace(fetch, damage + fetch), encoding="utf-8")
    return into


def test_a_host_whose_archive_cannot_be_read_has_its_jobs_retried_and_the_worker_goes_on(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    settings = _one_employee_with_playbooks(
        _playbooks_that_send_back_a_truncated_archive(tmp_path / "playbooks"),
        email=f"{'pg' if database_url.startswith('postgresql') else 'lite'}-broken@example.com",
        policies=(TOGGLE,),
        replica=replica,
        engine=engine,
        database_url=database_url,
        tmp_path=tmp_path,
    )
    clock = Clock(NOW)
    worker = WorkerConfig(name="test-worker", batch_size=10, forks=1)

    report = run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=clock)

    assert report.states == {JobState.QUEUED: 1}
    with Session(engine) as session:
        job = session.exec(select(Job)).one()
        assert session.exec(select(Run)).one().status == "successful"
    assert job.last_error == (
        "fleet host localhost: its result archive could not be read: it is truncated"
    )
    assert job.next_attempt_at > NOW
    # The worker goes on: the next cycle finds nothing due yet instead of failing again.
    assert run_cycle(
        engine, settings=settings, policies=POLICIES, worker=worker, clock=clock
    ) == CycleReport(claimed=0)
