"""The hourly status history: reports "as of" a past moment read it, and must say what a
derivation from the whole audit log says, at every day's end and at moments in between.

The fleet of `test_reports` (every status present, its history spread over three weeks) is
recorded hour by hour; then each as-of report is checked against a direct derivation, with
the fallback to the log forbidden so that a pass means the history itself was read.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, or_, select, update
from sqlmodel import Session, col

from orchestrator.campaigns.service import (
    CampaignScope,
    pause_campaign,
    resume_campaign,
)
from orchestrator.consent.service import Decision, revoke
from orchestrator.core.db import session_scope
from orchestrator.employees.models import Employee
from orchestrator.employees.service import import_directory
from orchestrator.evidence.service import purge_expired_evidence
from orchestrator.jobs.models import Job
from orchestrator.jobs.queue import JobResult, claim_jobs, finish_job, retry_job
from orchestrator.reports import ReportParameters, build_department_report, write_evidence_bundle
from orchestrator.reports import department as department_module
from orchestrator.reports import history as history_module
from orchestrator.reports.history import (
    HISTORY,
    PROOFS,
    catch_up_status_history,
    checkpoint_for,
    end_of,
    history_statuses,
)
from orchestrator.reports.models import StatusHistoryMark
from orchestrator.reports.statuses import Scope, all_statuses
from orchestrator.worker import loop as loop_module
from orchestrator.worker.loop import mail_and_history_pass
from tests.integration.test_report_projection import COLUMNS
from tests.integration.test_reports import (
    CONFIG,
    GENAI,
    NOW,
    PEOPLE,
    POLICIES,
    T0,
    T_APPROVE,
    T_CANCEL,
    T_EXPIRE,
    T_LATE,
    T_RECHECK,
    T_RUN,
    Fleet,
    _campaign,
    _decide,
    _token,
    build_fleet,
)
from tests.support import optout, process_env

_MARK = StatusHistoryMark.__table__  # type: ignore[attr-defined]
LATER = NOW + timedelta(days=2)  # when the catch-ups run: every day of the fleet has ended
MOMENTS = [
    *(end_of(T0.date() + timedelta(days=n)) for n in range(-2, 21)),
    T0 + timedelta(hours=1),
    T_APPROVE + timedelta(minutes=5),
    T_RUN + timedelta(hours=1),
    T_RECHECK + timedelta(hours=1),
    T_LATE + timedelta(minutes=30),
    T_EXPIRE + timedelta(hours=1),
    T_CANCEL + timedelta(hours=1),
]


@pytest.fixture
def fleet(engine: Engine, tmp_path: Path) -> Fleet:
    return build_fleet(engine, tmp_path)


def _rows(session: Session, as_of: datetime, *, recorded: bool) -> set[tuple[Any, ...]]:
    scope = Scope(department=None, as_of=as_of, dialect=session.get_bind().dialect.name)
    derive = history_statuses if recorded else all_statuses
    statuses = derive(session, policies=POLICIES, scope=scope)
    if statuses is None:
        return set()
    found = session.execute(select(*(statuses.rows.c[name] for name in COLUMNS))).all()
    return {tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in found}


def _no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the report derived from the audit log instead of the history")

    monkeypatch.setattr(history_module, "all_statuses", refuse)
    monkeypatch.setattr(department_module, "all_statuses", refuse)


def _totals(
    engine: Engine, department: str | None, as_of: datetime | None
) -> dict[tuple[str, str], int]:
    """Each (department, policy) row's number of employees in a report."""
    params = ReportParameters(department, as_of, NOW, "cli:auditor@host")
    with Session(engine) as session:
        report = build_department_report(session, params=params, policies=POLICIES)
    return {(row.department, row.policy_id): row.total for row in report.rows}


