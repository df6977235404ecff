"""run windows and job holds, employee time zones, evidence purge marker

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 03:02:23.612501
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import orchestrator.core.db


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("run_windows", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )

    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hold", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
        batch_op.create_check_constraint(
            "ck_jobs_hold", "hold IN ('campaign_paused', 'run_window')"
        )
    # Jobs a paused campaign held before holds had a column of their own.
    op.execute(
        "UPDATE jobs SET hold = 'campaign_paused' "
        "WHERE state = 'scheduled' AND last_error = 'held: the campaign is paused'"
    )

    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purged_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_column("purged_at")

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("ck_jobs_hold", type_="check")
        batch_op.drop_column("hold")

    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.drop_column("time_zone")

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("run_windows")
