"""Reading consent records for people: pages with filters, and an employee's answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from orchestrator.consent.models import Consent, ConsentState
from orchestrator.employees.models import Employee
from orchestrator.jobs.models import Job, JobPurpose, JobState


class Progress(StrEnum):
    """Where an employee's opt-outs stand, as an admin filters the directory by it."""

    PENDING_CONSENT = "pending_consent"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    NEEDS_ACTION = "needs_action"
    FAILED = "failed"
    OPTED_OUT = "opted_out"


_CONSENT_STATES = {
    Progress.PENDING_CONSENT: (ConsentState.PENDING,),
    Progress.DECLINED: (ConsentState.DECLINED,),
}
_JOB_STATES = {
    Progress.IN_PROGRESS: (JobState.SCHEDULED, JobState.QUEUED, JobState.RUNNING),
    Progress.NEEDS_ACTION: (JobState.NEEDS_ACTION,),
    Progress.FAILED: (JobState.FAILED,),
    Progress.OPTED_OUT: (JobState.SUCCEEDED,),
}


def employees_in(progress: Progress) -> Select[tuple[int]]:
    """The ids of employees with a consent or an opt-out job in that state (any campaign)."""
    consents = Consent.__table__  # type: ignore[attr-defined]
    jobs = Job.__table__  # type: ignore[attr-defined]
    if progress in _CONSENT_STATES:
        return sa_select(consents.c.employee_id).where(
            consents.c.state.in_(_CONSENT_STATES[progress])
        )
    return sa_select(jobs.c.employee_id).where(
        jobs.c.state.in_(_JOB_STATES[progress]), jobs.c.purpose == JobPurpose.OPT_OUT
    )


@dataclass(frozen=True)
class ConsentRow:
    """A consent with who it belongs to, for tables and the API."""

    id: int
    campaign_id: int
    employee_id: int
    employee_email: str
    state: str
    requested_at: datetime
    respond_by: datetime
    decided_at: datetime | None
    revoked_at: datetime | None
    reminders_sent: int
    policy_versions: dict[str, str]


def list_consents(
    session: Session,
    *,
    campaign_id: int | None = None,
    employee_id: int | None = None,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ConsentRow], int]:
    """One page of consents matching the filters, newest first, and the total."""
    query = select(Consent, Employee.email).join(
        Employee, col(Employee.id) == col(Consent.employee_id)
    )
    if campaign_id is not None:
        query = query.where(Consent.campaign_id == campaign_id)
    if employee_id is not None:
        query = query.where(Consent.employee_id == employee_id)
    if state is not None:
        query = query.where(Consent.state == state)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Consent.id).desc()).limit(limit).offset(offset)).all()
    return [_row(consent, email) for consent, email in rows], total


def _row(consent: Consent, email: str) -> ConsentRow:
    assert consent.id is not None
    return ConsentRow(
        id=consent.id,
        campaign_id=consent.campaign_id,
        employee_id=consent.employee_id,
        employee_email=email,
        state=consent.state,
        requested_at=consent.requested_at,
        respond_by=consent.respond_by,
        decided_at=consent.decided_at,
        revoked_at=consent.revoked_at,
        reminders_sent=consent.reminders_sent,
        policy_versions=dict(consent.policy_versions),
    )
