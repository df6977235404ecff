"""Where each employee stands on each policy, derived in SQL from consents, jobs and exemptions.

The status of an employee on a policy comes from the newest campaign that covered them for it:
an exemption recorded at that campaign's launch, or the consent it asked for. An approved
consent's jobs then decide between verified, waiting, needing the employee, failed and drifted.

"As of" a past moment, the same query runs on the state each consent and job had then, read
from the append-only audit log: the rows' who/what columns never change and every state change
writes an event for its subject, so a subject's newest event at or before that moment is its
state then. Exemptions are written once and count from their decision time.

`status_facts` is that derivation without the directory; `status_query` joins the directory
(department, who is employed, country for exposure) to it for one report. A report of now
reads the same facts from the stored projection (`projection`) instead of deriving them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlmodel import Session

from orchestrator.audit.models import AuditEvent
from orchestrator.campaigns.models import Campaign, Exemption
from orchestrator.consent.models import Consent, ConsentState
from orchestrator.core.clock import as_utc
from orchestrator.core.db import UTCDateTime
from orchestrator.core.errors import NotFoundError
from orchestrator.core.sql import id_in, likely
from orchestrator.employees.directory import normalise_department
from orchestrator.employees.models import Department, Employee
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.jobs.models import LAST_ERROR_LENGTH, Job, JobState
from orchestrator.policies import PolicySet, exposure_start

EMPLOYEES = Employee.__table__  # type: ignore[attr-defined]
DEPARTMENTS = Department.__table__  # type: ignore[attr-defined]
_CONSENTS = Consent.__table__  # type: ignore[attr-defined]
_JOBS = Job.__table__  # type: ignore[attr-defined]
_EXEMPTIONS = Exemption.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_EVIDENCE = EvidenceRecord.__table__  # type: ignore[attr-defined]

VERIFIED_OUTCOMES = ("changed", "already_compliant")
NOT_APPLICABLE_OUTCOME = "not_applicable"
DRIFTED_OUTCOME = "drifted"
_OPEN_JOB_STATES = (JobState.QUEUED, JobState.SCHEDULED, JobState.RUNNING)
_FINAL_JOB_STATES = (JobState.SUCCEEDED, JobState.NEEDS_ACTION, JobState.FAILED, JobState.CANCELLED)

# The audit actions that change a consent's or a job's state, and the state each leaves.
# Other events about the same subjects (reminders, receipts, ignored late results) change nothing.
CONSENT_STATE_ACTIONS = {
    "consent.requested": ConsentState.PENDING.value,
    **{f"consent.{state.value}": state.value for state in ConsentState if state.value != "pending"},
}
JOB_STATE_ACTIONS = {
    "job.queued": JobState.QUEUED.value,
    "job.requeued": JobState.QUEUED.value,
    "job.retry_scheduled": JobState.QUEUED.value,
    "job.retried": JobState.QUEUED.value,
    "job.released": JobState.QUEUED.value,
    "job.held": JobState.SCHEDULED.value,
    "job.claimed": JobState.RUNNING.value,
    "job.succeeded": JobState.SUCCEEDED.value,
    "job.needs_action": JobState.NEEDS_ACTION.value,
    "job.failed": JobState.FAILED.value,
    "job.cancelled": JobState.CANCELLED.value,
}


class Status(StrEnum):
    """Where an employee stands on one policy, in the words reports use."""

    COMPLIANT = "compliant"
    PENDING_CONSENT = "pending_consent"
    DECLINED = "declined"
    CONSENT_EXPIRED = "consent_expired"
    REQUEST_CANCELLED = "request_cancelled"
    QUEUED_OR_RUNNING = "queued_or_running"
    NEEDS_EMPLOYEE_ACTION = "needs_employee_action"
    FAILED = "failed"
    EXEMPT = "exempt"
    DRIFTED = "drifted"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        """The status as a column heading."""
        return _LABELS[self]


_LABELS = {
    Status.COMPLIANT: "Compliant",
    Status.PENDING_CONSENT: "Pending consent",
    Status.DECLINED: "Declined",
    Status.CONSENT_EXPIRED: "Consent expired",
    Status.REQUEST_CANCELLED: "Request cancelled",
    Status.QUEUED_OR_RUNNING: "Queued or running",
    Status.NEEDS_EMPLOYEE_ACTION: "Needs employee action",
    Status.FAILED: "Failed",
    Status.EXEMPT: "Exempt",
    Status.DRIFTED: "Drifted",
    Status.REVOKED: "Revoked",
}


# The statuses a failure's message explains (reports list their reasons).
FAILING = (Status.FAILED.value, Status.NEEDS_EMPLOYEE_ACTION.value)


@dataclass(frozen=True)
class EmployeeStatus:
    """One employee's standing on one policy, with what proves or explains it."""

    policy_id: str
    status: Status
    detail: str
    verified_at: datetime | None
    evidence_ids: tuple[int, ...]
    campaign_id: int | None
    job_id: int | None


