"""consent links and mail outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:45:43.370072

Consent links move to their own table (one row per link sent, only the token's SHA-256 kept),
so that a reminder's link does not invalidate the first email's. Consents gain the deadline they
were asked to answer by, when they were revoked or closed, and the state `cancelled` (the admin
withdrew the request). Exemptions gain the rule's reason. The mail outbox holds every message.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import orchestrator.core.db


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CONSENT_STATES = "'pending', 'approved', 'declined', 'revoked', 'expired'"
NEW_CONSENT_STATES = OLD_CONSENT_STATES + ", 'cancelled'"


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("to_address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "lease_expires_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("reference_type", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("reference_id", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("send_before", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'sent', 'failed', 'cancelled', 'expired')",
            name="ck_mail_outbox_state",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_mail_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_mail_outbox_reference", ["reference_type", "reference_id"], unique=False
        )

    op.create_table(
        "consent_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issued_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('decide', 'revoke')", name="ck_consent_links_purpose"),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("consent_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_links_consent_id"), ["consent_id"], unique=False
        )

    # The deadline is new and required: rows from before take their campaign's deadline (or the
    # time they were requested, which closes them) before the column becomes NOT NULL.
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("respond_by", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("revoked_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("closed_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_column("token_expires_at")
        batch_op.drop_column("token_hash")
        batch_op.drop_constraint("ck_consents_state", type_="check")
        batch_op.create_check_constraint("ck_consents_state", f"state IN ({NEW_CONSENT_STATES})")
    op.execute(
        "UPDATE consents SET respond_by = COALESCE("
        "(SELECT consent_deadline FROM campaigns WHERE campaigns.id = consents.campaign_id), "
        "requested_at)"
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.alter_column(
            "respond_by",
            existing_type=orchestrator.core.db.UTCDateTime(timezone=True),
            nullable=False,
        )

    with op.batch_alter_table("exemptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True)
        )
    op.execute("UPDATE exemptions SET reason = 'recorded before reasons were kept'")
    with op.batch_alter_table("exemptions", schema=None) as batch_op:
        batch_op.alter_column(
            "reason", existing_type=sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("exemptions", schema=None) as batch_op:
        batch_op.drop_column("reason")

    # Consents cancelled by an admin had no state of their own before: they read as expired.
    op.execute("UPDATE consents SET state = 'expired' WHERE state = 'cancelled'")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint("ck_consents_state", type_="check")
        batch_op.create_check_constraint("ck_consents_state", f"state IN ({OLD_CONSENT_STATES})")
        batch_op.add_column(
            sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "token_expires_at", orchestrator.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_unique_constraint("consents_token_hash_key", ["token_hash"])
        batch_op.drop_column("closed_at")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("respond_by")

    with op.batch_alter_table("consent_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_links_consent_id"))
    op.drop_table("consent_links")

    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_outbox_reference")
        batch_op.drop_index("ix_mail_outbox_due")
    op.drop_table("mail_outbox")
