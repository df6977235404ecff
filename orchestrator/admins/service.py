"""Admin accounts, signing in and out, and API tokens.

Passwords are hashed with argon2id (argon2-cffi); session cookies and API tokens are random
values of which only the SHA-256 is stored, so a copy of the database lets nobody in. Failed
sign-ins are counted per username and per client address over a window: past the limit the
answer is 429 whatever the password, so guessing is slow even across several web workers.
Every function takes the session first and only flushes; the request or command commits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from http import HTTPStatus

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from orchestrator.admins.models import AdminSession, AdminUser, ApiToken, Role, SignInAttempt
from orchestrator.audit.service import record
from orchestrator.core.errors import ConflictError, NotFoundError, OrchestratorError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20
TOKEN_PREFIX = "oot_"  # noqa: S105 (marks our tokens in logs and secret scanners)
_SEEN_RESOLUTION = timedelta(minutes=1)  # write last_seen_at at most once a minute
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_hasher = PasswordHasher()


class AdminError(OrchestratorError):
    """An admin account request that cannot be carried out as given."""


WRONG_CREDENTIALS = "the username or password is not right"


class SignInError(OrchestratorError):
    """Wrong username or password (which of the two is not said)."""

    status = HTTPStatus.UNAUTHORIZED


class TooManySignInsError(OrchestratorError):
    """Too many failed sign-ins for this username or from this address; wait and retry."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class AdminView:
    """An admin account as lists show it (never the hash)."""

    id: int
    username: str
    role: Role
    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a signed-in person or an API token, with the role to check."""

    name: str
    role: Role
    via: str  # "session" or "token"
    session_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        return f"{'admin' if self.via == 'session' else 'token'}:{self.name}"


@dataclass(frozen=True)
class SignedIn:
    """A new sign-in: the cookie value (shown once, never stored) and who it is."""

    cookie: str
    principal: Principal
    expires_at: datetime


@dataclass(frozen=True)
class TokenView:
    """An API token as lists show it (never the token)."""

    name: str
    role: Role
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def secret_sha256(value: str) -> str:
    """What is stored of a cookie or token: its SHA-256 in hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing (or too long to hash sensibly)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AdminError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters long")


def parse_role(value: str) -> Role:
    """A role from its name, or a clear error naming the roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise AdminError(f"unknown role {value!r}; choose one of {names}") from None


def create_admin(
    session: Session, *, username: str, password: str, role: Role, actor: str, now: datetime
) -> AdminView:
    """Create an admin account with an argon2id password hash."""
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise AdminError(
            "a username is 1-100 characters: letters, digits and . _ @ - (starting with a "
            "letter or digit)"
        )
    check_password_strength(password)
    if session.exec(select(AdminUser).where(AdminUser.username == name)).first() is not None:
        raise ConflictError(f"there is already an admin called {name}")
    admin = AdminUser(
        username=name, password_hash=_hasher.hash(password), role=role.value, created_at=now
    )
    session.add(admin)
    session.flush()
    record(
        session,
        actor=actor,
        action="admin.created",
        subject_type="admin",
        subject_id=name,
        data={"role": role.value},
        now=now,
    )
    return _admin_view(admin)


def list_admins(session: Session) -> list[AdminView]:
    """Every admin account, by username."""
    rows = session.exec(select(AdminUser).order_by(col(AdminUser.username))).all()
    return [_admin_view(row) for row in rows]


def disable_admin(session: Session, *, username: str, actor: str, now: datetime) -> AdminView:
    """Stop an account from signing in, and end its open sign-ins at once."""
    admin = _admin(session, username)
    if not admin.active:
        raise ConflictError(f"admin {admin.username} is already disabled")
    admin.active = False
    session.add(admin)
    ended = session.execute(delete(AdminSession).where(col(AdminSession.admin_id) == admin.id))
    record(
        session,
        actor=actor,
        action="admin.disabled",
        subject_type="admin",
        subject_id=admin.username,
        data={"sessions_ended": ended.rowcount},  # type: ignore[attr-defined]
        now=now,
    )
    return _admin_view(admin)


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    ip: str,
    user_agent: str | None,
    lifetime: timedelta,
    now: datetime,
) -> SignedIn | None:
    """Check a password (within the rate limits) and open a new session for the account.

    A wrong name or password returns None with the failed attempt added, rather than raising,
    so that the caller's transaction commits it and the rate limit counts it.
    """
    name = username.strip().lower()[:100]
    _check_rate(session, username=name, ip=ip, now=now)
    admin = session.exec(select(AdminUser).where(AdminUser.username == name)).first()
    known = admin is not None and admin.active
    checked = _verify(admin.password_hash if admin and known else _decoy_hash(), password)
    if admin is None or not known or not checked:
        session.add(SignInAttempt(username=name, ip=ip, at=now, succeeded=False))
        session.flush()
        return None
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = _hasher.hash(password)
    admin.last_sign_in_at = now
    session.add(admin)
    session.add(SignInAttempt(username=name, ip=ip, at=now, succeeded=True))
    # A fresh cookie value at every sign-in: an id planted before it is never promoted.
    cookie = secrets.token_urlsafe(32)
    row = AdminSession(
        token_hash=secret_sha256(cookie),
        admin_id=admin.id,  # type: ignore[arg-type]  # set on rows read back
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ip=ip[:45],
        user_agent=user_agent[:500] if user_agent else None,
    )
    session.add(row)
    session.execute(delete(SignInAttempt).where(col(SignInAttempt.at) < now - timedelta(days=1)))
    session.execute(delete(AdminSession).where(col(AdminSession.expires_at) < now))
    session.flush()
    record(
        session,
        actor=f"admin:{admin.username}",
        action="admin.signed_in",
        subject_type="admin",
        subject_id=admin.username,
        data={"ip": ip},
        now=now,
    )
    principal = Principal(admin.username, Role(admin.role), "session", row.id)
    return SignedIn(cookie=cookie, principal=principal, expires_at=row.expires_at)


def _session_of(session: Session, cookie: str) -> tuple[AdminSession, AdminUser] | None:
    """The sign-in a session cookie names, with its account."""
    found = session.exec(
        select(AdminSession, AdminUser)
        .join(AdminUser, col(AdminUser.id) == col(AdminSession.admin_id))
        .where(AdminSession.token_hash == secret_sha256(cookie))
    ).first()
    return None if found is None else (found[0], found[1])


def session_principal(
    session: Session, *, cookie: str, idle: timedelta, now: datetime
) -> Principal | None:
    """Who a session cookie belongs to, if it is current (not expired, idle or disabled)."""
    found = _session_of(session, cookie)
    if found is None:
        return None
    row, admin = found
    if not admin.active or row.expires_at <= now or row.last_seen_at + idle <= now:
        return None
    if now - row.last_seen_at >= _SEEN_RESOLUTION:
        session.execute(
            update(AdminSession).where(col(AdminSession.id) == row.id).values(last_seen_at=now)
        )
    return Principal(admin.username, Role(admin.role), "session", row.id)


def sign_out(session: Session, *, cookie: str, now: datetime) -> None:
    """End the sign-in this cookie belongs to (nothing happens for an unknown cookie)."""
    found = _session_of(session, cookie)
    if found is None:
        return
    row, admin = found
    session.delete(row)
    record(
        session,
        actor=f"admin:{admin.username}",
        action="admin.signed_out",
        subject_type="admin",
        subject_id=admin.username,
        now=now,
    )


def create_api_token(
    session: Session,
    *,
    name: str,
    role: Role,
    expires_at: datetime | None,
    actor: str,
    now: datetime,
) -> tuple[str, TokenView]:
    """A new API token (returned once, stored only as a hash) with a role like a person's."""
    if not _TOKEN_NAME.match(name):
        raise AdminError(
            "a token name is 1-100 characters: letters, digits and . _ - (say what uses it)"
        )
    if expires_at is not None and expires_at <= now:
        raise AdminError("the token would expire before it is used; give a later expiry")
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise ConflictError(f"there is already a token called {name}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        token_hash=secret_sha256(token),
        role=role.value,
        created_by=actor,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="api_token.created",
        subject_type="api_token",
        subject_id=name,
        data={"role": role.value, "expires_at": expires_at},
        now=now,
    )
    return token, _token_view(row)


