"""The job queue on SQLite and PostgreSQL: claims, leases, retries, cancellation, consent."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import Engine, text, update
from sqlmodel import Session, col, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import verify_chain
from orchestrator.consent.models import Consent, ConsentState
from orchestrator.core.db import is_postgresql, session_scope
from orchestrator.core.errors import ConflictError
from orchestrator.demo.run import run_jobs
from orchestrator.employees.service import import_directory
from orchestrator.flows.execute import WorkerConfig, claim_batch
from orchestrator.jobs.models import Job, JobState, Run, RunStatus
from orchestrator.jobs.queue import (
    JobResult,
    WaitingJobs,
    WaitReason,
    cancel_job,
    claim_jobs,
    finish_job,
    heartbeat,
    next_due_at,
    note_policy_result,
    paused_policies,
    pending_count,
    requeue_expired,
    resume_policy,
    waiting_jobs,
)
from orchestrator.policies import load_policies
from orchestrator.runner.ansible import RUN_OUTCOME
from tests import factories
from tests.support import REPO, worker_settings

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
POLICIES = load_policies(REPO / "policies")


def approved_jobs(engine: Engine, count: int, *, policies: tuple[str, ...] = ("p-one",)) -> None:
    """`count` employees with an approved consent and one queued job per policy."""
    people = "email,name,department,country\n" + "".join(
        f"person{n}@example.com,Person {n},Ops,DE\n" for n in range(count)
    )
    with session_scope(engine) as session:
        import_directory(session, data=people.encode(), source="p.csv", actor="t", now=NOW)
    emails = [f"person{n}@example.com" for n in range(count)]
    factories.approved_jobs(
        engine, emails=emails, policies={p: "v" * 64 for p in policies}, now=NOW
    )


def claim(engine: Engine, worker: str, limit: int = 10, now: datetime = NOW):
    with session_scope(engine) as session:
        return claim_jobs(session, worker=worker, limit=limit, now=now, lease=LEASE)


def finish(engine: Engine, job_id: int, worker: str, result: JobResult, now: datetime = NOW):
    with session_scope(engine) as session:
        return finish_job(session, job_id=job_id, worker=worker, result=result, now=now)


def job(engine: Engine, job_id: int) -> Job:
    with Session(engine) as session:
        found = session.get(Job, job_id)
        assert found is not None
        return found


def test_claim_takes_due_jobs_once_and_records_the_attempt(engine: Engine) -> None:
    approved_jobs(engine, 3)
    first = claim(engine, "w1", limit=2)
    second = claim(engine, "w2", limit=5)
    assert len(first) == 2 and len(second) == 1
    assert {c.job_id for c in first}.isdisjoint({c.job_id for c in second})
    assert claim(engine, "w3") == []
    taken = job(engine, first[0].job_id)
    assert (taken.state, taken.lease_owner, taken.attempts) == (JobState.RUNNING, "w1", 1)
    assert taken.lease_expires_at == NOW + LEASE


def test_jobs_without_a_standing_consent_are_never_claimed(engine: Engine) -> None:
    approved_jobs(engine, 2)
    with session_scope(engine) as session:
        session.execute(update(Consent).where(Consent.id == 1).values(state=ConsentState.REVOKED))
    claimed = claim(engine, "w1")
    assert len(claimed) == 1
    assert claimed[0].consent_id == 2


def test_jobs_wait_for_their_next_attempt_time(engine: Engine) -> None:
    approved_jobs(engine, 1)
    with session_scope(engine) as session:
        session.execute(update(Job).values(next_attempt_at=NOW + timedelta(minutes=3)))
        assert pending_count(session, now=NOW) == (0, 1)
    assert claim(engine, "w1") == []
    assert len(claim(engine, "w1", now=NOW + timedelta(minutes=3))) == 1


def test_transient_failure_retries_with_backoff_then_gives_up(engine: Engine) -> None:
    approved_jobs(engine, 1)
    flaky = JobResult("failed", "the site showed an error", transient=True, retry_after_seconds=90)
    now = NOW
    for attempt in (1, 2):
        [claimed] = claim(engine, "w1", now=now)
        assert claimed.attempt == attempt
        assert finish(engine, claimed.job_id, "w1", flaky, now=now) == JobState.QUEUED
        retried = job(engine, claimed.job_id)
        assert retried.next_attempt_at >= now + timedelta(seconds=90)
        assert retried.last_error == "the site showed an error"
        now = retried.next_attempt_at
    [claimed] = claim(engine, "w1", now=now)
    assert finish(engine, claimed.job_id, "w1", flaky, now=now) == JobState.FAILED
    assert job(engine, claimed.job_id).finished_at == now


def test_retry_then_success(engine: Engine) -> None:
    approved_jobs(engine, 1)
    [first] = claim(engine, "w1")
    finish(engine, first.job_id, "w1", JobResult("failed", "429", transient=True))
    later = job(engine, first.job_id).next_attempt_at
    [second] = claim(engine, "w1", now=later)
    done = JobResult("changed", "opted out and verified", succeeded=True)
    assert finish(engine, second.job_id, "w1", done, now=later) == JobState.SUCCEEDED
    ended = job(engine, first.job_id)
    assert (ended.outcome, ended.attempts, ended.last_error) == ("changed", 2, None)


def test_permanent_failure_and_needs_action_end_the_job(engine: Engine) -> None:
    approved_jobs(engine, 2)
    one, two = claim(engine, "w1")
    broken = JobResult("failed", "no element matches 'training_toggle'")
    signed_out = JobResult("needs_employee_action", "Sign in to LinkedIn", needs_employee=True)
    assert finish(engine, one.job_id, "w1", broken) == JobState.FAILED
    assert finish(engine, two.job_id, "w1", signed_out) == JobState.NEEDS_ACTION
    assert job(engine, two.job_id).last_error == "Sign in to LinkedIn"


def test_expired_leases_are_requeued_and_the_late_worker_is_ignored(engine: Engine) -> None:
    approved_jobs(engine, 1)
    [lost] = claim(engine, "dead-worker")
    later = NOW + LEASE + timedelta(seconds=1)
    with session_scope(engine) as session:
        assert requeue_expired(session, now=later) == 1
    requeued = job(engine, lost.job_id)
    assert requeued.state == JobState.QUEUED
    assert "dead-worker" in (requeued.last_error or "")
    [taken] = claim(engine, "w2", now=later)
    late = JobResult("changed", "done by the dead worker", succeeded=True)
    assert finish(engine, lost.job_id, "dead-worker", late, now=later) is None
    done = JobResult("already_compliant", "already off", succeeded=True)
    assert finish(engine, taken.job_id, "w2", done, now=later) == JobState.SUCCEEDED
    assert job(engine, taken.job_id).outcome == "already_compliant"


def test_heartbeat_keeps_a_live_workers_lease(engine: Engine) -> None:
    approved_jobs(engine, 1)
    [held] = claim(engine, "w1")
    later = NOW + timedelta(minutes=4)
    with session_scope(engine) as session:
        assert heartbeat(session, worker="w1", job_ids=[held.job_id], now=later, lease=LEASE) == 1
        assert heartbeat(session, worker="w2", job_ids=[held.job_id], now=later, lease=LEASE) == 0
    with session_scope(engine) as session:
        assert requeue_expired(session, now=NOW + LEASE + timedelta(seconds=1)) == 0


def test_cancel_queued_and_running_jobs(engine: Engine) -> None:
    approved_jobs(engine, 2)
    [running] = claim(engine, "w1", limit=1)
    with session_scope(engine) as session:
        cancel_job(session, job_id=running.job_id, actor="admin:ann", reason="wrong scope", now=NOW)
        cancel_job(session, job_id=running.job_id + 1, actor="admin:ann", reason="x", now=NOW)
    assert job(engine, running.job_id).state == JobState.CANCELLED
    assert job(engine, running.job_id + 1).state == JobState.CANCELLED
    done = JobResult("changed", "finished anyway", succeeded=True)
    assert finish(engine, running.job_id, "w1", done) is None  # a cancelled job stays cancelled
    with pytest.raises(ConflictError, match="already ended"), session_scope(engine) as session:
        cancel_job(session, job_id=running.job_id, actor="admin:ann", reason="again", now=NOW)
    with Session(engine) as session:
        assert verify_chain(session).ok


def test_two_workers_share_two_hundred_jobs_without_overlap(engine: Engine) -> None:
    approved_jobs(engine, 100, policies=("p-one", "p-two"))
    taken: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while batch := claim(engine, name, limit=7):
                for claimed in batch:
                    done = JobResult("changed", "ok", succeeded=True)
                    finish(engine, claimed.job_id, name, done)
                    taken[name].append(claimed.job_id)
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    both = taken["a"] + taken["b"]
    assert len(both) == len(set(both)) == 200
    if is_postgresql(engine):  # SKIP LOCKED lets both make progress at once
        assert taken["a"] and taken["b"]
    with Session(engine) as session:
        states = session.exec(select(Job.state)).all()
    assert set(states) == {JobState.SUCCEEDED}


def test_identical_failures_in_a_row_pause_the_policy_until_resumed(engine: Engine) -> None:
    approved_jobs(engine, 4, policies=("p-one", "p-two"))
    changed = "no element matches 'training_toggle' at http://host/linkedin/account-{n}"

    def note(failure: str | None) -> bool:
        with session_scope(engine) as session:
            return note_policy_result(
                session, policy_id="p-one", failure=failure, pause_after=3, actor="w", now=NOW
            )

    assert not note(changed.format(n=1))
    assert not note(None)  # a success starts the count again
    assert not note(changed.format(n=2))
    assert not note("something else")  # so does a different failure
    assert not note(changed.format(n=3))
    assert not note(changed.format(n=4))
    assert note(changed.format(n=5))  # three identical ones (URLs aside) in a row
    claimed = claim(engine, "w1", limit=100)
    assert {c.policy_id for c in claimed} == {"p-two"}  # the paused policy's jobs wait
    with Session(engine) as session:
        [paused] = paused_policies(session)
        assert paused.policy_id == "p-one"
        assert paused.failure_reason == "no element matches 'training_toggle' at <url>"
    with session_scope(engine) as session:
        resume_policy(session, policy_id="p-one", actor="admin", now=NOW)
    assert {c.policy_id for c in claim(engine, "w1", limit=100)} == {"p-one"}
    with pytest.raises(ConflictError, match="not paused"), session_scope(engine) as session:
        resume_policy(session, policy_id="p-one", actor="admin", now=NOW)


def test_a_paused_policys_jobs_wait_for_a_person_not_for_the_clock(engine: Engine) -> None:
    approved_jobs(engine, 3, policies=("p-one", "p-two"))
    retry_at = NOW + timedelta(minutes=3)
    with session_scope(engine) as session:
        note_policy_result(
            session, policy_id="p-one", failure="page changed", pause_after=1, actor="w", now=NOW
        )
        session.execute(
            update(Job).where(Job.policy_id == "p-two").values(next_attempt_at=retry_at)
        )

    with Session(engine) as session:
        # Nothing is due: p-one's jobs are held, p-two's are in backoff, which a worker
        # --until-empty waits for; p-one's never fall due by themselves.
        assert pending_count(session, now=NOW) == (0, 6)
        assert next_due_at(session) == retry_at
        assert waiting_jobs(session, now=NOW) == [
            WaitingJobs(WaitReason.POLICY_PAUSED, 3, "p-one"),
            WaitingJobs(WaitReason.RETRY, 3, first_due_at=retry_at),
        ]
    assert {c.policy_id for c in claim(engine, "w1", now=retry_at)} == {"p-two"}
    with Session(engine) as session:
        assert next_due_at(session) == NOW + timedelta(minutes=3) + LEASE  # the leases
        assert waiting_jobs(session, now=retry_at) == [
            WaitingJobs(WaitReason.POLICY_PAUSED, 3, "p-one")
        ]
    with session_scope(engine) as session:
        resume_policy(session, policy_id="p-one", actor="admin", now=retry_at)
    with Session(engine) as session:
        assert pending_count(session, now=retry_at) == (3, 0)
        assert waiting_jobs(session, now=retry_at) == []


def open_run(engine: Engine, worker: str, job_id: int, *, private_data_dir: Path) -> None:
    """A run as `claim_batch` opens it, holding one claimed job."""
    with session_scope(engine) as session:
        run = Run(
            worker=worker,
            status=RunStatus.RUNNING,
            job_count=1,
            private_data_dir=str(private_data_dir),
            started_at=NOW,
        )
        session.add(run)
        session.flush()
        session.execute(update(Job).where(col(Job.id) == job_id).values(run_id=run.id))


def test_a_run_whose_worker_died_without_a_trace_is_closed_as_abandoned(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with session_scope(engine) as session:
        import_directory(
            session,
            data=b"email,name,department,country\nlost@example.com,L,Ops,DE\n",
            source="p.csv",
            actor="t",
            now=NOW,
        )
    factories.approved_jobs(
        engine, emails=["lost@example.com"], policies={"p-one": "v" * 64}, now=NOW, max_attempts=1
    )
    [lost] = claim(engine, "dead-worker")
    # Its run was on a machine that is gone now.
    open_run(engine, "dead-worker", lost.job_id, private_data_dir=tmp_path / "elsewhere" / "run-1")
    later = NOW + LEASE + timedelta(seconds=1)
    settings = worker_settings(tmp_path, database_url=database_url, replica_url="http://replica")

    batch = claim_batch(
        engine,
        settings=settings,
        policies=POLICIES,
        worker=WorkerConfig(name="w2"),
        clock=lambda: later,
    )

    assert batch is None  # its one attempt is spent: it failed for good
    assert job(engine, lost.job_id).last_error == "worker dead-worker stopped renewing its lease"
    with Session(engine) as session:
        closed = session.exec(select(Run)).one()
        events = session.exec(select(AuditEvent).where(AuditEvent.subject_type == "run")).all()
    assert (closed.status, closed.finished_at) == (RunStatus.ABANDONED, later)
    assert [(event.action, event.data) for event in events] == [
        ("run.abandoned", {"worker": "dead-worker", "status": "abandoned"})
    ]


def test_the_demo_says_what_the_jobs_it_left_wait_for(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    approved_jobs(engine, 2)
    with session_scope(engine) as session:
        note_policy_result(
            session, policy_id="p-one", failure="page changed", pause_after=1, actor="w", now=NOW
        )
    settings = worker_settings(tmp_path, database_url=database_url, replica_url="http://replica")
    console = Console(record=True, width=200)

    run_jobs(engine, settings, POLICIES, console)

    assert (
        "2 jobs wait on paused policy p-one; once its page and file are reviewed, "
        "resume it with `optout policies resume p-one`."
    ) in console.export_text()


@pytest.mark.parametrize("how", ["recorded", "cancelled"])
def test_a_run_left_open_after_its_jobs_ended_is_closed_once_quiet_for_a_lease(
    engine: Engine, database_url: str, tmp_path: Path, how: str
) -> None:
    approved_jobs(engine, 1)
    [claimed] = claim(engine, "dead-worker")
    private = tmp_path / "runs" / "run-1"
    private.mkdir(parents=True)
    open_run(engine, "dead-worker", claimed.job_id, private_data_dir=private)
    if how == "recorded":  # the worker recorded its job, then died before closing the run
        outcome = {"status": "successful", "rc": 0, "ident": None}
        (private / RUN_OUTCOME).write_text(json.dumps(outcome), encoding="utf-8")
        finish(engine, claimed.job_id, "dead-worker", JobResult("changed", "", succeeded=True))
    else:  # an admin cancelled the running job, and its worker died before recording
        with session_scope(engine) as session:
            cancel_job(session, job_id=claimed.job_id, actor="admin", reason="wrong", now=NOW)
    settings = worker_settings(tmp_path, database_url=database_url, replica_url="http://replica")
    worker = WorkerConfig(name="w2")

    def sweep(at: datetime) -> Run:
        assert (
            claim_batch(
                engine, settings=settings, policies=POLICIES, worker=worker, clock=lambda: at
            )
            is None
        )
        with Session(engine) as session:
            return session.exec(select(Run)).one()

    # Within a lease of the job's end its worker may still be closing the run: left alone.
    assert sweep(NOW + worker.lease - timedelta(seconds=1)).status == RunStatus.RUNNING
    later = NOW + worker.lease + timedelta(seconds=1)
    closed = sweep(later)

    expected = "successful (worker died)" if how == "recorded" else RunStatus.ABANDONED
    assert (closed.status, closed.finished_at) == (expected, later)
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.subject_type == "run")).all()
    action = "run.adopted" if how == "recorded" else "run.abandoned"
    assert [(event.action, event.data) for event in events] == [
        (action, {"worker": "dead-worker", "status": expected})
    ]


def test_a_live_workers_run_whose_jobs_were_all_cancelled_stays_open_while_it_beats(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    approved_jobs(engine, 1)
    [claimed] = claim(engine, "busy-worker")
    # Its run is on a machine the sweeping worker cannot see (another host's data directory).
    open_run(engine, "busy-worker", claimed.job_id, private_data_dir=tmp_path / "elsewhere")
    with session_scope(engine) as session:
        cancel_job(session, job_id=claimed.job_id, actor="admin", reason="wrong", now=NOW)
    settings = worker_settings(tmp_path, database_url=database_url, replica_url="http://replica")
    worker = WorkerConfig(name="w2")

    def beat(at: datetime) -> None:
        with session_scope(engine) as session:
            [run_id] = session.exec(select(Run.id)).all()
            held = heartbeat(
                session,
                worker="busy-worker",
                job_ids=[claimed.job_id],
                now=at,
                lease=worker.lease,
                run_id=run_id,
            )
        assert held == 0  # the cancelled job is no longer its own; the run still is

    def sweep(at: datetime) -> str:
        claimed_now = claim_batch(
            engine, settings=settings, policies=POLICIES, worker=worker, clock=lambda: at
        )
        assert claimed_now is None
        with Session(engine) as session:
            return session.exec(select(Run.status)).one()

    # Long after its job was cancelled, its worker still beats for the run: it is at work.
    every = worker.lease / 3  # as often as the worker's heartbeat
    for beats in range(10):
        beat(NOW + beats * every)
        assert sweep(NOW + beats * every + timedelta(seconds=30)) == RunStatus.RUNNING
    # Once it stops beating for a lease, its worker is gone: the run is closed as abandoned.
    last_beat = NOW + beats * every
    assert sweep(last_beat + worker.lease - timedelta(seconds=1)) == RunStatus.RUNNING
    assert sweep(last_beat + worker.lease + timedelta(seconds=1)) == RunStatus.ABANDONED


def _one_job_in_a_dead_workers_run(
    engine: Engine, database_url: str, tmp_path: Path
) -> tuple[int, Callable[[], object]]:
    """A job claimed into a run whose worker died; and w2's claim cycle a lease later."""
    approved_jobs(engine, 1)
    [claimed] = claim(engine, "dead-worker")
    open_run(engine, "dead-worker", claimed.job_id, private_data_dir=tmp_path / "gone")
    settings = worker_settings(tmp_path, database_url=database_url, replica_url="http://replica")
    return claimed.job_id, lambda: claim_batch(
        engine,
        settings=settings,
        policies=POLICIES,
        worker=WorkerConfig(name="w2"),
        clock=lambda: NOW + LEASE + timedelta(seconds=1),
    )


