"""The department report: counts of every status per department and policy, with roll-ups.

The database does the counting: one grouped query reads each (employee, policy) status once
(stored in the status projection for a report of now, derived from the history for one as of
a past moment) and returns, per leaf department and combination of statuses (and failure
messages), how many employees, the sums behind the means and the purged evidence they cite.
Python only adds those few rows up the department tree (a department includes its
sub-departments) and across a platform's policies (an employee is compliant on a platform
when every step of it is verified).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Subquery, and_, case, func, literal, null, or_, select
from sqlmodel import Session

from orchestrator.audit.models import AuditEvent
from orchestrator.core.db import tune_for_reporting
from orchestrator.core.sql import id_in, in_table_order
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.jobs.queue import failure_signature
from orchestrator.policies import PolicySet
from orchestrator.reports.history import (
    Anchor,
    evidence_was_purged,
    find_anchor,
    overlay_statuses,
)
from orchestrator.reports.projection import refresh_in_own_transaction
from orchestrator.reports.statuses import (
    DEPARTMENTS,
    EMPLOYEES,
    FAILING,
    Scope,
    Status,
    all_statuses,
    asked_policies,
    countries_in_directory,
    exposure_days,
    exposure_starts,
    moved_outside,
    report_scope,
    resolve_department,
    within_department,
)

PURGE_ACTION = "evidence.purged"
TOTAL = "(total)"  # the department name of the rows that cover the whole scope
TOP_FAILURE_REASONS = 5
_EVIDENCE = EvidenceRecord.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ReportParameters:
    """What a report covers and who asked for it; every rendered file carries these."""

    department: str | None
    as_of: datetime | None
    generated_at: datetime
    generated_by: str

    @property
    def scope(self) -> str:
        """The scope in words."""
        return f"department {self.department}" if self.department else "all departments"


@dataclass(frozen=True)
class PolicyInfo:
    """A policy as a report names it."""

    id: str
    platform: str
    title: str
    version: str
    default_on_since: date | None


@dataclass(frozen=True)
class ReportRow:
    """One department (with its sub-departments) on one policy."""

    department: str
    policy_id: str
    platform: str
    total: int
    counts: dict[str, int]
    percentages: dict[str, float]
    mean_days_to_compliance: float | None
    mean_exposure_days: float | None
    max_exposure_days: float | None

    @property
    def compliant_percent(self) -> float:
        return self.percentages[Status.COMPLIANT.value]


@dataclass(frozen=True)
class PlatformRow:
    """One department on one platform: compliant only when every policy of it is verified."""

    department: str
    platform: str
    policy_ids: tuple[str, ...]
    total: int
    compliant: int
    compliant_percent: float


@dataclass(frozen=True)
class FailureReason:
    """Why jobs failed or need the employee, with how many are in that state for it."""

    policy_id: str
    status: str
    reason: str
    count: int


@dataclass(frozen=True)
class RetentionNote:
    """Evidence removed under the retention period, as far as this report is concerned."""

    cited_records_purged: int
    last_purge_at: datetime | None = None
    last_purge_cutoff: datetime | None = None
    last_purge_records: int | None = None
    last_purge_by: str | None = None


@dataclass(frozen=True)
class DepartmentReport:
    """The whole report: rows per department × policy, totals per policy, platforms, reasons."""

    params: ReportParameters
    statuses: tuple[str, ...]
    policies: tuple[PolicyInfo, ...]
    rows: tuple[ReportRow, ...]
    totals: tuple[ReportRow, ...]
    platforms: tuple[PlatformRow, ...]
    failure_reasons: tuple[FailureReason, ...]
    retention: RetentionNote
    departments: tuple[str, ...] = field(default=())

    def chart(self) -> list[tuple[str, float, int]]:
        """(department, percent compliant over all its employee × policy pairs, pairs)."""
        pairs: Counter[str] = Counter()
        compliant: Counter[str] = Counter()
        for row in self.rows:
            pairs[row.department] += row.total
            compliant[row.department] += row.counts[Status.COMPLIANT.value]
        return [
            (name, _percent(compliant[name], pairs[name]), pairs[name])
            for name in self.departments
            if pairs[name]
        ]


@dataclass
class _Tally:
    """Counts and sums for one department × policy while rolling up."""

    counts: Counter[str] = field(default_factory=Counter)
    days_sum: float = 0.0
    days_n: int = 0
    exposure_sum: float = 0.0
    exposure_n: int = 0
    exposure_max: float | None = None

    def add(self, status: str, n: int, days: Any, exposure: Any, exposure_max: Any) -> None:
        self.counts[status] += n
        if days is not None:
            self.days_sum += float(days)
            self.days_n += n
        if exposure is not None:
            self.exposure_sum += float(exposure)
            self.exposure_n += n
            peak = float(exposure_max)
            self.exposure_max = peak if self.exposure_max is None else max(self.exposure_max, peak)

    def merge(self, other: _Tally) -> None:
        self.counts.update(other.counts)
        self.days_sum += other.days_sum
        self.days_n += other.days_n
        self.exposure_sum += other.exposure_sum
        self.exposure_n += other.exposure_n
        if other.exposure_max is not None:
            self.exposure_max = max(self.exposure_max or other.exposure_max, other.exposure_max)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _mean(total: float, n: int) -> float | None:
    return round(total / n, 1) if n else None


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _row(department: str, policy_id: str, platform: str, tally: _Tally) -> ReportRow:
    total = sum(tally.counts.values())
    counts = {status.value: tally.counts.get(status.value, 0) for status in Status}
    return ReportRow(
        department=department,
        policy_id=policy_id,
        platform=platform,
        total=total,
        counts=counts,
        percentages={name: _percent(n, total) for name, n in counts.items()},
        mean_days_to_compliance=_mean(tally.days_sum, tally.days_n),
        mean_exposure_days=_mean(tally.exposure_sum, tally.exposure_n),
        max_exposure_days=None if tally.exposure_max is None else round(tally.exposure_max, 1),
    )


@dataclass(frozen=True)
class _Grouped:
    """Employees per leaf department and combination of statuses, and the purged evidence
    their proofs cite.

    Each row: department_id, per policy its status, per policy its error (when failing),
    the count, per policy the sums behind the means (days to compliance, exposure, peak
    exposure). The errors are grouped too so failure reasons need no second pass.
    """

    rows: list[Any]
    cited_records_purged: int


def _aggregated(department_id: Any, per_policy: list[tuple[Any, Any, Any, Any]]) -> Select[Any]:
    """The grouping of `_Grouped.rows`, from each policy's (status, error, days, exposure)."""
    keys = [department_id, *(p[0] for p in per_policy), *(p[1] for p in per_policy)]
    sums: list[Any] = []
    for _status, _error, days, exposure in per_policy:
        sums += [func.sum(days), func.sum(exposure), func.max(exposure)]
    return select(*keys, func.count(), *sums).group_by(*keys)


