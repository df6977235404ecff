"""The employees' consent pages: `/consent/{token}` (decide) and `/consent/withdraw/{token}`.

GET and HEAD only show: mail scanners open links before people do, so nothing is ever decided by
opening a link. Only a POST from the page's own form (CSRF token, the hash of the text it showed)
records an answer, in one transaction with the jobs it queues. A page that offers a button
answers 200; a request that is over answers 410 Gone and says what happened and what to do.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import Response

from orchestrator.campaigns.service import answer
from orchestrator.consent.errors import ConsentLinkError
from orchestrator.consent.explanation import format_time
from orchestrator.consent.models import ConsentState, LinkPurpose
from orchestrator.consent.service import Answer, Decision, LinkView, read_link, revoke
from orchestrator.core.errors import OrchestratorError
from orchestrator.web.context import WebContext, WebDep, web_context
from orchestrator.web.forms import read_form

router = APIRouter(tags=["consent pages"], include_in_schema=False)

_MAX_USER_AGENT = 500


class UnknownDecisionError(OrchestratorError):
    """A POST whose `decision` is not one of the page's buttons."""


def situation(view: LinkView) -> str:
    """Which page a link shows: the form for an open request, or what happened to it."""
    state = view.consent.state
    if state is ConsentState.PENDING:
        if view.overdue:
            return "expired"
        return "ask" if view.purpose is LinkPurpose.DECIDE else "decline_offer"
    if state is ConsentState.APPROVED and view.purpose is LinkPurpose.REVOKE:
        return "withdraw_offer"
    return state.value


@router.api_route("/consent/{token}", methods=["GET", "HEAD"])
def show_request(request: Request, token: str, web: WebDep) -> Response:
    """The request with Approve and Decline, or what became of it. Changes nothing."""
    return _show(request, web, token, LinkPurpose.DECIDE)


@router.api_route("/consent/withdraw/{token}", methods=["GET", "HEAD"])
def show_withdrawal(request: Request, token: str, web: WebDep) -> Response:
    """The approval with a Withdraw button, or what became of it. Changes nothing."""
    return _show(request, web, token, LinkPurpose.REVOKE)


@router.post("/consent/{token}")
async def answer_request(request: Request, token: str, web: WebDep) -> Response:
    """Record Approve or Decline from the page's form."""
    form = await read_form(request)
    web.csrf.check(request, form.get("csrf"), binding=token, now=web.clock())
    try:
        decision = Decision(form.get("decision", ""))
    except ValueError as exc:
        raise UnknownDecisionError("press Approve or Decline on the page") from exc
    ip, user_agent = _client(request)

    def record() -> Answer:
        with web.unit_of_work() as session:
            return answer(
                session,
                token=token,
                decision=decision,
                shown_sha256=form.get("shown", ""),
                ip=ip,
                user_agent=user_agent,
                config=web.consent,
                now=web.clock(),
            )

    result = await to_thread.run_sync(record, limiter=web.writes)
    return _page(request, web, token, result.view, status=200, result=result)


@router.post("/consent/withdraw/{token}")
async def withdraw(request: Request, token: str, web: WebDep) -> Response:
    """Withdraw an approval (or decline a request not yet answered) from the page's form."""
    form = await read_form(request)
    web.csrf.check(request, form.get("csrf"), binding=token, now=web.clock())
    ip, user_agent = _client(request)

    def record() -> Answer:
        with web.unit_of_work() as session:
            return revoke(
                session,
                token=token,
                ip=ip,
                user_agent=user_agent,
                config=web.consent,
                now=web.clock(),
            )

    result = await to_thread.run_sync(record, limiter=web.writes)
    return _page(request, web, token, result.view, status=200, result=result)


async def link_error_page(request: Request, exc: Exception) -> Response:
    """A known request that cannot take this answer: its page, with why, at the error's status."""
    assert isinstance(exc, ConsentLinkError)
    web = web_context(request)
    token = str(request.path_params.get("token", ""))
    return _page(request, web, token, exc.view, status=int(exc.status), notice=exc.message)


def _show(request: Request, web: WebContext, token: str, purpose: LinkPurpose) -> Response:
    with web.unit_of_work() as session:
        view = read_link(session, token=token, purpose=purpose, config=web.consent, now=web.clock())
    return _page(request, web, token, view, status=200 if view.actionable else 410)


def _page(
    request: Request,
    web: WebContext,
    token: str,
    view: LinkView,
    *,
    status: int,
    result: Answer | None = None,
    notice: str | None = None,
) -> Response:
    now = web.clock()
    cookie, new_cookie = web.csrf.cookie(request)
    context: dict[str, Any] = {
        "view": view,
        "consent": view.consent,
        "situation": situation(view),
        "explanation": Markup(view.explanation.html),  # noqa: S704 (rendered with autoescape)
        "shown": view.explanation.sha256,
        "csrf": web.csrf.token(cookie=cookie, binding=token, now=now) if view.actionable else "",
        "result": result,
        "notice": notice[:1].upper() + notice[1:] if notice else None,
        "contact_email": web.consent.contact_email,
        "when": format_time,
    }
    response = web.templates.TemplateResponse(
        request, "consent/page.html", context, status_code=status
    )
    if new_cookie and view.actionable:
        web.csrf.set_cookie(response, cookie)
    return response


def _client(request: Request) -> tuple[str | None, str | None]:
    ip = request.client.host if request.client else None
    user_agent = request.headers.get("user-agent")
    return ip, user_agent[:_MAX_USER_AGENT] if user_agent else None
