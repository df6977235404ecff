"""Report rendering and command parsing that need no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.campaigns.timing import parse_as_of
from orchestrator.core.errors import OrchestratorError
from orchestrator.reports.bundle import verify_bundle
from orchestrator.reports.render import report_json_schema, safe_cell

SCHEMA_FILE = (
    Path(__file__).resolve().parents[2] / "orchestrator" / "reports" / "report.schema.json"
)


@pytest.mark.parametrize("value", ["=SUM(A1)", "+1", "-2+3", "@cmd", "\tx", "\r=1"])
def test_formula_cells_are_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Sales", "R&D", "a=b", 3, -4.5, None])
def test_other_cells_are_unchanged(value: object) -> None:
    assert safe_cell(value) == value


NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_bare_as_of_date_means_the_end_of_that_day() -> None:
    end_of_day = datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_as_of("2026-01-31", now=NOW) == end_of_day
    assert parse_as_of("2026-01-31T10:00+01:00", now=NOW) == datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    assert parse_as_of(None, now=NOW) is None
    assert parse_as_of(" ", now=NOW) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "cannot read the time 'yesterday'"),
        ("2026-11-24", "--as-of '2026-11-24' is in the future"),
        ("9999-12-31T23:59:59-23:59", "is out of range"),
    ],
)
def test_unreadable_or_future_as_of_is_refused(text: str, message: str) -> None:
    with pytest.raises(OrchestratorError, match=message):
        parse_as_of(text, now=NOW, name="--as-of")


def test_committed_report_schema_is_current() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == report_json_schema(), (
        "orchestrator/reports/report.schema.json is stale; regenerate it with "
        "`.venv/bin/python -m orchestrator.reports > orchestrator/reports/report.schema.json`"
    )


def test_a_file_that_is_not_a_bundle_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    assert (
        verify_bundle(tmp_path / "x.zip")
        .problems[0]
        .startswith(f"{tmp_path / 'x.zip'} is not a readable zip")
    )
    assert verify_bundle(tmp_path / "none.zip").problems == [
        f"{tmp_path / 'none.zip'} does not exist"
    ]
