"""Who may see a member page, and what a visitor gets instead.

Every member page and save endpoint goes through these dependencies, so signed-out redirects,
the one-shot rate limit and the security checkpoint behave the same on every page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from orchestrator.replica.models import Behaviour
from orchestrator.replica.sites import Site
from orchestrator.replica.state import Member, ReplicaState

RETRY_AFTER_SECONDS = 1
_RATE_LIMITED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Too many requests</title></head>
<body><h1>Too many requests</h1><p>Please wait a moment and try again.</p></body></html>
"""


class PageInterrupted(Exception):  # noqa: N818 - a control-flow signal, not a fault
    """A member request answers with something other than the page (redirect, 429, 401)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def interrupted_response(_request: Request, exc: Exception) -> Response:
    """Exception handler: send whatever the gate decided."""
    assert isinstance(exc, PageInterrupted)
    return exc.response


def path_with_query(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def member_page(state: ReplicaState, site: Site) -> Callable[[Request], Member]:
    """Dependency for pages: the signed-in member, after rate limit and checkpoint."""

    def signed_in_member(request: Request) -> Member:
        member = state.member_for_session(site.platform, request.cookies.get(site.cookie_name))
        here = path_with_query(request)
        if member is None:
            raise PageInterrupted(RedirectResponse(site.login_url(here), status_code=302))
        if state.spend_fault(member, Behaviour.RATE_LIMITED_ONCE):
            raise PageInterrupted(
                HTMLResponse(
                    _RATE_LIMITED_PAGE,
                    status_code=429,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            )
        if site.challenge_path is not None and state.checkpoint_pending(member):
            challenge = site.url(site.challenge_path + secrets.token_urlsafe(12))
            query = urlencode({site.redirect_param: here})
            raise PageInterrupted(RedirectResponse(f"{challenge}?{query}", status_code=302))
        return member

    return signed_in_member


def member_api(state: ReplicaState, site: Site) -> Callable[[Request], Member]:
    """Dependency for JSON endpoints the pages call: 401 without a valid session."""

    def signed_in_member(request: Request) -> Member:
        member = state.member_for_session(site.platform, request.cookies.get(site.cookie_name))
        if member is None:
            raise PageInterrupted(JSONResponse({"error": "unauthenticated"}, status_code=401))
        return member

    return signed_in_member


def session_member(state: ReplicaState, site: Site) -> Callable[[Request], Member]:
    """Dependency for pages a signed-in member sees even mid-checkpoint (the challenge)."""

    def signed_in_member(request: Request) -> Member:
        member = state.member_for_session(site.platform, request.cookies.get(site.cookie_name))
        if member is None:
            login = site.login_url(path_with_query(request))
            raise PageInterrupted(RedirectResponse(login, status_code=302))
        return member

    return signed_in_member
