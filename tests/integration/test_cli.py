"""The `optout` command as an admin runs it: real processes, real files, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from orchestrator.core.db import is_postgresql
from tests.support import optout, process_env

GOOD = (
    "email,name,department,country,linkedin_url\n"
    "ann@example.com,Ann Lee,Engineering/Platform,DE,https://www.linkedin.com/in/ann-lee\n"
    "björn@example.se,Björn Ångström,Sales,SE,\n"
)
BAD = "email,name,department,country\nann@example.com,Ann,Ops,XX\nnope,Bo,Ops,DE\n"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return process_env(OPTOUT_DATA_DIR=str(tmp_path / "data"), COLUMNS="200")


def test_fresh_install_tells_the_admin_to_upgrade_first(cli_env, tmp_path: Path) -> None:
    result = optout(cli_env, "employees", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert "run `optout db upgrade` first" in result.stderr
    assert optout(cli_env, "db", "upgrade", cwd=tmp_path).returncode == 0
    assert "up to date" in optout(cli_env, "db", "status", cwd=tmp_path).stdout
    secret = tmp_path / "data" / "secret.key"
    assert not secret.exists()  # only created when something signs


def test_import_list_and_audit_round_trip(
    cli_env, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    cli_env["OPTOUT_DATABASE_URL"] = database_url
    people = tmp_path / "people.csv"
    people.write_text(GOOD, encoding="utf-8")

    dry = optout(cli_env, "employees", "import", str(people), "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and "dry run" in dry.stdout
    listed = json.loads(
        optout(cli_env, "employees", "list", "--format", "json", cwd=tmp_path).stdout
    )
    assert listed["total"] == 0

    imported = optout(cli_env, "employees", "import", str(people), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "created" in imported.stdout
    listed = json.loads(
        optout(
            cli_env, "employees", "list", "--format", "json", "--country", "se", cwd=tmp_path
        ).stdout
    )
    assert [(e["email"], e["name"]) for e in listed["employees"]] == [
        ("björn@example.se", "Björn Ångström")
    ]

    verified = optout(cli_env, "audit", "verify", cwd=tmp_path)
    assert verified.returncode == 0 and "intact" in verified.stdout
    tail = json.loads(
        optout(cli_env, "audit", "tail", "-n", "1", "--format", "json", cwd=tmp_path).stdout
    )
    assert tail[0]["action"] == "directory.imported"

    with engine.begin() as connection:
        if is_postgresql(engine):
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2"))
    broken = optout(cli_env, "audit", "verify", cwd=tmp_path)
    assert broken.returncode == 1
    assert "broken at event #2" in broken.stderr


def test_rejected_file_lists_every_problem_and_changes_nothing(cli_env, tmp_path: Path) -> None:
    optout(cli_env, "db", "upgrade", cwd=tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    problems_csv = tmp_path / "problems.csv"
    result = optout(
        cli_env, "employees", "import", str(bad), "--problems-out", str(problems_csv), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "bad.csv was rejected (2 problems); nothing was imported" in result.stderr
    assert "unknown country 'XX'" in result.stderr
    assert problems_csv.read_text(encoding="utf-8").splitlines()[1:] == [
        "2,country,unknown country 'XX' (use an ISO 3166-1 alpha-2 code such as DE or GB)",
        "3,email,'nope' is not a valid email address: An email address must have an @-sign.",
    ]
    listed = json.loads(
        optout(cli_env, "employees", "list", "--format", "json", cwd=tmp_path).stdout
    )
    assert listed["total"] == 0


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        (
            "OPTOUT_DATABASE_URL",
            "postgresql://postgres@127.0.0.1:1/none",
            "cannot use the database",
        ),
        (
            "OPTOUT_DATABASE_URL",
            "mysql://localhost/x",
            "must start with sqlite:/// or postgresql://",
        ),
        ("OPTOUT_SMTP_PORT", "not-a-port", "OPTOUT_SMTP_PORT"),
        ("OPTOUT_WEBHOOK_URL", "http://[::1", "OPTOUT_WEBHOOK_URL: Value error, is not a valid"),
        ("OPTOUT_REVERIFY_AFTER_DAYS", "999999999", "OPTOUT_REVERIFY_AFTER_DAYS: Input should be"),
    ],
    ids=["unreachable-database", "unsupported-database", "bad-setting", "bad-webhook", "too-long"],
)
def test_bad_configuration_gets_one_clear_line(
    cli_env, tmp_path: Path, setting: str, value: str, expected: str
) -> None:
    cli_env[setting] = value
    result = optout(cli_env, "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3


def test_missing_file_is_named(cli_env, tmp_path: Path) -> None:
    result = optout(cli_env, "employees", "import", str(tmp_path / "nowhere.csv"), cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "nowhere.csv" in result.stderr


@pytest.mark.parametrize("contexts", ["0", "17", "two"])
def test_a_worker_asked_for_an_impossible_number_of_contexts_says_so(
    cli_env, tmp_path: Path, contexts: str
) -> None:
    result = optout(cli_env, "worker", "--until-empty", "--contexts", contexts, cwd=tmp_path)
    assert result.returncode == 2
    assert "Invalid value for '--contexts'" in result.stderr  # and no traceback (`optout`)


def test_a_worker_without_its_playbook_stops_before_claiming_anything(
    cli_env, tmp_path: Path
) -> None:
    cli_env["OPTOUT_PLAYBOOKS_DIR"] = str(tmp_path / "elsewhere")
    result = optout(cli_env, "worker", "--until-empty", cwd=tmp_path)
    assert result.returncode == 2
    assert f"no playbook at {tmp_path / 'elsewhere' / 'optout.yml'}" in result.stderr
    assert "OPTOUT_PLAYBOOKS_DIR" in result.stderr


def test_policies_validate_lists_every_problem_of_a_broken_set(cli_env, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    good = optout(cli_env, "policies", "validate", str(repo / "policies"), cwd=tmp_path)
    assert good.returncode == 0
    assert "linkedin-genai-training" in good.stdout
    broken = optout(
        cli_env, "policies", "validate", str(repo / "tests/data/policies/broken"), cwd=tmp_path
    )
    assert broken.returncode == 2
    for name in ("bad-regex.yml", "bad-template.yml", "syntax-error.yml", "wrong-id.yml"):
        assert name in broken.stderr
