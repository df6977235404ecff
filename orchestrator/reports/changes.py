"""Which employees' statuses a stretch of the audit log may have changed.

Both stored views of the statuses (the projection of now and the hourly history) keep
themselves exact by deriving again only the employees that new events concern, so they share
this mapping from events (and the rows written with them) to employees.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    and_,
    cast,
    func,
    select,
    true,
    union,
)
from sqlmodel import Session

from orchestrator.audit.models import AuditEvent
from orchestrator.campaigns.models import Campaign, Exemption
from orchestrator.consent.models import Consent
from orchestrator.core.sql import in_table_order
from orchestrator.employees.models import Employee
from orchestrator.jobs.models import Job

_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_CAMPAIGNS = Campaign.__table__  # type: ignore[attr-defined]
_CONSENTS = Consent.__table__  # type: ignore[attr-defined]
_JOBS = Job.__table__  # type: ignore[attr-defined]
_EXEMPTIONS = Exemption.__table__  # type: ignore[attr-defined]
_EMPLOYEES = Employee.__table__  # type: ignore[attr-defined]

# Past this share of the directory (and this many), deriving everyone in one statement is
# cheaper than picking out the touched employees: for the projection, a recorded hour and a
# report's overlay alike.
_EVERYONE_SHARE = 0.2
_EVERYONE_AT_LEAST = 1000

# The subjects whose events may change someone's status (each is mapped to employees), and
# those whose events change none: the directory and evidence purges (joined when a report
# runs), sign-ins, mail, policy health and run warnings (a job's own events say its
# outcome). An event about any other subject means deriving everyone again, to be safe.
AFFECTING = ("consent", "job", "exemption", "campaign")
UNRELATED = frozenset(
    {
        "admin",
        "api_token",
        "department",
        "directory",
        "employee",
        "evidence_store",
        "mail",
        "policy",
        "run",
    }
)


def events_between_seqs(after: int, through: int) -> ColumnElement[bool]:
    """Audit events numbered after one watermark, up to another."""
    return and_(_AUDIT.c.seq > after, _AUDIT.c.seq <= through)


def events_between_times(after: datetime | None, through: datetime) -> ColumnElement[bool]:
    """Audit events stamped after one moment (or ever), up to another."""
    if after is None:
        return _AUDIT.c.at <= through
    return and_(_AUDIT.c.at > after, _AUDIT.c.at <= through)


def _subject_ids(subject_type: str, events: CTE) -> Select[Any]:
    return select(cast(events.c.subject_id, Integer)).where(events.c.subject_type == subject_type)


def _between(column: Any, after: datetime | None, through: datetime | None) -> ColumnElement[bool]:
    """Stamps after one moment (or ever) up to another (or ever since)."""
    bounds = [] if after is None else [column > after]
    bounds += [] if through is None else [column <= through]
    return and_(true(), *bounds)


def touched_ids(
    session: Session,
    events: ColumnElement[bool],
    *,
    rows_between: tuple[datetime | None, datetime | None] | None = None,
) -> list[int] | None:
    """The ids of the employees whose status these events (and rows) may have changed, in
    order; None when deriving everyone is safer (an unknown subject) or cheaper (most)."""
    touched = _touched_employees(session, events, rows_between=rows_between)
    if touched is None:
        return None
    ids = sorted(session.execute(touched).scalars())
    if len(ids) > _EVERYONE_AT_LEAST:
        everyone = session.execute(select(func.count()).select_from(_EMPLOYEES)).scalar_one()
        if len(ids) > _EVERYONE_SHARE * everyone:
            return None
    return ids


def _touched_employees(
    session: Session,
    events: ColumnElement[bool],
    *,
    rows_between: tuple[datetime | None, datetime | None] | None = None,
) -> CompoundSelect | None:
    """A query of the employees whose status these events may have changed; None when an
    event about an unknown subject leaves only deriving everyone again.

    `rows_between` adds the employees of consents, jobs, exemptions and campaigns stamped in
    that stretch of time: a derivation "as of" a moment reads those stamps as well as the
    events' own, and the two need not fall on the same side of midnight.
    """
    # Found by the events' condition: given an open range of stamps, SQLite would rather
    # walk the whole index of subjects for their order (0.17 s at 460,000 events).
    subject_type = in_table_order(_AUDIT.c.subject_type)
    subjects = session.execute(select(subject_type).where(events).distinct()).scalars()
    if set(subjects) - UNRELATED - set(AFFECTING):
        return None
    # The events are picked out once (by number or by time, whichever the condition uses),
    # then sorted by subject; looking them up by subject first would read every event of
    # that type.
    found = select(_AUDIT.c.subject_type, _AUDIT.c.subject_id).where(events).cte("events")
    campaigns = _subject_ids("campaign", found)
    # A campaign's own events (launched, paused, resumed, cancelled, completed) may change
    # jobs in bulk under one event, so they concern everyone the campaign asked.
    selects: list[Select[Any]] = [
        select(_CONSENTS.c.employee_id).where(_CONSENTS.c.id.in_(_subject_ids("consent", found))),
        select(_JOBS.c.employee_id).where(_JOBS.c.id.in_(_subject_ids("job", found))),
        select(_EXEMPTIONS.c.employee_id).where(
            _EXEMPTIONS.c.id.in_(_subject_ids("exemption", found))
        ),
        select(_CONSENTS.c.employee_id).where(_CONSENTS.c.campaign_id.in_(campaigns)),
        select(_EXEMPTIONS.c.employee_id).where(_EXEMPTIONS.c.campaign_id.in_(campaigns)),
    ]
    if rows_between is not None:
        after, through = rows_between
        new_campaigns = select(_CAMPAIGNS.c.id).where(
            _between(_CAMPAIGNS.c.created_at, after, through)
        )
        selects += [
            select(_CONSENTS.c.employee_id).where(
                _between(_CONSENTS.c.requested_at, after, through)
            ),
            select(_JOBS.c.employee_id).where(_between(_JOBS.c.created_at, after, through)),
            select(_EXEMPTIONS.c.employee_id).where(
                _between(_EXEMPTIONS.c.decided_at, after, through)
            ),
            select(_CONSENTS.c.employee_id).where(_CONSENTS.c.campaign_id.in_(new_campaigns)),
            select(_EXEMPTIONS.c.employee_id).where(_EXEMPTIONS.c.campaign_id.in_(new_campaigns)),
        ]
    return union(*selects)
