"""the status history records hour ends, not only day ends; it is recorded again

A report as of a moment inside a busy day (a monthly re-check touches everyone) derived every
status from the log since the last recorded midnight: seconds at 100,000 employees. Intervals
now run between whole UTC hours (timestamps instead of dates), and the mark says up to which
hour the history is recorded. The history is derived from the append-only audit log, so it is
emptied here and the worker's catch-up records it again (reports derive from the log meanwhile).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import orchestrator.core.db


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _intervals(table: str, moment: sa.types.TypeEngine, *values: sa.Column) -> None:
    """A table of intervals per employee and policy (see `reports.models`)."""
    op.create_table(
        table,
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("valid_from", moment, nullable=False),
        sa.Column("valid_until", moment, nullable=True),
        *values,
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("employee_id", "policy_id", "valid_from"),
        sqlite_with_rowid=False,
    )


def _history(moment: sa.types.TypeEngine, *, mark: tuple[str, str]) -> None:
    """The status history, its proofs and its mark, with moments of this type."""
    _intervals(
        "status_history",
        moment,
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("days_to_compliance", sa.Float(), nullable=True),
        sa.Column(
            "first_verified_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    )
    _intervals("proof_history", moment, sa.Column("proof_job_id", sa.Integer(), nullable=True))
    first, through = mark
    op.create_table(
        "status_history_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(first, moment, nullable=False),
        sa.Column(through, moment, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_status_history_mark_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )


def _drop_history() -> None:
    for table in ("status_history_mark", "proof_history", "status_history"):
        op.drop_table(table)


def upgrade() -> None:
    _drop_history()
    _history(orchestrator.core.db.UTCDateTime(timezone=True), mark=("first_hour", "through_hour"))


def downgrade() -> None:
    _drop_history()
    _history(sa.Date(), mark=("first_day", "through_day"))
