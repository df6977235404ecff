"""`create_app(settings)`: the one FastAPI application, assembled from routers.

Settings, the engine, the policies and the clock are passed in (tests hand over their own);
nothing is read from the environment here. Routers for the admin UI and the API mount beside
the consent pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from anyio import CapacityLimiter
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.consent.config import ConsentConfig
from orchestrator.consent.errors import ConsentLinkError
from orchestrator.core.clock import utcnow
from orchestrator.core.db import make_engine
from orchestrator.core.settings import Settings
from orchestrator.policies import PolicySet
from orchestrator.web import admin, api, consent_pages, docs
from orchestrator.web.context import WebContext
from orchestrator.web.csrf import CsrfGuard
from orchestrator.web.errors import install_error_handlers

WEB_DIR = Path(__file__).parent

# Pages name no third party: no scripts, styles only from here, forms only to here, never
# framed, and no Referer header that would carry a link's token to another site.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """Adds the security headers to every response, and no-store to private pages and data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith(("/consent", "/admin", "/api"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if private:
                    headers["Cache-Control"] = "no-store"
                    headers["X-Robots-Tag"] = "noindex, nofollow"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    policies: PolicySet | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """The web application for `settings` (engine and policies are built from them if not given)."""
    templates = Jinja2Templates(directory=WEB_DIR / "templates")
    templates.env.globals["contact_email"] = settings.contact_email
    admin.install_filters(templates)
    database = engine or make_engine(settings.resolved_database_url)
    context = WebContext(
        settings=settings,
        engine=database,
        consent=ConsentConfig.from_settings(settings, policies=policies),
        csrf=CsrfGuard(
            settings.secret(), secure_cookie=settings.public_base_url.startswith("https://")
        ),
        templates=templates,
        clock=clock,
        writes=CapacityLimiter(1 if database.dialect.name == "sqlite" else 8),
    )
    app = FastAPI(
        title="Fleet opt-out orchestrator",
        description=(
            "The admin API: sign in to the admin UI, or send `Authorization: Bearer <token>` "
            "(`optout admin token create`). Lists take `limit` and `offset`; errors are "
            '`{"error": {"status", "message"}}`.'
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.web = context
    install_error_handlers(app)
    app.add_exception_handler(ConsentLinkError, consent_pages.link_error_page)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(consent_pages.router)
    app.include_router(api.router)
    app.include_router(admin.router)
    app.include_router(docs.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Liveness: the process answers (load balancers, benchmarks)."""
        return JSONResponse({"status": "ok"})

    return app