@dataclass(frozen=True)
class Scope:
    """Who a query covers (a department with its sub-departments, or everyone) and when.

    `moved` gives, for each employee whose department changed after `as_of`, the department
    they were in then (see `report_scope`): a report as of a moment counts people where they
    stood, and the directory keeps only where they stand now. A department's scope lets
    them all through; whoever reads the rows places them (see `department._grouped`).
    `away` are the employees out of the directory at `as_of` whom an import brought back
    since: their row no longer says when they left. `relocated` gives, for each employee
    whose country changed since, the country they were in then (exposure depends on it).
    """

    department: str | None
    as_of: datetime | None
    dialect: str
    moved: tuple[tuple[int, int], ...] = ()
    away: tuple[int, ...] = ()
    relocated: tuple[tuple[int, str], ...] = ()

    @property
    def moved_ids(self) -> list[int]:
        """The employees whose department changed after `as_of`."""
        return [employee_id for employee_id, _department_id in self.moved]

    def directory(self, facts: FromClause | None = None) -> FromClause:
        """The employees (joined to `facts` by id, if given), with their departments for a
        department's scope."""
        joined: FromClause = EMPLOYEES
        if facts is not None:
            joined = facts.join(EMPLOYEES, EMPLOYEES.c.id == facts.c.employee_id)
        if self.department is None:
            return joined
        return joined.join(DEPARTMENTS, DEPARTMENTS.c.id == EMPLOYEES.c.department_id)

    def country(self) -> ColumnElement[str]:
        """The employee's country at the scope's moment (EMPLOYEES joined): the directory's,
        unless an import changed it since."""
        if not self.relocated:
            return EMPLOYEES.c.country
        by_country: dict[str, list[int]] = {}
        for employee_id, country in self.relocated:
            by_country.setdefault(country, []).append(employee_id)
        return case(
            *(
                (id_in(EMPLOYEES.c.id, ids), literal(country, String))
                for country, ids in sorted(by_country.items())
            ),
            else_=EMPLOYEES.c.country,
        )

    def employees_in_scope(self) -> ColumnElement[bool]:
        """Employees then in the directory (and in the department, if one is given)."""
        if self.as_of is None:
            condition: ColumnElement[bool] = EMPLOYEES.c.active.is_(True)
        else:
            condition = and_(
                EMPLOYEES.c.created_at <= self.as_of,
                or_(
                    EMPLOYEES.c.deactivated_at.is_(None),
                    EMPLOYEES.c.deactivated_at > self.as_of,
                ),
            )
            if self.away:
                condition = and_(condition, not_(id_in(EMPLOYEES.c.id, self.away)))
        if self.department is not None:
            here = in_department(self.department)
            if self.moved:
                # Where the moved stood then is not in the database: the caller sorts them.
                here = or_(here, id_in(EMPLOYEES.c.id, self.moved_ids))
            condition = and_(condition, here)
        return condition

    def days_between(self, later: Any, earlier: Any) -> ColumnElement[float]:
        """Days from `earlier` to `later` as a fraction, computed by the database."""
        if self.dialect == "postgresql":
            return cast(func.extract("epoch", later - earlier) / 86400.0, Float)
        return cast(func.julianday(later) - func.julianday(earlier), Float)


