"""`optout campaign`, `optout mail` as an admin runs them: real processes, real SMTP, no traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import optout, process_env

REPO = Path(__file__).resolve().parents[2]
PEOPLE = (
    "email,name,department,country,linkedin_url\n"
    "ann@example.com,Ann Lee,Engineering,DE,https://www.linkedin.com/in/ann-lee\n"
    "bob@example.com,Bob Stone,Sales,US,\n"
)


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str, smtp_sink) -> dict[str, str]:
    return process_env(
        OPTOUT_DATA_DIR=str(tmp_path / "data"),
        OPTOUT_DATABASE_URL=database_url,
        OPTOUT_POLICIES_DIR=str(REPO / "policies"),
        OPTOUT_SECRET_KEY="cli-test-secret-" + "k" * 32,
        OPTOUT_SMTP_HOST=smtp_sink.host,
        OPTOUT_SMTP_PORT=str(smtp_sink.port),
        OPTOUT_PUBLIC_BASE_URL="https://optout.example.com",
        COLUMNS="200",
    )


def test_create_launch_status_and_cancel_a_campaign(cli_env, tmp_path: Path, smtp_sink) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    assert optout(cli_env, "employees", "import", str(people), cwd=tmp_path).returncode == 0

    # Each refused with its reason, and none created: the campaign made next is number 1.
    toggle = ("--policy", "linkedin-genai-training")
    for extra, reason in (
        (("--policy", "nope"), "unknown policy 'nope'"),
        (
            (*toggle, "--window", "weeknights 22:00-06:00"),
            "run window 'weeknights 22:00-06:00': 'weeknights' is not a day",
        ),
        (  # the deadline's last minute is past Python's last day in UTC
            (*toggle, "--deadline", "9999-12-31", "--timezone", "Etc/GMT+12"),
            "the time '9999-12-31' is out of range",
        ),
    ):
        refused = optout(
            cli_env, "campaign", "create", "--name", "X", "--all", *extra, cwd=tmp_path
        )
        assert refused.returncode == 2, extra
        assert reason in refused.stderr
    created = optout(
        cli_env,
        "campaign",
        "create",
        "--name",
        "LinkedIn AI opt-out",
        "--policy",
        "linkedin-genai-training",
        "--policy",
        "linkedin-data-processing-objection",
        "--department",
        "Engineering",
        "--email",
        "bob@example.com",
        "--deadline",
        "2099-01-31",
        "--timezone",
        "Europe/Berlin",
        "--remind-every",
        "3d",
        "--window",
        "mon-fri 22:00-06:00",
        "--window",
        "sat,sun 00:00-24:00",
        cwd=tmp_path,
    )
    assert created.returncode == 0, created.stderr
    assert "Created campaign 1 (draft)" in created.stdout
    assert "Jobs run only mon-fri 22:00-06:00; sat,sun 00:00-24:00" in created.stdout

    launched = optout(cli_env, "campaign", "launch", "1", cwd=tmp_path)
    assert launched.returncode == 0, launched.stderr
    assert "2 asked for consent" in launched.stdout
    assert "Mail: 2 sent" in launched.stdout
    assert sorted(m["To"] for m in smtp_sink.messages) == ["ann@example.com", "bob@example.com"]

    status = json.loads(
        optout(cli_env, "campaign", "status", "1", "--format", "json", cwd=tmp_path).stdout
    )
    assert status["consents"]["pending"] == 2
    assert status["mail"]["sent"] == 2
    assert status["campaign"]["consent_deadline"] == "2099-01-31T22:59:00+00:00"
    assert status["campaign"]["reminder_interval_hours"] == 72
    assert status["campaign"]["run_windows"] == ["mon-fri 22:00-06:00", "sat,sun 00:00-24:00"]
    assert "paused" in optout(cli_env, "campaign", "pause", "1", cwd=tmp_path).stdout
    cancelled = optout(cli_env, "campaign", "cancel", "1", "--reason", "test", cwd=tmp_path)
    assert "it is now cancelled" in cancelled.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("campaign", "status", "99999999999999999999"), "campaign_id"),
        (("campaign", "cancel", "3000000000"), "campaign_id"),  # over a PostgreSQL integer
        (("employees", "list", "--offset", "99999999999999999999"), "--offset"),
        (("worker", "--task-allowance-seconds", "99999999999999999999"), "--task-allowance"),
    ],
)
def test_numbers_out_of_range_are_refused_by_name_before_reaching_the_database(
    cli_env, tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    refused = optout(cli_env, *args, cwd=tmp_path)

    assert refused.returncode == 2
    assert f"Invalid value for '{named}" in refused.stderr
    assert "internal error" not in refused.stderr