def _grouped(
    session: Session, statuses: Subquery, policy_ids: list[str], *, scope: Scope, purged: bool
) -> _Grouped:
    """The grouping of status rows of every policy (`StatusRows.rows`), pivoted per employee,
    in one statement: the rows are derived once, with the purged evidence they cite.

    Employees moved since the scope's moment come back one group each, placed here in the
    department they were in then: looked up per row in SQL, SQLite scanned the moved for
    every employee, and again for every group.
    """
    s = statuses

    def of(policy_id: str, value: Any, *when: Any) -> Any:
        return func.max(case((and_(s.c.policy_id == policy_id, *when), value)))

    per_policy: list[Any] = []
    for i, policy_id in enumerate(policy_ids):
        per_policy += [
            of(policy_id, s.c.status).label(f"status_{i}"),
            of(policy_id, s.c.last_error, s.c.status.in_(FAILING)).label(f"error_{i}"),
            of(policy_id, s.c.days_to_compliance).label(f"days_{i}"),
            of(policy_id, s.c.exposure_days).label(f"exposure_{i}"),
        ]
    # The purged evidence compliant statuses' proofs cite; nothing to look up until any
    # evidence was purged.
    source: Any = s
    cited: Any = func.sum(literal(0))
    purged_evidence = and_(
        _EVIDENCE.c.job_id == s.c.proof_job_id, _EVIDENCE.c.purged_at.is_not(None)
    )
    compliant = s.c.status == Status.COMPLIANT.value
    if purged and session.get_bind().dialect.name == "postgresql":
        # PostgreSQL runs a subquery per row several times more slowly than SQLite (0.9 s
        # for 120,000 statuses at 100,000 employees); joined, the planner picks how. A proof
        # with several records repeats its status row, which changes none of the maxima.
        source = s.outerjoin(_EVIDENCE, and_(purged_evidence, compliant))
        cited = func.count(_EVIDENCE.c.job_id)
    elif purged:
        # One seek per status in the index of purged evidence, however much a purge removed.
        records = select(func.count()).where(purged_evidence).scalar_subquery()
        cited = func.sum(case((compliant, records), else_=0))
    # Grouped by employee alone (an employee has one department): rows stored in employee
    # order are then grouped as they are read, without sorting them first.
    employees = (
        select(
            s.c.employee_id,
            func.max(s.c.department_id).label("department_id"),
            *per_policy,
            cited.label("purged"),
        )
        .select_from(source)
        .group_by(s.c.employee_id)
        .subquery("per_employee")
    )
    e = employees.c
    moved = dict(scope.moved)
    moved_one: Any = null()
    query = _aggregated(
        e.department_id,
        [
            (e[f"status_{i}"], e[f"error_{i}"], e[f"days_{i}"], e[f"exposure_{i}"])
            for i in range(len(policy_ids))
        ],
    )
    if moved:
        moved_one = case((id_in(e.employee_id, moved), e.employee_id))
        query = query.group_by(moved_one)
    query = query.add_columns(moved_one, func.sum(e.purged))
    rows: list[Any] = []
    cited_purged = 0
    outside = moved_outside(session, scope)
    for *row, employee_id, cited_here in session.execute(query):
        if employee_id in outside:
            continue
        if employee_id is not None:
            row[0] = moved[employee_id]
        rows.append(row)
        cited_purged += int(cited_here or 0)
    return _Grouped(rows, cited_purged)


