"""Employees' platform sessions (Playwright storage states), kept encrypted at rest.

An employee (or IT on their managed device) provides the browser session a job should run in;
it is validated, encrypted with a key derived from the installation secret, and only decrypted
in memory when a job runs. The audit log records that a session was provided, never its content.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, select

from orchestrator.audit.service import record
from orchestrator.core.crypto import SecretBox
from orchestrator.core.errors import NotFoundError, OrchestratorError
from orchestrator.employees.models import Employee, PlatformSession

SESSION_PURPOSE = "platform session"
_PLATFORM = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


class _Cookie(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    value: str
    domain: str = Field(min_length=1)
    path: str = "/"
    expires: float = -1
    httpOnly: bool = False  # noqa: N815 - Playwright's field names
    secure: bool = False
    sameSite: Literal["Strict", "Lax", "None"] = "Lax"  # noqa: N815


class _StorageState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cookies: list[_Cookie]
    origins: list[dict[str, Any]] = []


class InvalidSessionError(OrchestratorError):
    """The provided file is not a Playwright storage state."""


def parse_storage_state(data: bytes, *, source: str) -> dict[str, Any]:
    """Validate a Playwright storage-state JSON document and return it as a dict."""
    try:
        state = _StorageState.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(document)"
        raise InvalidSessionError(
            f"{source} is not a Playwright storage state: {where}: {first['msg']}"
        ) from exc
    if not state.cookies and not state.origins:
        raise InvalidSessionError(
            f"{source} holds no cookies and no origins: nothing to sign in with"
        )
    return state.model_dump(mode="json", exclude_unset=False)


def store_session(
    session: Session,
    *,
    employee_email: str,
    platform: str,
    storage_state: dict[str, Any],
    secret: str,
    actor: str,
    now: datetime,
) -> None:
    """Encrypt and keep an employee's session for a platform, replacing any older one."""
    if not _PLATFORM.match(platform):
        raise OrchestratorError(f"{platform!r} is not a platform name (e.g. linkedin)")
    employee = session.exec(
        select(Employee).where(Employee.email == employee_email.lower())
    ).first()
    if employee is None or employee.id is None:
        raise NotFoundError(f"no employee with the email {employee_email}")
    box = SecretBox(secret, purpose=SESSION_PURPOSE)
    ciphertext = box.encrypt(json.dumps(storage_state).encode("utf-8"))
    existing = session.exec(
        select(PlatformSession).where(
            PlatformSession.employee_id == employee.id, PlatformSession.platform == platform
        )
    ).first()
    if existing is None:
        existing = PlatformSession(
            employee_id=employee.id,
            platform=platform,
            ciphertext=ciphertext,
            provided_by=actor,
            provided_at=now,
        )
    else:
        existing.ciphertext, existing.provided_by, existing.provided_at = ciphertext, actor, now
    session.add(existing)
    session.flush()
    domains = sorted({cookie["domain"] for cookie in storage_state.get("cookies", [])})
    record(
        session,
        actor=actor,
        action="platform_session.stored",
        subject_type="employee",
        subject_id=employee.id,
        data={"email": employee.email, "platform": platform, "cookie_domains": domains},
        now=now,
    )


def load_session(
    session: Session, *, employee_id: int, platform: str, secret: str
) -> dict[str, Any] | None:
    """The decrypted storage state for an employee's platform, or None if none was provided."""
    stored = session.exec(
        select(PlatformSession).where(
            PlatformSession.employee_id == employee_id, PlatformSession.platform == platform
        )
    ).first()
    if stored is None:
        return None
    plaintext = SecretBox(secret, purpose=SESSION_PURPOSE).decrypt(stored.ciphertext)
    state: dict[str, Any] = json.loads(plaintext)
    return state
