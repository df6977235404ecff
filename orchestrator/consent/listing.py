"""Reading consent records for people: pages with filters, and an employee's answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from orchestrator.consent.models import Consent
from orchestrator.employees.models import Employee


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
