"""Re-verification: a read-only re-check finds drift, and the opt-out runs again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from orchestrator.consent.models import Consent, ConsentState
from orchestrator.core.db import session_scope
from orchestrator.flows.execute import WorkerConfig, run_cycle
from orchestrator.jobs.models import Job, JobPurpose, JobState
from orchestrator.jobs.queue import queue_verifications
from orchestrator.policies import load_policies
from orchestrator.replica import Platform
from tests import factories
from tests.support import Clock, worker_settings

pytestmark = [pytest.mark.browser, pytest.mark.ansible]

REPO = Path(__file__).resolve().parents[2]
POLICIES = load_policies(REPO / "policies")
TOGGLE = "linkedin-genai-training"
# The engine checks batch deadlines against the real clock, so the test starts at the real time.
NOW = datetime.now(UTC).replace(microsecond=0)


def test_drift_is_detected_read_only_and_repaired(
    replica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    email = f"drift-{'pg' if database_url.startswith('postgresql') else 'lite'}@example.com"
    settings = worker_settings(tmp_path, database_url=database_url, replica_url=replica.base_url)
    factories.consenting_employees(
        engine,
        replica_url=replica.base_url,
        secret=settings.secret(),
        people={email: ()},
        policies={TOGGLE: POLICIES.get(TOGGLE).version},
        now=NOW,
    )
    clock = Clock(NOW)
    worker = WorkerConfig(name="w", forks=1)
    assert (
        run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=clock).claimed
        == 1
    )

    replica.client.drift(Platform.LINKEDIN, email, "data_for_ai_improvement", enabled=True)
    clock.now = NOW + timedelta(days=31)
    with session_scope(engine) as session:
        assert (
            queue_verifications(session, older_than=timedelta(days=30), now=clock.now, actor="t")
            == 1
        )
        # Already queued: a second call adds nothing.
        assert (
            queue_verifications(session, older_than=timedelta(days=30), now=clock.now, actor="t")
            == 0
        )

    run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=clock)
    state = replica.client.account_state(Platform.LINKEDIN, email)
    assert state.toggles["data_for_ai_improvement"] is True  # the re-check never clicks
    assert state.toggle_changes["data_for_ai_improvement"] == 1
    with Session(engine) as session:
        check = session.exec(select(Job).where(Job.purpose == JobPurpose.VERIFY)).one()
        assert (check.state, check.outcome) == (JobState.SUCCEEDED, "drifted")
        repair = session.exec(
            select(Job).where(Job.purpose == JobPurpose.OPT_OUT, Job.state == JobState.QUEUED)
        ).one()
        assert repair.consent_id == check.consent_id

    run_cycle(engine, settings=settings, policies=POLICIES, worker=worker, clock=clock)
    state = replica.client.account_state(Platform.LINKEDIN, email)
    assert state.toggles["data_for_ai_improvement"] is False
    assert state.toggle_changes["data_for_ai_improvement"] == 2
    with Session(engine) as session:
        assert session.get(Job, repair.id).state == JobState.SUCCEEDED  # type: ignore[union-attr]

    # Once consent is withdrawn, re-checks stop.
    with session_scope(engine) as session:
        session.execute(update(Consent).values(state=ConsentState.REVOKED))
    clock.now += timedelta(days=31)
    with session_scope(engine) as session:
        assert (
            queue_verifications(session, older_than=timedelta(days=30), now=clock.now, actor="t")
            == 0
        )
        assert not session.exec(select(Job).where(col(Job.state) == JobState.QUEUED)).all()
