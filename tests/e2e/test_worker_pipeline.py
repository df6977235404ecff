"""The worker loop records one batch while the next one runs, and never lets that overlap
change what a strictly serial worker would have done."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from orchestrator.core.settings import Settings
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.flows.execute import CycleReport, WorkerConfig
from orchestrator.jobs.models import Job, JobState, Run
from orchestrator.policies import load_policies
from orchestrator.replica import Platform
from orchestrator.worker.loop import work
from tests import factories
from tests.support import assert_each_job_done_once, worker_settings

pytestmark = [pytest.mark.browser, pytest.mark.ansible]

REPO = Path(__file__).resolve().parents[2]
POLICIES = load_policies(REPO / "policies")
TOGGLE = "linkedin-genai-training"


def _prefix(database_url: str, name: str) -> str:
    return f"{'pg' if database_url.startswith('postgresql') else 'lite'}-{name}"


def _consenting(
    engine: Engine,
    replica_url: str,
    settings: Settings,
    emails: list[str],
    *,
    behaviours: tuple[str, ...] = (),
) -> None:
    """Employees who approved the toggle opt-out, their replica accounts as `behaviours` say."""
    factories.consenting_employees(
        engine,
        replica_url=replica_url,
        secret=settings.secret(),
        people=dict.fromkeys(emails, behaviours),
        policies={TOGGLE: POLICIES.get(TOGGLE).version},
        now=datetime.now(UTC),
    )


def test_batches_are_recorded_while_the_next_one_runs(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    emails = [f"{_prefix(database_url, 'pipe')}-{n}@example.com" for n in range(5)]
    settings = worker_settings(tmp_path, database_url=database_url, replica_url=replica.base_url)
    _consenting(engine, replica.base_url, settings, emails)
    heard: list[tuple[int, int]] = []

    def on_cycle(report: CycleReport, due: int, later: int) -> None:
        heard.append((report.claimed, sum(report.states.values())))

    totals = work(
        engine,
        settings=settings,
        policies=POLICIES,
        config=WorkerConfig(name="pipe-worker", batch_size=2, forks=1),
        until_empty=True,
        poll_seconds=0.2,
        on_cycle=on_cycle,
    )

    # Every cycle is told once, in order, with every job of its batch recorded.
    assert heard == [(2, 2), (2, 2), (1, 1), (0, 0)]
    assert (totals.cycles, totals.claimed) == (3, 5)  # three runs; an idle pass is no run
    assert totals.states == {"succeeded": 5}
    jobs = assert_each_job_done_once(engine)  # no job was run twice
    with Session(engine) as session:
        assert {record.job_id for record in session.exec(select(EvidenceRecord))} == {
            job.id for job in jobs
        }
        runs = session.exec(select(Run).order_by(col(Run.id))).all()
    assert [run.job_count for run in runs] == [2, 2, 1]
    # Each batch after the first was claimed and started before the one before it was recorded.
    for earlier, later in pairwise(runs):
        assert earlier.finished_at is not None and later.started_at < earlier.finished_at
    for email in emails:
        state = replica.client.account_state(Platform.LINKEDIN, email)
        assert state.toggle_changes["data_for_ai_improvement"] == 1


def _engine_done(run: Run) -> datetime:
    """When the run's engine ended on its host (its command task's result, in the run's
    event log): its browser's last task was over by then."""
    assert run.event_log_path is not None
    for path in Path(run.event_log_path).glob("*.json"):
        event = json.loads(path.read_text(encoding="utf-8"))
        data = event.get("event_data", {})
        if event["event"] == "runner_on_ok" and data.get("task_action", "").endswith("command"):
            return datetime.fromisoformat(event["created"])
    raise AssertionError(f"run {run.id} has no engine result in its event log")


def _three_runs(
    replica, engine: Engine, database_url: str, tmp_path: Path, *, name: str, pace: float
) -> list[Run]:
    """Six employees through the worker in batches of two; the runs, once all succeeded."""
    emails = [f"{_prefix(database_url, name)}-{n}@example.com" for n in range(6)]
    settings = worker_settings(
        tmp_path, database_url=database_url, replica_url=replica.base_url, pace_per_minute=pace
    )
    _consenting(engine, replica.base_url, settings, emails)
    totals = work(
        engine,
        settings=settings,
        policies=POLICIES,
        config=WorkerConfig(name=f"{name}-worker", batch_size=2, forks=1),
        until_empty=True,
        poll_seconds=0.2,
    )
    assert totals.states == {"succeeded": 6}
    for email in emails:  # each switch turned off once, however the runs overlapped
        state = replica.client.account_state(Platform.LINKEDIN, email)
        assert state.toggle_changes["data_for_ai_improvement"] == 1
    assert len(assert_each_job_done_once(engine)) == 6  # no job was run twice
    with Session(engine) as session:
        return list(session.exec(select(Run).order_by(col(Run.id))).all())


def test_without_pacing_the_next_run_starts_up_while_the_last_one_works(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    runs = _three_runs(replica, engine, database_url, tmp_path, name="early", pace=0)

    assert [run.job_count for run in runs] == [2, 2, 2]
    # The first run gave the worker a task's time; the third run was claimed and started
    # while the second one's browser was still at work, to follow it without a gap.
    assert runs[1].started_at > _engine_done(runs[0])
    assert runs[2].started_at < _engine_done(runs[1])


def test_with_pacing_each_run_is_claimed_after_the_last_one_worked(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    # Paced, the platform's pace sets the rate and claims stay as late as they can be.
    runs = _three_runs(replica, engine, database_url, tmp_path, name="paced", pace=600)

    for earlier, later in pairwise(runs):
        assert later.started_at > _engine_done(earlier)


def test_a_batch_that_pauses_its_policy_is_recorded_before_the_next_claim(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    prefix = _prefix(database_url, "broken")
    emails = [f"{prefix}-{n}@example.com" for n in range(4)]
    settings = worker_settings(
        tmp_path,
        database_url=database_url,
        replica_url=replica.base_url,
        policy_pause_after_failures=2,
    )
    # The page changed: the setting is not where it was.
    _consenting(engine, replica.base_url, settings, emails, behaviours=("setting_absent",))
    stop = threading.Event()

    def on_cycle(report: CycleReport, due: int, later: int) -> None:
        if not report.claimed:
            stop.set()  # the paused policy's jobs stay due but are not claimed

    work(
        engine,
        settings=settings,
        policies=POLICIES,
        config=WorkerConfig(name="pause-worker", batch_size=2, forks=1),
        until_empty=False,
        poll_seconds=0.2,
        stop=stop,
        on_cycle=on_cycle,
    )

    # The first batch's two identical failures paused the policy before anything else was
    # claimed: the other two employees' jobs wait for a review instead of failing too.
    with Session(engine) as session:
        states = sorted(job.state for job in session.exec(select(Job)).all())
        assert states == [JobState.FAILED, JobState.FAILED, JobState.QUEUED, JobState.QUEUED]
        assert len(session.exec(select(Run)).all()) == 1
