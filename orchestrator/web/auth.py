"""Who may do what: the role table, and the dependencies the API and the admin UI share.

People sign in and carry a session cookie; automation sends `Authorization: Bearer <token>`.
Both resolve to a `Principal` with a role, and every route states the one permission it needs
from `PERMISSIONS`. Through the API a cookie only reads (GET/HEAD): changes need a token, so a
page on another site can never make a signed-in browser change anything through `/api`, and the
admin UI's forms carry a CSRF token bound to the sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from orchestrator.admins.models import Role
from orchestrator.admins.service import Principal, session_principal, token_principal
from orchestrator.core.errors import OrchestratorError
from orchestrator.web.context import WebContext, WebDep

SESSION_COOKIE = "optout_session"
SIGN_IN_PATH = "/admin/sign-in"
_SAFE_METHODS = frozenset({"GET", "HEAD"})


class Permission(StrEnum):
    VIEW = "view"  # dashboard, directory, campaigns, consents, jobs, audit log, reports
    EVIDENCE = "evidence"  # evidence records and their files
    IMPORT = "import"  # directory imports
    CAMPAIGNS = "campaigns"  # create, launch, remind, pause, resume, cancel
    JOBS = "jobs"  # retry, cancel
    BUNDLES = "bundles"  # the auditor's evidence bundle


# The one table of role rules.
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset(
        {Permission.VIEW, Permission.EVIDENCE, Permission.CAMPAIGNS, Permission.JOBS}
    ),
    Role.AUDITOR: frozenset({Permission.VIEW, Permission.EVIDENCE, Permission.BUNDLES}),
}


class NotSignedInError(OrchestratorError):
    """No valid sign-in or token: people are sent to sign in, clients get 401."""

    status = HTTPStatus.UNAUTHORIZED


class ForbiddenError(OrchestratorError):
    """Signed in, but the role does not allow this."""

    status = HTTPStatus.FORBIDDEN


def may(principal: Principal, permission: Permission) -> bool:
    """Whether the principal's role grants `permission`."""
    return permission in PERMISSIONS[principal.role]


def session_cookie_secure(web: WebContext) -> bool:
    """Secure cookies unless the service is reached over plain http on this machine."""
    url = web.settings.public_base_url
    local = url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))
    return not local


def set_session_cookie(response: Response, web: WebContext, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=session_cookie_secure(web),
        path="/",
        max_age=web.settings.admin_session_hours * 3600,
    )


def clear_session_cookie(response: Response, web: WebContext) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=session_cookie_secure(web)
    )


def principal_of(request: Request, web: WebContext) -> Principal | None:
    """Who is asking (token first, then the session cookie), or None; cached per request."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal = _resolve(request, web)
    request.state.principal = principal
    return principal


def _resolve(request: Request, web: WebContext) -> Principal | None:
    header = request.headers.get("authorization")
    now = web.clock()
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedInError("the Authorization header must be `Bearer <API token>`")
        with web.unit_of_work() as session:
            principal = token_principal(session, token=token.strip()[:200], now=now)
        if principal is None:
            raise NotSignedInError("the API token is not valid (unknown, revoked or expired)")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > 100:
        return None
    idle = timedelta(minutes=web.settings.admin_idle_minutes)
    with web.unit_of_work() as session:
        return session_principal(session, cookie=cookie, idle=idle, now=now)


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency: the principal, if signed in with a role that grants `permission`."""

    def dependency(request: Request, web: WebDep) -> Principal:
        principal = principal_of(request, web)
        if principal is None:
            raise NotSignedInError("sign in first (or send an API token)")
        api = request.url.path.startswith("/api/")
        if api and principal.via == "session" and request.method not in _SAFE_METHODS:
            raise NotSignedInError(
                "changes through the API need an API token (Authorization: Bearer); "
                "a browser's sign-in only reads"
            )
        if not may(principal, permission):
            raise ForbiddenError(
                f"your role ({principal.role.value}) does not allow this ({permission.value})"
            )
        return principal

    return dependency


def sign_in_redirect(request: Request) -> str:
    """Where to send a signed-out person: the sign-in page, coming back here afterwards."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return f"{SIGN_IN_PATH}?next={quote(target, safe='')}"


Viewer = Annotated[Principal, Depends(require(Permission.VIEW))]
EvidenceReader = Annotated[Principal, Depends(require(Permission.EVIDENCE))]
Importer = Annotated[Principal, Depends(require(Permission.IMPORT))]
CampaignRunner = Annotated[Principal, Depends(require(Permission.CAMPAIGNS))]
JobRunner = Annotated[Principal, Depends(require(Permission.JOBS))]
BundleMaker = Annotated[Principal, Depends(require(Permission.BUNDLES))]
