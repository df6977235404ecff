"""Department report on a large generated fleet: time per format, now and as of a past date.

    .venv/bin/python bench/report_bench.py [--employees 100000] [--burst 1000] [--months 12]
                                           [--databases both|sqlite|postgresql]
                                           [--postgres-server postgresql://postgres@127.0.0.1/postgres]

Generates (with bulk inserts, on a scratch SQLite file and a scratch PostgreSQL database) N
employees in 60 departments, one campaign over LinkedIn's two policies, every consent and job
state with an audit event per state change. Then, per database: the one-off full build of
the stored status projection; the report in each format with the projection up to date
(now); as of day 3 derived from the audit log (the fallback while nothing is recorded),
then the one-off backfill of the hourly status history as `optout db upgrade` does it, and
the same report read from it; a burst of changes (--burst approvals and
as many job results, with their audit events), the projection's catch-up after it and a
report as of the middle of the burst's day (the last recorded hour before, plus the
employees touched since) before and after that day is recorded; then --months of monthly
re-checks of every compliant account within one hour, the projection refreshed and each
hour recorded as the worker would, and reports now, across the year, at noon on a re-check
day, and half an hour after the last re-checks, before their hour is recorded (the case the
history cannot serve: read from the projection of now, which the worker keeps current, with
the few touched since derived); a retention purge of the evidence of the year's first half
(each verified job has a screenshot record) and reports now and as of mid-year after it; and
peak memory. Goals: JSON under 1 s and HTML under 3 s on both databases, now and as of a
past date (read from the history, recorded by `optout db upgrade` and then by the worker;
the fallback to the log is shown for what it costs).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, insert, select, update
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.audit.service import NewEvent, record_many
from orchestrator.campaigns.models import Campaign, Exemption
from orchestrator.consent.models import Consent
from orchestrator.core.db import make_engine, scratch_postgres_database, session_scope
from orchestrator.employees.models import Department, Employee
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.evidence.service import purge_expired_evidence
from orchestrator.jobs.models import Job
from orchestrator.migrations import upgrade
from orchestrator.policies import load_policies
from orchestrator.reports import (
    ReportFormat,
    ReportParameters,
    build_department_report,
    render_report,
)
from orchestrator.reports.history import catch_up_status_history, end_of
from orchestrator.reports.models import ProofHistory, StatusHistory
from orchestrator.reports.projection import refresh_projection
from orchestrator.reports.upkeep import keep_reports_current

POLICIES = load_policies(Path(__file__).resolve().parents[1] / "policies")
GENAI = "linkedin-genai-training"
OBJECTION = "linkedin-data-processing-objection"
T0 = datetime(2025, 12, 1, tzinfo=UTC)
CHUNK = 5000
RECHECK_EVERY_DAYS = 28  # a year of monthly re-checks ends before today (2026-11)


def _chunks(rows: list[dict], size: int = CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _screenshots(session: Session, job_ids: list[int], captured_at: datetime) -> None:
    """One evidence record per verified job, as the worker keeps a screenshot of each check."""
    evidence = EvidenceRecord.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "job_id": j,
            "kind": "screenshot",
            "sha256": "0" * 64,
            "policy_version": "bench",
            "captured_at": captured_at,
            "data": {},
        }
        for j in job_ids
    ]
    for chunk in _chunks(rows):
        session.execute(insert(evidence), chunk)


def analyze_on_postgresql(engine: Engine, *tables: str) -> None:
    """Refresh PostgreSQL's statistics of these tables (or all), as autovacuum would."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        for table in tables or ("",):
            connection.exec_driver_sql(f"ANALYZE {table}".strip())
        connection.commit()


