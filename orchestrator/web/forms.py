"""Reading small urlencoded form posts, with limits, without python-multipart."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import parse_qs

from starlette.requests import Request

from orchestrator.core.errors import OrchestratorError

MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 20
_TOO_LARGE = "the form is larger than any form on this site"


class FormError(OrchestratorError):
    """A POST body that is not one of our small forms."""


class UnsupportedFormError(FormError):
    """A POST that is not urlencoded (JSON, multipart...)."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class FormTooLargeError(FormError):
    """A POST body far larger than any of our forms."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an `application/x-www-form-urlencoded` body (first value of each)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise UnsupportedFormError("this address only accepts the form on its page")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormTooLargeError(_TOO_LARGE)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLargeError(_TOO_LARGE)
    try:
        fields = parse_qs(
            bytes(body).decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError("the form could not be read; reload the page and try again") from exc
    return {name: values[0] for name, values in fields.items()}
