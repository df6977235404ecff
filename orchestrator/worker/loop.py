"""The worker's loop, shared by `optout worker` and the demo."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from orchestrator.campaigns.service import run_due
from orchestrator.consent.config import ConsentConfig
from orchestrator.core.clock import utcnow
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.flows.execute import CycleReport, WorkerConfig, run_cycle
from orchestrator.jobs.queue import next_due_at, pending_count, queue_verifications
from orchestrator.notifications.delivery import SmtpSettings, deliver_due
from orchestrator.policies import PolicySet


@dataclass
class WorkerTotals:
    """What a worker did since it started."""

    cycles: int = 0
    claimed: int = 0
    states: Counter[str] = field(default_factory=Counter)

    def add(self, report: CycleReport) -> None:
        self.cycles += 1
        self.claimed += report.claimed
        self.states.update(report.states)


def scheduler_pass(
    engine: Engine, *, settings: Settings, policies: PolicySet, worker: str, now: datetime
) -> None:
    """Launch due campaigns, expire overdue requests, queue reminders and re-checks, send mail."""
    config = ConsentConfig.from_settings(settings, policies=policies)
    with session_scope(engine) as session:
        queue_verifications(
            session,
            older_than=timedelta(days=settings.reverify_after_days),
            now=now,
            actor=f"worker:{worker}",
        )
        # After the re-checks are queued, so that run windows hold those too.
        run_due(session, config=config, now=now, actor=f"worker:{worker}")
    deliver_due(engine, smtp=SmtpSettings.from_settings(settings), actor=f"worker:{worker}")


def work(
    engine: Engine,
    *,
    settings: Settings,
    policies: PolicySet,
    config: WorkerConfig,
    until_empty: bool,
    poll_seconds: float = 5.0,
    max_wait: timedelta = timedelta(minutes=5),
    stop: threading.Event | None = None,
    on_cycle: Callable[[CycleReport, int, int], None] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> WorkerTotals:
    """Run cycles until `stop` is set; with `until_empty`, also stop once nothing is due now
    and no retry falls due within `max_wait` (jobs waiting longer are left for later)."""
    stop = stop or threading.Event()
    totals = WorkerTotals()
    while not stop.is_set():
        scheduler_pass(
            engine, settings=settings, policies=policies, worker=config.name, now=clock()
        )
        report = run_cycle(engine, settings=settings, policies=policies, worker=config, clock=clock)
        totals.add(report)
        with session_scope(engine) as session:
            due, later = pending_count(session, now=clock())
            upcoming = next_due_at(session)
        if on_cycle is not None:
            on_cycle(report, due, later)
        if report.claimed or due:
            continue
        wait = poll_seconds
        if until_empty:
            if upcoming is None or upcoming - clock() > max_wait:
                break
            remaining = (upcoming - clock()).total_seconds()
            # Past due but not taken (a dead worker's run still at work): look again shortly.
            wait = min(poll_seconds, remaining) if remaining > 0 else poll_seconds
        stop.wait(wait)
    return totals
