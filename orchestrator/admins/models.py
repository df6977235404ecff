"""Admin users and their roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime
from orchestrator.core.models import one_of


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class AdminUser(SQLModel, table=True):
    """Someone who signs in to the admin service; the role decides what they may do."""

    __tablename__ = "admin_users"
    __table_args__ = (one_of("role", Role, name="ck_admin_users_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=20)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
