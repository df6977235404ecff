"""The app for uvicorn's worker processes (`uvicorn --factory optout_asgi:create_app`).

`optout serve` runs one process; under systemd the API runs several behind a reverse proxy, and
uvicorn can only start those from an import string. Settings come from the OPTOUT_* variables
of the environment file, exactly as for the CLI.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from orchestrator.cli.context import engine, report_failure, settings, unit_of_work
from orchestrator.web.app import create_app as build_app

# uvicorn stops every process, instead of restarting them in a loop, on this exit code.
STARTUP_FAILURE = 3


def create_app() -> FastAPI:
    """The web app on the configured database; one line and exit code 3 when it cannot start."""
    try:
        with unit_of_work():
            pass  # refuses with the fix when the schema is not current
        return build_app(settings(), engine=engine())
    except Exception as exc:  # a process entry point: one clear line, not a traceback
        report_failure(exc)
        sys.exit(STARTUP_FAILURE)
