"""The job queue and the ansible-runner runs that carry jobs out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime
from orchestrator.core.models import one_of


class JobState(StrEnum):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    NEEDS_ACTION = "needs_action"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobHold(StrEnum):
    """Why a `scheduled` job waits: the releases of the two never touch each other's jobs."""

    CAMPAIGN_PAUSED = "campaign_paused"
    RUN_WINDOW = "run_window"


class JobPurpose(StrEnum):
    OPT_OUT = "opt_out"
    VERIFY = "verify"


class RunStatus(StrEnum):
    """A run's states of our own. An ended run otherwise carries ansible-runner's word for
    how it ended (successful, failed, timeout, canceled, error), followed by
    `WORKER_DIED` when another worker recorded it after its own worker died."""

    RUNNING = "running"
    NOT_NEEDED = "not_needed"  # every job's result was decided without running anything
    ABANDONED = "abandoned"  # its worker died and the run never said how it ended


WORKER_DIED = " (worker died)"


# How much of a failure's message a job row keeps (its event in the audit log keeps all).
LAST_ERROR_LENGTH = 2000


class Run(SQLModel, table=True):
    """One ansible-runner execution over a batch of jobs, with where its event log is kept."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    worker: str = Field(max_length=200)
    status: str = Field(max_length=30)
    return_code: int | None = None
    job_count: int = Field(default=0, ge=0)
    private_data_dir: str | None = Field(default=None, max_length=1000)
    event_log_path: str | None = Field(default=None, max_length=1000)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When its worker last said it was alive (renewed with the jobs' leases): a run whose
    # jobs were all cancelled holds no lease, yet its worker may still be at work on it.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Job(SQLModel, table=True):
    """A policy applied (or re-checked) on one employee's account; claimed by workers via leases."""

    __tablename__ = "jobs"
    __table_args__ = (
        one_of("state", JobState, name="ck_jobs_state"),
        one_of("purpose", JobPurpose, name="ck_jobs_purpose"),
        one_of("hold", JobHold, name="ck_jobs_hold"),
        Index("ix_jobs_claim", "state", "next_attempt_at"),
        Index("ix_jobs_employee_policy", "employee_id", "policy_id"),
        Index("ix_jobs_campaign_state", "campaign_id", "state"),
        Index("ix_jobs_lease", "state", "lease_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaigns.id")
    employee_id: int = Field(foreign_key="employees.id")
    consent_id: int = Field(foreign_key="consents.id", index=True)
    policy_id: str = Field(max_length=100)
    policy_version: str = Field(max_length=64)
    purpose: str = Field(default=JobPurpose.OPT_OUT, max_length=20)
    state: str = Field(default=JobState.QUEUED, max_length=20)
    outcome: str | None = Field(default=None, max_length=40)
    attempts: int = Field(default=0, ge=0)
    max_attempts: int = Field(default=5, ge=1)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    last_error: str | None = Field(default=None, max_length=LAST_ERROR_LENGTH)
    hold: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # Indexed: reports as of a moment read from the log only the jobs changed since.
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PolicyHealth(SQLModel, table=True):
    """How a policy has been faring: repeated identical failures pause it for new jobs.

    When a site changes its page, every account fails the same way; pausing the policy after
    a few such failures in a row spares the rest of the fleet until someone reviews it.
    """

    __tablename__ = "policy_health"

    policy_id: str = Field(primary_key=True, max_length=100)
    paused: bool = False
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failure_reason: str | None = Field(default=None, max_length=500)
    failures_in_a_row: int = Field(default=0, ge=0)
    updated_at: datetime = Field(sa_type=UTCDateTime)
