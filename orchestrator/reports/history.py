"""Hourly status history: what reports "as of" a past moment read instead of the log.

Deriving every status as of a moment reads the whole audit log up to it (seconds at 100,000
employees), so the statuses just before each whole UTC hour (an hour's "checkpoint": the
moment after its last microsecond) are recorded once, as intervals: a row says an employee's
status on a policy at every checkpoint from `valid_from` up to, not including, `valid_until`.
A checkpoint is recorded by deriving again, as of the hour's end, only the employees whose
consents, jobs, exemptions or campaigns have an event or a stamp in the hours since the last
one recorded, with the same SQL a direct as-of report uses (`projection.derived_statuses`),
and storing what differs. Hours without changes are skipped over.

A report as of a moment reads the checkpoint at or before it (a date's end is one: midnight),
then derives as of the moment itself the few employees touched since; it falls back to
deriving everyone from the log when nothing is recorded yet or when that would be most people.
Hours rather than days, so that a moment inside a day when re-checks touch everyone reads at
most an hour or two of it from the log. The proof of each status (`ProofHistory`) has
intervals of its own: monthly re-checks renew it without changing the status, so the statuses
keep about one interval per employee.

An hour is recorded only an hour (`GRACE`) after it ended, so transactions stamped in it have
committed. Should an event still arrive stamped before then (a long transaction, a skewed
clock), the next catch-up notices it (events carry increasing numbers, and the mark keeps the
last one seen) and records again from the hour it concerns; a report meanwhile falls back to
the log. Like the projection, directory facts (department, who is employed, country) and
evidence purges are joined when a report runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from time import monotonic
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    FromClause,
    MetaData,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlmodel import Session

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import head_seq
from orchestrator.campaigns.models import Campaign, Exemption
from orchestrator.consent.models import Consent
from orchestrator.core.db import analyze_after_bulk_write, begin_writing, tune_for_reporting
from orchestrator.core.sql import id_in, upsert_row
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.jobs.models import Job
from orchestrator.policies import PolicySet
from orchestrator.reports.changes import events_between_seqs, events_between_times, touched_ids
from orchestrator.reports.models import ProofHistory, StatusHistory, StatusHistoryMark
from orchestrator.reports.projection import (
    PROJECTED,
    STORED,
    derived_statuses,
    projected_statuses,
    refresh_in_own_transaction,
)
from orchestrator.reports.statuses import (
    EMPLOYEES,
    Scope,
    Status,
    StatusRows,
    all_statuses,
    asked_policies,
    countries_in_directory,
    exposure_days,
    exposure_starts,
)

HISTORY = StatusHistory.__table__  # type: ignore[attr-defined]
PROOFS = ProofHistory.__table__  # type: ignore[attr-defined]
_MARK = StatusHistoryMark.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_EVIDENCE = EvidenceRecord.__table__  # type: ignore[attr-defined]

GRACE = timedelta(hours=1)
_HOUR = timedelta(hours=1)
_JUST_BEFORE = timedelta(microseconds=1)
_POSTGRES_HISTORY_LOCK = 0x0A0D19  # advisory lock key serialising catch-ups on PostgreSQL
_KEY = ("employee_id", "policy_id")
_STATUS_VALUES = tuple(name for name in STORED if name not in (*_KEY, "proof_job_id"))
_STAMPS = (
    _AUDIT.c.at,
    Consent.__table__.c.requested_at,  # type: ignore[attr-defined]
    Job.__table__.c.created_at,  # type: ignore[attr-defined]
    Exemption.__table__.c.decided_at,  # type: ignore[attr-defined]
    Campaign.__table__.c.created_at,  # type: ignore[attr-defined]
)


def end_of(day: date) -> datetime:
    """The last moment of a UTC day (what a report "as of" that date means)."""
    return _just_before(datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC))


def _just_before(checkpoint: datetime) -> datetime:
    """The moment a checkpoint's statuses are derived as of: the hour's last microsecond."""
    return checkpoint - _JUST_BEFORE


def _hour_of(moment: datetime) -> datetime:
    """The whole UTC hour a moment falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def checkpoint_for(moment: datetime) -> datetime:
    """The latest checkpoint whose statuses hold at `moment` (the end of a date: midnight)."""
    return _hour_of(moment + _JUST_BEFORE)


