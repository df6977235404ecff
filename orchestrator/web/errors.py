"""Every failure as a clear answer: an HTML page for people, JSON under `/api`.

Errors people can cause carry their own status (OrchestratorError); unknown addresses and
methods come from routing; a database that cannot be reached is 503 with Retry-After. Anything
else is a bug: it is logged with its traceback and answered with a plain 500 page that leaks
nothing. Each page says what happened and what to do next.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from orchestrator.admins.service import TooManySignInsError
from orchestrator.consent.errors import (
    InvalidLinkError,
    RequestUnavailableError,
    UnknownLinkError,
)
from orchestrator.core.errors import OrchestratorError
from orchestrator.employees.directory import DirectoryImportError
from orchestrator.web.auth import NotSignedInError, sign_in_redirect
from orchestrator.web.context import web_context
from orchestrator.web.csrf import CsrfError
from orchestrator.web.forms import FormError

logger = logging.getLogger("optout.web")

_NEXT_STEPS: dict[type[Exception], str] = {
    InvalidLinkError: (
        "Open the link from the email again. If your mail program split it over two lines, copy "
        "the whole address into your browser."
    ),
    UnknownLinkError: (
        "The request may have been withdrawn. If you expected one, write to the address below."
    ),
    RequestUnavailableError: "Nothing will be done. Write to the address below if in doubt.",
    CsrfError: "Go back, reload the page, and press the button again.",
    FormError: "Go back to the page and use its buttons.",
}
_TITLES = {
    HTTPStatus.BAD_REQUEST: "This link does not work",
    HTTPStatus.UNAUTHORIZED: "Sign in first",
    HTTPStatus.FORBIDDEN: "Your answer was not recorded",
    HTTPStatus.NOT_FOUND: "Nothing here",
    HTTPStatus.METHOD_NOT_ALLOWED: "Not possible here",
    HTTPStatus.CONFLICT: "This cannot be done now",
    HTTPStatus.GONE: "This request is no longer available",
    HTTPStatus.SERVICE_UNAVAILABLE: "Temporarily unavailable",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Something went wrong on our side",
}


def wants_json(request: Request) -> bool:
    """Whether to answer in JSON: API paths, or clients that accept JSON and not HTML."""
    if request.url.path == "/api" or request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    next_step: str | None = None,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, Any] | None = None,
) -> Response:
    """The error as JSON or as a page with a title, the message and what to do next."""
    if wants_json(request):
        body = {"status": status, "message": message, **(details or {})}
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    web = web_context(request)
    admin = request.url.path.startswith("/admin")
    title = _TITLES.get(HTTPStatus(status), HTTPStatus(status).phrase)
    if admin and status in (400, 422):
        title = "This cannot be done as asked"
    context: dict[str, Any] = {
        "title": title,
        "message": message[:1].upper() + message[1:],
        "next_step": next_step,
        "status": status,
    }
    return web.templates.TemplateResponse(
        request,
        "admin/error.html" if admin else "error.html",
        context,
        status_code=status,
        headers=headers,
    )


def _next_step(exc: Exception) -> str | None:
    for kind, step in _NEXT_STEPS.items():
        if isinstance(exc, kind):
            return step
    return None


async def _orchestrator_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OrchestratorError)
    headers: dict[str, str] = {}
    details: dict[str, Any] = {}
    if isinstance(exc, NotSignedInError):
        if not wants_json(request):
            return RedirectResponse(sign_in_redirect(request), status_code=303)
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManySignInsError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, DirectoryImportError):
        details["problems"] = [
            {"row": p.row, "column": p.column, "reason": p.reason} for p in exc.problems
        ]
    return error_response(
        request,
        int(exc.status),
        exc.message,
        next_step=_next_step(exc),
        headers=headers or None,
        details=details,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    messages = {
        404: "there is no page at this address",
        405: f"this address does not accept {request.method} requests",
    }
    message = messages.get(exc.status_code) or str(exc.detail)
    return error_response(request, exc.status_code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    status = 422 if wants_json(request) else 400
    return error_response(request, status, f"the request is not valid ({problems})")


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    logger.error("database unavailable: %s", exc)
    return error_response(
        request,
        503,
        "the service cannot reach its database right now; nothing was recorded",
        next_step="Try again in a few minutes.",
        headers={"Retry-After": "60"},
    )


async def _unstorable_value(request: Request, exc: Exception) -> Response:
    return error_response(
        request,
        400,
        "a value in the request cannot be stored or searched for (a NUL character, or a "
        "number out of range); nothing was recorded",
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request,
        500,
        "the service failed to handle this request; nothing was recorded",
        next_step="Try again in a few minutes; if it keeps failing, tell IT.",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every kind of failure with the right status and a page or JSON."""
    app.add_exception_handler(OrchestratorError, _orchestrator_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(Exception, _unexpected)
