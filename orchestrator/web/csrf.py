"""CSRF protection for the forms on public pages: a signed token bound to a cookie and a link.

The page sets a random cookie and puts in its form a token signed with the installation secret
that names (by hash) that cookie, what the form is for (the link token) and when it was issued.
A POST counts only if it carries both, they match, and the page is at most `lifetime` old. A
cross-site form cannot read the token, and a SameSite=Strict cookie is not sent with it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from http import HTTPStatus

from itsdangerous import BadData, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from orchestrator.core.errors import OrchestratorError

COOKIE_NAME = "optout_csrf"
_COOKIE_LENGTH = 43  # secrets.token_urlsafe(32)


class CsrfError(OrchestratorError):
    """A form POST without a matching, fresh CSRF token."""

    status = HTTPStatus.FORBIDDEN


class CsrfGuard:
    """Issues and checks CSRF tokens with the installation secret."""

    def __init__(
        self, secret: str, *, secure_cookie: bool, lifetime: timedelta = timedelta(hours=12)
    ) -> None:
        self._serializer = URLSafeSerializer(secret, salt="optout.web.csrf")
        self._secure = secure_cookie
        self._lifetime = lifetime

    def cookie(self, request: Request) -> tuple[str, bool]:
        """The browser's CSRF cookie, or a new one; and whether it is new (so must be set)."""
        value = request.cookies.get(COOKIE_NAME, "")
        if len(value) == _COOKIE_LENGTH and value.replace("-", "").replace("_", "").isalnum():
            return value, False
        return secrets.token_urlsafe(32), True

    def set_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            COOKIE_NAME,
            value,
            httponly=True,
            samesite="strict",
            secure=self._secure,
            path="/",
            max_age=int(self._lifetime.total_seconds()),
        )

    def token(self, *, cookie: str, binding: str, now: datetime) -> str:
        """The form token for a page about `binding`, tied to the browser's `cookie`."""
        payload = {"k": _digest(cookie), "b": _digest(binding), "t": int(now.timestamp())}
        return str(self._serializer.dumps(payload))

    def check(self, request: Request, token: str | None, *, binding: str, now: datetime) -> None:
        """Raise CsrfError unless `token` came from our page about `binding` in this browser."""
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie or not token:
            raise CsrfError(_EXPLANATION)
        try:
            payload = self._serializer.loads(token)
        except BadData as exc:
            raise CsrfError(_EXPLANATION) from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("t"), int):
            raise CsrfError(_EXPLANATION)
        if payload.get("k") != _digest(cookie) or payload.get("b") != _digest(binding):
            raise CsrfError(_EXPLANATION)
        age = now.timestamp() - payload["t"]
        if age > self._lifetime.total_seconds() or age < -300:
            raise CsrfError("the page was open too long; reload it and press the button again")


_EXPLANATION = (
    "the answer did not come from our page in this browser, so nothing was recorded; reload "
    "the page (cookies must be allowed for this site) and press the button again"
)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