def in_department(path: str) -> ColumnElement[bool]:
    """The department itself and everything below it (`Engineering` has `Engineering/Platform`)."""
    return or_(
        DEPARTMENTS.c.path == path,
        DEPARTMENTS.c.path.startswith(path + "/", autoescape=True),
    )


def within_department(path: str, department: str) -> bool:
    """Whether a department path is the department itself or below it (see `in_department`)."""
    return path == department or path.startswith(department + "/")


def resolve_department(session: Session, department: str | None) -> str | None:
    """The department's canonical path; NotFoundError when the directory has no such one."""
    if department is None:
        return None
    path = normalise_department(department) or department
    if session.execute(select(DEPARTMENTS.c.id).where(DEPARTMENTS.c.path == path)).first() is None:
        raise NotFoundError(f"no department {department!r} in the directory")
    return path


def campaigns_by_policy(session: Session, *, as_of: datetime | None) -> dict[str, list[int]]:
    """Which campaigns asked about each policy (campaigns are few; their policy lists are JSON)."""
    query = select(Campaign.id, Campaign.policy_ids)  # type: ignore[call-overload]
    if as_of is not None:
        query = query.where(Campaign.created_at <= as_of)
    covered: dict[str, list[int]] = {}
    for campaign_id, policy_ids in session.execute(query):
        for policy_id in policy_ids:
            covered.setdefault(policy_id, []).append(campaign_id)
    return covered


def asked_policies(
    session: Session, *, policies: PolicySet, as_of: datetime | None
) -> tuple[str, ...]:
    """The policies campaigns had asked about by then (only they have statuses)."""
    covered = campaigns_by_policy(session, as_of=as_of)
    return tuple(loaded.policy.id for loaded in policies if loaded.policy.id in covered)


def _latest_events(
    subject_type: str, actions: dict[str, str], as_of: datetime, subjects: Select[Any] | None
) -> FromClause:
    """Per subject id, the sequence number of its newest state-changing event up to as_of
    (of the given subjects only, as text ids, when a few employees are derived).

    The audit log keeps ids as text; they are turned into integers here, on the few grouped
    rows, so the join to consents or jobs compares integers and PostgreSQL can estimate it
    (a cast on the join itself looks like 24 million rows and makes it choose nested loops).
    """
    subject_id = cast(_AUDIT.c.subject_id, Integer)
    return (
        select(subject_id.label("subject_id"), func.max(_AUDIT.c.seq).label("seq"))
        .where(
            _AUDIT.c.subject_type == subject_type,
            _AUDIT.c.action.in_(list(actions)),
            _AUDIT.c.at <= as_of,
            true() if subjects is None else _AUDIT.c.subject_id.in_(subjects),
        )
        .group_by(subject_id)
        .subquery(f"{subject_type}_latest")
    )


EmployeeIds = Collection[int]
"""Some employees' ids (None in signatures: everyone), bound as one parameter (`id_in`)."""


def consent_facts(as_of: datetime | None, employee_ids: EmployeeIds | None = None) -> FromClause:
    """Consents with their state (now, or as of a moment from the audit log)."""
    if as_of is None:
        return _CONSENTS
    mine = true() if employee_ids is None else id_in(_CONSENTS.c.employee_id, employee_ids)
    subjects = None
    if employee_ids is not None:
        subjects = select(cast(_CONSENTS.c.id, String)).where(mine)
    latest = _latest_events("consent", CONSENT_STATE_ACTIONS, as_of, subjects)
    event = _AUDIT.alias("consent_event")
    return (
        select(
            _CONSENTS.c.id,
            _CONSENTS.c.employee_id,
            _CONSENTS.c.campaign_id,
            _CONSENTS.c.requested_at,
            func.coalesce(
                case(CONSENT_STATE_ACTIONS, value=event.c.action), ConsentState.PENDING.value
            ).label("state"),
        )
        .select_from(
            _CONSENTS.outerjoin(latest, latest.c.subject_id == _CONSENTS.c.id).outerjoin(
                event, event.c.seq == latest.c.seq
            )
        )
        .where(_CONSENTS.c.requested_at <= as_of, mine)
        .cte("consent_facts")
    )


