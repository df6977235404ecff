"""Fixtures shared by every test: databases on SQLite and PostgreSQL, migrated once per session.

Integration tests take `engine`, which runs each test once on SQLite and once on PostgreSQL
(`OPTOUT_TEST_POSTGRES_URL`, default the local server's `test` database). Each test gets a clean
database: a fresh copy of a migrated SQLite file, or emptied PostgreSQL tables.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from orchestrator.core.db import make_engine, scratch_postgres_database
from orchestrator.migrations import upgrade
from orchestrator.migrations.tables import metadata

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get("OPTOUT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    template_engine = make_engine(f"sqlite:///{path}")
    upgrade(template_engine)
    with template_engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    template_engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A database of our own on the PostgreSQL server, migrated once, dropped at the end."""
    server_url = postgres_admin_url()
    try:
        with scratch_postgres_database(server_url, prefix="optout_test") as url:
            test_engine = make_engine(url)
            upgrade(test_engine)
            test_engine.dispose()
            yield url
    except OperationalError as exc:  # one clear line beats a wall of psycopg output
        pytest.fail(
            f"PostgreSQL at {make_url(server_url).render_as_string()} is not usable ({exc.orig}). "
            "Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main "
            "start` or set OPTOUT_TEST_POSTGRES_URL.",
            pytrace=False,
        )


def _empty_postgres(engine: Engine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "optout.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database_url")
    engine = make_engine(url)
    _empty_postgres(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the clean database of this test."""
    test_engine = make_engine(database_url)
    yield test_engine
    test_engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many database tests passed on each backend, so a run shows both were used."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            node = getattr(report, "nodeid", "")
            for backend in ("sqlite", "postgresql"):
                if f"[{backend}" in node:
                    per_backend = counts.setdefault(backend, {})
                    per_backend[outcome] = per_backend.get(outcome, 0) + 1
    if counts:
        terminalreporter.section("database backends")
        for backend, outcomes in sorted(counts.items()):
            summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
            terminalreporter.write_line(f"{backend}: {summary}")
