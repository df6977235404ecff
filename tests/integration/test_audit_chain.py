"""The audit log's hash chain: intact logs verify, every kind of tampering is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from orchestrator.audit.service import GENESIS_HASH, event_hash, record, tail, verify_chain
from orchestrator.core.db import is_postgresql, session_scope

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def five_events(engine: Engine) -> Engine:
    for number in range(1, 6):
        with session_scope(engine) as session:
            record(
                session,
                actor="cli:alice@host",
                action="employee.updated",
                subject_type="employee",
                subject_id=number,
                data={"changes": {"name": [f"Old {number}", f"Nouveau nom {number} — ü"]}},
                now=START + timedelta(minutes=number),
            )
    return engine


def _tamper(engine: Engine, statement: str, **params: object) -> None:
    """Change the log behind the service's back, as someone with database access could."""
    with engine.begin() as connection:
        if is_postgresql(engine):
            # Skips the append-only trigger for this transaction only (the database is shared).
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
        connection.execute(text(statement), params)


def _verify(engine: Engine):
    with Session(engine) as session:
        return verify_chain(session)


def test_an_intact_chain_verifies(five_events: Engine) -> None:
    report = _verify(five_events)
    assert report.ok and report.checked == 5
    with Session(five_events) as session:
        events = tail(session, limit=10)
    assert [event.seq for event in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert report.head is not None and report.head.hash == events[-1].hash


def test_empty_log_verifies(engine: Engine) -> None:
    report = _verify(engine)
    assert report.ok and report.checked == 0 and report.head is None


@pytest.mark.parametrize(
    "tampering",
    [
        "UPDATE audit_events SET data = '{\"changes\": {}}' WHERE seq = 3",
        "UPDATE audit_events SET actor = 'cli:mallory@host' WHERE seq = 3",
    ],
    ids=["data", "actor"],
)
def test_an_altered_event_is_named(five_events: Engine, tampering: str) -> None:
    _tamper(five_events, tampering)
    report = _verify(five_events)
    assert not report.ok
    assert report.broken_seq == 3 and report.checked == 2
    assert "altered" in (report.problem or "")


def test_a_deleted_event_is_named(five_events: Engine) -> None:
    _tamper(five_events, "DELETE FROM audit_events WHERE seq = 4")
    report = _verify(five_events)
    assert report.broken_seq == 4 and "missing" in (report.problem or "")


def test_a_rewritten_tail_with_fresh_hashes_still_breaks_the_link(five_events: Engine) -> None:
    """Recomputing an edited event's own hash does not help: the next event's link breaks."""
    with Session(five_events) as session:
        original = tail(session, limit=5)[1]  # seq 2
    forged_data = {"changes": {}}
    forged_hash = event_hash(
        seq=original.seq,
        at=original.at,
        actor=original.actor,
        action=original.action,
        subject_type=original.subject_type,
        subject_id=original.subject_id,
        data=forged_data,
        prev_hash=original.prev_hash,
    )
    _tamper(
        five_events,
        "UPDATE audit_events SET data = '{\"changes\": {}}', hash = :forged WHERE seq = 2",
        forged=forged_hash,
    )
    report = _verify(five_events)
    assert report.broken_seq == 3 and "does not link" in (report.problem or "")
