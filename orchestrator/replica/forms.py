"""Reading urlencoded form posts without python-multipart.

Starlette's `request.form()` needs python-multipart even for plain urlencoded bodies, and the
replica's forms never upload files, so the standard library's parser is enough.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

FormFields = dict[str, list[str]]


async def read_form(request: Request) -> FormFields:
    """The posted fields, each name with all its values in order."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return parse_qs(body, keep_blank_values=True)


def field(form: FormFields, name: str) -> str:
    """The first value posted under `name`, trimmed; empty when absent."""
    return form.get(name, [""])[0].strip()
