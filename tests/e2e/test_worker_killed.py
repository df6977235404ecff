"""Workers that die mid-batch: the next worker ends every job exactly once and closes the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from orchestrator.core.db import make_engine, session_scope
from orchestrator.core.settings import Settings
from orchestrator.employees.models import Employee
from orchestrator.flows.execute import WorkerConfig, claim_batch
from orchestrator.jobs.models import Job, JobState, Run
from orchestrator.migrations import upgrade
from orchestrator.policies import load_policies
from orchestrator.replica import Platform
from orchestrator.runner.ansible import RUN_PROCESS
from orchestrator.worker.loop import work
from tests import factories
from tests.support import Clock, assert_each_job_done_once, process_env, worker_settings

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


def _worker_env(replica, tmp_path: Path) -> dict[str, str]:
    """A worker process's environment: this test's data directory, the replica, no pacing."""
    return process_env(
        OPTOUT_DATA_DIR=str(tmp_path / "data"),
        OPTOUT_POLICIES_DIR=str(REPO / "policies"),
        OPTOUT_PLAYBOOKS_DIR=str(REPO / "playbooks"),
        OPTOUT_REPLICA_URL=replica.base_url,
        OPTOUT_PACE_PER_MINUTE="0",
        OPTOUT_SMTP_PORT="1",
    )


def test_jobs_of_a_killed_worker_end_exactly_once(replica, tmp_path: Path) -> None:
    env = _worker_env(replica, tmp_path)
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

    assert_each_job_done_once(engine)  # nothing was run a second time
    with Session(engine) as session:
        runs = session.exec(select(Run)).all()
    # The run outlived its worker; the jobs page tells how it ended, and that its worker died.
    assert [(run.status, run.finished_at is not None) for run in runs] == [
        ("successful (worker died)", True)
    ]
    for email in EMAILS:
        state = replica.client.account_state(Platform.LINKEDIN, email)
        assert state.toggle_changes["data_for_ai_improvement"] == 1
        assert len(state.objection_submissions) == 1
    engine.dispose()


def _handed_back(run: Run) -> bool:
    """Whether the run's host has sent its results back (its browser's work is over)."""
    return Path(str(run.private_data_dir), "fetched", "localhost").exists()


def _under_way(run: Run) -> bool:
    """Whether the run's process has its key and goes on without the worker (a run killed
    with its worker before that never started: its job is rightly claimed again)."""
    return Path(str(run.private_data_dir), RUN_PROCESS).exists()


def test_a_worker_killed_with_two_runs_at_work_leaves_each_job_done_once(
    replica, tmp_path: Path
) -> None:
    env = _worker_env(replica, tmp_path)  # unpaced: runs may overlap
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    settings.ensure_data_dir()
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    emails = [f"overlap-{n}@example.com" for n in range(3)]
    toggle = POLICIES.get("linkedin-genai-training")
    factories.consenting_employees(
        engine,
        replica_url=replica.base_url,
        secret=settings.secret(),
        people=dict.fromkeys(emails, ()),
        policies={toggle.policy.id: toggle.version},
        now=datetime.now(UTC),
    )
    # One job per run, leases short enough for the second worker to adopt soon.
    worker = [*WORKER[:7], "--batch-size", "1"]
    worker += ["--lease-seconds", "40", "--task-allowance-seconds", "20"]

    first = subprocess.Popen(
        worker, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once a third run started beside the second
        with Session(engine) as session:
            runs = session.exec(select(Run).order_by(col(Run.id))).all()
        if len(runs) == 3 and _under_way(runs[2]) and not _handed_back(runs[1]):
            break
        if first.poll() is not None:
            pytest.fail("the worker ended before it ever had two runs at work")
        time.sleep(0.1)
    else:
        first.kill()
        pytest.fail("the worker never had two runs at work")
    os.kill(first.pid, signal.SIGKILL)  # both runs' ansible-playbook processes live on
    first.wait()

    second = subprocess.run(
        worker, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False
    )
    assert second.returncode == 0, second.stdout + second.stderr

    assert len(assert_each_job_done_once(engine)) == 3  # nothing was run a second time
    with Session(engine) as session:
        runs = session.exec(select(Run).order_by(col(Run.id))).all()
    # The first run was recorded before the kill; both runs at work then outlived the worker.
    assert [run.status for run in runs] == [
        "successful",
        "successful (worker died)",
        "successful (worker died)",
    ]
    for email in emails:
        state = replica.client.account_state(Platform.LINKEDIN, email)
        assert state.toggle_changes["data_for_ai_improvement"] == 1
    engine.dispose()


def test_a_dead_workers_run_is_adopted_host_by_host_past_a_truncated_archive(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    prefix = "pg" if database_url.startswith("postgresql") else "lite"
    here, away = f"{prefix}-here@example.com", f"{prefix}-away@example.com"
    settings = worker_settings(tmp_path, database_url=database_url, replica_url=replica.base_url)
    toggle = POLICIES.get("linkedin-genai-training")
    factories.consenting_employees(
        engine,
        replica_url=replica.base_url,
        secret=settings.secret(),
        people={here: (), away: ()},
        policies={toggle.policy.id: toggle.version},
        now=datetime.now(UTC),
    )
    with session_scope(engine) as session:  # a laptop that is switched off
        session.execute(
            update(Employee).where(col(Employee.email) == away).values(fleet_host="gone.invalid")
        )
    clock = Clock(datetime.now(UTC))  # the hosts start no task after the batch's real deadline
    dying = WorkerConfig(name="dying", forks=2)
    batch = claim_batch(engine, settings=settings, policies=POLICIES, worker=dying, clock=clock)
    assert batch is not None
    batch.start(settings=settings)
    batch.wait()
    batch.abandon()  # the worker dies before it records anything; its leases run out
    # The other host's fetch was cut short, as when the controller's disk fills up.
    results = batch.private_data_dir / "results"
    whole = (results / "localhost.tar.gz").read_bytes()
    (results / "gone.invalid.tar.gz").write_bytes(whole[: len(whole) // 2])

    clock.now += dying.lease + timedelta(seconds=1)
    totals = work(
        engine,
        settings=settings,
        policies=POLICIES,
        config=WorkerConfig(name="adopting"),
        until_empty=True,
        max_wait=timedelta(0),
        clock=clock,
    )

    assert totals.claimed == 0  # nothing was run a second time
    with Session(engine) as session:
        jobs = {
            email: job
            for job, email in session.exec(
                select(Job, Employee.email).join(Employee, col(Employee.id) == col(Job.employee_id))
            ).all()
        }
        run = session.exec(select(Run)).one()
    assert (jobs[here].state, jobs[here].outcome, jobs[here].attempts) == (
        JobState.SUCCEEDED,
        "changed",
        1,
    )
    assert jobs[away].state == JobState.QUEUED  # retried after a backoff
    assert (jobs[away].last_error or "").startswith("fleet host gone.invalid: host unreachable")
    assert (run.status, run.finished_at) == ("failed (worker died)", clock.now)
    assert replica.client.account_state(Platform.LINKEDIN, here).toggle_changes == {
        "data_for_ai_improvement": 1
    }
