"""`optout serve`: the web app (admin UI, API, consent pages) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from orchestrator.cli.context import console, engine, settings, unit_of_work

ASGI_FACTORY = "orchestrator.cli.asgi:create_app"


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes (several need PostgreSQL to pay off).")
    ] = 1,
) -> None:
    """Serve the admin UI (/admin), the API (/api; /docs) and the consent pages."""
    # Imported here, not at the top: other commands need not load the web stack.
    from orchestrator.web.app import create_app

    with unit_of_work():
        pass  # refuses early, with the fix, when the schema is not current
    console.print(
        f"Serving on http://{host}:{port} with {workers} process{'es' if workers > 1 else ''}: "
        f"admin UI at /admin, API at /api (employees reach it as "
        f"{settings().public_base_url}); Ctrl+C stops."
    )
    uvicorn.run(
        # Several processes each build their app from the import string.
        ASGI_FACTORY if workers > 1 else create_app(settings(), engine=engine()),
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        server_header=False,
    )
