"""The audit event table: each row's hash covers its content and the previous row's hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime


class AuditEvent(SQLModel, table=True):
    """One state change: who (actor) did what (action) to which subject, with details (data)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
        Index("ix_audit_events_action_at", "action", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=320)
    action: str = Field(max_length=100)
    subject_type: str = Field(max_length=50)
    subject_id: str = Field(max_length=320)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
