"""`optout worker --until-empty` as an operator runs it: a real process draining the queue."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from orchestrator.core.db import make_engine, session_scope
from orchestrator.core.settings import Settings
from orchestrator.jobs.models import Job, JobState
from orchestrator.jobs.queue import note_policy_result
from orchestrator.migrations import upgrade
from orchestrator.policies import load_policies
from orchestrator.replica import Platform
from tests import factories
from tests.support import optout, process_env

pytestmark = [pytest.mark.browser, pytest.mark.ansible]

REPO = Path(__file__).resolve().parents[2]
POLICIES = load_policies(REPO / "policies")
EMAILS = ["drain-1@example.com", "drain-2@example.com"]


def _worker_env(replica, tmp_path: Path) -> dict[str, str]:
    return process_env(
        OPTOUT_DATA_DIR=str(tmp_path / "data"),
        OPTOUT_POLICIES_DIR=str(REPO / "policies"),
        OPTOUT_PLAYBOOKS_DIR=str(REPO / "playbooks"),
        OPTOUT_REPLICA_URL=replica.base_url,
        OPTOUT_PACE_PER_MINUTE="0",
        OPTOUT_SMTP_PORT="1",  # no mail is due; a worker must not need SMTP to run jobs
        COLUMNS="160",
    )


def test_worker_until_empty_drains_the_queue(replica, tmp_path: Path) -> None:
    env = _worker_env(replica, tmp_path)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    settings.ensure_data_dir()
    upgrade(engine)
    policy = POLICIES.get("linkedin-genai-training")
    factories.consenting_employees(
        engine,
        replica_url=replica.base_url,
        secret=settings.secret(),
        people={email: () for email in EMAILS},
        policies={policy.policy.id: policy.version},
        now=datetime.now(UTC),
    )

    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "worker", "--until-empty", "--poll-seconds", "0.5"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "2 jobs in" in result.stdout and "succeeded 2" in result.stdout
    with Session(engine) as session:
        assert {job.state for job in session.exec(select(Job)).all()} == {JobState.SUCCEEDED}
    for email in EMAILS:
        state = replica.client.account_state(Platform.LINKEDIN, email)
        assert state.toggles["data_for_ai_improvement"] is False
    engine.dispose()


def test_worker_until_empty_stops_at_jobs_a_paused_policy_holds_and_says_so(
    replica, tmp_path: Path
) -> None:
    env = _worker_env(replica, tmp_path)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    settings.ensure_data_dir()
    upgrade(engine)
    policy = POLICIES.get("linkedin-genai-training")
    factories.consenting_employees(
        engine,
        replica_url=replica.base_url,
        secret=settings.secret(),
        people={f"held-{n}@example.com": () for n in range(2)},
        policies={policy.policy.id: policy.version},
        now=datetime.now(UTC),
    )
    with session_scope(engine) as session:  # as after a run of identical failures
        note_policy_result(
            session,
            policy_id=policy.policy.id,
            failure="no element matches 'training_toggle'",
            pause_after=1,
            actor="worker:w",
            now=datetime.now(UTC),
        )

    result = optout(
        env, "worker", "--until-empty", "--poll-seconds", "0.5", cwd=tmp_path, timeout=120
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 jobs in 0 runs: nothing to do." in result.stdout
    assert (
        "2 jobs wait on paused policy linkedin-genai-training; once its page and file are "
        "reviewed, resume it with `optout policies resume linkedin-genai-training`."
    ) in " ".join(result.stdout.split())
    with Session(engine) as session:
        assert {job.state for job in session.exec(select(Job)).all()} == {JobState.QUEUED}
    engine.dispose()
