"""`optout serve`: the web app (consent pages today) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from orchestrator.cli.context import console, engine, settings, unit_of_work
from orchestrator.web.app import create_app


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve the consent pages (and later the admin UI and API) until interrupted."""
    with unit_of_work():
        pass  # refuses early, with the fix, when the schema is not current
    app = create_app(settings(), engine=engine())
    console.print(
        f"Serving on http://{host}:{port} (employees reach it as {settings().public_base_url}); "
        "Ctrl+C stops."
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        server_header=False,
    )