def _job_facts(
    policy_id: str, as_of: datetime | None, employee_ids: EmployeeIds | None
) -> FromClause:
    """One policy's jobs with state, outcome, finish time and last error (now, or as of)."""
    as_they_stand = select(
        _JOBS.c.id,
        _JOBS.c.consent_id,
        _JOBS.c.state,
        _JOBS.c.outcome,
        _JOBS.c.finished_at,
        _JOBS.c.last_error,
    )
    if as_of is None:
        query = as_they_stand.where(_JOBS.c.policy_id == policy_id)
        if employee_ids is not None:
            query = query.where(id_in(_JOBS.c.employee_id, employee_ids))
        return query.subquery(f"jobs_{_slug(policy_id)}")
    # A job not changed since the moment stood then as its row stands now: every change of
    # state stamps `updated_at`, and the row and the log agree (see the tests). Only jobs
    # changed since are read from the log, so a derivation as of a moment costs the events
    # of what changed after it, not those of the whole log.
    # Jobs created by the moment are most of them unless it is long past: `likely` keeps
    # SQLite from walking the index on `created_at` (or `updated_at`) row by row for them,
    # and the changed few are found by the index on `updated_at`.
    then = and_(_JOBS.c.policy_id == policy_id, likely(_JOBS.c.created_at <= as_of))
    jobs: FromClause = _JOBS
    if employee_ids is not None:
        # A few employees' jobs (an overlay, a day being recorded) are picked out once, and
        # both halves below read them from there: picked out in each half, PostgreSQL
        # scanned the jobs table three times per policy (settled, changed, and the changed
        # ids whose events are looked up), for a few thousand rows each time.
        jobs = (
            as_they_stand.add_columns(_JOBS.c.updated_at)
            .where(then, id_in(_JOBS.c.employee_id, employee_ids))
            .cte(f"jobs_of_{_slug(policy_id)}")
        )
        then = true()
    settled = select(
        jobs.c.id,
        jobs.c.consent_id,
        jobs.c.state,
        jobs.c.outcome,
        jobs.c.finished_at,
        jobs.c.last_error,
    ).where(then, likely(jobs.c.updated_at <= as_of))
    changed = and_(then, jobs.c.updated_at > as_of)
    latest = _latest_events(
        "job", JOB_STATE_ACTIONS, as_of, select(cast(jobs.c.id, String)).where(changed)
    )
    event = _AUDIT.alias()
    state = func.coalesce(case(JOB_STATE_ACTIONS, value=event.c.action), JobState.QUEUED.value)
    from_log = (
        select(
            jobs.c.id,
            jobs.c.consent_id,
            state.label("state"),
            event.c.data["outcome"].as_string().label("outcome"),
            case((state.in_([s.value for s in _FINAL_JOB_STATES]), event.c.at)).label(
                "finished_at"
            ),
            # As the job row keeps it: a success clears the error (its message is a note),
            # and a long message is cut where the row cuts it.
            case(
                (state == JobState.SUCCEEDED.value, None),
                else_=func.substr(
                    func.coalesce(
                        event.c.data["message"].as_string(), event.c.data["reason"].as_string()
                    ),
                    1,
                    LAST_ERROR_LENGTH,
                ),
            ).label("last_error"),
        )
        .select_from(
            jobs.outerjoin(latest, latest.c.subject_id == jobs.c.id).outerjoin(
                event, event.c.seq == latest.c.seq
            )
        )
        .where(changed)
    )
    return union_all(settled, from_log).cte(f"jobs_{_slug(policy_id)}")


def _slug(policy_id: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in policy_id)


