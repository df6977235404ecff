"""The app for uvicorn's worker processes: `uvicorn --factory orchestrator.cli.asgi:create_app`.

`optout serve --workers N` and the API's systemd unit run several processes, and uvicorn can
only start those from an import string. Settings come from the OPTOUT_* environment, exactly as
for the CLI; a process that cannot start prints one line and exits with code 3, on which
uvicorn stops every process instead of restarting them in a loop.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from orchestrator.cli.context import engine, report_failure, settings, unit_of_work
from orchestrator.web.app import create_app as build_app

STARTUP_FAILURE = 3


def create_app() -> FastAPI:
    """The web app on the configured database, refusing to start on an outdated schema."""
    try:
        with unit_of_work():
            pass  # refuses with the fix when the schema is not current
        return build_app(settings(), engine=engine())
    except Exception as exc:  # a process entry point: one clear line, not a traceback
        report_failure(exc)
        sys.exit(STARTUP_FAILURE)
