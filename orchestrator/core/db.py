"""Engines, sessions and the column types every room shares.

Engines are built by `make_engine(url)`, never at import time. The unit of work belongs to the
caller (CLI command, request, job): services only `flush()`, the boundary commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from orchestrator.core.clock import as_utc
from orchestrator.core.errors import ConfigurationError


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass a timezone-aware UTC time")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the UI read while a worker writes,
    # and the busy timeout makes writers queue instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build an engine for a SQLite or PostgreSQL URL (`postgresql://` means psycopg 3)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _configure_sqlite)
            return engine
        if url.startswith("postgresql+psycopg://"):
            return create_engine(url, echo=echo, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigurationError(f"the database URL is not usable: {exc}") from exc
    raise ConfigurationError(
        "the database URL must start with sqlite:/// or postgresql:// "
        f"(got {url.split(':', 1)[0]!r})"
    )


def tune_for_reporting(session: Session) -> None:
    """Settings for the rest of this transaction that suit one large read, on PostgreSQL.

    A report's statement is big enough to pass `jit_above_cost`, and compiling it took
    0.3-0.7 s of a 1-2 s report at 100,000 employees; its per-employee grouping spilled to
    disk under the default 4 MB of `work_mem`. SQLite has neither knob.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))


BULK_WRITE_ROWS = 10_000  # rows a write must touch before its tables' statistics are renewed


def analyze_after_bulk_write(session: Session, rows: int, *tables: str) -> None:
    """Renew the planner's statistics of `tables` after a write of `rows` rows, on PostgreSQL.

    Autovacuum analyses a table within a minute or so of a large change; a query run in the
    meantime is planned for the table as it was. Building the reports' projection just after
    100,000 employees were loaded, before their tables were analysed, took over 20 minutes
    instead of 6 s. ANALYZE samples a bounded number of rows (a fraction of a second), so
    only writes of `BULK_WRITE_ROWS` rows or more pay for it. SQLite plans without them.
    """
    if rows >= BULK_WRITE_ROWS and session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


def begin_writing(session: Session) -> None:
    """Start the unit of work holding SQLite's write lock, so what it reads stays true.

    Python's SQLite driver begins a transaction only at the first INSERT, UPDATE or DELETE:
    what a unit of work reads before it writes is read outside it, and another writer may
    change it in between. BEGIN IMMEDIATE makes writers queue at the start instead.
    PostgreSQL needs nothing here: its transactions start at the first statement, and the
    callers lock the rows they act on.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))


def is_postgresql(engine: Engine) -> bool:
    """Whether the engine talks to PostgreSQL (row locks and SKIP LOCKED are available)."""
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def scratch_postgres_database(server_url: str, *, prefix: str) -> Iterator[str]:
    """A new, empty database on a PostgreSQL server, dropped afterwards; yields its URL.

    Tests and benchmarks use it so that they never touch a database holding real data.
    """
    url = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url.render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