def status_facts(
    policy_id: str,
    *,
    as_of: datetime | None,
    campaign_ids: list[int],
    consents: FromClause,
    employee_ids: EmployeeIds | None = None,
) -> Select[Any]:
    """One row per employee whom a campaign covered for this policy, with the status.

    Directory-free: it says nothing of departments, countries or who is still employed, so
    the stored projection holds these rows as they are and reports join the rest when they
    run. `employee_ids` restricts it to a few employees (a projection catching up); pass
    the same ones to `consent_facts`.

    Columns: employee_id, policy_id, status, verified_at, first_verified_at, campaign_id,
    requested_at, exemption columns, the last job and its error, the proof job and drift time.
    """
    exemption_visible = _EXEMPTIONS.c.decided_at <= as_of if as_of is not None else true()
    exempted_in_campaign = exists().where(
        _EXEMPTIONS.c.campaign_id == consents.c.campaign_id,
        _EXEMPTIONS.c.employee_id == consents.c.employee_id,
        _EXEMPTIONS.c.policy_id == policy_id,
    )
    from_consents = select(consents.c.employee_id, consents.c.campaign_id).where(
        consents.c.campaign_id.in_(campaign_ids), ~exempted_in_campaign
    )
    from_exemptions = select(_EXEMPTIONS.c.employee_id, _EXEMPTIONS.c.campaign_id).where(
        _EXEMPTIONS.c.policy_id == policy_id, exemption_visible
    )
    if employee_ids is not None:
        from_consents = from_consents.where(id_in(consents.c.employee_id, employee_ids))
        from_exemptions = from_exemptions.where(id_in(_EXEMPTIONS.c.employee_id, employee_ids))
    candidates = union_all(from_consents, from_exemptions).subquery()
    governing = (
        select(candidates.c.employee_id, func.max(candidates.c.campaign_id).label("campaign_id"))
        .group_by(candidates.c.employee_id)
        .subquery()
    )
    jobs = _job_facts(policy_id, as_of, employee_ids)
    verified = and_(jobs.c.state == JobState.SUCCEEDED.value, jobs.c.outcome.in_(VERIFIED_OUTCOMES))
    summary = (
        select(
            jobs.c.consent_id,
            func.max(jobs.c.finished_at).filter(verified).label("proof_at"),
            func.min(jobs.c.finished_at).filter(verified).label("first_proof_at"),
            func.max(jobs.c.id).filter(verified).label("proof_job_id"),
            func.max(jobs.c.finished_at)
            .filter(jobs.c.outcome == DRIFTED_OUTCOME)
            .label("drift_at"),
            func.max(jobs.c.id).label("last_job_id"),
        )
        .group_by(jobs.c.consent_id)
        .subquery()
    )
    last_job = jobs.alias()
    exemption = _EXEMPTIONS.alias()
    consent = consents.alias()
    status = case(
        (exemption.c.id.is_not(None), Status.EXEMPT.value),
        (consent.c.state == ConsentState.PENDING.value, Status.PENDING_CONSENT.value),
        (consent.c.state == ConsentState.DECLINED.value, Status.DECLINED.value),
        (consent.c.state == ConsentState.EXPIRED.value, Status.CONSENT_EXPIRED.value),
        (consent.c.state == ConsentState.CANCELLED.value, Status.REQUEST_CANCELLED.value),
        (consent.c.state == ConsentState.REVOKED.value, Status.REVOKED.value),
        (
            and_(
                summary.c.drift_at.is_not(None),
                or_(summary.c.proof_at.is_(None), summary.c.proof_at < summary.c.drift_at),
            ),
            Status.DRIFTED.value,
        ),
        (summary.c.proof_at.is_not(None), Status.COMPLIANT.value),
        (
            or_(last_job.c.id.is_(None), last_job.c.state.in_([s.value for s in _OPEN_JOB_STATES])),
            Status.QUEUED_OR_RUNNING.value,
        ),
        (last_job.c.state == JobState.NEEDS_ACTION.value, Status.NEEDS_EMPLOYEE_ACTION.value),
        (
            and_(
                last_job.c.state == JobState.SUCCEEDED.value,
                last_job.c.outcome == NOT_APPLICABLE_OUTCOME,
            ),
            Status.EXEMPT.value,
        ),
        else_=Status.FAILED.value,
    )
    return select(
        governing.c.employee_id,
        literal(policy_id, String).label("policy_id"),
        status.label("status"),
        case((status == Status.COMPLIANT.value, summary.c.proof_at)).label("verified_at"),
        # Time to compliance and exposure end at the first verified opt-out; re-checks only
        # renew it.
        case((status == Status.COMPLIANT.value, summary.c.first_proof_at)).label(
            "first_verified_at"
        ),
        governing.c.campaign_id,
        consent.c.requested_at,
        exemption.c.rule.label("exemption_rule"),
        exemption.c.source.label("exemption_source"),
        exemption.c.reason.label("exemption_reason"),
        last_job.c.id.label("last_job_id"),
        last_job.c.outcome.label("last_outcome"),
        # Only a failure's message says something of the status; notes on waiting jobs
        # (held, released, retrying) come and go without changing it.
        case((status.in_(FAILING), last_job.c.last_error)).label("last_error"),
        summary.c.proof_job_id,
        summary.c.drift_at,
    ).select_from(
        governing.outerjoin(
            exemption,
            and_(
                exemption.c.employee_id == governing.c.employee_id,
                exemption.c.campaign_id == governing.c.campaign_id,
                exemption.c.policy_id == policy_id,
            ),
        )
        .outerjoin(
            consent,
            and_(
                consent.c.employee_id == governing.c.employee_id,
                consent.c.campaign_id == governing.c.campaign_id,
            ),
        )
        .outerjoin(summary, summary.c.consent_id == consent.c.id)
        .outerjoin(last_job, last_job.c.id == summary.c.last_job_id)
    )


