"""Consent records (one per employee per campaign) and the signed links that answer them."""

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
    CANCELLED = "cancelled"  # the admin withdrew the request (campaign cancelled) before an answer


class LinkPurpose(StrEnum):
    DECIDE = "decide"
    REVOKE = "revoke"


class Consent(SQLModel, table=True):
    """An employee's answer, with what they were shown (its hash) and where they answered from.

    `policy_versions` holds the policies the request covers (id → version): at launch the versions
    the email described, after a decision the versions of the page the employee answered on.
    """

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
    policy_versions: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    shown_text_sha256: str | None = Field(default=None, max_length=64)
    requested_at: datetime = Field(sa_type=UTCDateTime, index=True)
    respond_by: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_ip: str | None = Field(default=None, max_length=45)
    decision_user_agent: str | None = Field(default=None, max_length=500)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_sent: int = Field(default=0, ge=0)
    last_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConsentLink(SQLModel, table=True):
    """One link sent to an employee: only the SHA-256 of its signed token is kept.

    Every message carries its own links, so a reminder does not invalidate the first email's
    link; all decide links of a consent stop working once it is answered or past its deadline.
    """

    __tablename__ = "consent_links"
    __table_args__ = (one_of("purpose", LinkPurpose, name="ck_consent_links_purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    consent_id: int = Field(foreign_key="consents.id", index=True)
    purpose: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