def _import_people(
    engine: Engine, people: dict[str, Any], at: datetime, *, deactivate_missing: bool = False
) -> None:
    """Import the directory of `people` (email → department, country, …) at a moment."""
    directory = "email,name,department,country\n" + "".join(
        f'{email},Person,"{dept}",{country}\n' for email, (dept, country, _) in people.items()
    )
    with session_scope(engine) as session:
        import_directory(
            session,
            data=directory.encode(),
            source="d.csv",
            actor="t",
            now=at,
            deactivate_missing=deactivate_missing,
        )


def _whole_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _assert_history_equals_the_log(engine: Engine, moments: list[datetime]) -> None:
    with Session(engine) as session:
        for moment in moments:
            direct = _rows(session, moment, recorded=False)
            assert _rows(session, moment, recorded=True) == direct, moment


def test_every_day_end_and_moment_between_equals_the_log(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = catch_up_status_history(fleet.engine, now=LATER)
    # The directory import, launch, approvals, runs, re-check, late approvals, the revocation
    # in the next hour, expiry and new campaigns, cancel: the hours between had nothing.
    assert done.hours == 9
    assert done.through_hour == _whole_hour(LATER - history_module.GRACE)
    again = catch_up_status_history(fleet.engine, now=LATER)
    assert (again.hours, again.employees) == (0, 0)
    with Session(fleet.engine) as session:
        # Only changes are stored: far fewer rows than statuses times recorded days.
        stored = session.execute(select(func.count()).select_from(HISTORY)).scalar_one()
        standing = session.execute(
            select(func.count()).where(HISTORY.c.valid_until.is_(None))
        ).scalar_one()
        assert standing == len(_rows(session, NOW, recorded=False))
    assert stored < 3 * standing

    _no_fallback(monkeypatch)
    _assert_history_equals_the_log(fleet.engine, MOMENTS)


def test_a_moment_hours_into_a_busy_day_reads_the_hour_before_it(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three hours after the runs, on the runs' day, the report reads the checkpoint of that
    hour: nothing is derived, from the log or otherwise, and the rows equal the log's."""
    catch_up_status_history(fleet.engine, now=LATER)
    moments = [T_RUN + timedelta(hours=3), T_RECHECK + timedelta(hours=2, minutes=59)]
    with Session(fleet.engine) as session:
        expected = {moment: _rows(session, moment, recorded=False) for moment in moments}
    _no_fallback(monkeypatch)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the report derived statuses instead of reading the hour")

    monkeypatch.setattr(history_module, "derived_statuses", refuse)
    with Session(fleet.engine) as session:
        assert {moment: _rows(session, moment, recorded=True) for moment in moments} == expected
        assert checkpoint_for(moments[0]) == moments[0]
        assert checkpoint_for(end_of(T_RUN.date())) == _whole_hour(
            T_RUN + timedelta(days=1, hours=-9)
        )


def test_department_report_as_of_reads_the_history(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def totals(department: str | None, as_of: datetime) -> dict[str, Counter[str]]:
        params = ReportParameters(department, as_of, NOW, "cli:auditor@host")
        with Session(fleet.engine) as session:
            report = build_department_report(session, params=params, policies=POLICIES)
        return {row.policy_id: Counter(row.counts) for row in report.rows if row.total}

    moments = [T_RUN + timedelta(hours=1), end_of(T_RECHECK.date()), end_of(T_CANCEL.date())]
    expected = {(d, m): totals(d, m) for d in (None, "Sales") for m in moments}
    catch_up_status_history(fleet.engine, now=LATER)
    _no_fallback(monkeypatch)
    assert {(d, m): totals(d, m) for d in (None, "Sales") for m in moments} == expected


def test_db_upgrade_records_the_history_so_the_first_as_of_report_reads_it(
    fleet: Fleet, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As after an upgrade to hourly checkpoints (migration 0011): nothing recorded yet.
    moments = [T_RUN + timedelta(hours=1), end_of(T_RECHECK.date()), end_of(T_CANCEL.date())]
    expected = {m: _totals(fleet.engine, None, m) for m in moments}
    env = process_env(
        OPTOUT_DATABASE_URL=database_url, OPTOUT_DATA_DIR=str(tmp_path / "cli"), COLUMNS="200"
    )

    upgraded = optout(env, "db", "upgrade", cwd=tmp_path)

    assert upgraded.returncode == 0, upgraded.stderr
    with Session(fleet.engine) as session:
        through = session.execute(select(_MARK.c.through_hour)).scalar_one()
    assert through >= _whole_hour(T_CANCEL) + timedelta(hours=1)  # the fleet's last change
    assert f"status history recorded through {through:%Y-%m-%d %H:%M} UTC" in upgraded.stdout
    _no_fallback(monkeypatch)
    assert {m: _totals(fleet.engine, None, m) for m in moments} == expected
    # Run again, there is nothing left to take in.
    again = optout(env, "db", "upgrade", cwd=tmp_path)
    assert "projection already current" in again.stdout
    assert "(0 hours with changes now)" in again.stdout


def test_a_recheck_renews_the_proof_without_a_new_status_interval(fleet: Fleet) -> None:
    catch_up_status_history(fleet.engine, now=LATER)
    hour = _whole_hour(T_RECHECK) + timedelta(hours=1)  # the re-checks' hour has ended
    with Session(fleet.engine) as session:
        renewed = set(
            session.execute(
                select(PROOFS.c.employee_id, PROOFS.c.policy_id).where(
                    PROOFS.c.valid_from == hour, PROOFS.c.proof_job_id.is_not(None)
                )
            ).all()
        )
        reopened = set(
            session.execute(
                select(HISTORY.c.employee_id, HISTORY.c.policy_id).where(
                    HISTORY.c.valid_from == hour
                )
            ).all()
        )
        still_compliant = set(
            session.execute(
                select(HISTORY.c.employee_id, HISTORY.c.policy_id).where(
                    HISTORY.c.status == "compliant",
                    HISTORY.c.valid_from < hour,
                    or_(HISTORY.c.valid_until.is_(None), HISTORY.c.valid_until > hour),
                )
            ).all()
        )
    # Accounts verified before the re-check and verified again by it: a new proof, the same
    # status interval (drifted ones change status, so they open one).
    assert renewed & still_compliant
    assert not (renewed & still_compliant) & reopened


def test_an_as_of_report_counts_the_purged_evidence_it_cites(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(fleet.engine) as session:
        purge_expired_evidence(
            session,
            older_than=timedelta(0),
            now=LATER,
            actor="t",
            evidence_dir=fleet.settings.resolved_evidence_dir,
        )

    def cited(as_of: datetime) -> int:
        params = ReportParameters(None, as_of, LATER, "cli:auditor@host")
        with Session(fleet.engine) as session:
            report = build_department_report(session, params=params, policies=POLICIES)
        return report.retention.cited_records_purged

    moments = [end_of(T_RUN.date()), T_RECHECK + timedelta(hours=1), end_of(T_RECHECK.date())]
    from_the_log = [cited(moment) for moment in moments]
    assert all(from_the_log)
    catch_up_status_history(fleet.engine, now=LATER)
    _no_fallback(monkeypatch)
    assert [cited(moment) for moment in moments] == from_the_log


def test_a_paused_campaigns_held_jobs_read_the_same_from_the_log(fleet: Fleet) -> None:
    """A pause holds queued jobs and a resume releases them; as of a moment in between, the
    jobs read from their rows while unchanged, and from the log once they changed again:
    the same rows, and no note of the hold in them (it explains no failure)."""
    campaign_id = _campaign(fleet.engine, CampaignScope(emails=("c1@x.com",)), NOW)
    _decide(fleet.engine, "c1@x.com", Decision.APPROVE, NOW + timedelta(minutes=5))
    with Session(fleet.engine) as session:
        c1 = session.execute(select(Employee.id).where(Employee.email == "c1@x.com")).scalar_one()
    paused, resumed = NOW + timedelta(hours=1), NOW + timedelta(days=1)
    with session_scope(fleet.engine) as session:
        pause_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=paused)
    during = paused + timedelta(minutes=30)

    def c1_rows(moment: datetime) -> set[tuple[Any, ...]]:
        with Session(fleet.engine) as session:
            return {row for row in _rows(session, moment, recorded=False) if row[0] == c1}

    from_rows = c1_rows(during)
    status, error = COLUMNS.index("status"), COLUMNS.index("last_error")
    assert {(row[status], row[error]) for row in from_rows} == {("queued_or_running", None)}
    with session_scope(fleet.engine) as session:
        resume_campaign(session, campaign_id=campaign_id, actor="cli:admin", now=resumed)
    assert c1_rows(during) == from_rows
    after = resumed + timedelta(minutes=30)
    released = c1_rows(after)
    # Claimed later, the released jobs too are read from the log as of before.
    with session_scope(fleet.engine) as session:
        claimed = claim_jobs(
            session, worker="w", limit=100, now=after + timedelta(hours=1), lease=timedelta(hours=1)
        )
    assert claimed
    assert c1_rows(after) == released


def test_a_long_failure_message_reads_the_same_from_the_row_the_log_and_the_history(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job row keeps 2,000 characters of a failure's message and its event the whole of
    it: a report as of the failure, the job retried since (so read from its events), says
    the row's 2,000, and the history records the hour (its column holds 2,000 too)."""
    claimed_at = NOW + timedelta(hours=1)
    with Session(fleet.engine) as session:
        waiting = {row[0] for row in _rows(session, NOW, recorded=False) if "queued" in row[3]}
    with session_scope(fleet.engine) as session:
        claimed = claim_jobs(
            session, worker="w", limit=100, now=claimed_at, lease=timedelta(hours=1)
        )
        job_id = next(claim.job_id for claim in claimed if claim.employee_id in waiting)
        message = "the host said: " + "x" * 5000
        finish_job(
            session,
            job_id=job_id,
            worker="w",
            result=JobResult("failed", message),
            now=claimed_at + timedelta(minutes=1),
        )
    moment = claimed_at + timedelta(minutes=30)
    with session_scope(fleet.engine) as session:
        # Retried since, the job is read as of the moment from its events.
        retry_job(session, job_id=job_id, actor="cli:admin", now=moment + timedelta(hours=2))
    error = COLUMNS.index("last_error")

    def errors(*, recorded: bool) -> set[str]:
        with Session(fleet.engine) as session:
            rows = _rows(session, moment, recorded=recorded)
        return {row[error] for row in rows if row[error] and row[error].startswith("the host")}

    assert errors(recorded=False) == {message[:2000]}
    done = catch_up_status_history(fleet.engine, now=moment + timedelta(days=1))
    assert done.through_hour is not None and done.through_hour >= _whole_hour(moment)
    _no_fallback(monkeypatch)
    assert errors(recorded=True) == {message[:2000]}


def test_an_event_stamped_in_a_recorded_day_is_taken_in_again(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    catch_up_status_history(fleet.engine, now=LATER)
    # A revocation that reaches the log only now, stamped on the day of the runs (a long
    # transaction, or a skewed clock on another machine).
    stamped = T_RUN + timedelta(hours=3)
    with session_scope(fleet.engine) as session:
        token = _token(fleet.engine, "a1@x.com", withdraw=True)
        revoke(session, token=token, ip=None, user_agent=None, config=CONFIG, now=stamped)
    moments = [end_of(T_RUN.date()), end_of(T_RECHECK.date()), NOW]
    # Until the next catch-up, reports fall back to the log and stay exact.
    _assert_history_equals_the_log(fleet.engine, moments)
    done = catch_up_status_history(fleet.engine, now=LATER)
    # Recorded again from the last checkpoint before the event, less the grace.
    assert done.rewound_to == _whole_hour(stamped - history_module.GRACE)
    assert done.hours >= 1
    _no_fallback(monkeypatch)
    _assert_history_equals_the_log(
        fleet.engine, [*moments, stamped - timedelta(minutes=1), stamped + timedelta(minutes=1)]
    )


def test_a_moment_not_recorded_yet_reads_the_projection_and_what_changed_since(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no hour recorded (as in the hours after a bulk change, before the worker records
    them), a moment late in the fleet's life reads the projection of now, deriving as of the
    moment only the employees touched since; the rows equal the log's."""
    moments = [T_EXPIRE + timedelta(hours=1), T_CANCEL - timedelta(minutes=1), NOW]
    with Session(fleet.engine) as session:
        expected = {moment: _rows(session, moment, recorded=False) for moment in moments}
    _no_fallback(monkeypatch)
    with Session(fleet.engine) as session:
        assert {moment: _rows(session, moment, recorded=True) for moment in moments} == expected


def test_department_reports_read_the_projection_as_the_log_says(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every figure of a department report (counts, means, exposure, reasons, platforms),
    read from the projection and what changed since, equals the one derived from the log."""

    def figures(department: str | None, as_of: datetime) -> tuple[Any, ...]:
        params = ReportParameters(department, as_of, NOW, "cli:auditor@host")
        with Session(fleet.engine) as session:
            report = build_department_report(session, params=params, policies=POLICIES)
        return report.rows, report.totals, report.platforms, report.failure_reasons

    cases = [(d, m) for d in (None, "Sales") for m in (T_CANCEL - timedelta(minutes=1), NOW)]
    with monkeypatch.context() as from_the_log:
        from_the_log.setattr(department_module, "find_anchor", lambda *a, **k: None)
        expected = {case: figures(*case) for case in cases}
    _no_fallback(monkeypatch)
    assert {case: figures(*case) for case in cases} == expected
    assert any(rows for rows, *_ in expected.values())


def test_an_as_of_report_counts_people_in_the_department_they_were_in_then(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """n1 (compliant on the objection) moves from Sales to Engineering the day after the
    cancel. A report or a bundle as of before the move says what it said before it,
    whichever way the statuses are read (the log, the projection, the history); a report of
    now counts n1 in Engineering."""
    before = T_CANCEL + timedelta(hours=2)

    def totals(department: str | None, as_of: datetime | None) -> dict[tuple[str, str], int]:
        return _totals(fleet.engine, department, as_of)

    def cited(department: str) -> list[str]:
        params = ReportParameters(department, before, NOW, "cli:auditor@host")
        out = tmp_path / f"{department}-{len(list(tmp_path.iterdir()))}.zip"
        with Session(fleet.engine) as session:
            write_evidence_bundle(
                session, params=params, policies=POLICIES, settings=fleet.settings, out=out
            )
        with zipfile.ZipFile(out) as bundle:
            return sorted(r["employee"] for r in json.loads(bundle.read("records.json")))

    cases = [(d, before) for d in (None, "Sales", "Engineering")]
    expected = {case: totals(*case) for case in cases}
    expected_cited = {d: cited(d) for d in ("Sales", "Engineering")}
    assert "n1@x.com" in expected_cited["Sales"]
    now_before_the_move = totals(None, None)
    moved = {**PEOPLE, "n1@x.com": ("Engineering", *PEOPLE["n1@x.com"][1:])}
    _import_people(fleet.engine, moved, T_CANCEL + timedelta(days=1))

    now = totals(None, None)
    assert now[("Sales", GENAI)] == now_before_the_move[("Sales", GENAI)] - 1
    assert now[("Engineering", GENAI)] == now_before_the_move[("Engineering", GENAI)] + 1
    assert {d: cited(d) for d in ("Sales", "Engineering")} == expected_cited
    with monkeypatch.context() as from_the_log:
        from_the_log.setattr(department_module, "find_anchor", lambda *a, **k: None)
        assert {case: totals(*case) for case in cases} == expected
    assert {case: totals(*case) for case in cases} == expected  # the projection
    catch_up_status_history(fleet.engine, now=LATER)
    _no_fallback(monkeypatch)
    assert {case: totals(*case) for case in cases} == expected  # the history


def test_an_as_of_report_counts_exposure_from_the_country_people_were_in_then(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """c1 (compliant on the training setting, in the US, where it was on by default from
    2024-09-18) moves to Germany (on by default only from 2025-11-03) the day after the
    cancel. As of before the move, the exposure figures are what they were before it,
    whichever way the statuses are read; a report of now measures c1's from Germany's day,
    which came after c1's opt-out: 0 days."""
    before = T_CANCEL + timedelta(hours=2)

    def exposure(as_of: datetime | None) -> dict[str, tuple[float | None, float | None]]:
        params = ReportParameters(None, as_of, NOW, "cli:auditor@host")
        with Session(fleet.engine) as session:
            report = build_department_report(session, params=params, policies=POLICIES)
        return {
            row.department: (row.mean_exposure_days, row.max_exposure_days)
            for row in report.rows
            if row.policy_id == GENAI and row.department.startswith("Engineering")
        }

    expected = exposure(before)
    assert expected == exposure(None)  # nobody moved yet
    relocated = {**PEOPLE, "c1@x.com": (PEOPLE["c1@x.com"][0], "DE", PEOPLE["c1@x.com"][2])}
    _import_people(fleet.engine, relocated, T_CANCEL + timedelta(days=1))

    # Verified before Germany's default-on day: never exposed there.
    assert exposure(None)["Engineering/Platform"] == (0.0, 0.0)
    assert expected["Engineering/Platform"][0] > 300  # from the US day, 2024-09-18
    with monkeypatch.context() as from_the_log:
        from_the_log.setattr(department_module, "find_anchor", lambda *a, **k: None)
        assert exposure(before) == expected
    assert exposure(before) == expected  # the projection, c1 derived apart
    catch_up_status_history(fleet.engine, now=LATER)
    _no_fallback(monkeypatch)
    assert exposure(before) == expected  # the history


def test_an_as_of_report_leaves_out_people_away_then_whom_an_import_brought_back(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """n1 leaves the directory (an import without them) the day after the cancel and comes
    back (an import with them) two days later. As of the day in between, n1 is not counted,
    whichever way the statuses are read, though the row now says present; before they left
    and now, n1 is counted."""
    left, away, back = (T_CANCEL + timedelta(days=n) for n in (1, 2, 3))

    def totals(department: str | None, as_of: datetime | None) -> dict[tuple[str, str], int]:
        return _totals(fleet.engine, department, as_of)

    def import_people(people: dict[str, Any], at: datetime) -> None:
        _import_people(fleet.engine, people, at, deactivate_missing=True)

    present = totals("Sales", left - timedelta(hours=1))
    import_people({e: p for e, p in PEOPLE.items() if e != "n1@x.com"}, left)
    cases = [(None, away), ("Sales", away)]
    expected = {case: totals(*case) for case in cases}
    assert expected[("Sales", away)][("Sales", GENAI)] == present[("Sales", GENAI)] - 1
    import_people(PEOPLE, back)

    assert totals("Sales", left - timedelta(hours=1)) == present
    assert totals("Sales", None)[("Sales", GENAI)] == present[("Sales", GENAI)]
    with monkeypatch.context() as from_the_log:
        from_the_log.setattr(department_module, "find_anchor", lambda *a, **k: None)
        assert {case: totals(*case) for case in cases} == expected
    assert {case: totals(*case) for case in cases} == expected  # the projection
    catch_up_status_history(fleet.engine, now=back + timedelta(days=2))
    _no_fallback(monkeypatch)
    assert {case: totals(*case) for case in cases} == expected  # the history


def test_a_change_committed_after_the_projections_refresh_is_derived_too(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revocation stamped before the moment commits just after the report refreshed the
    projection (a long transaction): it is not in the projection, and the report derives
    that employee as of the moment."""
    moment = T_CANCEL + timedelta(hours=2)
    refresh = history_module.refresh_in_own_transaction

    def refresh_then_a_late_commit(session: Session) -> Any:
        done = refresh(session)
        with session_scope(fleet.engine) as late:
            token = _token(fleet.engine, "a1@x.com", withdraw=True)
            stamped = moment - timedelta(minutes=1)
            revoke(late, token=token, ip=None, user_agent=None, config=CONFIG, now=stamped)
        return done

    monkeypatch.setattr(history_module, "refresh_in_own_transaction", refresh_then_a_late_commit)
    _no_fallback(monkeypatch)
    with Session(fleet.engine) as session:
        found = _rows(session, moment, recorded=True)
    monkeypatch.undo()
    with Session(fleet.engine) as session:
        expected = _rows(session, moment, recorded=False)
    assert found == expected
    with Session(fleet.engine) as session:
        a1 = session.execute(
            select(col(Employee.id)).where(col(Employee.email) == "a1@x.com")
        ).scalar_one()
    assert any(row[0] == a1 and "revoked" in row for row in found)


def test_an_hour_not_yet_an_hour_past_its_end_is_not_recorded(fleet: Fleet) -> None:
    # The cancel's hour ends an hour after it; an hour after that, it is not recorded yet,
    # and a minute later it is. Until then the mark stands at the hour before the cancel.
    hour_end = _whole_hour(T_CANCEL) + timedelta(hours=1)
    done = catch_up_status_history(fleet.engine, now=hour_end + timedelta(minutes=59))
    assert done.through_hour == hour_end - timedelta(hours=1)
    done = catch_up_status_history(fleet.engine, now=hour_end + timedelta(minutes=61))
    assert done.through_hour == hour_end


def test_a_crash_while_recording_an_hour_leaves_the_recorded_hours_as_they_were(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    catch_up_status_history(fleet.engine, now=T_RUN + timedelta(hours=3))

    def recorded() -> list[Any]:
        with Session(fleet.engine) as session:
            return [
                session.execute(select(table).order_by(*table.primary_key)).all()
                for table in (HISTORY, PROOFS)
            ]

    before = recorded()

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(history_module, "_store_mark", crash)
    with pytest.raises(RuntimeError):
        catch_up_status_history(fleet.engine, now=LATER)
    assert recorded() == before
    monkeypatch.undo()
    done = catch_up_status_history(fleet.engine, now=LATER)
    assert done.through_hour is not None and done.through_hour > T_RUN
    assert done.through_hour.tzinfo is not None


def test_the_workers_scheduler_records_hours_for_a_bounded_time_per_pass(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def through() -> datetime | None:
        with Session(fleet.engine) as session:
            found: datetime | None = session.execute(select(_MARK.c.through_hour)).scalar()
        return found

    # Once its budget is spent no hour is begun, but one always is.
    catch_up_status_history(fleet.engine, now=LATER, budget=timedelta(0))
    assert through() == T0 - timedelta(days=1, hours=-1)  # the directory import's hour
    monkeypatch.setattr(loop_module, "HISTORY_BUDGET", timedelta(0))
    mail_and_history_pass(fleet.engine, settings=fleet.settings, worker="w", now=LATER)
    assert through() == T0 + timedelta(hours=1)  # the launch's hour
    # With time to spare, a pass records every hour left (seven more with changes).
    monkeypatch.setattr(loop_module, "HISTORY_BUDGET", timedelta(minutes=5))
    mail_and_history_pass(fleet.engine, settings=fleet.settings, worker="w", now=LATER)
    assert through() == _whole_hour(LATER - history_module.GRACE)


def test_jobs_read_from_their_rows_say_what_the_log_says(fleet: Fleet) -> None:
    """As of a moment, a job unchanged since is read from its row, the others from the log;
    stamping every job as changed since makes all of them come from the log: same rows."""
    with Session(fleet.engine) as session:
        from_rows = {moment: _rows(session, moment, recorded=False) for moment in MOMENTS}
    with session_scope(fleet.engine) as session:
        session.execute(update(Job).values(updated_at=datetime(2100, 1, 1, tzinfo=UTC)))
    with Session(fleet.engine) as session:
        for moment in MOMENTS:
            assert _rows(session, moment, recorded=False) == from_rows[moment], moment