def exposure_starts(
    policies: PolicySet, countries: list[str]
) -> dict[str, dict[datetime, list[str]]]:
    """Per policy, the moments its exposure starts and the countries each applies to.

    Exposure depends on the policy file and the employee's country, both of which change
    without an audit event of a consent or job, so reports compute it when they run.
    """
    starts: dict[str, dict[datetime, list[str]]] = {}
    for loaded in policies:
        for country in countries:
            day = exposure_start(loaded.policy, country=country)
            if day is not None:
                starts.setdefault(loaded.policy.id, {}).setdefault(_midnight(day), []).append(
                    country
                )
    return starts


def exposure_days(
    facts: FromClause, *, scope: Scope, starts: dict[str, dict[datetime, list[str]]]
) -> ColumnElement[float]:
    """Days of exposure: from the platform's default-on day in the employee's country (facts
    joined to EMPLOYEES) to the first verified opt-out; 0 days for an opt-out verified
    before that day (the setting was never on for them)."""
    if not starts:
        return cast(null(), Float)
    country = scope.country()
    whens = [
        (and_(facts.c.policy_id == policy_id, country.in_(countries)), moment)
        for policy_id, moments in starts.items()
        for moment, countries in moments.items()
    ]
    if scope.dialect == "postgresql":
        start = case(*((when, literal(moment, UTCDateTime)) for when, moment in whens))
        days = scope.days_between(facts.c.first_verified_at, start)
        return cast(case((days < 0, literal(0.0, Float)), else_=days), Float)
    # SQLite: the start as a Julian day number, so that no row parses a date literal; its
    # two-argument max() is NULL when either is (not verified), and computes the days once.
    julian = case(*((when, literal(_julian_day(moment), Float)) for when, moment in whens))
    days = cast(func.julianday(facts.c.first_verified_at) - julian, Float)
    return cast(func.max(days, literal(0.0, Float)), Float)


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIX_EPOCH_JULIAN_DAY = 2440587.5


def _julian_day(moment: datetime) -> float:
    return (moment - _UNIX_EPOCH).total_seconds() / 86400 + _UNIX_EPOCH_JULIAN_DAY


@dataclass(frozen=True)
class DirectoryThen:
    """Where the directory stood at a moment, for the employees whose rows changed since:
    `moved` (employee_id, department_id then), `away` (out of the directory then) and
    `relocated` (employee_id, country then)."""

    moved: tuple[tuple[int, int], ...]
    away: tuple[int, ...]
    relocated: tuple[tuple[int, str], ...] = ()


