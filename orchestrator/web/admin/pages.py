"""What every admin page shares: rendering with the signed-in person, forms with CSRF checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from orchestrator.admins.service import Principal
from orchestrator.web.auth import PERMISSIONS
from orchestrator.web.context import WebContext
from orchestrator.web.forms import (
    MAX_FORM_BYTES,
    FormError,
    FormTooLargeError,
    UnsupportedFormError,
)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
SIGN_IN_BINDING = "admin-sign-in"
NAVIGATION = (
    ("dashboard", "Dashboard", "/admin"),
    ("employees", "Employees", "/admin/employees"),
    ("campaigns", "Campaigns", "/admin/campaigns"),
    ("jobs", "Jobs", "/admin/jobs"),
    ("reports", "Reports", "/admin/reports"),
    ("audit", "Audit log", "/admin/audit"),
)


@dataclass(frozen=True)
class Upload:
    """A file sent with a form: its name and bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class AdminForm:
    """A submitted form whose CSRF token checked out: its fields and its one file, if any."""

    fields: dict[str, list[str]]
    upload: Upload | None = None

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return [value for value in self.fields.get(name, []) if value]


def binding(principal: Principal | None) -> str:
    """What a page's CSRF token is bound to: this sign-in, or the sign-in form."""
    if principal is None or principal.session_id is None:
        return SIGN_IN_BINDING
    return f"admin-session:{principal.session_id}"


def render(
    request: Request,
    web: WebContext,
    principal: Principal | None,
    template: str,
    context: dict[str, Any],
    *,
    section: str = "",
    status: int = 200,
) -> Response:
    """An admin page with the navigation, the person's role and a CSRF token for its forms."""
    cookie, new_cookie = web.csrf.cookie(request)
    page: dict[str, Any] = {
        "principal": principal,
        "can": PERMISSIONS[principal.role] if principal else frozenset(),
        "navigation": NAVIGATION,
        "section": section,
        "csrf": web.csrf.token(cookie=cookie, binding=binding(principal), now=web.clock()),
        "now": web.clock(),
        **context,
    }
    response = web.templates.TemplateResponse(request, template, page, status_code=status)
    if new_cookie:
        web.csrf.set_cookie(response, cookie)
    return response


async def checked_form(request: Request, web: WebContext, principal: Principal | None) -> AdminForm:
    """A form's fields (and its one file, if any) once its CSRF token is checked."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UnsupportedFormError("this address only accepts the form on its page")
    limit = MAX_UPLOAD_BYTES if media_type == "multipart/form-data" else MAX_FORM_BYTES
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > limit:
        raise FormTooLargeError(f"the form is larger than {limit // 1024} KB, the most we take")
    try:
        form = await request.form(max_files=1, max_fields=200, max_part_size=MAX_FORM_BYTES)
    except (ValueError, UnicodeDecodeError, HTTPException) as exc:
        raise FormError("the form could not be read; reload the page and try again") from exc
    fields: dict[str, list[str]] = {}
    upload: Upload | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            upload = Upload(value.filename or "directory", await value.read())
        else:
            fields.setdefault(name, []).append(value)
    await form.close()
    submitted = AdminForm(fields, upload)
    web.csrf.check(request, submitted.get("csrf"), binding=binding(principal), now=web.clock())
    return submitted


def redirect(url: str) -> RedirectResponse:
    """After a form: see the result (303 so the browser GETs it)."""
    return RedirectResponse(url, status_code=303)
