"""Reading the job queue for people: pages of jobs with filters, counts, failures, a run's log.

Read-only; the queue's writes live in `queue`. A run's log is the ansible-runner event files
the worker left on this controller, read back as short lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from orchestrator.core.errors import NotFoundError
from orchestrator.jobs.models import Job, JobState, Run

MAX_LOG_EVENTS = 500
_MAX_LINE = 2000


@dataclass(frozen=True)
class LogLine:
    """One ansible-runner event of a run, as a line of text."""

    counter: int
    event: str
    host: str | None
    task: str | None
    text: str


@dataclass(frozen=True)
class RunLog:
    """A job's run and what it printed (none yet, or no longer kept, is said so)."""

    job_id: int
    run_id: int | None
    status: str | None
    started_at: datetime | None
    finished_at: datetime | None
    kept: bool
    lines: list[LogLine]


def list_jobs(
    session: Session,
    *,
    state: str | None = None,
    campaign_id: int | None = None,
    employee_id: int | None = None,
    policy_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Job], int]:
    """One page of jobs matching the filters, newest first, and how many match in total."""
    query = select(Job)
    if state is not None:
        query = query.where(Job.state == state)
    if campaign_id is not None:
        query = query.where(Job.campaign_id == campaign_id)
    if employee_id is not None:
        query = query.where(Job.employee_id == employee_id)
    if policy_id is not None:
        query = query.where(Job.policy_id == policy_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Job.id).desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def get_job(session: Session, *, job_id: int) -> Job:
    """One job, or NotFoundError."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    return job


def job_counts(session: Session) -> dict[str, int]:
    """How many jobs are in each state (every state listed, zeros too)."""
    counts = {state.value: 0 for state in JobState}
    counts.update(session.exec(select(Job.state, func.count()).group_by(col(Job.state))).all())
    return counts


def recent_failures(session: Session, *, limit: int = 10) -> list[Job]:
    """The latest jobs that failed for good or need the employee, newest first."""
    return list(
        session.exec(
            select(Job)
            .where(col(Job.state).in_((JobState.FAILED, JobState.NEEDS_ACTION)))
            .order_by(col(Job.updated_at).desc(), col(Job.id).desc())
            .limit(limit)
        ).all()
    )


def run_log(session: Session, *, job_id: int, limit: int = MAX_LOG_EVENTS) -> RunLog:
    """The log of the run that last carried the job out, as lines (at most `limit`)."""
    job = get_job(session, job_id=job_id)
    run = session.get(Run, job.run_id) if job.run_id is not None else None
    if run is None:
        return RunLog(job_id, None, None, None, None, False, [])
    directory = Path(run.event_log_path) if run.event_log_path else None
    kept = directory is not None and directory.is_dir()
    lines = _read_events(directory, limit) if kept and directory is not None else []
    return RunLog(job_id, run.id, run.status, run.started_at, run.finished_at, kept, lines)


def _read_events(directory: Path, limit: int) -> list[LogLine]:
    def counter(path: Path) -> int:
        head = path.name.split("-", 1)[0]
        return int(head) if head.isdigit() else 0

    lines: list[LogLine] = []
    for path in sorted(directory.glob("*.json"), key=counter)[:limit]:
        try:
            event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a file being written as we read; the next look shows it
        data = event.get("event_data") or {}
        lines.append(
            LogLine(
                counter=int(event.get("counter") or counter(path)),
                event=str(event.get("event", "")),
                host=data.get("host"),
                task=data.get("task"),
                text=str(event.get("stdout") or "").strip()[:_MAX_LINE],
            )
        )
    return lines
