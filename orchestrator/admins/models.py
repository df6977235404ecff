"""Admin users and their roles, their signed-in sessions, API tokens and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
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


class AdminSession(SQLModel, table=True):
    """A signed-in browser: only the SHA-256 of its cookie is kept, so a database leak signs
    nobody in; `expires_at` ends it absolutely, `last_seen_at` ends it when idle."""

    __tablename__ = "admin_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    admin_id: int = Field(foreign_key="admin_users.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ip: str | None = Field(default=None, max_length=45)
    user_agent: str | None = Field(default=None, max_length=500)


class ApiToken(SQLModel, table=True):
    """A bearer token for automation, with a role like a person's; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (one_of("role", Role, name="ck_api_tokens_role"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=20)
    created_by: str = Field(max_length=320)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInAttempt(SQLModel, table=True):
    """One try at signing in, counted per username and per address to slow password guessing."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_username_at", "username", "at"),
        Index("ix_sign_in_attempts_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100)
    ip: str = Field(max_length=45)
    at: datetime = Field(sa_type=UTCDateTime)
    succeeded: bool = False
