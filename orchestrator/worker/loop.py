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
from orchestrator.flows.execute import (
    BatchRun,
    CycleReport,
    PaceCarry,
    WorkerConfig,
    claim_batch,
)
from orchestrator.jobs.queue import (
    WaitingJobs,
    next_due_at,
    pending_count,
    queue_verifications,
    waiting_jobs,
)
from orchestrator.notifications.delivery import SmtpSettings, deliver_due
from orchestrator.policies import PolicySet
from orchestrator.reports.upkeep import keep_reports_current


@dataclass
class WorkerTotals:
    """What a worker did since it started: its runs (batches recorded), jobs and their states,
    and, once it stopped, the open jobs it left and what they wait for."""

    cycles: int = 0
    claimed: int = 0
    states: Counter[str] = field(default_factory=Counter)
    left_waiting: list[WaitingJobs] = field(default_factory=list)

    def add(self, report: CycleReport) -> None:
        self.cycles += 1
        self.claimed += report.claimed
        self.states.update(report.states)


def plan_pass(
    engine: Engine, *, settings: Settings, policies: PolicySet, worker: str, now: datetime
) -> None:
    """What decides which jobs may be claimed: launch due campaigns, expire overdue requests,
    queue reminders and re-checks, release and hold jobs by run window."""
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


# How long a pass records status history hours: a backfill (the hours no worker ran; an
# upgrade records them all at once) takes many ordinary hours per pass, never holding up the
# runs for long; an hour that changed everyone (about 10 s at 100,000 employees) is one
# pass's work on its own.
HISTORY_BUDGET = timedelta(seconds=2)


def mail_and_history_pass(
    engine: Engine, *, settings: Settings, worker: str, now: datetime
) -> None:
    """What no claim depends on: send due mail, refresh the reports' projection, record the
    status history. The worker does it once the next run has started, not before its claim."""
    deliver_due(engine, smtp=SmtpSettings.from_settings(settings), actor=f"worker:{worker}")
    # So that reports find little left to take in.
    keep_reports_current(engine, now=now, history_budget=HISTORY_BUDGET)


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
    and no retry falls due within `max_wait` (jobs waiting longer are left for later, and so
    are jobs that wait for a person: a paused policy's or campaign's). The totals list what
    was left waiting.

    Cycles overlap by one step: once a run's results are back, the next batch is claimed and
    started, and the previous one is recorded while it runs, so the fleet's browsers do not
    wait for the database; each pass's mail and reports' upkeep also wait until the run has
    started (`plan_pass` before the claim, `mail_and_history_pass` after). Claims stay just
    in time (consent, holds and pauses are checked as before); at most one recording is
    under way at a time; a batch that may pause a policy is recorded before the next claim.
    `on_cycle` hears of every cycle in order, once it is recorded.

    Without pacing, the browsers' work is all that limits the rate, and each run's start-up
    (Ansible, the engine, a browser) would leave them idle between batches. The next batch
    is then claimed and started early, so that its first task follows the current run's
    last one (`_start_early`): two runs overlap for the time one takes to start up. Only
    after a run whose failures could not pause a policy; after one that could, the next
    claim waits for its recording again.
    """
    stop = stop or threading.Event()
    totals = WorkerTotals()
    pacing = PaceCarry(settings.pace_per_minute)
    unrecorded: BatchRun | None = None  # ran; recorded while the next batch runs
    running: BatchRun | None = None
    early: BatchRun | None = None  # claimed and started before `running` was done
    task_seconds: float | None = None  # a task's usual time in the last run with tasks
    may_start_early = settings.pace_per_minute <= 0

    def record(batch: BatchRun) -> None:
        report = batch.record(settings=settings, policies=policies)
        totals.add(report)
        tell(report)

    def tell(report: CycleReport) -> tuple[int, datetime | None]:
        with session_scope(engine) as session:
            due, later = pending_count(session, now=clock())
            upcoming = next_due_at(session)
        if on_cycle is not None:
            on_cycle(report, due, later)
        return due, upcoming

    def claim_and_start() -> BatchRun | None:
        plan_pass(engine, settings=settings, policies=policies, worker=config.name, now=clock())
        batch = claim_batch(
            engine, settings=settings, policies=policies, worker=config, clock=clock
        )
        if batch is not None:
            batch.start(settings=settings, pacing=pacing)
        return batch

    try:
        while not stop.is_set():
            if early is not None:  # claimed and started while the last run was at work
                running, early = early, None
            else:
                running = claim_and_start()
            # Mail (receipts pile up with every batch) and reports' upkeep wait for no claim:
            # done while the run starts up, they keep the fleet's browsers from waiting.
            mail_and_history_pass(engine, settings=settings, worker=config.name, now=clock())
            recorded = unrecorded is not None
            if unrecorded is not None:
                record(unrecorded)  # while the next batch's run starts up and works
                unrecorded = None
            if running is None:
                due, upcoming = tell(CycleReport(claimed=0))
                if due and recorded:
                    continue  # what was just recorded may have queued work (a drift repair)
                # Due but not claimable (another worker's claim in progress) is waited for
                # like the rest, never polled in a tight loop.
                wait = poll_seconds
                if until_empty:
                    # What a paused policy or campaign holds has no due time: waiting would
                    # never end, only a person's resume releases it.
                    if upcoming is None or upcoming - clock() > max_wait:
                        break
                    remaining = (upcoming - clock()).total_seconds()
                    # Past due but not taken (a dead worker's run still at work): look again
                    # shortly.
                    wait = min(poll_seconds, remaining) if remaining > 0 else poll_seconds
                stop.wait(wait)
                continue
            if may_start_early and task_seconds is not None:
                early = _start_early(
                    running, task_seconds, stop=stop, claim_and_start=claim_and_start
                )
            running.wait(pacing=pacing)
            if (measured := running.seconds_per_task()) is not None:
                task_seconds = measured
            if running.may_pause_a_policy:
                task_seconds = None  # no early claim until a run's failures could pause nothing
                record(running)
            else:
                unrecorded = running
            running = None
        if unrecorded is not None:
            record(unrecorded)
            unrecorded = None
        if early is not None:  # started before the stop: recorded now, not left to expire
            early.wait(pacing=pacing)
            record(early)
            early = None
        with session_scope(engine) as session:
            totals.left_waiting = waiting_jobs(session, now=clock())
    finally:
        # Interrupted (Ctrl-C, a database error): leave the leases to expire; the next
        # worker adopts what the runs finished and requeues the rest.
        for batch in (running, early, unrecorded):
            if batch is not None:
                batch.abandon()
    return totals


def _start_early(
    running: BatchRun,
    task_seconds: float,
    *,
    stop: threading.Event,
    claim_and_start: Callable[[], BatchRun | None],
) -> BatchRun | None:
    """Claim and start the next batch when its first task would follow `running`'s last one
    (tasks of `task_seconds` each), if `running` is still at work then; the batch started."""
    start_at = running.early_start_at(task_seconds)
    if start_at is None or running.handed_back_by(start_at) or stop.is_set():
        return None
    return claim_and_start()
