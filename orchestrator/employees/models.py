"""Employees and the department tree they belong to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from orchestrator.core.db import UTCDateTime


class Department(SQLModel, table=True):
    """One node of the department tree; `path` is the full name such as `Engineering/Platform`."""

    __tablename__ = "departments"

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(max_length=500, unique=True)
    name: str = Field(max_length=200)
    parent_id: int | None = Field(default=None, foreign_key="departments.id", index=True)


class Employee(SQLModel, table=True):
    """A person in the directory. The email (lower-cased) is the identity used by imports."""

    __tablename__ = "employees"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="ck_employees_email_lowercase"),
        CheckConstraint("length(country) = 2", name="ck_employees_country_alpha2"),
        Index("ix_employees_department_active", "department_id", "active"),
        Index("ix_employees_country", "country"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=300)
    department_id: int = Field(foreign_key="departments.id")
    country: str = Field(max_length=2)
    accounts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    fleet_host: str | None = Field(default=None, max_length=253)
    time_zone: str | None = Field(default=None, max_length=64)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PlatformSession(SQLModel, table=True):
    """A browser session an employee provided for one platform, encrypted at rest.

    The orchestrator never asks for platform passwords: jobs run in a session the employee
    already has, and a missing or expired one is an outcome, not a crash.
    """

    __tablename__ = "platform_sessions"
    __table_args__ = (
        UniqueConstraint("employee_id", "platform", name="uq_platform_sessions_employee_platform"),
    )

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employees.id")
    platform: str = Field(max_length=40)
    ciphertext: bytes = Field(sa_type=LargeBinary)
    provided_by: str = Field(max_length=320)
    provided_at: datetime = Field(sa_type=UTCDateTime)
