"""stored status projection and its audit-log watermark

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 06:05:56.819565
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import orchestrator.core.db


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projection_watermark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_projection_watermark_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "projected_statuses",
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("days_to_compliance", sa.Float(), nullable=True),
        sa.Column(
            "first_verified_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("proof_job_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("employee_id", "policy_id"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("projected_statuses")
    op.drop_table("projection_watermark")