def _grouped_from_anchor(
    session: Session,
    anchor: Anchor,
    *,
    scope: Scope,
    starts: dict[str, dict[datetime, list[str]]],
    purged: bool,
) -> _Grouped:
    """The grouping of the statuses stored as they held at the report's moment, for everyone
    in scope but the anchor's overlay (grouped apart).

    Each employee is joined to their stored row of each policy (one seek in the table's
    key), so the statuses arrive side by side: at 100,000 employees this took half the time
    of pivoting the rows of every policy per employee. The purged evidence is counted apart,
    on the compliant rows alone, rather than joined to every employee once per policy.
    """
    policy_ids = anchor.policy_ids
    source: Any = scope.directory()
    per_policy: list[tuple[Any, Any, Any, Any]] = []
    for i, policy_id in enumerate(policy_ids):
        stored = anchor.table.alias(f"stored_{i}")
        source = source.outerjoin(
            stored,
            and_(
                stored.c.employee_id == EMPLOYEES.c.id,
                stored.c.policy_id == policy_id,
                anchor.held(stored),
            ),
        )
        mine = {policy_id: starts[policy_id]} if policy_id in starts else {}
        exposure = exposure_days(stored, scope=scope, starts=mine)
        # Stored statuses keep their error only while failing (see `status_facts`).
        per_policy.append(
            (stored.c.status, stored.c.last_error, stored.c.days_to_compliance, exposure)
        )
    in_scope = scope.employees_in_scope()
    if anchor.overlay:
        in_scope = and_(in_scope, ~id_in(EMPLOYEES.c.id, anchor.overlay))
    asked = or_(*(status.is_not(None) for status, _error, _days, _exposure in per_policy))
    # In table order, each employee's stored rows are sought in key order too: at 100,000
    # employees on SQLite that halved the statement (0.47 to 0.23 s).
    query = (
        _aggregated(in_table_order(EMPLOYEES.c.department_id), per_policy)
        .select_from(source)
        .where(in_scope, asked)
    )
    rows = list(session.execute(query).all())
    if not purged:
        return _Grouped(rows, 0)
    stored = anchor.table.alias("stored")
    with_proofs, proof_job_id = anchor.proof_jobs(stored)
    cited = (
        select(func.count())
        .select_from(
            scope.directory()
            .join(with_proofs, stored.c.employee_id == EMPLOYEES.c.id)
            .join(_EVIDENCE, _EVIDENCE.c.job_id == proof_job_id)
        )
        .where(
            in_scope,
            stored.c.policy_id.in_(policy_ids),
            anchor.held(stored),
            stored.c.status == Status.COMPLIANT.value,
            _EVIDENCE.c.purged_at.is_not(None),
        )
    )
    return _Grouped(rows, session.execute(cited).scalar_one())


