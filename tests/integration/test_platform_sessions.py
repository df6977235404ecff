"""Employees' browser sessions: validated, encrypted at rest, readable only with the secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text, update
from sqlmodel import Session, select

from orchestrator.core.crypto import DecryptionError
from orchestrator.core.db import session_scope
from orchestrator.core.errors import NotFoundError
from orchestrator.employees.models import Employee, PlatformSession
from orchestrator.employees.service import import_directory
from orchestrator.employees.sessions import (
    InvalidSessionError,
    load_session,
    parse_storage_state,
    store_session,
)

NOW = datetime(2026, 11, 23, tzinfo=UTC)
SECRET = "s" * 48
STATE = {
    "cookies": [
        {
            "name": "li_at",
            "value": "AQEDAR-very-secret-cookie",
            "domain": "www.linkedin.com",
            "path": "/",
            "expires": -1,
            "httpOnly": True,
            "secure": True,
            "sameSite": "None",
        }
    ],
    "origins": [],
}


@pytest.fixture
def employee_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        import_directory(
            session,
            data=b"email,name,department,country\nann@example.com,Ann,Ops,DE\n",
            source="d.csv",
            actor="t",
            now=NOW,
        )
    with Session(engine) as session:
        return session.exec(select(Employee.id)).one()  # type: ignore[return-value]


def store(engine: Engine, state: dict, secret: str = SECRET) -> None:
    with session_scope(engine) as session:
        store_session(
            session,
            employee_email="Ann@Example.com",
            platform="linkedin",
            storage_state=state,
            secret=secret,
            actor="cli:admin",
            now=NOW,
        )


def test_stored_session_round_trips_and_is_not_kept_in_clear(
    engine: Engine, employee_id: int
) -> None:
    store(engine, STATE)
    with Session(engine) as session:
        assert (
            load_session(session, employee_id=employee_id, platform="linkedin", secret=SECRET)
            == STATE
        )
        assert load_session(session, employee_id=employee_id, platform="x", secret=SECRET) is None
        raw = session.exec(select(PlatformSession.ciphertext)).one()
        audit = session.execute(text("SELECT data FROM audit_events ORDER BY seq DESC")).first()
    assert b"very-secret-cookie" not in raw
    assert "very-secret-cookie" not in json.dumps(audit[0] if audit else "")


def test_a_new_session_replaces_the_old_one(engine: Engine, employee_id: int) -> None:
    store(engine, STATE)
    newer = {"cookies": [{**STATE["cookies"][0], "value": "fresh"}], "origins": []}
    store(engine, newer)
    with Session(engine) as session:
        assert len(session.exec(select(PlatformSession)).all()) == 1
        loaded = load_session(session, employee_id=employee_id, platform="linkedin", secret=SECRET)
    assert loaded is not None and loaded["cookies"][0]["value"] == "fresh"


def test_altered_ciphertext_or_another_secret_fails_loudly(
    engine: Engine, employee_id: int
) -> None:
    store(engine, STATE)
    with Session(engine) as session:
        with pytest.raises(DecryptionError, match="another installation secret"):
            load_session(session, employee_id=employee_id, platform="linkedin", secret="t" * 48)
        raw = session.exec(select(PlatformSession.ciphertext)).one()
        session.execute(update(PlatformSession).values(ciphertext=raw[:-5] + b"AAAAA"))
        session.commit()
        with pytest.raises(DecryptionError, match="altered"):
            load_session(session, employee_id=employee_id, platform="linkedin", secret=SECRET)


def test_unknown_employee_is_named(engine: Engine) -> None:
    with (
        pytest.raises(NotFoundError, match=r"nobody@example\.com"),
        session_scope(engine) as session,
    ):
        store_session(
            session,
            employee_email="nobody@example.com",
            platform="linkedin",
            storage_state=STATE,
            secret=SECRET,
            actor="t",
            now=NOW,
        )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b"not json", "is not a Playwright storage state"),
        (b'{"cookies": [{"name": "a"}]}', r"cookies\.0\.value"),
        (b'{"cookies": [], "origins": []}', "holds no cookies"),
        (b'{"cookies": [], "extra": 1}', "extra"),
    ],
)
def test_bad_storage_states_are_refused(document: bytes, expected: str) -> None:
    with pytest.raises(InvalidSessionError, match=expected):
        parse_storage_state(document, source="state.json")
