"""`optout demo`: the end-to-end demo on embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.context import console


def demo_command(
    out: Annotated[Path, typer.Option(help="Output folder (recreated on every run).")] = Path(
        "demo-output"
    ),
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running", help="Afterwards keep the admin UI running, with a printed sign-in."
        ),
    ] = False,
) -> None:
    """Run the whole product once on SQLite and local stand-ins, writing reports to --out."""
    # Imported here: the demo pulls in every part of the product (web app, PDF rendering),
    # which other commands should not pay for at start-up.
    from orchestrator.demo.run import run_demo

    run_demo(out, console=console, keep_running=keep_running)