def test_a_run_another_worker_is_recovering_is_skipped_on_postgresql(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    if not is_postgresql(engine):
        pytest.skip("row locks: SQLite has one writer at a time")
    job_id, recover = _one_job_in_a_dead_workers_run(engine, database_url, tmp_path)
    with Session(engine) as other:  # another worker is recovering the run right now
        other.exec(select(Run).with_for_update(key_share=True)).one()
        recover()
        with Session(engine) as session:
            assert session.exec(select(Run.status)).one() == RunStatus.RUNNING
        # Its job is left to that worker too, not put back behind its back.
        assert (job(engine, job_id).state, job(engine, job_id).lease_owner) == (
            JobState.RUNNING,
            "dead-worker",
        )
        other.rollback()
    recover()  # closes the run, puts its job back, and claims it into a run of its own
    with Session(engine) as session:
        first = session.exec(select(Run.status).order_by(col(Run.id))).first()
        assert first == RunStatus.ABANDONED
        adopted = session.exec(select(AuditEvent).where(AuditEvent.action == "run.abandoned")).all()
    assert len(adopted) == 1


def test_a_run_another_worker_recovered_meanwhile_is_left_alone_on_sqlite(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    if is_postgresql(engine):
        pytest.skip("on PostgreSQL the run is locked (the test above)")
    job_id, recover = _one_job_in_a_dead_workers_run(engine, database_url, tmp_path)
    failures: list[BaseException] = []

    def recover_in_thread() -> None:
        try:
            recover()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    # Another worker holds the write lock while it closes the run and puts its job back.
    with Session(engine) as other:
        other.execute(text("BEGIN IMMEDIATE"))
        other.execute(update(Run).values(status=RunStatus.ABANDONED, finished_at=NOW + LEASE))
        other.execute(
            update(Job)
            .where(col(Job.id) == job_id)
            .values(state=JobState.QUEUED, lease_owner=None, lease_expires_at=None)
        )
        recovering = threading.Thread(target=recover_in_thread)
        recovering.start()
        recovering.join(timeout=0.5)  # w2 waits for the lock, not reading the run as open
        assert recovering.is_alive()
        other.commit()
    recovering.join(timeout=30)
    assert not failures
    with Session(engine) as session:
        closed = session.exec(
            select(AuditEvent).where(col(AuditEvent.action).in_(["run.abandoned", "run.adopted"]))
        ).all()
        first = session.exec(select(Run).order_by(col(Run.id))).first()
    assert closed == []  # w2 did not close the run a second time
    assert first is not None and first.status == RunStatus.ABANDONED
    # The job the other worker put back was claimed into w2's own run.
    assert job(engine, job_id).lease_owner == "w2"
