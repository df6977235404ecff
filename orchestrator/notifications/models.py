"""The mail outbox: every message the installation sends, with its delivery state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime
from orchestrator.core.models import one_of


class MailState(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt (a sender holds it while leased)
    SENT = "sent"  # accepted by the SMTP server
    FAILED = "failed"  # refused for good (unknown recipient...): `last_error` says why
    CANCELLED = "cancelled"  # no longer wanted (the campaign was cancelled)
    EXPIRED = "expired"  # not sent before `send_before` (a consent request past its deadline)


class OutboxMessage(SQLModel, table=True):
    """One rendered message: written with the change that caused it, delivered after commit.

    A sender claims a queued message by setting `lease_expires_at`: a lock, not a state, so a
    sender that dies mid-batch only delays its messages until the lease runs out.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        one_of("state", MailState, name="ck_mail_outbox_state"),
        Index("ix_mail_outbox_due", "state", "next_attempt_at"),
        Index("ix_mail_outbox_reference", "reference_type", "reference_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=50)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    text_body: str = Field(sa_type=Text)
    html_body: str = Field(sa_type=Text)
    message_id: str = Field(max_length=200, unique=True)
    state: str = Field(default=MailState.QUEUED, max_length=20)
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)
    reference_type: str | None = Field(default=None, max_length=50)
    reference_id: str | None = Field(default=None, max_length=50)
    send_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
