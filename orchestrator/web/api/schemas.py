"""The API's JSON shapes (pydantic), read from service results and rows by attribute."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EmployeeOut(Out):
    id: int
    email: str
    name: str
    department: str
    country: str
    fleet_host: str | None
    accounts: dict[str, str]
    active: bool
    time_zone: str | None = None


class ConsentOut(Out):
    id: int
    campaign_id: int
    employee_id: int
    employee_email: str
    state: str
    requested_at: datetime
    respond_by: datetime
    decided_at: datetime | None
    revoked_at: datetime | None
    reminders_sent: int
    policy_versions: dict[str, str]


class JobOut(Out):
    id: int
    campaign_id: int | None
    employee_id: int
    consent_id: int
    policy_id: str
    policy_version: str
    purpose: str
    state: str
    outcome: str | None
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    run_id: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class EvidenceOut(Out):
    id: int
    job_id: int
    kind: str
    sha256: str
    url: str | None
    policy_version: str
    captured_at: datetime
    purged_at: datetime | None
    has_file: bool = False
    data: dict[str, Any]


class EmployeeDetail(BaseModel):
    employee: EmployeeOut
    consents: list[ConsentOut]
    jobs: list[JobOut]
    evidence: list[EvidenceOut]


class ImportOut(Out):
    source: str
    sha256: str
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    deactivated: int
    departments_created: int


class PolicyOut(BaseModel):
    id: str
    platform: str
    title: str
    version: str
    paused: bool
    paused_reason: str | None


class ScopeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    everyone: bool = False
    departments: list[str] = Field(default_factory=list, max_length=500)
    emails: list[str] = Field(default_factory=list, max_length=10_000)


class CampaignIn(BaseModel):
    """A new campaign; times are ISO 8601, read in `timezone` when they carry no offset."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    policy_ids: list[str] = Field(min_length=1, max_length=50)
    scope: ScopeIn
    deadline: str | None = Field(default=None, max_length=40)
    remind_every: str | None = Field(default=None, max_length=20, examples=["3d"])
    starts_at: str | None = Field(default=None, max_length=40)
    timezone: str = Field(default="UTC", max_length=64)
    run_windows: list[Annotated[str, Field(max_length=60)]] = Field(
        default_factory=list,
        max_length=14,
        description="When jobs may run, on each employee's clock; empty: any time.",
        examples=[["mon-fri 22:00-06:00", "sat,sun 00:00-24:00"]],
    )


class CampaignOut(BaseModel):
    id: int
    name: str
    state: str
    policy_ids: list[str]
    scope: dict[str, Any]
    consent_deadline: str | None
    reminder_interval_hours: int | None
    starts_at: str | None
    timezone: str
    run_windows: list[str] = Field(default_factory=list)
    created_by: str
    created_at: str
    launched_at: str | None
    finished_at: str | None


class CampaignStatusOut(BaseModel):
    campaign: CampaignOut
    consents: dict[str, int]
    jobs: dict[str, int]
    held: dict[str, int] = Field(default_factory=dict)
    next_window_opens_at: str | None = None
    mail: dict[str, int]
    exemptions: dict[str, int]


class LaunchOut(Out):
    campaign_id: int
    state: str
    in_scope: int
    asked: int
    exempt_employees: int
    exemptions: int
    respond_by: datetime


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class Reminded(BaseModel):
    reminded: int


class LogLineOut(Out):
    counter: int
    event: str
    host: str | None
    task: str | None
    text: str


class RunLogOut(Out):
    job_id: int
    run_id: int | None
    status: str | None
    started_at: datetime | None
    finished_at: datetime | None
    kept: bool
    lines: list[LogLineOut]


class AuditEventOut(Out):
    seq: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]
    hash: str


class ChainOut(BaseModel):
    ok: bool
    checked: int
    head_seq: int | None
    head_hash: str | None
    broken_seq: int | None
    problem: str | None
