"""The schema itself: migrations match the models, and the database enforces the rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from orchestrator.audit.service import record
from orchestrator.core.db import session_scope
from orchestrator.employees.models import Department, Employee
from orchestrator.migrations.tables import metadata

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_migrations_create_exactly_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def _employee(**overrides: object) -> Employee:
    values: dict[str, object] = {
        "name": "X",
        "country": "DE",
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return Employee(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("email", "overrides"),
    [
        ("Upper@example.com", {}),
        ("a@example.com", {"country": "DEU"}),
        ("a@example.com", {"department_id": 999}),
    ],
    ids=["uppercase-email", "three-letter-country", "unknown-department"],
)
def test_constraints_refuse_bad_rows(engine: Engine, email: str, overrides: dict) -> None:
    with session_scope(engine) as session:
        department = Department(path="Ops", name="Ops")
        session.add(department)
    # SQLite reports a failed CHECK; PostgreSQL already refuses the over-long VARCHAR(2).
    with pytest.raises(DBAPIError), session_scope(engine) as session:
        values = {"department_id": department.id, **overrides}
        session.add(_employee(email=email, **values))


def test_emails_are_unique(engine: Engine) -> None:
    with session_scope(engine) as session:
        department = Department(path="Ops", name="Ops")
        session.add(department)
        session.flush()
        session.add(_employee(department_id=department.id, email="a@example.com"))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(_employee(department_id=department.id, email="a@example.com"))


def test_audit_events_cannot_be_updated_or_deleted(engine: Engine) -> None:
    with session_scope(engine) as session:
        record(session, actor="t", action="thing.done", subject_type="thing", subject_id=1, now=NOW)
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), Session(engine) as session:
            session.execute(text(statement))
            session.commit()
