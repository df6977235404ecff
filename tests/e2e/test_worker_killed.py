"""A worker killed with SIGKILL mid-batch, then another started: every job ends exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from orchestrator.audit.models import AuditEvent
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
EMAILS = ["killed-1@example.com", "killed-2@example.com"]
WORKER = [
    sys.executable,
    "-m",
    "orchestrator",
    "worker",
    "--until-empty",
    "--poll-seconds",
    "0.5",
    # Room for all four tasks to start before the batch's deadline on a busy machine.
    "--lease-seconds",
    "60",
    "--task-allowance-seconds",
    "30",
]


def test_jobs_of_a_killed_worker_end_exactly_once(replica, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTOUT_")}
    env.update(
        OPTOUT_DATA_DIR=str(tmp_path / "data"),
        OPTOUT_POLICIES_DIR=str(REPO / "policies"),
        OPTOUT_PLAYBOOKS_DIR=str(REPO / "playbooks"),
        OPTOUT_REPLICA_URL=replica.base_url,
        OPTOUT_PACE_PER_MINUTE="0",
        OPTOUT_SMTP_PORT="1",
    )
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    settings.ensure_data_dir()
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    versions = {
        policy: POLICIES.get(policy).version
        for policy in ("linkedin-genai-training", "linkedin-data-processing-objection")
    }
    factories.consenting_employees(
        engine,
        replica_url=replica.base_url,
        secret=settings.secret(),
        people={email: ("slow_save",) for email in EMAILS},
        policies=versions,
        now=datetime.now(UTC),
    )

    first = subprocess.Popen(
        WORKER, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once the browser has changed something
        state = replica.client.account_state(Platform.LINKEDIN, EMAILS[0])
        if state.toggle_changes.get("data_for_ai_improvement", 0):
            break
        time.sleep(0.1)
    else:
        first.kill()
        pytest.fail("the first worker never reached the browser")
    os.kill(first.pid, signal.SIGKILL)  # its ansible-playbook child lives on, as after a crash
    first.wait()
    with Session(engine) as session:
        assert session.exec(select(Job).where(Job.state == JobState.RUNNING)).all()

    second = subprocess.run(
        WORKER, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False
    )
    assert second.returncode == 0, second.stdout + second.stderr

    with Session(engine) as session:
        jobs = session.exec(select(Job)).all()
        assert {(job.state, job.attempts) for job in jobs} == {(JobState.SUCCEEDED, 1)}
        claims = session.exec(
            select(func.count()).where(col(AuditEvent.action) == "job.claimed")
        ).one()
        assert claims == len(jobs)  # nothing was run a second time
    for email in EMAILS:
        state = replica.client.account_state(Platform.LINKEDIN, email)
        assert state.toggle_changes["data_for_ai_improvement"] == 1
        assert len(state.objection_submissions) == 1
    engine.dispose()
