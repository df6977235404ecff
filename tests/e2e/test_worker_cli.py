"""`optout worker --until-empty` as an operator runs it: a real process draining the queue."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from orchestrator.core.db import make_engine
from orchestrator.core.settings import Settings
from orchestrator.jobs.models import Job, JobState
from orchestrator.migrations import upgrade
from orchestrator.policies import load_policies
from orchestrator.replica import Platform
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.ansible]

REPO = Path(__file__).resolve().parents[2]
POLICIES = load_policies(REPO / "policies")
EMAILS = ["drain-1@example.com", "drain-2@example.com"]


def test_worker_until_empty_drains_the_queue(replica, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTOUT_")}
    env.update(
        OPTOUT_DATA_DIR=str(tmp_path / "data"),
        OPTOUT_POLICIES_DIR=str(REPO / "policies"),
        OPTOUT_PLAYBOOKS_DIR=str(REPO / "playbooks"),
        OPTOUT_REPLICA_URL=replica.base_url,
        OPTOUT_PACE_PER_MINUTE="0",
        OPTOUT_SMTP_PORT="1",  # no mail is due; a worker must not need SMTP to run jobs
        COLUMNS="160",
    )
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
