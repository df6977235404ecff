"""What every command needs: settings, a migrated database, the actor name, and error output."""

from __future__ import annotations

import getpass
import logging
import socket
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from orchestrator.core.db import make_engine, session_scope
from orchestrator.core.errors import ConfigurationError, OrchestratorError
from orchestrator.core.settings import Settings
from orchestrator.migrations import current_revision, head_revision

console = Console()
errors = Console(stderr=True)

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process's settings, read once from `OPTOUT_*` variables and `.env`."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"OPTOUT_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"the settings are not valid: {problems}") from exc


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The database engine for this process (the data directory is created if needed)."""
    current = settings()
    if current.database_url is None:
        current.ensure_data_dir()
    return make_engine(current.resolved_database_url)


def safe_database_url() -> str:
    """The database URL with any password hidden, for messages."""
    return make_url(settings().resolved_database_url).render_as_string(hide_password=True)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session on a database at the newest schema; commits when the command succeeds."""
    current_engine = engine()
    if current_revision(current_engine) != head_revision(current_engine):
        raise ConfigurationError(
            f"the database at {safe_database_url()} is not at the current schema; "
            "run `optout db upgrade` first"
        )
    with session_scope(current_engine) as session:
        yield session


def actor() -> str:
    """Who the audit log names for CLI actions: the operating-system user on this host."""
    return f"cli:{getpass.getuser()}@{socket.gethostname()}"


def report_failure(exc: BaseException) -> int:
    """Print a one-line explanation of a failure and return the process exit code."""
    if isinstance(exc, OrchestratorError):
        errors.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        return EXIT_USER_ERROR
    if isinstance(exc, OperationalError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown reason"
        errors.print(
            f"[bold red]error:[/] cannot use the database at {safe_database_url()}: {reason}",
            highlight=False,
        )
        return EXIT_USER_ERROR
    log_path = _log_internal_error(exc)
    kind = "database" if isinstance(exc, SQLAlchemyError) else "internal"
    errors.print(
        f"[bold red]{kind} error:[/] {type(exc).__name__}: {exc}".splitlines()[0]
        + (f"\n  details were written to {log_path}" if log_path else ""),
        highlight=False,
    )
    return EXIT_INTERNAL_ERROR


def _log_internal_error(exc: BaseException) -> str | None:
    try:
        directory = settings().ensure_data_dir() / "logs"
        directory.mkdir(exist_ok=True)
        path = directory / "cli-errors.log"
        logging.basicConfig(filename=path, level=logging.ERROR)
        logging.getLogger("optout.cli").error(
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        )
        return str(path)
    except (OrchestratorError, OSError):
        return None
