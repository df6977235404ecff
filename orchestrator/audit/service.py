"""Writing and checking the hash-chained audit log.

Each event's hash is SHA-256 over a canonical JSON of its content and the previous event's hash,
so changing, inserting or deleting any event breaks every hash after it. Events are written in the
caller's transaction: the change and its audit event commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from orchestrator.audit.models import AuditEvent
from orchestrator.core.clock import as_utc, utcnow

GENESIS_HASH = "0" * 64
_POSTGRES_CHAIN_LOCK = 0x0A0D17  # advisory lock key serialising appends on PostgreSQL


@dataclass(frozen=True)
class NewEvent:
    """An event to append: who did what to which subject, with JSON-serialisable details."""

    actor: str
    action: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ChainHead:
    """The newest event's sequence number and hash (what an evidence bundle pins)."""

    seq: int
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of `verify_chain`: how many events were checked and the first break, if any."""

    checked: int
    head: ChainHead | None
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"audit data cannot hold a {type(value).__name__}")


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    """The data as it will read back from the database, so the hash covers exactly that."""
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=_json_default))
    return loaded


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 of the event's canonical JSON form (sorted keys, UTC time with microseconds)."""
    canonical = json.dumps(
        {
            "seq": seq,
            "at": as_utc(at).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "data": data,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain_head(session: Session) -> ChainHead | None:
    """The newest event, or None when the log is empty."""
    row = session.exec(
        select(AuditEvent.seq, AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)
    ).first()
    return None if row is None else ChainHead(seq=row[0], hash=row[1])


def head_seq(session: Session) -> int:
    """The newest event's number, 0 for an empty log: how far a reader of the log has got."""
    head = chain_head(session)
    return 0 if head is None else head.seq


def _lock_chain(session: Session) -> None:
    # Two transactions appending at once would both read the same head. On PostgreSQL an
    # advisory lock serialises them; SQLite has a single writer, and the unique `seq` refuses
    # a fork in either case.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_CHAIN_LOCK})


def record_many(
    session: Session, events: Sequence[NewEvent], *, now: datetime | None = None
) -> ChainHead | None:
    """Append events in order, in the caller's transaction; returns the new head."""
    if not events:
        return chain_head(session)
    at = as_utc(now or utcnow())
    session.flush()
    _lock_chain(session)
    head = chain_head(session)
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    rows: list[dict[str, Any]] = []
    for event in events:
        seq += 1
        data = _normalised(event.data)
        digest = event_hash(
            seq=seq,
            at=at,
            actor=event.actor,
            action=event.action,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            data=data,
            prev_hash=prev_hash,
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": event.actor,
                "action": event.action,
                "subject_type": event.subject_type,
                "subject_id": event.subject_id,
                "data": data,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    session.execute(insert(AuditEvent.__table__), rows)  # type: ignore[attr-defined]
    return ChainHead(seq=seq, hash=prev_hash)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ChainHead:
    """Append one event in the caller's transaction."""
    head = record_many(
        session,
        [NewEvent(actor, action, subject_type, str(subject_id), data or {})],
        now=now,
    )
    assert head is not None
    return head


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in order; report the first event that was altered, inserted or lost."""
    events = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000)
    )
    with closing(events):
        return _walk_chain(events)


def _walk_chain(events: Iterable[AuditEvent]) -> ChainReport:
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for event in events:
        if event.seq != expected_seq:
            return ChainReport(
                checked,
                ChainHead(expected_seq - 1, prev_hash),
                expected_seq,
                f"event #{expected_seq} is missing (the next one present is #{event.seq})",
            )
        if event.prev_hash != prev_hash:
            return ChainReport(
                checked,
                ChainHead(expected_seq - 1, prev_hash),
                event.seq,
                f"event #{event.seq} does not link to event #{event.seq - 1} (prev_hash differs)",
            )
        recomputed = event_hash(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            action=event.action,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            data=event.data,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainReport(
                checked,
                ChainHead(expected_seq - 1, prev_hash),
                event.seq,
                f"event #{event.seq} was altered after it was written (its hash does not match "
                "its content)",
            )
        checked += 1
        prev_hash = event.hash
        expected_seq += 1
    head = ChainHead(expected_seq - 1, prev_hash) if checked else None
    return ChainReport(checked, head)


def tail(session: Session, *, limit: int = 20) -> list[AuditEvent]:
    """The newest `limit` events, oldest first."""
    rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(limit)).all()
    return list(reversed(rows))
