"""Campaigns and the exemptions decided when they launch."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime
from orchestrator.core.models import one_of


class CampaignState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Campaign(SQLModel, table=True):
    """Policies × scope, with the consent deadline and reminder cadence employees are held to."""

    __tablename__ = "campaigns"
    __table_args__ = (one_of("state", CampaignState, name="ck_campaigns_state"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    state: str = Field(default=CampaignState.DRAFT, max_length=20, index=True)
    policy_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    scope: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    consent_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminder_interval_hours: int | None = Field(default=None, ge=1)
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    timezone: str = Field(default="UTC", max_length=64)
    run_windows: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_by: str = Field(max_length=320)
    created_at: datetime = Field(sa_type=UTCDateTime)
    launched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Exemption(SQLModel, table=True):
    """An employee left out of a policy at launch, with the dated rule and source that said so."""

    __tablename__ = "exemptions"
    __table_args__ = (
        UniqueConstraint("campaign_id", "employee_id", "policy_id", name="uq_exemptions_target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", index=True)
    employee_id: int = Field(foreign_key="employees.id", index=True)
    policy_id: str = Field(max_length=100)
    policy_version: str = Field(max_length=64)
    rule: str = Field(max_length=500)
    source: str = Field(max_length=1000)
    reason: str = Field(max_length=2000)
    decided_at: datetime = Field(sa_type=UTCDateTime, index=True)