def _report_grouping(
    session: Session, *, policies: PolicySet, scope: Scope, purged: bool
) -> tuple[tuple[str, ...], _Grouped]:
    """The policies asked by the report's moment, and its grouping: from stored statuses
    (the projection for now, else what `find_anchor` finds) with the overlay grouped apart,
    or from statuses derived from the log when nothing stored serves."""
    asked = asked_policies(session, policies=policies, as_of=scope.as_of)
    if not asked:
        return asked, _Grouped([], 0)
    if scope.as_of is None:
        anchor: Anchor | None = Anchor(asked, None, None, [])
    else:
        anchor = find_anchor(session, asked=asked, as_of=scope.as_of)
        if anchor is not None and scope.moved:
            # Where people moved since stood then is placed per employee (see `_grouped`):
            # their few statuses are derived and grouped apart.
            anchor = replace(anchor, overlay=sorted({*scope.moved_ids, *anchor.overlay}))
    if anchor is None:
        statuses = all_statuses(session, policies=policies, scope=scope)
        if statuses is None:
            return asked, _Grouped([], 0)
        return asked, _grouped(session, statuses.rows, list(asked), scope=scope, purged=purged)
    starts = exposure_starts(policies, countries_in_directory(session, scope))
    grouped = _grouped_from_anchor(session, anchor, scope=scope, starts=starts, purged=purged)
    overlay = overlay_statuses(session, anchor, policies=policies, scope=scope)
    if overlay is not None:
        touched = _grouped(session, overlay.rows, list(asked), scope=scope, purged=purged)
        grouped = _Grouped(
            grouped.rows + touched.rows,
            grouped.cited_records_purged + touched.cited_records_purged,
        )
    return asked, grouped