def directory_then(session: Session, as_of: datetime) -> DirectoryThen:
    """The department and the country every employee moved since `as_of` was in then (the
    first change's old value), and who was out of the directory then though their row says
    present now (their first change of presence since is a return).

    Directory imports are the only writers of departments and presence: each change is an
    `employee.updated` event naming the old and new values, or an `employee.deactivated`
    event, so the log says where people stood; departments are never deleted, so each old
    path still has its id. A row's `deactivated_at` says when someone left, but a return
    clears it, hence `away`.
    """
    ids = dict(session.execute(select(DEPARTMENTS.c.path, DEPARTMENTS.c.id)).all())
    changes = session.execute(
        select(_AUDIT.c.subject_id, _AUDIT.c.action, _AUDIT.c.data)
        .where(
            _AUDIT.c.action.in_(("employee.updated", "employee.deactivated")),
            _AUDIT.c.at > as_of,
            _AUDIT.c.subject_type == "employee",
        )
        .order_by(_AUDIT.c.seq)
    )
    department_then: dict[int, int] = {}
    country_then: dict[int, str] = {}
    present_then: dict[int, bool] = {}
    for subject_id, action, data in changes:
        employee_id = int(subject_id)
        changed = data.get("changes") or {}
        moved = changed.get("department")
        if moved and employee_id not in department_then and moved[0] in ids:
            department_then[employee_id] = ids[moved[0]]
        relocated = changed.get("country")
        if relocated and employee_id not in country_then:
            country_then[employee_id] = relocated[0]
        if employee_id not in present_then:
            if action == "employee.deactivated":
                present_then[employee_id] = True
            elif "active" in changed:
                present_then[employee_id] = bool(changed["active"][0])
    return DirectoryThen(
        moved=tuple(sorted(department_then.items())),
        away=tuple(sorted(e for e, present in present_then.items() if not present)),
        relocated=tuple(sorted(country_then.items())),
    )


def moved_outside(session: Session, scope: Scope) -> set[int]:
    """The employees moved since the scope's moment who were outside its department then
    (a department's scope lets every moved employee through; see `Scope`)."""
    if scope.department is None or not scope.moved:
        return set()
    paths = dict(session.execute(select(DEPARTMENTS.c.id, DEPARTMENTS.c.path)).all())
    return {
        employee_id
        for employee_id, department_id in scope.moved
        if not within_department(paths[department_id], scope.department)
    }


def report_scope(session: Session, *, department: str | None, as_of: datetime | None) -> Scope:
    """A report's scope, with the departments people were in at its moment and who was
    out of the directory then."""
    dialect = session.get_bind().dialect.name
    if as_of is None:
        return Scope(department, as_of, dialect)
    then = directory_then(session, as_of)
    return Scope(department, as_of, dialect, then.moved, then.away, then.relocated)


