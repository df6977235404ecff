"""Reading the audit log for people: pages of events, newest first, with filters."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from orchestrator.audit.models import AuditEvent


def list_events(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEvent], int]:
    """One page of audit events matching the filters (an `action` ending in `.` is a prefix)."""
    query = select(AuditEvent)
    if action:
        if action.endswith("."):
            query = query.where(col(AuditEvent.action).startswith(action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id:
        query = query.where(AuditEvent.subject_id == subject_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(limit).offset(offset))
    return list(rows.all()), total
