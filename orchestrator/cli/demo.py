"""`optout demo`: the end-to-end demo on embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.context import console
from orchestrator.demo.run import run_demo


def demo_command(
    out: Annotated[Path, typer.Option(help="Output folder (recreated on every run).")] = Path(
        "demo-output"
    ),
) -> None:
    """Run the end-to-end demo into an output folder, on SQLite and local defaults."""
    run_demo(out, console=console)
