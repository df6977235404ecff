"""The stored status projection: each (employee, policy) status, kept current from the audit log.

Deriving 200,000 statuses per report is what made a "now" report slow, so `projection`
stores them and reports only aggregate. The rows hold what does not depend on the directory
or the policy files (department, active flag, country and exposure dates are joined when a
report runs), and the watermark says up to which audit event they are exact.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime


class ProjectedStatus(SQLModel, table=True):
    """One employee's status on one policy as of the watermark, with what the report sums."""

    __tablename__ = "projected_statuses"
    # Clustered by (employee, policy) on SQLite too: a report walks it in that order and
    # groups each employee's rows as it goes, without a sort or a lookup per row.
    __table_args__ = {"sqlite_with_rowid": False}

    employee_id: int = Field(
        sa_column=Column(Integer, ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True)
    )
    policy_id: str = Field(max_length=100, primary_key=True)
    status: str = Field(max_length=30)
    days_to_compliance: float | None = Field(default=None)
    first_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    proof_job_id: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=2000)


class ProjectionWatermark(SQLModel, table=True):
    """The one row saying which audit event the projection has taken in, last."""

    __tablename__ = "projection_watermark"
    __table_args__ = (CheckConstraint("id = 1", name="ck_projection_watermark_single_row"),)

    id: int = Field(default=1, primary_key=True)
    seq: int


class StatusHistory(SQLModel, table=True):
    """One employee's status on one policy just before each whole UTC hour from `valid_from`
    up to, not including, `valid_until` (None: still), so a report as of a moment reads the
    hour that ended last before it in one pass.

    The proof is kept apart (`ProofHistory`): every re-check renews it, and an interval per
    renewal would make each as-of read scan a row per employee per month.
    """

    __tablename__ = "status_history"
    # Clustered by (employee, policy) like the projection: an as-of report walks it in that
    # order and groups each employee's rows as it goes.
    __table_args__ = {"sqlite_with_rowid": False}

    employee_id: int = Field(
        sa_column=Column(Integer, ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True)
    )
    policy_id: str = Field(max_length=100, primary_key=True)
    valid_from: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(max_length=30)
    days_to_compliance: float | None = Field(default=None)
    first_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)


class ProofHistory(SQLModel, table=True):
    """Which job proved an employee's status on a policy just before each whole hour from
    `valid_from` up to, not including, `valid_until` (None: still); a null job: none from then.

    Looked up per status (the newest interval begun by a day) for the reports' cited
    evidence and for bundles.
    """

    __tablename__ = "proof_history"
    __table_args__ = {"sqlite_with_rowid": False}

    employee_id: int = Field(
        sa_column=Column(Integer, ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True)
    )
    policy_id: str = Field(max_length=100, primary_key=True)
    valid_from: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    proof_job_id: int | None = Field(default=None)


class StatusHistoryMark(SQLModel, table=True):
    """The one row saying which hours the history covers and which audit events it has seen.

    The whole hours from `first_hour` through `through_hour` are recorded (the statuses just
    before each); every event up to `seq` was stamped late enough not to change them (see
    `history`).
    """

    __tablename__ = "status_history_mark"
    __table_args__ = (CheckConstraint("id = 1", name="ck_status_history_mark_single_row"),)

    id: int = Field(default=1, primary_key=True)
    first_hour: datetime = Field(sa_type=UTCDateTime)
    through_hour: datetime = Field(sa_type=UTCDateTime)
    seq: int