def build_department_report(
    session: Session, *, params: ReportParameters, policies: PolicySet
) -> DepartmentReport:
    """Count every status per department (sub-departments rolled up) and policy, in SQL.

    A report for now first brings the stored status projection up to date (committed apart,
    see `refresh_in_own_transaction`), then aggregates it; one as of a past moment reads the
    statuses stored as they held then (`find_anchor`), or derives them from the log.
    """
    department = resolve_department(session, params.department)
    params = replace(params, department=department)
    scope = report_scope(session, department=department, as_of=params.as_of)
    policy_ids = [loaded.policy.id for loaded in policies]
    platform_of = {loaded.policy.id: loaded.policy.platform for loaded in policies}
    if params.as_of is None:
        refresh_in_own_transaction(session)
    tune_for_reporting(session)
    # The evidence purges removed matters to a report only once any did.
    asked, grouped = _report_grouping(
        session, policies=policies, scope=scope, purged=evidence_was_purged(session)
    )

    paths = dict(session.execute(select(DEPARTMENTS.c.id, DEPARTMENTS.c.path)).all())
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    platforms: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    reasons: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    by_platform: dict[str, list[str]] = defaultdict(list)
    for policy_id in policy_ids:
        by_platform[platform_of[policy_id]].append(policy_id)
    visible: set[str] = set()
    width = len(asked)
    for row in grouped.rows:
        leaf = paths[row[0]]
        statuses_of = dict(zip(asked, row[1 : 1 + width], strict=True))
        errors = row[1 + width : 1 + 2 * width]
        n = row[1 + 2 * width]
        sums = row[2 + 2 * width : 2 + 5 * width]
        names = [
            p for p in _ancestors(leaf) if department is None or within_department(p, department)
        ]
        visible.update(names)
        for index, policy_id in enumerate(asked):
            status = statuses_of[policy_id]
            if status is None:
                continue
            if status in (Status.FAILED, Status.NEEDS_EMPLOYEE_ACTION):
                reason = failure_signature(errors[index] or "no reason recorded")
                reasons[policy_id][(status, reason)] += n
            days, exposure, peak = sums[3 * index : 3 * index + 3]
            leaf_tally = _Tally()
            leaf_tally.add(status, n, days, exposure, peak)
            for name in names:
                tallies[(name, policy_id)].merge(leaf_tally)
        for platform, ids in by_platform.items():
            mine = [statuses_of.get(policy_id) for policy_id in ids]
            if all(status is None for status in mine):
                continue
            done = all(s in (Status.COMPLIANT, Status.EXEMPT) for s in mine) and any(
                s == Status.COMPLIANT for s in mine
            )
            for name in names:
                platforms[(name, platform)]["total"] += n
                platforms[(name, platform)]["compliant"] += n if done else 0

    departments = tuple(sorted(visible))
    rows = tuple(
        _row(name, policy_id, platform_of[policy_id], tallies[(name, policy_id)])
        for name in departments
        for policy_id in policy_ids
        if (name, policy_id) in tallies
    )
    totals = tuple(
        _row(TOTAL, policy_id, platform_of[policy_id], _total(tallies, policy_id, department))
        for policy_id in policy_ids
    )
    platform_rows = tuple(
        PlatformRow(
            department=name,
            platform=platform,
            policy_ids=tuple(by_platform[platform]),
            total=counter["total"],
            compliant=counter["compliant"],
            compliant_percent=_percent(counter["compliant"], counter["total"]),
        )
        for (name, platform), counter in sorted(platforms.items())
    )
    return DepartmentReport(
        params=params,
        statuses=tuple(status.value for status in Status),
        policies=tuple(
            PolicyInfo(
                id=loaded.policy.id,
                platform=loaded.policy.platform,
                title=loaded.policy.title,
                version=loaded.version,
                default_on_since=loaded.policy.default_on_since,
            )
            for loaded in policies
        ),
        rows=rows,
        totals=totals,
        platforms=platform_rows,
        failure_reasons=tuple(
            FailureReason(policy_id=policy_id, status=status, reason=reason, count=n)
            for policy_id in policy_ids
            for (status, reason), n in reasons[policy_id].most_common(TOP_FAILURE_REASONS)
        ),
        retention=_retention(session, grouped.cited_records_purged),
        departments=departments,
    )


def _total(
    tallies: dict[tuple[str, str], _Tally], policy_id: str, department: str | None
) -> _Tally:
    """The whole scope: the department itself, or every top-level department added up."""
    total = _Tally()
    for (name, pid), tally in tallies.items():
        top = name == department if department else "/" not in name
        if pid == policy_id and top:
            total.merge(tally)
    return total


def _retention(session: Session, purged: int) -> RetentionNote:
    """How many records the report would cite are gone, and the newest purge."""
    last = session.execute(
        select(_AUDIT.c.at, _AUDIT.c.actor, _AUDIT.c.data)
        .where(_AUDIT.c.action == PURGE_ACTION)
        .order_by(_AUDIT.c.seq.desc())
        .limit(1)
    ).first()
    if last is None:
        return RetentionNote(cited_records_purged=purged)
    return RetentionNote(
        cited_records_purged=purged,
        last_purge_at=last.at,
        last_purge_cutoff=datetime.fromisoformat(last.data["cutoff"]),
        last_purge_records=int(last.data["records"]),
        last_purge_by=last.actor,
    )
