"""Consent records: one per employee per campaign."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime
from orchestrator.core.models import one_of


class ConsentState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Consent(SQLModel, table=True):
    """An employee's answer, with what they were shown (its hash) and where they answered from."""

    __tablename__ = "consents"
    __table_args__ = (
        UniqueConstraint("campaign_id", "employee_id", name="uq_consents_campaign_employee"),
        one_of("state", ConsentState, name="ck_consents_state"),
        Index("ix_consents_campaign_state", "campaign_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    employee_id: int = Field(foreign_key="employees.id", index=True)
    state: str = Field(default=ConsentState.PENDING, max_length=20)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    policy_versions: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    shown_text_sha256: str | None = Field(default=None, max_length=64)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_ip: str | None = Field(default=None, max_length=45)
    decision_user_agent: str | None = Field(default=None, max_length=500)
    reminders_sent: int = Field(default=0, ge=0)
    last_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
