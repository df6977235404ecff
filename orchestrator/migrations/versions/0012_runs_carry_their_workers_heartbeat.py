"""runs carry their worker's heartbeat

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 11:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrator.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "heartbeat_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
