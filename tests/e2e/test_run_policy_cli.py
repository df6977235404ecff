"""`optout run-policy` as an admin debugging a policy runs it: real process, replica, Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.replica import Platform
from tests.support import optout, process_env

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


def test_run_policy_against_the_replica_with_a_seeded_session(replica, tmp_path: Path) -> None:
    env = process_env(
        OPTOUT_DATA_DIR=str(tmp_path / "data"),
        OPTOUT_POLICIES_DIR=str(REPO / "policies"),
        OPTOUT_REPLICA_URL=replica.base_url,
        COLUMNS="200",
    )
    people = tmp_path / "people.csv"
    people.write_text(
        "email,name,department,country\ncli.debug@example.com,Cli Debug,Ops,DE\n", encoding="utf-8"
    )
    assert optout(env, "db", "upgrade", cwd=tmp_path).returncode == 0
    assert optout(env, "employees", "import", str(people), cwd=tmp_path).returncode == 0

    no_session = optout(
        env,
        "run-policy",
        "linkedin-genai-training",
        "--employee",
        "cli.debug@example.com",
        cwd=tmp_path,
    )
    assert no_session.returncode == 1
    assert "needs_employee_action" in no_session.stdout

    result = optout(
        env,
        "run-policy",
        "linkedin-genai-training",
        "--employee",
        "cli.debug@example.com",
        "--seed-replica",
        "--behaviour",
        "cookie_banner",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed" in result.stdout
    state = replica.client.account_state(Platform.LINKEDIN, "cli.debug@example.com")
    assert state.toggles["data_for_ai_improvement"] is False
    records = sorted((tmp_path / "data" / "evidence" / "debug").glob("*/outcome.json"))
    statuses = sorted(json.loads(r.read_text(encoding="utf-8"))["status"] for r in records)
    assert statuses == ["changed", "needs_employee_action"]
