"""Assembling the replica server: one FastAPI app, one path prefix per replicated site."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from orchestrator.replica.chatgpt import chatgpt_router
from orchestrator.replica.control import control_router
from orchestrator.replica.gate import PageInterrupted, interrupted_response
from orchestrator.replica.linkedin import linkedin_router
from orchestrator.replica.rendering import Pages
from orchestrator.replica.sites import site_for_path
from orchestrator.replica.state import ReplicaState
from orchestrator.replica.x import x_router


def create_replica_app(state: ReplicaState | None = None) -> FastAPI:
    """The replica of every site, sharing `state` (a fresh one if not given)."""
    replica = state if state is not None else ReplicaState()
    pages = Pages()
    app = FastAPI(
        title="Opt-out replica",
        description="Local stand-in for the platform pages; test and demo use only.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_exception_handler(PageInterrupted, interrupted_response)
    app.include_router(control_router(replica))
    app.include_router(linkedin_router(replica, pages))
    app.include_router(x_router(replica, pages))
    app.include_router(chatgpt_router(replica, pages))

    @app.middleware("http")
    async def log_member_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Attribute each site request to the account its session cookie names."""
        response = await call_next(request)
        site = site_for_path(request.url.path)
        token = request.cookies.get(site.cookie_name) if site is not None else None
        if site is not None and token:
            replica.record_request(
                site.platform,
                token,
                method=request.method,
                path=request.url.path,
                status=response.status_code,
            )
        return response

    return app


def serve(host: str, port: int) -> None:
    """Run the replica with uvicorn until interrupted (`optout replica serve`)."""
    uvicorn.run(create_replica_app(), host=host, port=port, log_level="info")
