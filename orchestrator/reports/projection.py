"""The stored status projection: kept exact from the audit log, read by "now" reports.

Every change of a consent, a job, an exemption or a campaign writes an audit event in the
same transaction, and event numbers are handed out one writer at a time (see `audit.service`),
so the log is a change feed: once event N is visible, every change up to N is committed.
`refresh_projection` takes in the events after its watermark, finds the employees they
concern, derives those employees' statuses again with the same SQL as a direct report
(`statuses.status_facts`), replaces their rows and moves the watermark, all in one
transaction, one refresh at a time. Reports refresh first, so they are exact when they run;
the worker refreshes on every scheduler pass so that reports rarely have much to take in.

Nothing the directory or the policy files decide is stored (department, active flag,
country, exposure dates): reports join those when they run, so moving someone to another
department needs no refresh. Neither is evidence: a purge shows at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, text, union_all
from sqlmodel import Session

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import head_seq
from orchestrator.campaigns.models import Exemption
from orchestrator.consent.models import Consent
from orchestrator.core.db import analyze_after_bulk_write
from orchestrator.core.sql import id_in, upsert_row
from orchestrator.jobs.models import Job
from orchestrator.policies import PolicySet
from orchestrator.reports.changes import events_between_seqs, touched_ids
from orchestrator.reports.models import ProjectedStatus, ProjectionWatermark
from orchestrator.reports.statuses import (
    EMPLOYEES,
    EmployeeIds,
    Scope,
    StatusRows,
    asked_policies,
    campaigns_by_policy,
    consent_facts,
    countries_in_directory,
    exposure_days,
    exposure_starts,
    status_facts,
)

PROJECTED = ProjectedStatus.__table__  # type: ignore[attr-defined]
_WATERMARK = ProjectionWatermark.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_CONSENTS = Consent.__table__  # type: ignore[attr-defined]
_JOBS = Job.__table__  # type: ignore[attr-defined]
_EXEMPTIONS = Exemption.__table__  # type: ignore[attr-defined]

_POSTGRES_PROJECTION_LOCK = 0x0A0D18  # advisory lock key serialising refreshes on PostgreSQL
# Stored as derived; days to compliance are worked out once, when a row is stored.
_COPIED = ("employee_id", "policy_id", "status", "first_verified_at", "proof_job_id", "last_error")
STORED = (*_COPIED, "days_to_compliance")


@dataclass(frozen=True)
class Refresh:
    """What a refresh did: up to which event, how many events and employees it took in."""

    watermark: int
    events: int
    employees: int
    rebuilt: bool


def refresh_projection(session: Session) -> Refresh:
    """Bring the stored statuses up to the newest audit event, in the caller's transaction."""
    head = head_seq(session)
    mark = _watermark(session)
    if mark is not None and mark >= head:
        return Refresh(watermark=mark, events=0, employees=0, rebuilt=False)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_PROJECTION_LOCK}
        )
        # Another refresh may have taken the same events in while this one waited.
        mark = _watermark(session)
    # Read before deriving: whatever commits meanwhile has a later number and is taken in
    # by the next refresh (deriving it twice is harmless).
    head = head_seq(session)
    if mark is not None and mark >= head:
        return Refresh(watermark=mark, events=0, employees=0, rebuilt=False)
    # The first refresh (no watermark yet) derives everyone.
    events = 0 if mark is None else _event_count(session, mark, head)
    employees = None if mark is None else touched_ids(session, events_between_seqs(mark, head))
    if employees is None:
        session.execute(delete(PROJECTED))
        _insert_derived(session, employee_ids=None)
        recomputed: int = session.execute(select(func.count()).select_from(EMPLOYEES)).scalar_one()
    else:
        session.execute(delete(PROJECTED).where(id_in(PROJECTED.c.employee_id, employees)))
        _insert_derived(session, employee_ids=employees)
        recomputed = len(employees)
    upsert_row(session, _WATERMARK, {"id": 1, "seq": head})
    session.flush()
    analyze_after_bulk_write(session, recomputed, PROJECTED.name)
    return Refresh(watermark=head, events=events, employees=recomputed, rebuilt=employees is None)


def refresh_in_own_transaction(session: Session) -> Refresh:
    """Refresh in a transaction of its own, committed at once, on the caller's database.

    A report does this rather than refresh in its own transaction: the projection is upkeep,
    not the report's business, and on PostgreSQL the refresh lock would otherwise be held
    while a bundle copies its evidence, stalling every other refresh. Call it before the
    caller's transaction writes anything (on SQLite it would wait for that writer).
    """
    with Session(session.get_bind()) as own:
        done = refresh_projection(own)
        own.commit()
    return done


def _watermark(session: Session) -> int | None:
    found: int | None = session.execute(select(_WATERMARK.c.seq)).scalar_one_or_none()
    return found


def _event_count(session: Session, mark: int, head: int) -> int:
    count: int = session.execute(
        select(func.count()).where(_AUDIT.c.seq > mark, _AUDIT.c.seq <= head)
    ).scalar_one()
    return count


def derived_statuses(
    session: Session, *, as_of: datetime | None, employee_ids: EmployeeIds | None
) -> Select[Any] | None:
    """The stored columns (`STORED`) of these employees' statuses (or everyone's), now or as
    of a moment, derived in one statement; None when no campaign had asked anyone then."""
    covered = campaigns_by_policy(session, as_of=as_of)
    if not covered:
        return None
    consents = consent_facts(as_of, employee_ids)
    derived = union_all(
        *(
            status_facts(
                policy_id,
                as_of=as_of,
                campaign_ids=campaign_ids,
                consents=consents,
                employee_ids=employee_ids,
            )
            for policy_id, campaign_ids in sorted(covered.items())
        )
    ).subquery("derived")
    scope = Scope(department=None, as_of=as_of, dialect=session.get_bind().dialect.name)
    days = scope.days_between(derived.c.first_verified_at, derived.c.requested_at)
    return select(*(derived.c[name] for name in _COPIED), days.label("days_to_compliance"))


def _insert_derived(session: Session, *, employee_ids: EmployeeIds | None) -> None:
    """Derive the statuses of these employees (or everyone) and insert them, in one statement."""
    derived = derived_statuses(session, as_of=None, employee_ids=employee_ids)
    if derived is not None:
        session.execute(PROJECTED.insert().from_select(list(STORED), derived))


def projected_statuses(session: Session, *, policies: PolicySet, scope: Scope) -> StatusRows | None:
    """The stored status rows of the policies campaigns asked about, in the report's scope.

    The same columns as `statuses.all_statuses`, as exact as the last refresh. None when no
    campaign asked about any of the policies.
    """
    asked = asked_policies(session, policies=policies, as_of=None)
    if not asked:
        return None
    starts = exposure_starts(policies, countries_in_directory(session))
    p = PROJECTED
    rows = (
        select(
            p.c.employee_id,
            p.c.policy_id,
            p.c.status,
            p.c.last_error,
            p.c.proof_job_id,
            EMPLOYEES.c.department_id,
            p.c.days_to_compliance,
            exposure_days(p, scope=scope, starts=starts).label("exposure_days"),
        )
        .select_from(scope.directory(p))
        .where(p.c.policy_id.in_(asked), scope.employees_in_scope())
        .subquery("statuses")
    )
    return StatusRows(asked, rows)
