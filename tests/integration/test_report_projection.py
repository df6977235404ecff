"""The stored status projection: a report of now reads it, and it must say what a direct
derivation from consents, jobs and exemptions says, after any change and after a crash.

The fleet of `test_reports` (every status present) is changed step by step through the real
services; after each step the stored rows, joined to the directory as a report joins them,
must equal the rows derived directly, and the report must show the change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import Session, col

from orchestrator.audit.service import record
from orchestrator.campaigns.service import CampaignScope, cancel_campaign
from orchestrator.consent.service import Decision, revoke
from orchestrator.core.db import session_scope
from orchestrator.employees.models import Employee
from orchestrator.employees.service import import_directory
from orchestrator.evidence.service import purge_expired_evidence
from orchestrator.jobs.models import JobPurpose
from orchestrator.jobs.queue import JobResult, claim_jobs, finish_job, queue_verifications
from orchestrator.reports import ReportParameters, Status, build_department_report
from orchestrator.reports.models import ProjectionWatermark
from orchestrator.reports.projection import (
    PROJECTED,
    Refresh,
    projected_statuses,
    refresh_projection,
)
from orchestrator.reports.statuses import Scope, all_statuses
from tests.integration.test_reports import (
    CONFIG,
    GENAI,
    NOW,
    OBJECTION,
    PEOPLE,
    POLICIES,
    Fleet,
    _campaign,
    _decide,
    _jobs,
    _keep_proof,
    _token,
    build_fleet,
)

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)

# What a report reads of each status row (see department._grouped and bundle._cited_evidence).
COLUMNS = (
    "employee_id",
    "department_id",
    "policy_id",
    "status",
    "last_error",
    "proof_job_id",
    "days_to_compliance",
    "exposure_days",
)


def _rows(session: Session, *, projected: bool) -> set[tuple[Any, ...]]:
    scope = Scope(department=None, as_of=None, dialect=session.get_bind().dialect.name)
    derive = projected_statuses if projected else all_statuses
    statuses = derive(session, policies=POLICIES, scope=scope)
    assert statuses is not None
    found = session.execute(select(*(statuses.rows.c[name] for name in COLUMNS))).all()
    # Days are fractions computed by the database; both sides compute them the same way.
    return {tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in found}


def _timeless(session: Session, *, as_of: datetime | None) -> set[tuple[Any, ...]]:
    """The status rows' columns that do not depend on the moment a report is for, derived
    from the rows as they stand (None) or from the audit log as of a moment."""
    scope = Scope(department=None, as_of=as_of, dialect=session.get_bind().dialect.name)
    statuses = all_statuses(session, policies=POLICIES, scope=scope)
    assert statuses is not None
    columns = (name for name in COLUMNS if name != "exposure_days")
    found = session.execute(select(*(statuses.rows.c[name] for name in columns))).all()
    return {tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in found}


def refreshed(engine: Engine) -> Refresh:
    """Refresh and commit, then check the stored rows against a direct derivation, and the
    rows as they stand against the audit log (an as-of report reads the log)."""
    with session_scope(engine) as session:
        done = refresh_projection(session)
    with Session(engine) as session:
        stored = _rows(session, projected=True)
        assert stored == _rows(session, projected=False)
        assert _timeless(session, as_of=None) == _timeless(session, as_of=FAR_FUTURE)
    return done


def totals(engine: Engine) -> dict[str, Counter[str]]:
    params = ReportParameters(None, None, NOW, "cli:auditor@host")
    with session_scope(engine) as session:
        report = build_department_report(session, params=params, policies=POLICIES)
    return {
        row.policy_id: Counter({k: v for k, v in row.counts.items() if v}) for row in report.totals
    }


def _employee_id(engine: Engine, email: str) -> int:
    with Session(engine) as session:
        found: int = session.execute(
            select(col(Employee.id)).where(col(Employee.email) == email)
        ).scalar_one()
    return found


@pytest.fixture
def fleet(engine: Engine, tmp_path: Path) -> Fleet:
    return build_fleet(engine, tmp_path)


def test_projection_stays_equal_to_the_direct_derivation_through_every_change(
    fleet: Fleet,
) -> None:
    engine = fleet.engine
    first = refreshed(engine)
    assert first.rebuilt and first.employees == len(PEOPLE)
    before = totals(engine)
    assert before[GENAI][Status.PENDING_CONSENT.value] == 1  # p1

    # Approve: only that employee is derived again.
    _decide(engine, "p1@x.com", Decision.APPROVE, NOW)
    step = refreshed(engine)
    assert (step.employees, step.rebuilt) == (1, False)
    after = totals(engine)
    assert after[GENAI][Status.PENDING_CONSENT.value] == 0
    assert after[GENAI][Status.QUEUED_OR_RUNNING.value] == (
        before[GENAI][Status.QUEUED_OR_RUNNING.value] + 1
    )

    # Job results: p1 verified on the toggle (with proof), failed on the form.
    at = NOW + timedelta(hours=1)
    with session_scope(engine) as session:
        claim_jobs(session, worker="w", limit=100, now=at, lease=timedelta(days=1))
        for job, email in _jobs(session, JobPurpose.OPT_OUT):
            if email != "p1@x.com":
                continue
            if job.policy_id == GENAI:
                result = JobResult("changed", "switched off", succeeded=True)
                _keep_proof(session, job, fleet.settings.resolved_evidence_dir, {}, at)
            else:
                result = JobResult("failed", "the form is gone", transient=False)
            finish_job(session, job_id=job.id, worker="w", result=result, now=at)  # type: ignore[arg-type]
    step = refreshed(engine)
    assert not step.rebuilt
    after = totals(engine)
    assert after[GENAI][Status.COMPLIANT.value] == before[GENAI][Status.COMPLIANT.value] + 1
    assert after[OBJECTION][Status.FAILED.value] == before[OBJECTION][Status.FAILED.value] + 1

    # Revoke: c1 withdraws a verified opt-out.
    token = _token(engine, "c1@x.com", withdraw=True)
    with session_scope(engine) as session:
        revoke(session, token=token, ip=None, user_agent=None, config=CONFIG, now=at)
    assert refreshed(engine).employees == 1
    assert totals(engine)[GENAI][Status.REVOKED.value] == 2  # v1, c1

    # Drift: a re-check finds c2's toggle switched back on.
    later = at + timedelta(days=1)
    with session_scope(engine) as session:
        queue_verifications(session, older_than=timedelta(0), now=later, actor="t")
        claim_jobs(session, worker="w", limit=100, now=later, lease=timedelta(days=1))
        for job, email in _jobs(session, JobPurpose.VERIFY):
            drifted = (email, job.policy_id) == ("c2@x.com", GENAI)
            result = JobResult(
                "drifted" if drifted else "already_compliant", "checked", succeeded=True
            )
            finish_job(session, job_id=job.id, worker="w", result=result, now=later)  # type: ignore[arg-type]
            if not drifted:
                _keep_proof(session, job, fleet.settings.resolved_evidence_dir, {}, later)
    refreshed(engine)
    assert totals(engine)[GENAI][Status.DRIFTED.value] == 2  # d1, c2

    # Purge: nothing to derive again, the report says how much cited proof is gone.
    with session_scope(engine) as session:
        purge_expired_evidence(
            session,
            older_than=timedelta(0),
            now=later + timedelta(seconds=1),
            actor="t",
            evidence_dir=fleet.settings.resolved_evidence_dir,
        )
    assert refreshed(engine).employees == 0
    params = ReportParameters(None, None, NOW, "cli:auditor@host")
    with session_scope(engine) as session:
        report = build_department_report(session, params=params, policies=POLICIES)
    assert report.retention.cited_records_purged > 0

    # A new campaign asks e1 (expired) and x1 (declined) again; x1 declines, then the
    # campaign is cancelled while e1 has not answered.
    campaign_id = _campaign(engine, CampaignScope(emails=("e1@x.com", "x1@x.com")), later)
    step = refreshed(engine)
    assert (step.employees, step.rebuilt) == (2, False)
    assert totals(engine)[OBJECTION][Status.PENDING_CONSENT.value] == 2
    _decide(engine, "x1@x.com", Decision.DECLINE, later)
    refreshed(engine)
    with session_scope(engine) as session:
        cancel_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=later)
    refreshed(engine)
    after = totals(engine)
    assert after[OBJECTION][Status.PENDING_CONSENT.value] == 0
    assert after[OBJECTION][Status.REQUEST_CANCELLED.value] == 2  # k1, e1
    assert after[OBJECTION][Status.CONSENT_EXPIRED.value] == 0

    # A department move needs no refresh: reports join the directory when they run.
    moved = "email,name,department,country\nq1@x.com,Person,Sales,US\n"
    with session_scope(engine) as session:
        import_directory(session, data=moved.encode(), source="m.csv", actor="t", now=later)
    assert refreshed(engine).employees == 0
    with session_scope(engine) as session:
        report = build_department_report(session, params=params, policies=POLICIES)
    sales = next(r for r in report.rows if (r.department, r.policy_id) == ("Sales", GENAI))
    assert sales.counts[Status.QUEUED_OR_RUNNING.value] == 1


def test_an_event_about_an_unknown_subject_derives_everyone_again(fleet: Fleet) -> None:
    refreshed(fleet.engine)
    with session_scope(fleet.engine) as session:
        record(session, actor="t", action="thing.done", subject_type="thing", subject_id=1, now=NOW)
    step = refreshed(fleet.engine)
    assert step.rebuilt and step.events == 1


class CrashError(RuntimeError):
    """The process dying in the middle of a refresh."""


@contextmanager
def crash_on_insert(engine: Engine) -> Iterator[None]:
    """Fail the refresh's INSERT, after its DELETE of the same employees' rows has run."""

    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PROJECTED_STATUSES"):
            raise CrashError("killed mid-refresh")

    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", fail)


def _stored(engine: Engine) -> tuple[int | None, set[tuple[Any, ...]]]:
    """The watermark and every stored row, as they are committed."""
    with Session(engine) as session:
        mark = session.execute(select(col(ProjectionWatermark.seq))).scalar_one_or_none()
        rows = session.execute(select(PROJECTED)).all()
    return mark, {tuple(row) for row in rows}


def test_a_refresh_that_dies_half_way_leaves_the_projection_as_it_was(fleet: Fleet) -> None:
    engine = fleet.engine
    refreshed(engine)
    kept = _stored(engine)
    _decide(engine, "p1@x.com", Decision.APPROVE, NOW)
    params = ReportParameters(None, None, NOW, "cli:auditor@host")
    with crash_on_insert(engine), pytest.raises(CrashError), session_scope(engine) as session:
        build_department_report(session, params=params, policies=POLICIES)
    # p1's old rows were deleted in the dead transaction; they are back, and the watermark
    # has not moved, so the next refresh takes the approval in.
    assert _stored(engine) == kept
    p1 = _employee_id(engine, "p1@x.com")
    assert {status for employee, _, status, *_ in kept[1] if employee == p1} == {
        Status.PENDING_CONSENT.value
    }
    step = refreshed(engine)
    assert step.employees == 1
    assert totals(engine)[GENAI][Status.PENDING_CONSENT.value] == 0