@dataclass(frozen=True)
class HistoryCatchUp:
    """What a catch-up did: the last checkpoint now recorded, how many hours had changes and
    how many employees were derived again, and the checkpoint it went back to, if events
    came late."""

    through_hour: datetime | None
    hours: int
    employees: int
    rewound_to: datetime | None


@dataclass(frozen=True)
class _Mark:
    first_hour: datetime
    through_hour: datetime
    seq: int


def catch_up_status_history(
    engine: Engine, *, now: datetime, budget: timedelta | None = None
) -> HistoryCatchUp:
    """Record every hour that ended more than `GRACE` before `now`, one transaction per hour
    with changes (hours without any are skipped over). With a `budget`, no hour is begun
    once that much time has passed (one always is), so the worker's scheduler pass stays
    short while it backfills a long history."""
    hours = employees = 0
    rewound_to: datetime | None = None
    through: datetime | None = None
    deadline = None if budget is None else monotonic() + budget.total_seconds()
    while deadline is None or hours == 0 or monotonic() < deadline:
        with Session(engine) as session:
            step = _record_next_hour(session, now=now)
            session.commit()
        rewound_to = rewound_to or step.rewound_to
        through = step.through_hour
        if step.employees is None:
            break
        hours += 1
        employees += step.employees
    return HistoryCatchUp(
        through_hour=through, hours=hours, employees=employees, rewound_to=rewound_to
    )


@dataclass(frozen=True)
class _Step:
    through_hour: datetime | None
    employees: int | None  # None: no hour had changes to record
    rewound_to: datetime | None


def _record_next_hour(session: Session, *, now: datetime) -> _Step:
    """Record the next finished hour with changes, or move the mark over hours without any."""
    _begin_recording(session)
    last_hour = _hour_of(now - GRACE)
    head = head_seq(session)
    mark = _read_mark(session)
    rewound_to = None
    if mark is not None:
        late = _late_event_at(session, mark, _just_before(mark.through_hour))
        if late is not None:
            rewound_to = _hour_of(late - GRACE)
            mark = _rewind(session, mark, rewound_to)
    after = None if mark is None else _just_before(mark.through_hour)
    stamp = _next_stamp(session, after=after)
    hour = None if stamp is None else _hour_of(stamp) + _HOUR  # the first checkpoint after it
    if hour is None or hour > last_hour:
        if mark is None:
            return _Step(None, None, rewound_to)
        # Nothing to record: the mark moves on, so later checks for late events start here.
        through_hour = max(mark.through_hour, last_hour)
        _store_mark(session, _Mark(mark.first_hour, through_hour, head))
        return _Step(through_hour, None, rewound_to)
    employees = _record_hour(session, hour=hour, after=after)
    first_hour = hour if mark is None else mark.first_hour
    _store_mark(session, _Mark(first_hour, hour, head))
    return _Step(hour, employees, rewound_to)


