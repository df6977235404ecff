"""Queueing messages in the caller's transaction, and reading the outbox back.

A message is rendered when it is queued, so what is delivered is exactly what the change that
caused it described, however late the delivery. Each row names what it is about (`reference`),
so a campaign can count or cancel its own messages without this room knowing what a campaign is.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from orchestrator.audit.service import NewEvent, record_many
from orchestrator.notifications.models import MailState, OutboxMessage
from orchestrator.notifications.rendering import render_message

_CHUNK = 500


@dataclass(frozen=True)
class NewMessage:
    """A message to queue: rendered from the templates of `kind` with `context`."""

    to: str
    kind: str
    context: Mapping[str, Any]
    reference: tuple[str, str | int] | None = None
    send_before: datetime | None = None


def enqueue_many(
    session: Session, messages: Sequence[NewMessage], *, actor: str, now: datetime
) -> list[OutboxMessage]:
    """Render and queue messages, due at once, each recorded in the audit log."""
    rows = []
    for message in messages:
        rendered = render_message(message.kind, message.context)
        rows.append(
            OutboxMessage(
                kind=message.kind,
                to_address=message.to,
                subject=rendered.subject,
                text_body=rendered.text,
                html_body=rendered.html,
                message_id=uuid.uuid4().hex,
                state=MailState.QUEUED,
                next_attempt_at=now,
                reference_type=message.reference[0] if message.reference else None,
                reference_id=str(message.reference[1]) if message.reference else None,
                send_before=message.send_before,
                created_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    record_many(
        session,
        [
            NewEvent(
                actor,
                "mail.queued",
                "mail",
                str(row.id),
                {
                    "kind": row.kind,
                    "to": row.to_address,
                    "subject": row.subject,
                    "about": f"{row.reference_type}:{row.reference_id}"
                    if row.reference_type
                    else None,
                },
            )
            for row in rows
        ],
        now=now,
    )
    return rows


def enqueue(
    session: Session,
    *,
    to: str,
    kind: str,
    context: Mapping[str, Any],
    actor: str,
    now: datetime,
    reference: tuple[str, str | int] | None = None,
    send_before: datetime | None = None,
) -> OutboxMessage:
    """Render one message of `kind` for `to` and queue it (see `enqueue_many`)."""
    message = NewMessage(to, kind, context, reference, send_before)
    return enqueue_many(session, [message], actor=actor, now=now)[0]


def cancel_queued(
    session: Session,
    *,
    reference_type: str,
    reference_ids: Collection[str | int],
    reason: str,
    actor: str,
    now: datetime,
) -> int:
    """Cancel the still-queued messages about these subjects; returns how many were cancelled."""
    ids = [str(value) for value in reference_ids]
    cancelled: list[tuple[int, str]] = []
    for start in range(0, len(ids), _CHUNK):  # stay far below every database's parameter limit
        cancelled += session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.state) == MailState.QUEUED,
                col(OutboxMessage.reference_type) == reference_type,
                col(OutboxMessage.reference_id).in_(ids[start : start + _CHUNK]),
            )
            .values(state=MailState.CANCELLED, last_error=reason, lease_expires_at=None)
            .returning(col(OutboxMessage.id), col(OutboxMessage.to_address))
        ).all()
    record_many(
        session,
        [
            NewEvent(actor, "mail.cancelled", "mail", str(id_), {"to": to, "reason": reason})
            for id_, to in cancelled
        ],
        now=now,
    )
    return len(cancelled)


def count_by_state(
    session: Session,
    *,
    reference_type: str | None = None,
    reference_ids: Collection[str | int] | None = None,
) -> dict[str, int]:
    """How many messages are in each state (every state listed), optionally for some subjects."""
    query = select(OutboxMessage.state, func.count()).group_by(col(OutboxMessage.state))
    if reference_type is not None:
        query = query.where(col(OutboxMessage.reference_type) == reference_type)
    if reference_ids is not None:
        query = query.where(col(OutboxMessage.reference_id).in_([str(v) for v in reference_ids]))
    counts = {state.value: 0 for state in MailState}
    counts.update({state: count for state, count in session.exec(query).all()})
    return counts


def oldest_waiting(session: Session) -> OutboxMessage | None:
    """The queued message waiting longest, to tell an admin why mail is not going out."""
    return session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.state) == MailState.QUEUED)
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        .limit(1)
    ).first()
