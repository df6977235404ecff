"""end-of-day status history for as-of reports, and indexes on the stamps it reads

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 09:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import orchestrator.core.db


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_history_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("through_day", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_status_history_mark_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "status_history",
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("days_to_compliance", sa.Float(), nullable=True),
        sa.Column(
            "first_verified_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("proof_job_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("employee_id", "policy_id", "valid_from"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_consents_requested_at", "consents", ["requested_at"])
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_index("ix_exemptions_decided_at", "exemptions", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_exemptions_decided_at", table_name="exemptions")
    op.drop_index("ix_jobs_created_at", table_name="jobs")
    op.drop_index("ix_consents_requested_at", table_name="consents")
    op.drop_table("status_history")
    op.drop_table("status_history_mark")