def generate(engine: Engine, employees: int, rng: random.Random) -> None:
    table = lambda model: model.__table__  # noqa: E731
    with session_scope(engine) as session:
        paths = [f"Division {d}" for d in range(6)]
        paths += [f"Division {d}/Team {t}" for d in range(6) for t in range(9)]
        ids = {}
        for path in paths:
            parent = ids.get(path.rsplit("/", 1)[0]) if "/" in path else None
            ids[path] = session.execute(
                insert(table(Department)).returning(table(Department).c.id),
                {"path": path, "name": path.rsplit("/", 1)[-1], "parent_id": parent},
            ).scalar_one()
        leaves = [ids[p] for p in paths if "/" in p]
        for chunk in _chunks(list(range(employees))):
            session.execute(
                insert(table(Employee)),
                [
                    {
                        "email": f"e{i}@example.com",
                        "name": f"Employee {i}",
                        "department_id": rng.choice(leaves),
                        "country": "DE" if i % 20 == 0 else "US",
                        "accounts": {},
                        "active": True,
                        "created_at": T0 - timedelta(days=30),
                        "updated_at": T0 - timedelta(days=30),
                    }
                    for i in chunk
                ],
            )
        campaign = Campaign(
            name="LinkedIn",
            state="running",
            policy_ids=[GENAI, OBJECTION],
            scope={"everyone": True},
            created_by="bench",
            created_at=T0,
            launched_at=T0,
        )
        session.add(campaign)
        session.flush()
        versions = {p: POLICIES.get(p).version for p in (GENAI, OBJECTION)}
        exempt = [i + 1 for i in range(employees) if i % 20 == 0]
        session.execute(
            insert(table(Exemption)),
            [
                {
                    "campaign_id": campaign.id,
                    "employee_id": e,
                    "policy_id": GENAI,
                    "policy_version": versions[GENAI],
                    "rule": "eu",
                    "source": "bench",
                    "reason": "bench",
                    "decided_at": T0,
                }
                for e in exempt
            ],
        )
        states = ["approved"] * 7 + ["pending", "declined", "expired", "revoked"]
        consent_rows = [
            {
                "campaign_id": campaign.id,
                "employee_id": i + 1,
                "state": rng.choice(states),
                "policy_versions": versions,
                "requested_at": T0,
                "respond_by": T0 + timedelta(14),
            }
            for i in range(employees)
        ]
        consent_ids = []
        for chunk in _chunks(consent_rows):
            consent_ids += (
                session.execute(insert(table(Consent)).returning(table(Consent).c.id), chunk)
                .scalars()
                .all()
            )
        events = [
            NewEvent("bench", "consent.requested", "consent", str(c), {}) for c in consent_ids
        ]
        record_many(session, events, now=T0)
        decided = T0 + timedelta(days=2)
        record_many(
            session,
            [
                NewEvent("bench", f"consent.{row['state']}", "consent", str(c), {})
                for c, row in zip(consent_ids, consent_rows, strict=True)
                if row["state"] != "pending"
            ],
            now=decided,
        )
        outcomes = [("succeeded", "changed")] * 6 + [
            ("failed", "failed"),
            ("needs_action", "needs_employee_action"),
            ("queued", None),
            ("succeeded", "drifted"),
        ]
        finished = T0 + timedelta(days=5)
        job_rows = []
        for c, row in zip(consent_ids, consent_rows, strict=True):
            if row["state"] not in ("approved", "revoked"):
                continue
            for policy_id in (GENAI, OBJECTION):
                if policy_id == GENAI and (row["employee_id"] - 1) % 20 == 0:
                    continue
                state, outcome = rng.choice(outcomes)
                job_rows.append(
                    {
                        "campaign_id": campaign.id,
                        "employee_id": row["employee_id"],
                        "consent_id": c,
                        "policy_id": policy_id,
                        "policy_version": versions[policy_id],
                        "purpose": "verify" if outcome == "drifted" else "opt_out",
                        "state": state,
                        "outcome": outcome,
                        "attempts": 1,
                        "max_attempts": 5,
                        "next_attempt_at": decided,
                        "created_at": decided,
                        "updated_at": finished,
                        "finished_at": None if state == "queued" else finished,
                        "last_error": "no control named Submit" if state == "failed" else None,
                    }
                )
        job_ids = []
        for chunk in _chunks(job_rows):
            job_ids += (
                session.execute(insert(table(Job)).returning(table(Job).c.id), chunk)
                .scalars()
                .all()
            )
        record_many(
            session,
            [NewEvent("bench", "job.queued", "job", str(j), {}) for j in job_ids],
            now=decided,
        )
        record_many(
            session,
            [
                NewEvent(
                    "bench",
                    f"job.{row['state']}",
                    "job",
                    str(j),
                    {"outcome": row["outcome"], "message": row["last_error"]},
                )
                for j, row in zip(job_ids, job_rows, strict=True)
                if row["state"] != "queued"
            ],
            now=finished,
        )
        verified = [
            j for j, row in zip(job_ids, job_rows, strict=True) if row["outcome"] == "changed"
        ]
        _screenshots(session, verified, finished)