def status_query(
    policy_id: str,
    *,
    scope: Scope,
    campaign_ids: list[int],
    consents: FromClause,
    starts: dict[str, dict[datetime, list[str]]],
) -> Select[Any]:
    """One row per employee in scope whom a campaign covered for this policy, with the status,
    derived from the consents, jobs and exemptions (or their history) when it runs.

    Columns: those of `status_facts`, then department_id, days_to_compliance, exposure_days.
    """
    facts = status_facts(
        policy_id, as_of=scope.as_of, campaign_ids=campaign_ids, consents=consents
    ).subquery(f"facts_{_slug(policy_id)}")
    return (
        select(
            facts,
            EMPLOYEES.c.department_id,
            scope.days_between(facts.c.first_verified_at, facts.c.requested_at).label(
                "days_to_compliance"
            ),
            exposure_days(facts, scope=scope, starts=starts).label("exposure_days"),
        )
        .select_from(scope.directory(facts))
        .where(scope.employees_in_scope())
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def countries_in_directory(session: Session, scope: Scope | None = None) -> list[str]:
    """Every country employees are in (a few hundred at most), and those people in the
    scope were in at its moment."""
    found = set(session.execute(select(EMPLOYEES.c.country).distinct()).scalars())
    if scope is not None:
        found.update(country for _employee_id, country in scope.relocated)
    return sorted(found)


def policy_statuses(
    session: Session, *, policies: PolicySet, scope: Scope
) -> dict[str, Select[Any]]:
    """The status query of every policy a campaign asked about, over the same scope and moment.

    A policy no campaign covered has no statuses (its exemptions too are recorded by a
    campaign), so it gets no query rather than one that scans every consent to find nothing.
    """
    covered = campaigns_by_policy(session, as_of=scope.as_of)
    consents = consent_facts(scope.as_of)
    starts = exposure_starts(policies, countries_in_directory(session, scope))
    return {
        loaded.policy.id: status_query(
            loaded.policy.id,
            scope=scope,
            campaign_ids=covered[loaded.policy.id],
            consents=consents,
            starts=starts,
        )
        for loaded in policies
        if loaded.policy.id in covered
    }


@dataclass(frozen=True)
class StatusRows:
    """The status rows of the policies campaigns asked about, as one derived table."""

    policy_ids: tuple[str, ...]
    rows: Subquery


def all_statuses(session: Session, *, policies: PolicySet, scope: Scope) -> StatusRows | None:
    """Every policy's status rows in one derived table (its column `policy_id` says whose).

    Reports aggregate over it in one statement, so each (employee, policy) status is derived
    once; None when no campaign asked about any of the policies.
    """
    queries = policy_statuses(session, policies=policies, scope=scope)
    if not queries:
        return None
    return StatusRows(tuple(queries), union_all(*queries.values()).subquery("statuses"))


def _detail(row: Any) -> str:
    status = Status(row.status)
    if status is Status.COMPLIANT:
        return f"verified at {as_utc(row.verified_at):%Y-%m-%d %H:%M} UTC (job #{row.proof_job_id})"
    if status is Status.EXEMPT:
        if row.exemption_rule is not None:
            rule, source = row.exemption_rule, row.exemption_source
            return f"{row.exemption_reason} (rule {rule}; source: {source})"
        return "the platform showed no such setting for this account (not applicable)"
    if status is Status.DRIFTED:
        return f"found switched back on at {as_utc(row.drift_at):%Y-%m-%d %H:%M} UTC"
    if status in (Status.FAILED, Status.NEEDS_EMPLOYEE_ACTION):
        return row.last_error or row.last_outcome or status.label
    if status is Status.PENDING_CONSENT:
        return f"asked on {as_utc(row.requested_at):%Y-%m-%d} (campaign {row.campaign_id})"
    return f"{status.label} (campaign {row.campaign_id})"


def employee_policy_statuses(
    session: Session, *, employee_id: int, policies: PolicySet, as_of: datetime | None = None
) -> list[EmployeeStatus]:
    """Where one employee stands on each policy a campaign asked them about, with the proof."""
    if session.get(Employee, employee_id) is None:
        raise NotFoundError(f"no employee {employee_id}")
    scope = Scope(department=None, as_of=as_of, dialect=session.get_bind().dialect.name)
    result = []
    for policy_id, query in policy_statuses(session, policies=policies, scope=scope).items():
        row = session.execute(query.where(EMPLOYEES.c.id == employee_id)).first()
        if row is None:
            continue
        status = Status(row.status)
        evidence: tuple[int, ...] = ()
        if status is Status.COMPLIANT:
            found = select(_EVIDENCE.c.id).where(_EVIDENCE.c.job_id == row.proof_job_id)
            if as_of is not None:
                found = found.where(_EVIDENCE.c.captured_at <= as_of)
            evidence = tuple(session.execute(found.order_by(_EVIDENCE.c.id)).scalars())
        result.append(
            EmployeeStatus(
                policy_id=policy_id,
                status=status,
                detail=_detail(row),
                verified_at=row.verified_at and as_utc(row.verified_at),
                evidence_ids=evidence,
                campaign_id=row.campaign_id,
                job_id=row.proof_job_id if status is Status.COMPLIANT else row.last_job_id,
            )
        )
    return result
