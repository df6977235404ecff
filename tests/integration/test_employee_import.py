"""Importing the directory into the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import verify_chain
from orchestrator.core.db import session_scope
from orchestrator.employees.directory import DirectoryImportError
from orchestrator.employees.models import Department, Employee
from orchestrator.employees.service import import_directory, list_employees

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HEADER = "email,name,department,country,linkedin_url,fleet_host\n"
FIRST = HEADER + (
    "ann@example.com,Ann Lee,Engineering/Platform,DE,https://www.linkedin.com/in/ann-lee,\n"
    "bob@example.com,Bob Roe,Engineering,UK,,laptop-bob\n"
    "cho@example.com,Cho Min,Sales,KR,,\n"
)


def run_import(engine: Engine, text: str, **options: object):
    with session_scope(engine) as session:
        return import_directory(
            session,
            data=text.encode("utf-8"),
            source="people.csv",
            actor="test:admin",
            now=options.pop("now", NOW),  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )


def employees_by_email(engine: Engine) -> dict[str, Employee]:
    with Session(engine) as session:
        return {e.email: e for e in session.exec(select(Employee)).all()}


def audit_actions(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all())


def test_first_import_creates_employees_departments_and_audit_events(engine: Engine) -> None:
    report = run_import(engine, FIRST)
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (3, 0, 0, 0)
    assert report.departments_created == 3  # Engineering, Engineering/Platform, Sales
    people = employees_by_email(engine)
    assert people["bob@example.com"].country == "GB"
    assert people["bob@example.com"].fleet_host == "laptop-bob"
    assert people["ann@example.com"].accounts == {"linkedin": "https://www.linkedin.com/in/ann-lee"}
    with Session(engine) as session:
        platform = session.exec(
            select(Department).where(Department.path == "Engineering/Platform")
        ).one()
        parent = session.get(Department, platform.parent_id)
        assert parent is not None and parent.path == "Engineering"
        assert verify_chain(session).ok
    actions = audit_actions(engine)
    assert actions.count("employee.created") == 3
    assert actions.count("department.created") == 3
    assert actions[-1] == "directory.imported"


def test_reimport_upserts_by_case_insensitive_email(engine: Engine) -> None:
    run_import(engine, FIRST)
    later = NOW + timedelta(days=1)
    report = run_import(
        engine,
        HEADER
        + "ANN@Example.com,Ann Lee,Engineering/Platform,DE,https://www.linkedin.com/in/ann-lee,\n"
        + "bob@example.com,Bob Roe,Sales/EMEA,GB,,laptop-bob\n"
        + "dee@example.com,Dee,Sales,FR,,\n",
        now=later,
    )
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (1, 1, 1, 0)
    people = employees_by_email(engine)
    assert len(people) == 4  # cho stays: not deactivated without the flag
    assert people["bob@example.com"].updated_at == later
    assert people["ann@example.com"].updated_at == NOW
    with Session(engine) as session:
        bob_update = session.exec(
            select(AuditEvent).where(AuditEvent.action == "employee.updated")
        ).one()
    assert bob_update.data["changes"] == {"department": ["Engineering", "Sales/EMEA"]}


def test_deactivate_missing_and_reactivate(engine: Engine) -> None:
    run_import(engine, FIRST)
    report = run_import(
        engine,
        HEADER
        + "ann@example.com,Ann Lee,Engineering/Platform,DE,https://www.linkedin.com/in/ann-lee,\n",
        deactivate_missing=True,
    )
    assert (report.unchanged, report.deactivated) == (1, 2)
    people = employees_by_email(engine)
    assert not people["bob@example.com"].active and people["bob@example.com"].deactivated_at == NOW
    assert people["ann@example.com"].active
    back = run_import(engine, FIRST)
    assert (back.updated, back.unchanged) == (2, 1)
    assert all(person.active for person in employees_by_email(engine).values())


def test_dry_run_reports_but_changes_nothing(engine: Engine) -> None:
    report = run_import(engine, FIRST, dry_run=True)
    assert (report.dry_run, report.created, report.departments_created) == (True, 3, 3)
    assert employees_by_email(engine) == {}
    assert audit_actions(engine) == []


def test_a_bad_row_rejects_the_whole_file_and_imports_nothing(engine: Engine) -> None:
    run_import(engine, FIRST)
    before_people = {e: (p.name, p.country) for e, p in employees_by_email(engine).items()}
    before_audit = audit_actions(engine)
    bad = (
        HEADER
        + "ann@example.com,Ann Renamed,Engineering,DE,,\n"
        + "new@example.com,New Person,Sales,DE,,\n"
        + "bad-email,X,Sales,DE,,\n"
        + "z@example.com,Z,Sales,ZZ,,\n"
    )
    with pytest.raises(DirectoryImportError) as caught:
        run_import(engine, bad)
    assert {(p.row, p.column) for p in caught.value.problems} == {(4, "email"), (5, "country")}
    after_people = {e: (p.name, p.country) for e, p in employees_by_email(engine).items()}
    assert after_people == before_people
    assert audit_actions(engine) == before_audit


def test_list_filters_by_department_subtree_country_and_active(engine: Engine) -> None:
    run_import(engine, FIRST)
    run_import(
        engine,
        HEADER
        + "ann@example.com,Ann Lee,Engineering/Platform,DE,https://www.linkedin.com/in/ann-lee,\n"
        "bob@example.com,Bob Roe,Engineering,UK,,laptop-bob\n",
        deactivate_missing=True,
    )
    with Session(engine) as session:
        engineering, total = list_employees(session, department="Engineering")
        assert total == 2 and [e.email for e in engineering] == [
            "ann@example.com",
            "bob@example.com",
        ]
        platform, _ = list_employees(session, department="Engineering/Platform")
        assert [e.email for e in platform] == ["ann@example.com"]
        british, _ = list_employees(session, country="uk")
        assert [e.email for e in british] == ["bob@example.com"]
        inactive, _ = list_employees(session, active=False)
        assert [(e.email, e.department) for e in inactive] == [("cho@example.com", "Sales")]
        page, total = list_employees(session, limit=1, offset=1)
        assert total == 3 and [e.email for e in page] == ["bob@example.com"]
        found, _ = list_employees(session, search="MIN")
        assert [e.name for e in found] == ["Cho Min"]


def test_department_filter_treats_wildcards_literally(engine: Engine) -> None:
    run_import(engine, HEADER + "a@example.com,A,R%D,DE,,\nb@example.com,B,RXD/Lab,DE,,\n")
    with Session(engine) as session:
        found, total = list_employees(session, department="R%D")
    assert total == 1 and found[0].email == "a@example.com"


def test_a_large_import_leaves_postgresql_planning_for_the_new_rows(
    engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's planner keeps no table statistics to renew")
    people = "".join(f"p{n}@example.com,Person {n},Ops/Team {n % 40},US,,\n" for n in range(10_000))

    report = run_import(engine, HEADER + people)

    assert report.created == 10_000
    # Analysed with the import, not a minute later by autovacuum: the next query (the
    # reports' first projection build, say) is planned for 10,000 employees, not for none.
    with Session(engine) as session:
        estimated = session.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = 'employees'")
        ).scalar_one()
    assert estimated >= 10_000
