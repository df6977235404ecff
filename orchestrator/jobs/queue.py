"""The job queue: claiming with leases, heartbeats, retries with backoff, and cancellation.

States: `scheduled` (waiting for a run window) → `queued` → `running` → `succeeded`,
`needs_action`, `failed` or back to `queued` (a transient failure, or a worker that died);
`queued`, `scheduled` and `running` jobs can be `cancelled`. A claim takes only jobs whose
consent is approved at that moment, so a revoked consent stops a job even if the revocation
raced the queue. A worker's writes are fenced by its lease: once another worker has taken a
job over, the late worker's result is ignored, so no job ends twice.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, column, exists, func, insert, or_, select, table, update
from sqlmodel import Session, col

from orchestrator.audit.service import NewEvent, record, record_many
from orchestrator.core.clock import as_utc
from orchestrator.core.db import is_postgresql
from orchestrator.core.errors import ConflictError, NotFoundError
from orchestrator.jobs.models import (
    LAST_ERROR_LENGTH,
    Job,
    JobHold,
    JobPurpose,
    JobState,
    PolicyHealth,
    Run,
    RunStatus,
)

# Consent rows are the consent room's; the queue only asks whether one stands.
_consents = table("consents", column("id"), column("state"))
APPROVED = "approved"
_health = PolicyHealth.__table__  # type: ignore[attr-defined]

DEFAULT_MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
FINAL_STATES = frozenset(
    {JobState.SUCCEEDED, JobState.NEEDS_ACTION, JobState.FAILED, JobState.CANCELLED}
)


@dataclass(frozen=True)
class JobClaim:
    """A job a worker now holds, with what it needs to build the engine task."""

    job_id: int
    employee_id: int
    consent_id: int
    campaign_id: int | None
    policy_id: str
    policy_version: str
    purpose: str
    attempt: int


@dataclass(frozen=True)
class JobResult:
    """How an attempt ended, in the queue's terms (the engine's outcome, translated)."""

    outcome: str
    message: str
    succeeded: bool = False
    needs_employee: bool = False
    transient: bool = False
    retry_after_seconds: float | None = None


def backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: a random wait up to base·2^(attempt−1), capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


def _consent_stands(jobs: Any) -> Any:
    """Whether a job's consent is approved: without it, a job never runs."""
    return exists().where(and_(_consents.c.id == jobs.c.consent_id, _consents.c.state == APPROVED))


def _policy_paused(jobs: Any) -> Any:
    """Whether a job's policy is paused: its jobs wait for a person to resume it."""
    return exists().where(and_(_health.c.policy_id == jobs.c.policy_id, _health.c.paused.is_(True)))


def claim_jobs(
    session: Session, *, worker: str, limit: int, now: datetime, lease: timedelta
) -> list[JobClaim]:
    """Take up to `limit` due jobs with a standing consent, oldest first, under a lease.

    On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several workers claim at once without
    waiting for or overlapping each other; SQLite has one writer, so the single UPDATE is
    already exclusive.
    """
    jobs = Job.__table__  # type: ignore[attr-defined]
    due = (
        select(jobs.c.id)
        .where(
            jobs.c.state == JobState.QUEUED,
            jobs.c.next_attempt_at <= now,
            _consent_stands(jobs),
            ~_policy_paused(jobs),
        )
        .order_by(jobs.c.next_attempt_at, jobs.c.id)
        .limit(limit)
    )
    if is_postgresql(session.get_bind()):  # type: ignore[arg-type]
        # A CTE runs the locking SELECT once; inside IN (...) PostgreSQL may re-run it and
        # take more rows than LIMIT.
        chosen = due.with_for_update(skip_locked=True).cte("chosen")
        statement = update(jobs).where(jobs.c.id == chosen.c.id)
    else:
        statement = update(jobs).where(jobs.c.id.in_(due.scalar_subquery()))
    claimed = session.execute(
        statement.where(jobs.c.state == JobState.QUEUED)
        .values(
            state=JobState.RUNNING,
            lease_owner=worker,
            lease_expires_at=now + lease,
            attempts=jobs.c.attempts + 1,
            updated_at=now,
        )
        .returning(
            jobs.c.id,
            jobs.c.employee_id,
            jobs.c.consent_id,
            jobs.c.campaign_id,
            jobs.c.policy_id,
            jobs.c.policy_version,
            jobs.c.purpose,
            jobs.c.attempts,
        )
    ).all()
    claims = sorted((JobClaim(*row) for row in claimed), key=lambda claim: claim.job_id)
    record_many(
        session,
        [
            NewEvent(
                f"worker:{worker}",
                "job.claimed",
                "job",
                str(claim.job_id),
                {"attempt": claim.attempt, "policy_id": claim.policy_id},
            )
            for claim in claims
        ],
        now=now,
    )
    return claims