def list_api_tokens(session: Session) -> list[TokenView]:
    """Every API token, by name (revoked and expired ones too, for the record)."""
    rows = session.exec(select(ApiToken).order_by(col(ApiToken.name))).all()
    return [_token_view(row) for row in rows]


def revoke_api_token(session: Session, *, name: str, actor: str, now: datetime) -> TokenView:
    """Stop a token from working, at once."""
    row = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if row is None:
        raise NotFoundError(f"no API token called {name} (`optout admin token list` shows them)")
    if row.revoked_at is not None:
        raise ConflictError(f"token {name} is already revoked")
    row.revoked_at = now
    session.add(row)
    record(
        session,
        actor=actor,
        action="api_token.revoked",
        subject_type="api_token",
        subject_id=name,
        now=now,
    )
    return _token_view(row)


def token_principal(session: Session, *, token: str, now: datetime) -> Principal | None:
    """Who an API token stands for, if it is current (not revoked, not expired)."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == secret_sha256(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= _SEEN_RESOLUTION:
        session.execute(update(ApiToken).where(col(ApiToken.id) == row.id).values(last_used_at=now))
    return Principal(row.name, Role(row.role), "token")


def _check_rate(session: Session, *, username: str, ip: str, now: datetime) -> None:
    since = now - ATTEMPT_WINDOW
    failures = (col(SignInAttempt.at) > since) & ~col(SignInAttempt.succeeded)
    by_name, by_ip = session.execute(
        select(
            func.count().filter(col(SignInAttempt.username) == username),
            func.count().filter(col(SignInAttempt.ip) == ip),
        ).where(failures)
    ).one()
    if by_name >= MAX_FAILURES_PER_USERNAME or by_ip >= MAX_FAILURES_PER_ADDRESS:
        minutes = int(ATTEMPT_WINDOW.total_seconds() // 60)
        raise TooManySignInsError(
            f"too many failed sign-ins; wait {minutes} minutes and try again",
            retry_after=int(ATTEMPT_WINDOW.total_seconds()),
        )


@cache
def _decoy_hash() -> str:
    """A hash to check unknown names against, so they take as long as known ones; made on first
    use, not at import (hashing is slow by design, and every CLI command imports this)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return False


def _admin(session: Session, username: str) -> AdminUser:
    name = username.strip().lower()
    admin = session.exec(select(AdminUser).where(AdminUser.username == name)).first()
    if admin is None:
        raise NotFoundError(f"no admin called {name} (`optout admin list` shows them)")
    return admin


def _admin_view(admin: AdminUser) -> AdminView:
    assert admin.id is not None
    return AdminView(
        id=admin.id,
        username=admin.username,
        role=Role(admin.role),
        active=admin.active,
        created_at=admin.created_at,
        last_sign_in_at=admin.last_sign_in_at,
    )


def _token_view(row: ApiToken) -> TokenView:
    return TokenView(
        name=row.name,
        role=Role(row.role),
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
