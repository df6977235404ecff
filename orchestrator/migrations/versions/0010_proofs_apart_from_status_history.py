"""proofs kept apart from the end-of-day status history; the history is recorded again;
purged evidence indexed by job; jobs indexed by their last change

Each re-check renews a proof; as a column of the status history it opened an interval per
employee per month, which every as-of report then scanned. Status rows now keep a job's
message only where it explains a failure. The history and the projection are derived from
the append-only audit log, so both are emptied here: the next report rebuilds the projection
and the worker's catch-up records the history again (reports derive from the log meanwhile).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import orchestrator.core.db


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _intervals(table: str, *values: sa.Column) -> None:
    """A table of day intervals per employee and policy (see `reports.models`)."""
    op.create_table(
        table,
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        *values,
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("employee_id", "policy_id", "valid_from"),
        sqlite_with_rowid=False,
    )


def _status_history(*, with_proof: bool) -> None:
    proof = [sa.Column("proof_job_id", sa.Integer(), nullable=True)] if with_proof else []
    _intervals(
        "status_history",
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("days_to_compliance", sa.Float(), nullable=True),
        sa.Column(
            "first_verified_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        *proof,
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    )


def _forget_derived_statuses() -> None:
    """Both stored views of the statuses are derived from the log: emptied, they are built
    again with this revision's rules (a report rebuilds the projection, the worker the
    history)."""
    op.execute("DELETE FROM status_history_mark")
    op.execute("DELETE FROM projection_watermark")
    op.execute("DELETE FROM projected_statuses")


def upgrade() -> None:
    _forget_derived_statuses()
    op.drop_table("status_history")
    _status_history(with_proof=False)
    _intervals("proof_history", sa.Column("proof_job_id", sa.Integer(), nullable=True))
    op.create_index("ix_jobs_updated_at", "jobs", ["updated_at"])
    purged = sa.text("purged_at IS NOT NULL")
    op.create_index(
        "ix_evidence_purged_job_id",
        "evidence",
        ["job_id"],
        sqlite_where=purged,
        postgresql_where=purged,
    )


def downgrade() -> None:
    _forget_derived_statuses()
    op.drop_index("ix_evidence_purged_job_id", table_name="evidence")
    op.drop_index("ix_jobs_updated_at", table_name="jobs")
    op.drop_table("proof_history")
    op.drop_table("status_history")
    _status_history(with_proof=True)