def _begin_recording(session: Session) -> None:
    """One recording at a time, all of it or nothing.

    On SQLite the transaction is begun explicitly (`begin_writing`): besides reading before
    it writes, a derivation as of a moment inserts from a query starting WITH, which Python's
    driver would otherwise run outside any transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_HISTORY_LOCK})
    else:
        begin_writing(session)


def _record_hour(session: Session, *, hour: datetime, after: datetime | None) -> int:
    """Derive, as of the checkpoint `hour`, the employees touched since `after`; store what
    differs.

    All in SQL, so an hour that touched everyone costs a handful of statements, not 200,000
    rows through Python: the derivation is written once to a temporary table, then the
    statuses and the proofs each store their changes from it. Returns how many employees
    were derived again.
    """
    ids = _touched(session, after=after, through=_just_before(hour))
    derived = derived_statuses(session, as_of=_just_before(hour), employee_ids=ids)
    if derived is None:
        return 0
    postgresql = session.get_bind().dialect.name == "postgresql"
    if ids is None and postgresql:
        # Deriving everyone, PostgreSQL underestimates the rows of the grouped audit events a
        # hundredfold and joins them by nested loops: minutes at 100,000 employees instead of
        # seconds. Hash joins are right for a whole directory (this transaction only).
        session.execute(text("SET LOCAL enable_nestloop = off"))
    tune_for_reporting(session)
    hour_statuses = _hour_statuses_table()
    hour_statuses.create(session.connection())
    session.execute(hour_statuses.insert().from_select(list(STORED), derived))
    if postgresql:
        session.execute(text(f"ANALYZE {hour_statuses.name}"))
    _store_changes(session, HISTORY, hour_statuses, hour=hour, values=_STATUS_VALUES)
    _store_changes(session, PROOFS, hour_statuses, hour=hour, values=("proof_job_id",))
    hour_statuses.drop(session.connection())
    if ids is not None:
        return len(ids)
    everyone: int = session.execute(select(func.count()).select_from(EMPLOYEES)).scalar_one()
    return everyone


def _hour_statuses_table() -> Table:
    """A temporary table for one checkpoint's derived statuses (gone with the transaction)."""
    columns = [Column(c.name, c.type) for c in HISTORY.c if c.name in STORED]
    columns += [Column("proof_job_id", PROOFS.c.proof_job_id.type)]
    return Table(
        "hour_statuses",
        MetaData(),
        *columns,
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def _store_changes(
    session: Session, table: Table, derived: Table, *, hour: datetime, values: tuple[str, ...]
) -> None:
    """Open an interval from `hour` for every derived row whose values differ from the
    standing interval's, then close the intervals those replace.

    A derivation as of a later moment covers everyone an earlier one did (campaigns,
    consents and exemptions are never removed), so intervals only change or appear. A row
    whose values are all null opens nothing where nothing stood (a status without proof).
    """
    d = derived
    # At most one interval of a pair is open, so joining it adds no rows; a join rather than
    # EXISTS under OR, which PostgreSQL ran as a lookup per row (4 s at 20,000 employees).
    standing = table.alias("standing")
    joined = d.outerjoin(
        standing,
        and_(
            standing.c.employee_id == d.c.employee_id,
            standing.c.policy_id == d.c.policy_id,
            standing.c.valid_until.is_(None),
        ),
    )
    nothing_stood = standing.c.employee_id.is_(None)
    anything = or_(*(d.c[name].is_not(None) for name in values))
    same = and_(*(standing.c[name].is_not_distinct_from(d.c[name]) for name in values))
    opened = session.execute(
        table.insert().from_select(
            [*_KEY, *values, "valid_from"],
            select(
                *(d.c[name] for name in (*_KEY, *values)), literal(hour, table.c.valid_from.type)
            )
            .select_from(joined)
            .where(or_(and_(nothing_stood, anything), and_(~nothing_stood, ~same))),
        )
    )
    # The intervals those rows replace: open before the hour, values unlike the derived ones.
    # Driven by the derived rows (analysed), not by the rows just inserted, whose number the
    # table's statistics do not know yet: PostgreSQL took them for one and scanned the
    # whole table once per row (13 s for 2,000 employees at 100,000).
    session.execute(
        update(table)
        .where(
            table.c.employee_id == d.c.employee_id,
            table.c.policy_id == d.c.policy_id,
            table.c.valid_until.is_(None),
            table.c.valid_from < hour,
            ~and_(*(table.c[name].is_not_distinct_from(d.c[name]) for name in values)),
        )
        .values(valid_until=hour)
    )
    analyze_after_bulk_write(session, opened.rowcount, table.name)  # type: ignore[attr-defined]


def _touched(session: Session, *, after: datetime | None, through: datetime) -> list[int] | None:
    """The employees whose status may differ between two moments; None for everyone (no
    earlier moment, an unknown subject, or too many for picking them out to pay)."""
    if after is None:
        return None
    return touched_ids(session, events_between_times(after, through), rows_between=(after, through))


def _rewind(session: Session, mark: _Mark, hour: datetime) -> _Mark | None:
    """Forget the recorded checkpoints after `hour`, so they are recorded again."""
    if hour < mark.first_hour:
        for table in (HISTORY, PROOFS):
            session.execute(delete(table))
        session.execute(delete(_MARK))
        return None
    for table in (HISTORY, PROOFS):
        session.execute(delete(table).where(table.c.valid_from > hour))
        session.execute(update(table).where(table.c.valid_until > hour).values(valid_until=None))
    rewound = _Mark(mark.first_hour, min(mark.through_hour, hour), mark.seq)
    _store_mark(session, rewound)
    return rewound


def _late_event_at(session: Session, mark: _Mark, through: datetime) -> datetime | None:
    """The earliest stamp of the events numbered after the mark that may concern recorded
    checkpoints (stamped less than `GRACE` after `through`); None when there are none."""
    # Found by number alone (few events follow the mark), the stamp tested on those: with
    # the stamp in the condition, PostgreSQL walked the index on stamps over the whole log.
    late_stamp = case((_AUDIT.c.at < through + GRACE, _AUDIT.c.at))
    late: datetime | None = session.execute(
        select(func.min(late_stamp)).where(_AUDIT.c.seq > mark.seq)
    ).scalar_one()
    return late


def _next_stamp(session: Session, *, after: datetime | None) -> datetime | None:
    """The earliest stamp after `after` of anything a derivation as of a moment reads."""
    found = []
    for column in _STAMPS:
        query = select(func.min(column))
        if after is not None:
            query = query.where(column > after)
        value = session.execute(query).scalar_one()
        if value is not None:
            found.append(value)
    return min(found, default=None)


def _read_mark(session: Session) -> _Mark | None:
    row = session.execute(select(_MARK.c.first_hour, _MARK.c.through_hour, _MARK.c.seq)).first()
    return None if row is None else _Mark(row.first_hour, row.through_hour, row.seq)


def _store_mark(session: Session, mark: _Mark) -> None:
    values = {"first_hour": mark.first_hour, "through_hour": mark.through_hour, "seq": mark.seq}
    upsert_row(session, _MARK, {"id": 1, **values})


class Proofs(StrEnum):
    """Which proofs a report's status rows carry: every one (what a bundle copies), or only
    compliant statuses' (a report counts the purged evidence those cite)."""

    ALL = "all"
    COMPLIANT = "compliant"
    NONE = "none"  # while no evidence was ever purged, a report needs no proof at all


@dataclass(frozen=True)
class Anchor:
    """Where a report's statuses are stored as they held at its moment: the projection
    (`hour` None) or the history's checkpoint `hour`, for everyone but `overlay`, the
    employees touched in between, whose statuses are derived as of the moment itself."""

    policy_ids: tuple[str, ...]
    as_of: datetime | None
    hour: datetime | None
    overlay: list[int]

    @property
    def table(self) -> Table:
        """The stored statuses, keyed by (employee_id, policy_id) and, in the history, time."""
        return PROJECTED if self.hour is None else HISTORY

    def held(self, stored: FromClause) -> ColumnElement[bool]:
        """The rows of `table` (or an alias of it) that held at the moment."""
        return true() if self.hour is None else _at(self.hour, stored)

    def rows(self, proofs: Proofs, *, dialect: str) -> Select[Any]:
        """The stored statuses of the asked policies, in `STORED` order, overlay included."""
        if self.hour is not None:
            return _recorded_at(self.hour, self.policy_ids, proofs, dialect=dialect)
        p = PROJECTED
        proof: ColumnElement[Any] = p.c.proof_job_id
        if proofs is Proofs.NONE:
            proof = null()
        elif proofs is Proofs.COMPLIANT:
            proof = case((p.c.status == Status.COMPLIANT.value, p.c.proof_job_id))
        columns = [proof.label(name) if name == "proof_job_id" else p.c[name] for name in STORED]
        return select(*columns).where(p.c.policy_id.in_(self.policy_ids))

    def proof_jobs(self, stored: FromClause) -> tuple[FromClause, ColumnElement[Any]]:
        """`stored` (an alias of `table`) joined to the proof its rows had at the moment,
        and the proof's job id column."""
        if self.hour is None:
            return stored, stored.c.proof_job_id
        proof = PROOFS.alias("proof")
        return stored.join(proof, _proof_held(self.hour, stored, proof)), proof.c.proof_job_id


def find_anchor(session: Session, *, asked: tuple[str, ...], as_of: datetime) -> Anchor | None:
    """Stored statuses that held at a past moment: the recorded checkpoint at or before it,
    else the projection of now; None when neither serves and the log must be read."""
    return _checkpoint_anchor(session, as_of, asked) or _projection_anchor(session, as_of, asked)


def history_statuses(
    session: Session, *, policies: PolicySet, scope: Scope, proofs: Proofs = Proofs.ALL
) -> StatusRows | None:
    """A report's status rows as of `scope.as_of`: stored statuses that held then (see
    `find_anchor`), with the employees touched in between derived as of the moment itself;
    derived from the log when nothing stored serves. None when no campaign had asked anyone
    then."""
    as_of = scope.as_of
    if as_of is None:
        raise ValueError("history_statuses needs an as-of moment")
    asked = asked_policies(session, policies=policies, as_of=as_of)
    if not asked:
        return None
    anchor = find_anchor(session, asked=asked, as_of=as_of)
    if anchor is None:
        return all_statuses(session, policies=policies, scope=scope)
    stored = anchor.rows(proofs, dialect=scope.dialect)
    facts: Any = stored
    if anchor.overlay:
        derived = derived_statuses(session, as_of=as_of, employee_ids=anchor.overlay)
        if derived is not None:
            everyone_else = stored.where(~id_in(anchor.table.c.employee_id, anchor.overlay))
            facts = union_all(everyone_else, derived)
    return _in_directory(session, facts, asked, policies=policies, scope=scope)


def overlay_statuses(
    session: Session, anchor: Anchor, *, policies: PolicySet, scope: Scope
) -> StatusRows | None:
    """The status rows of the anchor's overlay alone, derived as of its moment."""
    if not anchor.overlay or anchor.as_of is None:
        return None
    derived = derived_statuses(session, as_of=anchor.as_of, employee_ids=anchor.overlay)
    if derived is None:
        return None
    return _in_directory(session, derived, anchor.policy_ids, policies=policies, scope=scope)


def _in_directory(
    session: Session,
    facts_query: Any,
    asked: tuple[str, ...],
    *,
    policies: PolicySet,
    scope: Scope,
) -> StatusRows:
    """Status facts (`STORED` columns) joined to the directory, as `StatusRows`."""
    facts = facts_query.subquery("facts")
    starts = exposure_starts(policies, countries_in_directory(session, scope))
    rows = (
        select(
            facts.c.employee_id,
            facts.c.policy_id,
            facts.c.status,
            facts.c.last_error,
            facts.c.proof_job_id,
            EMPLOYEES.c.department_id,
            facts.c.days_to_compliance,
            exposure_days(facts, scope=scope, starts=starts).label("exposure_days"),
        )
        .select_from(scope.directory(facts))
        .where(and_(facts.c.policy_id.in_(asked), scope.employees_in_scope()))
        .subquery("statuses")
    )
    return StatusRows(asked, rows)


def _checkpoint_anchor(session: Session, as_of: datetime, asked: tuple[str, ...]) -> Anchor | None:
    """The recorded checkpoint at or before `as_of`, with the employees touched since it;
    None when none is recorded by then, events came late, or most were touched."""
    mark = _read_mark(session)
    if mark is None or checkpoint_for(as_of) < mark.first_hour:
        return None
    hour = min(checkpoint_for(as_of), mark.through_hour)
    after = _just_before(hour)
    if _late_event_at(session, mark, after) is not None:
        return None
    overlay: list[int] | None = []
    if after != as_of:
        overlay = _touched(session, after=after, through=as_of)
    if overlay is None:
        return None
    return Anchor(asked, as_of, hour, overlay)


def _projection_anchor(session: Session, as_of: datetime, asked: tuple[str, ...]) -> Anchor | None:
    """The projection of now, for a moment fewer changes followed than preceded: an
    employee untouched since `as_of` stands now as then. None when most were touched.

    It serves what a checkpoint cannot, a moment in the hours not recorded yet after a bulk
    change (monthly re-checks of everyone): deriving everyone from the log then took 5 s at
    100,000 employees. The projection is refreshed first; whatever commits afterwards has a
    later number than its watermark, and those employees are derived as of the moment too.
    """
    # Picking out the employees touched since reads every event since; deriving everyone
    # reads those before. Counted in the index of stamps, up to half the log at most.
    half = head_seq(session) // 2
    since = _AUDIT.c.at > as_of
    later = select(literal(1)).where(since).limit(half).subquery()
    if session.execute(select(func.count()).select_from(later)).scalar_one() >= half:
        return None
    refreshed = refresh_in_own_transaction(session)
    overlay = touched_ids(session, since, rows_between=(as_of, None))
    head = head_seq(session)
    if overlay is not None and head > refreshed.watermark:
        # Committed after the refresh, so missing from it, and perhaps stamped before the
        # moment (a long transaction): derived as of the moment as well.
        late = touched_ids(session, events_between_seqs(refreshed.watermark, head))
        overlay = None if late is None else sorted({*overlay, *late})
    if overlay is None:
        return None
    return Anchor(asked, as_of, None, overlay)


def _at(hour: datetime, table: FromClause) -> ColumnElement[bool]:
    """The table's intervals that held at the checkpoint `hour`."""
    return and_(
        table.c.valid_from <= hour, or_(table.c.valid_until.is_(None), table.c.valid_until > hour)
    )


def _proof_held(hour: datetime, stored: FromClause, proof: FromClause) -> ColumnElement[bool]:
    """The proof interval of a stored status's (employee, policy) that held at `hour`."""
    return and_(
        proof.c.employee_id == stored.c.employee_id,
        proof.c.policy_id == stored.c.policy_id,
        _at(hour, proof),
    )


def _recorded_at(
    hour: datetime, asked: tuple[str, ...], proofs: Proofs, *, dialect: str
) -> Select[Any]:
    """The recorded statuses at the checkpoint `hour`, with their proofs, in `STORED` order.

    On SQLite each status looks up its proof: the pair's newest proof interval begun by then,
    one seek in the table's (employee, policy, checkpoint) order, a fixed cost per status
    however long the history. PostgreSQL runs such a subquery per row several times more
    slowly, so there the proof intervals holding at the hour are joined and the planner
    chooses how.
    """
    h = HISTORY
    p = PROOFS.alias("proof")
    wanted: list[ColumnElement[bool]] = []
    if proofs is Proofs.COMPLIANT:
        wanted.append(h.c.status == Status.COMPLIANT.value)
    source: Any = h
    proof: ColumnElement[Any]
    if proofs is Proofs.NONE:
        proof = null()
    elif dialect == "postgresql":
        source = h.outerjoin(p, and_(_proof_held(hour, h, p), *wanted))
        proof = p.c.proof_job_id
    else:
        proof = (
            select(p.c.proof_job_id)
            .where(
                p.c.employee_id == h.c.employee_id,
                p.c.policy_id == h.c.policy_id,
                p.c.valid_from <= hour,
            )
            .order_by(p.c.valid_from.desc())
            .limit(1)
            .scalar_subquery()
        )
        if wanted:
            proof = case((and_(*wanted), proof))
    columns = [proof.label(name) if name == "proof_job_id" else h.c[name] for name in STORED]
    return select(*columns).select_from(source).where(h.c.policy_id.in_(asked), _at(hour, h))


def evidence_was_purged(session: Session) -> bool:
    """Whether any evidence was ever purged (one seek in the partial index)."""
    purged = select(_EVIDENCE.c.job_id).where(_EVIDENCE.c.purged_at.is_not(None)).limit(1)
    return session.execute(purged).first() is not None


def report_statuses(
    session: Session, *, policies: PolicySet, scope: Scope, proofs: Proofs = Proofs.ALL
) -> StatusRows | None:
    """A report's status rows: the projection for now (refreshed by the caller, with every
    proof), the recorded history as of a past moment."""
    if scope.as_of is None:
        return projected_statuses(session, policies=policies, scope=scope)
    return history_statuses(session, policies=policies, scope=scope, proofs=proofs)
