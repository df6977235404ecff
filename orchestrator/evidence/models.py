"""Evidence records: one row per file or verified fact a job produced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, text
from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime


class EvidenceRecord(SQLModel, table=True):
    """A screenshot, control state or confirmation, with its hash and where it was captured."""

    __tablename__ = "evidence"
    # Reports count the purged evidence their proofs cite: these few (or, after a purge, the
    # older part), found without reading every record.
    __table_args__ = (
        Index(
            "ix_evidence_purged_job_id",
            "job_id",
            sqlite_where=text("purged_at IS NOT NULL"),
            postgresql_where=text("purged_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="jobs.id", index=True)
    kind: str = Field(max_length=40)
    path: str | None = Field(default=None, max_length=1000)
    sha256: str = Field(max_length=64)
    url: str | None = Field(default=None, max_length=2000)
    policy_version: str = Field(max_length=64)
    captured_at: datetime = Field(sa_type=UTCDateTime)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
