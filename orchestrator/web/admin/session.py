"""Signing in and out of the admin UI."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from orchestrator.admins.service import (
    WRONG_CREDENTIALS,
    SignedIn,
    SignInError,
    TooManySignInsError,
    sign_in,
    sign_out,
)
from orchestrator.web.admin.pages import checked_form, redirect, render
from orchestrator.web.auth import (
    SESSION_COOKIE,
    clear_session_cookie,
    principal_of,
    set_session_cookie,
)
from orchestrator.web.context import WebContext, WebDep

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    """The service's front door is the admin dashboard (employees arrive by their links)."""
    return RedirectResponse("/admin", status_code=303)


@router.get("/admin/sign-in")
def sign_in_page(
    request: Request, web: WebDep, next: Annotated[str, Query(max_length=500)] = "/admin"
) -> Response:
    """The sign-in form (already signed in: straight on)."""
    if principal_of(request, web) is not None:
        return redirect(_safe_next(next))
    return render(request, web, None, "admin/sign_in.html", {"next": _safe_next(next)})


@router.post("/admin/sign-in")
async def sign_in_submit(request: Request, web: WebDep) -> Response:
    """Check the password (rate-limited) and set a fresh session cookie."""
    form = await checked_form(request, web, None)
    username, password = form.get("username", ""), form.get("password", "")
    target = _safe_next(form.get("next", "/admin"))
    ip = request.client.host if request.client else "unknown"
    user_agent = request.headers.get("user-agent")

    def run() -> SignedIn | None:
        with web.unit_of_work() as session:
            return sign_in(
                session,
                username=username,
                password=password,
                ip=ip,
                user_agent=user_agent,
                lifetime=timedelta(hours=web.settings.admin_session_hours),
                now=web.clock(),
            )

    try:
        signed_in = await to_thread.run_sync(run, limiter=web.writes)
        if signed_in is None:  # the failed attempt is committed: the rate limit counts it
            raise SignInError(WRONG_CREDENTIALS)
    except (SignInError, TooManySignInsError) as exc:
        status = int(exc.status)
        page = render(
            request,
            web,
            None,
            "admin/sign_in.html",
            {"next": target, "username": username, "problem": exc.message},
            status=status,
        )
        if isinstance(exc, TooManySignInsError):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    response = redirect(target)
    set_session_cookie(response, web, signed_in.cookie)
    return response


@router.post("/admin/sign-out")
async def sign_out_submit(request: Request, web: WebDep) -> Response:
    """End this sign-in (the session row is deleted, the cookie cleared)."""
    principal = principal_of(request, web)
    response = redirect("/admin/sign-in")
    if principal is not None:
        await checked_form(request, web, principal)
        await to_thread.run_sync(_end, web, request.cookies.get(SESSION_COOKIE, ""))
    clear_session_cookie(response, web)
    return response


def _end(web: WebContext, cookie: str) -> None:
    with web.unit_of_work() as session:
        sign_out(session, cookie=cookie, now=web.clock())


def _safe_next(target: str) -> str:
    """Only somewhere inside the admin UI: never an open redirect to another site."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin") or "\\" in target:
        return "/admin"
    return target