def heartbeat(
    session: Session,
    *,
    worker: str,
    job_ids: Sequence[int],
    now: datetime,
    lease: timedelta,
    run_id: int | None = None,
) -> int:
    """Extend this worker's leases on jobs it still holds, and note its run (if given) as
    alive, whether or not it still holds any; returns how many jobs it still holds."""
    if run_id is not None:
        session.execute(
            update(Run)
            .where(col(Run.id) == run_id, col(Run.status) == RunStatus.RUNNING)
            .values(heartbeat_at=now)
        )
    if not job_ids:
        return 0
    result = session.execute(
        update(Job)
        .where(
            col(Job.id).in_(job_ids),
            col(Job.state) == JobState.RUNNING,
            col(Job.lease_owner) == worker,
        )
        .values(lease_expires_at=now + lease)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def requeue_expired(session: Session, *, now: datetime, run_id: int | None = None) -> int:
    """Put back jobs whose worker stopped renewing its lease (killed, lost its host...).

    A job whose run is still open is left to whoever recovers that run (passing `run_id`):
    the run may have finished it, and adopting its result beats running it twice. On
    PostgreSQL a job another worker holds is skipped, so each is put back once.
    """
    query = select(Job).where(col(Job.state) == JobState.RUNNING, col(Job.lease_expires_at) < now)
    if run_id is None:
        open_run = exists().where(
            col(Run.id) == col(Job.run_id), col(Run.status) == RunStatus.RUNNING
        )
        query = query.where(~open_run)
    else:
        query = query.where(col(Job.run_id) == run_id)
    if is_postgresql(session.get_bind()):  # type: ignore[arg-type]
        query = query.with_for_update(skip_locked=True)
    expired = session.scalars(query.order_by(col(Job.id))).all()
    for job in expired:
        give_up = job.attempts >= job.max_attempts
        previous_owner = job.lease_owner
        job.state = JobState.FAILED if give_up else JobState.QUEUED
        job.last_error = f"worker {previous_owner} stopped renewing its lease"
        job.lease_owner = job.lease_expires_at = None
        job.updated_at = now
        if give_up:
            job.finished_at = now
        session.add(job)
        record(
            session,
            actor="system:queue",
            action="job.failed" if give_up else "job.requeued",
            subject_type="job",
            subject_id=job.id or 0,
            data={"reason": job.last_error, "attempts": job.attempts},
            now=now,
        )
    return len(expired)


def finish_job(
    session: Session, *, job_id: int, worker: str, result: JobResult, now: datetime
) -> str | None:
    """Record an attempt's result; returns the job's new state, or None if the lease was lost.

    A transient failure is retried after a backoff (or the site's Retry-After, if longer)
    until `max_attempts`; anything else ends the job with its reason.
    """
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    if job.state != JobState.RUNNING or job.lease_owner != worker:
        record(
            session,
            actor=f"worker:{worker}",
            action="job.result_ignored",
            subject_type="job",
            subject_id=job_id,
            data={"state": job.state, "outcome": result.outcome, "message": result.message},
            now=now,
        )
        return None
    if result.succeeded:
        state = JobState.SUCCEEDED
    elif result.needs_employee:
        state = JobState.NEEDS_ACTION
    elif result.transient and job.attempts < job.max_attempts:
        state = JobState.QUEUED
    else:
        state = JobState.FAILED
    job.state = state
    job.outcome = result.outcome
    job.last_error = None if result.succeeded else result.message[:LAST_ERROR_LENGTH]
    job.lease_owner = job.lease_expires_at = None
    job.updated_at = now
    if state == JobState.QUEUED:
        wait = max(backoff_seconds(job.attempts), result.retry_after_seconds or 0.0)
        job.next_attempt_at = now + timedelta(seconds=wait)
    else:
        job.finished_at = now
    session.add(job)
    record(
        session,
        actor=f"worker:{worker}",
        action="job.retry_scheduled" if state == JobState.QUEUED else f"job.{state}",
        subject_type="job",
        subject_id=job_id,
        data={
            "outcome": result.outcome,
            "message": result.message,
            "attempt": job.attempts,
            "next_attempt_at": job.next_attempt_at if state == JobState.QUEUED else None,
        },
        now=now,
    )
    return state


def cancel_job(session: Session, *, job_id: int, actor: str, reason: str, now: datetime) -> None:
    """Cancel a queued, scheduled or running job (a running one's late result is ignored)."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    if job.state in FINAL_STATES:
        raise ConflictError(f"job {job_id} already ended ({job.state}); nothing to cancel")
    was = job.state
    job.state = JobState.CANCELLED
    job.last_error = reason[:LAST_ERROR_LENGTH]
    job.lease_owner = job.lease_expires_at = None
    job.updated_at = job.finished_at = now
    session.add(job)
    record(
        session,
        actor=actor,
        action="job.cancelled",
        subject_type="job",
        subject_id=job_id,
        data={"was": was, "reason": reason},
        now=now,
    )


def pending_count(session: Session, *, now: datetime) -> tuple[int, int]:
    """(due now, waiting for later): open jobs whose consent stands, for progress displays.

    A paused policy's jobs wait, even when their time has come: no claim takes them.
    """
    jobs = Job.__table__  # type: ignore[attr-defined]
    waiting = or_(jobs.c.state == JobState.QUEUED, jobs.c.state == JobState.SCHEDULED)
    # Held jobs (paused campaign, shut run window) wait for a release, not for the clock.
    due_now = and_(
        jobs.c.state == JobState.QUEUED, jobs.c.next_attempt_at <= now, ~_policy_paused(jobs)
    )
    due, later = session.execute(
        select(func.count().filter(due_now), func.count().filter(~due_now)).where(
            waiting, _consent_stands(jobs)
        )
    ).one()
    return int(due), int(later)


def next_due_at(session: Session) -> datetime | None:
    """When the next open job is due: a retry, an expiring lease or a run window opening.

    Jobs that only a person can release (a paused policy's, a paused campaign's) are never
    due by themselves, so they do not count.
    """
    jobs = Job.__table__  # type: ignore[attr-defined]
    window_held = and_(jobs.c.state == JobState.SCHEDULED, jobs.c.hold == JobHold.RUN_WINDOW)
    claimable = and_(jobs.c.state == JobState.QUEUED, ~_policy_paused(jobs))
    queued, leased, window = session.execute(
        select(
            func.min(jobs.c.next_attempt_at).filter(claimable),
            func.min(jobs.c.lease_expires_at).filter(jobs.c.state == JobState.RUNNING),
            func.min(jobs.c.next_attempt_at).filter(and_(window_held, ~_policy_paused(jobs))),
        ).where(_consent_stands(jobs))
    ).one()
    times = [as_utc(value) for value in (queued, leased, window) if value is not None]
    return min(times) if times else None


class WaitReason(StrEnum):
    """What open jobs that are not due wait for: a person (a resume) or the clock."""

    POLICY_PAUSED = "policy_paused"
    CAMPAIGN_PAUSED = "campaign_paused"
    RUN_WINDOW = "run_window"
    RETRY = "retry"


@dataclass(frozen=True)
class WaitingJobs:
    """Open jobs not due now that wait for the same thing: one paused policy, one paused
    campaign, their run windows, or their retries."""

    reason: WaitReason
    count: int
    subject: str | None = None  # the paused policy's id, or the paused campaign's id
    first_due_at: datetime | None = None  # for the clock's waits: when the first falls due


def what_they_wait_for(waiting: WaitingJobs) -> str:
    """What some jobs left behind wait for, and for a paused policy or campaign, who acts how
    (one wording for every surface that stops with jobs left: the worker command, the demo)."""
    jobs = f"{waiting.count} job{'' if waiting.count == 1 else 's'}"
    when = f"{waiting.first_due_at:%Y-%m-%d %H:%M} UTC" if waiting.first_due_at else "later"
    match waiting.reason:
        case WaitReason.POLICY_PAUSED:
            return (
                f"{jobs} wait on paused policy {waiting.subject}; once its page and file are "
                f"reviewed, resume it with `optout policies resume {waiting.subject}`."
            )
        case WaitReason.CAMPAIGN_PAUSED:
            return (
                f"{jobs} wait on paused campaign {waiting.subject}; "
                f"resume it with `optout campaign resume {waiting.subject}`."
            )
        case WaitReason.RUN_WINDOW:
            return f"{jobs} wait for their run window (the first opens {when})."
        case WaitReason.RETRY:
            return f"{jobs} wait to be retried (the first at {when})."


def waiting_jobs(session: Session, *, now: datetime) -> list[WaitingJobs]:
    """Open jobs with a standing consent that no claim takes now, grouped by what they wait
    for; a job held by both a paused campaign and a paused policy counts for the campaign."""
    jobs = Job.__table__  # type: ignore[attr-defined]
    paused = _health.alias("paused")
    claimable_now = and_(
        jobs.c.state == JobState.QUEUED,
        jobs.c.next_attempt_at <= now,
        paused.c.policy_id.is_(None),
    )
    rows = session.execute(
        select(
            jobs.c.hold,
            jobs.c.campaign_id,
            jobs.c.policy_id,
            paused.c.policy_id.is_not(None),
            func.count(),
            func.min(jobs.c.next_attempt_at),
        )
        .outerjoin(paused, and_(paused.c.policy_id == jobs.c.policy_id, paused.c.paused.is_(True)))
        .where(
            or_(jobs.c.state == JobState.QUEUED, jobs.c.state == JobState.SCHEDULED),
            _consent_stands(jobs),
            ~claimable_now,
        )
        .group_by(jobs.c.hold, jobs.c.campaign_id, jobs.c.policy_id, paused.c.policy_id)
    ).all()
    counts: Counter[tuple[WaitReason, str | None]] = Counter()
    first: dict[tuple[WaitReason, str | None], datetime] = {}
    for hold, campaign_id, policy_id, policy_paused, count, due_at in rows:
        if hold == JobHold.CAMPAIGN_PAUSED:
            key: tuple[WaitReason, str | None] = (WaitReason.CAMPAIGN_PAUSED, str(campaign_id))
        elif policy_paused:
            key = (WaitReason.POLICY_PAUSED, policy_id)
        else:
            reason = WaitReason.RUN_WINDOW if hold == JobHold.RUN_WINDOW else WaitReason.RETRY
            key = (reason, None)
            due = as_utc(due_at)
            first[key] = min(first.get(key, due), due)
        counts[key] += int(count)
    return [
        WaitingJobs(reason, count, subject, first.get((reason, subject)))
        for (reason, subject), count in sorted(counts.items(), key=lambda item: item[0])
    ]


_VERIFIED_OUTCOMES = ("changed", "already_compliant")
_OPEN_STATES = (JobState.QUEUED, JobState.SCHEDULED, JobState.RUNNING)


def queue_verifications(
    session: Session, *, older_than: timedelta, now: datetime, actor: str
) -> int:
    """Queue a read-only re-check for every account opted out more than `older_than` ago.

    One per employee and policy whose latest finished job proved the account compliant,
    whose consent still stands, and that has no job open already.
    """
    jobs = Job.__table__  # type: ignore[attr-defined]
    newest = (
        select(
            jobs.c.employee_id,
            jobs.c.policy_id,
            func.max(jobs.c.finished_at).label("finished_at"),
        )
        .where(jobs.c.state == JobState.SUCCEEDED)
        .group_by(jobs.c.employee_id, jobs.c.policy_id)
        .subquery()
    )
    other = jobs.alias("other")
    open_job = exists().where(
        and_(
            other.c.employee_id == newest.c.employee_id,
            other.c.policy_id == newest.c.policy_id,
            other.c.state.in_(_OPEN_STATES),
        )
    )
    due = session.execute(
        select(
            jobs.c.campaign_id,
            jobs.c.employee_id,
            jobs.c.consent_id,
            jobs.c.policy_id,
            jobs.c.policy_version,
        )
        .join(
            newest,
            and_(
                jobs.c.employee_id == newest.c.employee_id,
                jobs.c.policy_id == newest.c.policy_id,
                jobs.c.finished_at == newest.c.finished_at,
            ),
        )
        .where(
            jobs.c.state == JobState.SUCCEEDED,
            jobs.c.outcome.in_(_VERIFIED_OUTCOMES),
            jobs.c.finished_at < now - older_than,
            _consent_stands(jobs),
            ~open_job,
        )
    ).all()
    return _queue(
        session, due, purpose=JobPurpose.VERIFY, actor=actor, why="re-verification", now=now
    )


def queue_repair(session: Session, *, drifted_job_id: int, actor: str, now: datetime) -> bool:
    """After a re-check found the setting switched back on, opt out again if consent stands."""
    jobs = Job.__table__  # type: ignore[attr-defined]
    row = session.execute(
        select(
            jobs.c.campaign_id,
            jobs.c.employee_id,
            jobs.c.consent_id,
            jobs.c.policy_id,
            jobs.c.policy_version,
        ).where(
            jobs.c.id == drifted_job_id,
            _consent_stands(jobs),
        )
    ).first()
    if row is None:
        return False
    return (
        _queue(session, [row], purpose=JobPurpose.OPT_OUT, actor=actor, why="drift", now=now) == 1
    )


def _queue(
    session: Session, rows: Sequence[Any], *, purpose: str, actor: str, why: str, now: datetime
) -> int:
    if not rows:
        return 0
    created = session.execute(
        insert(Job.__table__).returning(Job.__table__.c.id),  # type: ignore[attr-defined]
        [
            {
                "campaign_id": campaign_id,
                "employee_id": employee_id,
                "consent_id": consent_id,
                "policy_id": policy_id,
                "policy_version": version,
                "purpose": purpose,
                "state": JobState.QUEUED,
                "attempts": 0,
                "max_attempts": DEFAULT_MAX_ATTEMPTS,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for campaign_id, employee_id, consent_id, policy_id, version in rows
        ],
    ).all()
    record_many(
        session,
        [
            NewEvent(actor, "job.queued", "job", str(job_id), {"purpose": purpose, "why": why})
            for (job_id,) in created
        ],
        now=now,
    )
    return len(created)


_URL = re.compile(r"https?://\S+")


def failure_signature(message: str) -> str:
    """What identical failures have in common: the message without URLs (they name accounts)."""
    return _URL.sub("<url>", message)[:500]


def note_policy_result(
    session: Session,
    *,
    policy_id: str,
    failure: str | None,
    pause_after: int,
    actor: str,
    now: datetime,
) -> bool:
    """Count a policy's identical failures in a row; True when this one paused the policy.

    A success, or a different failure, starts the count again.
    """
    health = session.get(PolicyHealth, policy_id, with_for_update=True) or PolicyHealth(
        policy_id=policy_id, updated_at=now
    )
    if failure is None:
        health.failures_in_a_row, health.failure_reason = 0, None
    else:
        signature = failure_signature(failure)
        same = health.failure_reason == signature
        health.failures_in_a_row = health.failures_in_a_row + 1 if same else 1
        health.failure_reason = signature
    health.updated_at = now
    pausing = not health.paused and health.failures_in_a_row >= pause_after
    if pausing:
        health.paused, health.paused_at = True, now
        record(
            session,
            actor=actor,
            action="policy.paused",
            subject_type="policy",
            subject_id=policy_id,
            data={"failures_in_a_row": health.failures_in_a_row, "reason": health.failure_reason},
            now=now,
        )
    session.add(health)
    session.flush()
    return pausing


def resume_policy(session: Session, *, policy_id: str, actor: str, now: datetime) -> None:
    """Let a paused policy take jobs again (after someone reviewed the site and the policy)."""
    health = session.get(PolicyHealth, policy_id, with_for_update=True)
    if health is None or not health.paused:
        raise ConflictError(f"policy {policy_id} is not paused")
    health.paused, health.paused_at, health.failures_in_a_row = False, None, 0
    health.updated_at = now
    session.add(health)
    record(
        session,
        actor=actor,
        action="policy.resumed",
        subject_type="policy",
        subject_id=policy_id,
        data={"last_reason": health.failure_reason},
        now=now,
    )


def paused_policies(session: Session) -> list[PolicyHealth]:
    """Policies that take no new jobs, with why."""
    return list(session.scalars(select(PolicyHealth).where(col(PolicyHealth.paused))).all())


RETRYABLE_STATES = frozenset({JobState.FAILED, JobState.NEEDS_ACTION, JobState.CANCELLED})


def retry_job(session: Session, *, job_id: int, actor: str, now: datetime) -> None:
    """Queue an ended job again (failed, needs action, cancelled) if its consent still stands."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    if job.state not in RETRYABLE_STATES:
        raise ConflictError(
            f"job {job_id} is {job.state}; only failed, needs-action or cancelled jobs are retried"
        )
    consent_state = session.execute(
        select(_consents.c.state).where(_consents.c.id == job.consent_id)
    ).scalar_one_or_none()
    if consent_state != APPROVED:
        raise ConflictError(
            f"job {job_id} cannot run again: its consent is {consent_state or 'gone'}, not approved"
        )
    was = job.state
    job.state = JobState.QUEUED
    job.max_attempts = max(job.max_attempts, job.attempts + 1)
    job.next_attempt_at = job.updated_at = now
    job.finished_at = None
    session.add(job)
    record(
        session,
        actor=actor,
        action="job.retried",
        subject_type="job",
        subject_id=job_id,
        data={"was": was, "attempts_so_far": job.attempts},
        now=now,
    )
