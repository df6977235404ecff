"""`optout replica`: serve the local copy of the platform pages that tests and the demo drive."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli.context import console

app = typer.Typer(
    help="The replica of the platform pages (never the real sites).", no_args_is_help=True
)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8700,
) -> None:
    """Serve the replica; set OPTOUT_REPLICA_URL to its address to run policies against it."""
    # Imported here, not at the top: other commands need not load the replica's web stack.
    from orchestrator.replica import REAL_ORIGINS, serve

    for origin, prefix in REAL_ORIGINS.items():
        console.print(f"{origin}  →  http://{host}:{port}/{prefix}")
    console.print(f"Control API: http://{host}:{port}/__replica__/  (test-only)")
    serve(host, port)