def burst(engine: Engine, size: int, rng: random.Random) -> None:
    """A busy spell: `size` pending requests approved (their jobs queued) and `size` queued
    jobs finished, each change with its audit event, as the services write them."""
    table = lambda model: model.__table__  # noqa: E731
    consents, jobs = table(Consent), table(Job)
    now = T0 + timedelta(days=6, hours=3)  # after the history was caught up, at 02:00
    versions = {p: POLICIES.get(p).version for p in (GENAI, OBJECTION)}
    with session_scope(engine) as session:
        pending = session.execute(
            select(consents.c.id, consents.c.employee_id, consents.c.campaign_id).where(
                consents.c.state == "pending"
            )
        ).all()
        approved = rng.sample(pending, min(size, len(pending)))
        session.execute(
            update(consents)
            .where(consents.c.id.in_([c for c, _, _ in approved]))
            .values(state="approved", decided_at=now)
        )
        new_jobs = [
            {
                "campaign_id": campaign_id,
                "employee_id": e,
                "consent_id": c,
                "policy_id": policy_id,
                "policy_version": versions[policy_id],
                "purpose": "opt_out",
                "state": "queued",
                "attempts": 0,
                "max_attempts": 5,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for c, e, campaign_id in approved
            for policy_id in (GENAI, OBJECTION)
            if policy_id == OBJECTION or (e - 1) % 20
        ]
        job_ids = session.execute(insert(jobs).returning(jobs.c.id), new_jobs).scalars().all()
        queued = session.execute(select(jobs.c.id).where(jobs.c.state == "queued")).scalars()
        finished = rng.sample(sorted(set(queued) - set(job_ids)), size)
        session.execute(
            update(jobs)
            .where(jobs.c.id.in_(finished))
            .values(state="succeeded", outcome="changed", finished_at=now, updated_at=now)
        )
        record_many(
            session,
            [NewEvent("bench", "consent.approved", "consent", str(c), {}) for c, _, _ in approved]
            + [NewEvent("bench", "job.queued", "job", str(j), {}) for j in job_ids]
            + [
                NewEvent("bench", "job.succeeded", "job", str(j), {"outcome": "changed"})
                for j in finished
            ],
            now=now,
        )


def monthly_rechecks(engine: Engine, month: int) -> datetime:
    """One month's re-verification, as `optout verify --older-than 30d` queues it: a
    read-only check of every compliant account whose consent stands, found still opted out,
    with its queued and succeeded events. Returns when the checks ran."""
    table = lambda model: model.__table__  # noqa: E731
    consents, jobs = table(Consent), table(Job)
    at = T0 + timedelta(days=6 + RECHECK_EVERY_DAYS * month, hours=3)
    with session_scope(engine) as session:
        compliant = session.execute(
            select(
                jobs.c.campaign_id,
                jobs.c.employee_id,
                jobs.c.consent_id,
                jobs.c.policy_id,
                jobs.c.policy_version,
            )
            .distinct()
            .join(consents, consents.c.id == jobs.c.consent_id)
            .where(
                jobs.c.state == "succeeded",
                jobs.c.outcome.in_(("changed", "already_compliant")),
                consents.c.state == "approved",
            )
        ).all()
        checks = [
            {
                **row._asdict(),
                "purpose": "verify",
                "state": "succeeded",
                "outcome": "already_compliant",
                "attempts": 1,
                "max_attempts": 5,
                "next_attempt_at": at,
                "created_at": at,
                "updated_at": at + timedelta(hours=1),
                "finished_at": at + timedelta(hours=1),
            }
            for row in compliant
        ]
        job_ids = []
        for chunk in _chunks(checks):
            job_ids += session.execute(insert(jobs).returning(jobs.c.id), chunk).scalars().all()
        record_many(
            session, [NewEvent("bench", "job.queued", "job", str(j), {}) for j in job_ids], now=at
        )
        record_many(
            session,
            [
                NewEvent("bench", "job.succeeded", "job", str(j), {"outcome": "already_compliant"})
                for j in job_ids
            ],
            now=at + timedelta(hours=1),
        )
        _screenshots(session, job_ids, at + timedelta(hours=1))
    return at


def build_projection(engine: Engine, label: str) -> None:
    started = time.perf_counter()
    with session_scope(engine) as session:
        refresh = refresh_projection(session)
    print(
        f"{label:10} projection full build: {time.perf_counter() - started:6.2f} s "
        f"({refresh.employees} employees, up to event {refresh.watermark})"
    )


def time_reports(
    engine: Engine,
    label: str,
    as_of: datetime | None,
    when: str = "now",
    formats: tuple[ReportFormat, ...] = tuple(ReportFormat),
) -> None:
    for fmt in formats:
        with session_scope(engine) as session:
            started = time.perf_counter()
            params = ReportParameters(None, as_of, datetime.now(UTC), "bench")
            report = build_department_report(session, params=params, policies=POLICIES)
            built = time.perf_counter()
            size = sum(len(chunk) for chunk in render_report(report, fmt))
            done = time.perf_counter()
        print(
            f"{label:10} {when:26} {fmt.value:5} {done - started:6.2f} s "
            f"(query {built - started:5.2f} s, render {done - built:5.2f} s, "
            f"{size / 1024:7.1f} KiB"
            + (
                f", cites {purged} purged records)"
                if (purged := report.retention.cited_records_purged)
                else ")"
            )
        )


def catch_up_history(engine: Engine, label: str, now: datetime, what: str) -> None:
    started = time.perf_counter()
    done = catch_up_status_history(engine, now=now)
    print(
        f"{label:10} history {what}: {time.perf_counter() - started:6.2f} s "
        f"({done.hours} hours with changes, {done.employees} employees derived, "
        f"through {done.through_hour:%Y-%m-%d %H:%M})"
    )


def upgrade_upkeep(engine: Engine, label: str, now: datetime) -> None:
    """What `optout db upgrade` does after the schema: the projection made current and the
    history's one-off backfill, every finished hour, so reports never wait on the worker."""
    started = time.perf_counter()
    done = keep_reports_current(engine, now=now).history
    print(
        f"{label:10} history backfill (once, by `optout db upgrade`): "
        f"{time.perf_counter() - started:6.2f} s, {done.hours} hours with changes, "
        f"{done.employees} employees derived"
    )


def long_history(engine: Engine, label: str, months: int) -> None:
    """Months of re-checks: every compliant account gets a new proof each month, so the
    proof history gains an interval per month (the status history none) and the log two
    events per check."""
    generating = recording = refreshing = 0.0
    checked = []
    for month in range(1, months + 1):
        started = time.perf_counter()
        checked.append(monthly_rechecks(engine, month))
        generating += time.perf_counter() - started
        # The worker refreshes the projection on every pass, so reports find it current.
        started = time.perf_counter()
        with session_scope(engine) as session:
            refresh_projection(session)
        refreshing += time.perf_counter() - started
        if month == months:
            # Half an hour after the checks finished, their hour is not recorded yet.
            unrecorded = checked[-1] + timedelta(hours=1, minutes=30)
            quick = (ReportFormat.JSON, ReportFormat.HTML)
            when = f"as of {unrecorded:%Y-%m-%d %H:%M}, unrecorded"
            time_reports(engine, label, unrecorded, when, quick)
        # The worker records each hour an hour after it ends.
        started = time.perf_counter()
        catch_up_status_history(engine, now=checked[-1] + timedelta(days=1))
        recording += time.perf_counter() - started
    print(
        f"{label:10} {months} monthly re-checks: generated in {generating:.1f} s; the "
        f"projection's catch-up after each {refreshing / months:.2f} s and recording each "
        f"re-check day's hours {recording / months:.2f} s on average"
    )
    analyze_on_postgresql(engine)  # what autovacuum does after such a load
    with session_scope(engine) as session:
        rows = session.execute(select(func.count()).select_from(StatusHistory)).scalar_one()
        proofs = session.execute(select(func.count()).select_from(ProofHistory)).scalar_one()
        jobs = session.execute(select(func.count()).select_from(Job)).scalar_one()
    print(
        f"{label:10} after {months} months: {rows} status history rows, "
        f"{proofs} proof history rows, {jobs} jobs"
    )
    time_reports(engine, label, None, f"now, after {months} months")
    quick = (ReportFormat.JSON, ReportFormat.HTML)
    halfway = end_of(checked[len(checked) // 2].date())
    time_reports(engine, label, halfway, f"as of {halfway:%Y-%m-%d}", quick)
    day3 = end_of((T0 + timedelta(days=2)).date())
    time_reports(engine, label, day3, f"as of {day3:%Y-%m-%d}", quick)
    before_last = checked[-1] - timedelta(days=1, hours=-9)  # 12:00 the day before
    time_reports(engine, label, before_last, f"as of {before_last:%Y-%m-%d %H:%M}", quick)
    during_last = checked[-1] + timedelta(hours=9)  # 12:00 on the day everyone was checked
    time_reports(engine, label, during_last, f"as of {during_last:%Y-%m-%d %H:%M}", quick)
    # A retention purge of everything captured before the middle of the year: the reports
    # then look up which of the proofs they count lost their evidence.
    purged_at = checked[-1] + timedelta(days=2)
    started = time.perf_counter()
    with session_scope(engine) as session, tempfile.TemporaryDirectory() as store:
        purge = purge_expired_evidence(
            session,
            older_than=purged_at - halfway,
            now=purged_at,
            actor="bench",
            evidence_dir=Path(store),
        )
    print(
        f"{label:10} retention purge: {purge.records} evidence records "
        f"in {time.perf_counter() - started:.2f} s"
    )
    time_reports(engine, label, None, "now, after a purge", quick)
    time_reports(engine, label, halfway, f"as of {halfway:%Y-%m-%d}, purged", quick)


def measure(engine: Engine, label: str, burst_size: int, months: int) -> None:
    build_projection(engine, label)
    time_reports(engine, label, None)
    day3 = end_of((T0 + timedelta(days=2)).date())
    quick = (ReportFormat.JSON, ReportFormat.HTML)
    # Nothing recorded: the fallback, derived from the log (an upgrade records the history).
    time_reports(engine, label, day3, "as of day 3, log fallback", quick)
    # Every hour before the burst's (the worker then records each an hour after it ends).
    upgrade_upkeep(engine, label, T0 + timedelta(days=6, hours=2))
    time_reports(engine, label, day3, f"as of {day3:%Y-%m-%d}")
    burst(engine, burst_size, random.Random(11))
    started = time.perf_counter()
    with session_scope(engine) as session:
        refresh = refresh_projection(session)
    print(
        f"{label:10} catch-up after {burst_size} approvals and {burst_size} job results: "
        f"{time.perf_counter() - started:6.2f} s ({refresh.events} events, "
        f"{refresh.employees} employees{', rebuilt' if refresh.rebuilt else ''})"
    )
    time_reports(engine, label, None)
    midday = T0 + timedelta(days=6, hours=12)  # the burst's day, not recorded yet
    time_reports(engine, label, midday, f"as of {midday:%Y-%m-%d %H:%M}", quick)
    catch_up_history(engine, label, midday + timedelta(days=1), "catch-up of the burst's day")
    time_reports(engine, label, midday, f"as of {midday:%Y-%m-%d %H:%M}", quick)
    if months:
        long_history(engine, label, months)
    with Session(engine) as session:
        tracemalloc.start()
        params = ReportParameters(None, None, datetime.now(UTC), "bench")
        report = build_department_report(session, params=params, policies=POLICIES)
        b"".join(render_report(report, ReportFormat.HTML))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{label:10} Python peak while building + rendering HTML: {peak / 2**20:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--months", type=int, default=12, help="monthly re-checks (0: none)")
    parser.add_argument("--postgres-server", default="postgresql://postgres@127.0.0.1/postgres")
    parser.add_argument(
        "--databases",
        choices=("both", "sqlite", "postgresql"),
        default="both",
        help="which to measure (a long run may be split in two)",
    )
    args = parser.parse_args()
    if args.databases in ("both", "sqlite"):
        measure_sqlite(args)
    if args.databases in ("both", "postgresql"):
        measure_postgresql(args)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {rss:.0f} MiB")


def measure_sqlite(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        engine = make_engine(f"sqlite:///{directory}/bench.db")
        upgrade(engine)
        started = time.perf_counter()
        generate(engine, args.employees, random.Random(7))
        print(
            f"generated {args.employees} employees on SQLite "
            f"in {time.perf_counter() - started:.1f} s"
        )
        measure(engine, "SQLite", args.burst, args.months)
        engine.dispose()


def measure_postgresql(args: argparse.Namespace) -> None:
    with scratch_postgres_database(args.postgres_server, prefix="report_bench") as url:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        generate(engine, args.employees, random.Random(7))
        print(
            f"generated {args.employees} employees on PostgreSQL "
            f"in {time.perf_counter() - started:.1f} s"
        )
        analyze_on_postgresql(engine)  # what autovacuum does soon after a bulk load
        measure(engine, "PostgreSQL", args.burst, args.months)
        engine.dispose()


if __name__ == "__main__":
    main()
