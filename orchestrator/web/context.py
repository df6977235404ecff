"""What every request handler needs, built once by `create_app` and kept on the app."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlmodel import Session

from orchestrator.consent.config import ConsentConfig
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.web.csrf import CsrfGuard


@dataclass(frozen=True)
class WebContext:
    """The app's settings, database, consent configuration, CSRF guard, templates and clock.

    `writes` bounds how many threads run write transactions at once: one on SQLite, whose single
    writer would otherwise make the others sleep-and-retry in its busy handler (slow and unfair
    under load), several on PostgreSQL.
    """

    settings: Settings
    engine: Engine
    consent: ConsentConfig
    csrf: CsrfGuard
    templates: Jinja2Templates
    clock: Callable[[], datetime]
    writes: CapacityLimiter

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """One transaction: commits when the block ends normally, rolls back otherwise."""
        return session_scope(self.engine)


def web_context(request: Request) -> WebContext:
    """The app's context (for `Depends`)."""
    context: WebContext = request.app.state.web
    return context


WebDep = Annotated[WebContext, Depends(web_context)]
