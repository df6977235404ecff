"""Rendering replica pages with class names and ids that change on every render.

Real LinkedIn ships hashed class names and Ember-style ids that differ between builds, so the
only stable hooks are roles and accessible names. Giving each render fresh names makes any
locator that leans on a class or an id fail in our own tests first.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).parent / "templates"


class FreshNames:
    """Per-render class names and element ids, consistent within the one render."""

    def __init__(self) -> None:
        self._classes: dict[str, str] = {}
        self._ids: dict[str, str] = {}

    def cls(self, role: str) -> str:
        """A hashed-looking class name for the styling role `role`."""
        if role not in self._classes:
            self._classes[role] = f"_{secrets.token_hex(4)}"
        return self._classes[role]

    def id(self, role: str) -> str:
        """An Ember-style element id for `role` (used only to wire ARIA references)."""
        while role not in self._ids:
            candidate = f"ember{secrets.randbelow(90000) + 10000}"
            if candidate not in self._ids.values():
                self._ids[role] = candidate
        return self._ids[role]


class Pages:
    """The replica's Jinja2 templates, rendered with fresh names each time."""

    def __init__(self) -> None:
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._templates = Jinja2Templates(env=environment)

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        names = FreshNames()
        page_context = {"cls": names.cls, "uid": names.id, **(context or {})}
        return self._templates.TemplateResponse(
            request, name, page_context, status_code=status_code, headers=headers
        )
