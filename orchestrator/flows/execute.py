"""One worker cycle: claim due jobs, run them across the fleet in one ansible-runner run, record.

Three short transactions around the slow part: claim (after adopting or requeuing what dead
workers left, and closing their runs), read what the tasks need, then — with no transaction
open while browsers work — one run of `playbooks/optout.yml` over the employees' fleet hosts,
a heartbeat keeping the leases alive until the batch is recorded, and finally one transaction
per job recording its outcome, evidence and audit events. The steps are separate
(`claim_batch`, then the `BatchRun`'s `start`, `wait` and `record`) so that the worker can
record one batch while the next one runs; `run_cycle` does them one after the other.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tarfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, exists, func, or_, update
from sqlmodel import Session, col, select

from orchestrator.audit.service import record
from orchestrator.automation.batch import encode_batch, new_batch_key
from orchestrator.automation.outcomes import EngineTask, Outcome, OutcomeStatus, outcome_from_dict
from orchestrator.consent.config import ConsentConfig
from orchestrator.consent.explanation import platform_name
from orchestrator.consent.service import ProofItem, queue_receipt
from orchestrator.core.clock import utcnow
from orchestrator.core.db import begin_writing, is_postgresql, session_scope
from orchestrator.core.settings import Settings
from orchestrator.employees.models import Employee
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.evidence.service import EvidenceIntegrityError, evidence_for_job, keep_evidence
from orchestrator.flows.engine_tasks import engine_task
from orchestrator.jobs.models import WORKER_DIED, Job, JobPurpose, JobState, Run, RunStatus
from orchestrator.jobs.queue import (
    JobClaim,
    JobResult,
    claim_jobs,
    failure_signature,
    finish_job,
    heartbeat,
    note_policy_result,
    queue_repair,
    requeue_expired,
)
from orchestrator.notifications.outbox import enqueue
from orchestrator.notifications.webhook import post_event
from orchestrator.policies import PolicySet
from orchestrator.runner.ansible import (
    FleetHost,
    PlaybookRun,
    RunResult,
    fetched_archives,
    has_ended,
    new_private_data_dir,
    read_run,
    start_playbook,
    still_running,
)

LOCAL_HOST = "localhost"
EARLY_MARGIN = 0.05  # of a run's task time: how much earlier than planned the next one starts
RECEIPT_LABELS = {"changed": "Opted out", "already_compliant": "Already opted out"}


@dataclass(frozen=True)
class WorkerConfig:
    """How one worker process takes and runs work."""

    name: str
    batch_size: int = 20
    lease: timedelta = timedelta(minutes=15)
    # How long one task may take at most: hosts start no task later than lease − this, so a
    # dead worker's run is over before its jobs' leases expire.
    task_allowance: timedelta = timedelta(minutes=3)
    forks: int = 5
    # Tasks each host runs at once, each in its own context of the host's one browser: while
    # one page waits on the site (a save, a load) another works.
    contexts: int = 2
    run_timeout_seconds: int | None = None


@dataclass(frozen=True)
class CycleReport:
    """What one cycle did: how many jobs it took and how each ended."""

    claimed: int
    states: Counter[str] = field(default_factory=Counter)
    run_id: int | None = None


def result_of(outcome: Outcome) -> JobResult:
    """The queue's view of an engine outcome."""
    status = outcome.status
    if status is OutcomeStatus.NEEDS_EMPLOYEE_ACTION:
        return JobResult(
            status.value, outcome.employee_action or outcome.message, needs_employee=True
        )
    if status is OutcomeStatus.FAILED:
        where = f" (at {outcome.step})" if outcome.step else ""
        return JobResult(
            status.value,
            outcome.message + where,
            transient=outcome.transient,
            retry_after_seconds=outcome.retry_after_seconds,
        )
    # changed, already compliant, not applicable, and a verification that found drift: the
    # attempt did its work; the outcome says what it found.
    return JobResult(status.value, outcome.message, succeeded=True)


def pace_offsets(
    tasks: Sequence[EngineTask],
    *,
    per_minute: float,
    rng: random.Random | None = None,
    first: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """When each task may start, in seconds after the run starts: per platform, across every
    host of the run, one task per 60/`per_minute` seconds, each gap jittered by ±25% so the
    fleet never knocks at a regular beat; a platform's first task no earlier than its `first`
    offset (what the previous run left of its gap). `per_minute` 0 means no pacing."""
    if per_minute <= 0:
        return {}
    chance = rng or random.Random()  # noqa: S311 - jitter, not secrecy
    gap = 60.0 / per_minute
    offsets: dict[str, float] = {}
    next_start = dict(first or {})
    for task in tasks:
        platform = task.policy.policy.platform
        start = max(next_start.get(platform, 0.0), 0.0)
        offsets[task.task_id] = start
        next_start[platform] = start + gap * chance.uniform(0.75, 1.25)
    return offsets


@dataclass
class PaceCarry:
    """Pacing across one worker's runs: when each platform may next start a task.

    A run's hosts pace the tasks within it; without this, the next run's first task could
    follow the previous run's last one closer than the pace allows (runs follow each other
    quickly once the worker records one batch while the next one runs).
    """

    per_minute: float
    not_before: dict[str, datetime] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def first_offsets(self, *, now: datetime) -> dict[str, float]:
        """Per platform, the earliest start of its first task, in seconds after `now`."""
        return {
            platform: (at - now).total_seconds()
            for platform, at in self.not_before.items()
            if at > now
        }

    def ran(self, platforms: Collection[str], *, ended: datetime) -> None:
        """A run that started tasks of `platforms` ended at `ended`: each of its tasks
        started before then, so the next may start one (jittered) gap after it."""
        if self.per_minute <= 0:
            return
        gap = 60.0 / self.per_minute
        for platform in platforms:
            self.not_before[platform] = ended + timedelta(
                seconds=gap * self.rng.uniform(0.75, 1.25)
            )


def _batch_limit(worker: WorkerConfig, settings: Settings) -> int:
    """The batch size, but no more tasks than pacing lets start before the batch's deadline."""
    if settings.pace_per_minute <= 0:
        return worker.batch_size
    window = (worker.lease - worker.task_allowance).total_seconds()
    slowest_gap = 60.0 / settings.pace_per_minute * 1.25
    return max(1, min(worker.batch_size, int(window / slowest_gap)))


def _fleet_host(name: str | None) -> FleetHost:
    if not name or name in {LOCAL_HOST, "127.0.0.1"}:
        return FleetHost(LOCAL_HOST)
    return FleetHost(name, connection="ssh")


def _prior_confirmation(
    session: Session, *, claim: JobClaim, evidence_root: Path
) -> dict[str, str] | None:
    """The confirmation (case number) of an earlier successful submission of this form."""
    path = session.exec(
        select(EvidenceRecord.path)
        .join(Job, col(Job.id) == col(EvidenceRecord.job_id))
        .where(
            Job.employee_id == claim.employee_id,
            Job.policy_id == claim.policy_id,
            EvidenceRecord.kind == "confirmation",
        )
        .order_by(col(EvidenceRecord.id).desc())
    ).first()
    if path is None:
        return None
    captured: dict[str, str] = json.loads((evidence_root / path).read_text(encoding="utf-8"))
    return captured


def _task_id(claim: JobClaim) -> str:
    return f"job-{claim.job_id}-attempt-{claim.attempt}"


def _prepare(
    session: Session,
    claims: list[JobClaim],
    *,
    settings: Settings,
    policies: PolicySet,
    now: datetime,
) -> tuple[dict[int, tuple[FleetHost, EngineTask]], dict[int, JobResult]]:
    """Engine tasks by job (with their host), and results decided without running anything."""
    tasks: dict[int, tuple[FleetHost, EngineTask]] = {}
    decided: dict[int, JobResult] = {}
    evidence_root = settings.resolved_evidence_dir
    for claim in claims:
        if claim.policy_id not in policies:
            decided[claim.job_id] = JobResult("failed", f"policy {claim.policy_id} was removed")
            continue
        loaded = policies.get(claim.policy_id)
        if loaded.version != claim.policy_version:
            decided[claim.job_id] = JobResult(
                "failed",
                f"policy {claim.policy_id} changed since the employee consented "
                f"(version {claim.policy_version[:12]}, now {loaded.short_version}); "
                "ask for consent to the new version",
            )
            continue
        employee = session.get(Employee, claim.employee_id)
        assert employee is not None  # a foreign key guarantees it
        if not employee.active:
            decided[claim.job_id] = JobResult("failed", "the employee left the directory")
            continue
        prior = None
        if loaded.policy.submit_once:
            prior = _prior_confirmation(session, claim=claim, evidence_root=evidence_root)
        task = engine_task(
            session,
            loaded=loaded,
            employee_email=employee.email,
            secret=settings.secret(),
            evidence_dir=evidence_root / "incoming",
            task_id=_task_id(claim),
            replica_url=settings.replica_url,
            mode="verify" if claim.purpose == JobPurpose.VERIFY else "opt_out",
            on=now.date(),
            prior_confirmation=prior,
        )
        tasks[claim.job_id] = (_fleet_host(employee.fleet_host), task)
    return tasks, decided


class _Heartbeat:
    """Renews the worker's leases on a batch until it is recorded (a thread, its own session)."""

    def __init__(
        self,
        engine: Engine,
        *,
        worker: WorkerConfig,
        job_ids: list[int],
        run_id: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine, self._worker, self._job_ids, self._clock = engine, worker, job_ids, clock
        self._run_id = run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    def _beat(self) -> None:
        interval = self._worker.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            with session_scope(self._engine) as session:
                heartbeat(
                    session,
                    worker=self._worker.name,
                    job_ids=self._job_ids,
                    now=self._clock(),
                    lease=self._worker.lease,
                    run_id=self._run_id,
                )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class _UnreadableArchiveError(Exception):
    """A host's result archive that cannot be read: truncated, not a gzip'd tar, a bad member."""


def _read_archive(path: Path, into: Path) -> dict[str, Outcome]:
    """Unpack a host's archive afresh (evidence may have been moved out before); by task id."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    try:
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(into, filter="data")  # refuses links and paths leaving `into`
    except EOFError as exc:
        raise _UnreadableArchiveError("it is truncated") from exc
    except (tarfile.TarError, OSError, zlib.error) as exc:
        raise _UnreadableArchiveError(str(exc) or type(exc).__name__) from exc
    outcomes = {}
    for found in into.glob("*/outcome.json"):
        try:
            outcome = outcome_from_dict(json.loads(found.read_text(encoding="utf-8")))
        except (KeyError, TypeError, ValueError) as exc:
            member = found.relative_to(into).as_posix()
            raise _UnreadableArchiveError(
                f"{member} is not an outcome ({type(exc).__name__}: {exc})"
            ) from exc
        outcomes[outcome.task_id] = outcome
    return outcomes


@dataclass
class _Unpacked:
    """What a run's hosts sent back: outcomes by task id, where each one's files are, and
    per host, why its archive could not be read."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)


def _unpack_run(private_data_dir: Path, archives: Mapping[str, Path]) -> _Unpacked:
    """Read the archives the run fetched whole (by host); one that cannot be read costs only
    its own host's outcomes, which are then retried."""
    unpacked = _Unpacked()
    for host, archive in sorted(archives.items()):
        into = private_data_dir / "unpacked" / host
        try:
            outcomes = _read_archive(archive, into)
        except _UnreadableArchiveError as exc:
            unpacked.unreadable[host] = f"its result archive could not be read: {exc}"
            continue
        unpacked.outcomes.update(outcomes)
        unpacked.sources.update(dict.fromkeys(outcomes, into))
    return unpacked


def _archives(run_result: RunResult) -> dict[str, Path]:
    """The archives the run fetched whole, by host."""
    return {name: host.archive for name, host in run_result.hosts.items() if host.archive}


def _host_failure(host: str, *, unpacked: _Unpacked, run_result: RunResult | None) -> JobResult:
    """The retryable result of a job whose outcome did not come back from its host."""
    reason = unpacked.unreadable.get(host)
    if reason is None and run_result is not None and host in run_result.hosts:
        reason = run_result.hosts[host].error
    return JobResult(
        "failed", f"fleet host {host}: {reason or 'no outcome came back'}", transient=True
    )


def _recover_orphaned_runs(
    session: Session,
    *,
    settings: Settings,
    config: ConsentConfig,
    now: datetime,
    quiet_for: timedelta,
) -> None:
    """Record what dead workers' runs finished after all, instead of running it again, put
    back the jobs that got nothing from them, and close those runs.

    A worker killed mid-run leaves its ansible-playbook running; its hosts start no task after
    the batch's deadline, which falls before the lease expires, so by the time a lease has
    expired the run has finished and fetched its results. Adopting them is what keeps a form
    from being submitted twice; a run still at work is left open, its jobs waiting for it.
    A run that ended gives every job its outcome or its host's failure; one that never said
    how it ended (its process died too, or it ran on a machine this one cannot see) is
    closed as abandoned.
    """
    for run in _orphaned_runs(session, now=now, quiet_for=quiet_for):
        private = Path(run.private_data_dir) if run.private_data_dir else None
        if private is not None and still_running(private):
            continue  # its orphaned run is still at work: wait for its result
        jobs = session.exec(
            select(Job).where(
                Job.run_id == run.id,
                Job.state == JobState.RUNNING,
                col(Job.lease_expires_at) < now,
            )
        ).all()
        ended: RunResult | None = None  # how the run ended, if it said so
        unpacked = _Unpacked()
        if private is not None:
            run_result = read_run(private)
            unpacked = _unpack_run(private, _archives(run_result))
            ended = run_result if has_ended(private) else None
        for job in jobs:
            _adopt_job(
                session,
                job,
                unpacked=unpacked,
                ended=ended,
                settings=settings,
                config=config,
                now=now,
            )
        requeue_expired(session, now=now, run_id=run.id)
        _close_orphaned_run(session, run, ended=ended, now=now)


def _orphaned_runs(session: Session, *, now: datetime, quiet_for: timedelta) -> Sequence[Run]:
    """Runs still open whose worker is gone: every running job's lease has expired, or no
    job runs any more and neither the run's heartbeat nor any of its jobs has changed for
    `quiet_for` (the worker died after recording its jobs, or they were cancelled: a live
    worker still beats for a run whose jobs were all cancelled, so it is left open).

    On PostgreSQL each run is locked (not its key: jobs still point at it), and one another
    worker is recovering is skipped, so that no outcome is adopted (and no evidence kept)
    twice; its jobs are left to that worker too (`requeue_expired`).
    """
    of_run = col(Job.run_id) == col(Run.id)
    running = and_(of_run, col(Job.state) == JobState.RUNNING)
    leased = exists().where(running, col(Job.lease_expires_at) >= now)
    expired = exists().where(running, col(Job.lease_expires_at) < now)
    quiet = and_(
        func.coalesce(col(Run.heartbeat_at), col(Run.started_at)) < now - quiet_for,
        ~exists().where(of_run, col(Job.updated_at) >= now - quiet_for),
    )
    query = select(Run).where(Run.status == RunStatus.RUNNING, ~leased, or_(expired, quiet))
    if is_postgresql(session.get_bind()):  # type: ignore[arg-type]
        query = query.with_for_update(skip_locked=True, key_share=True)
    return session.exec(query.order_by(col(Run.id))).all()


def _adopt_job(
    session: Session,
    job: Job,
    *,
    unpacked: _Unpacked,
    ended: RunResult | None,
    settings: Settings,
    config: ConsentConfig,
    now: datetime,
) -> None:
    """Record a dead worker's job as its run left it; leave it to be requeued if the run
    said nothing about it (it never said how it ended, and its host sent back nothing)."""
    # A running job has both.
    assert job.id is not None
    assert job.lease_owner is not None
    claim = JobClaim(
        job.id,
        job.employee_id,
        job.consent_id,
        job.campaign_id,
        job.policy_id,
        job.policy_version,
        job.purpose,
        job.attempts,
    )
    outcome = unpacked.outcomes.get(_task_id(claim))
    if outcome is not None:
        source = unpacked.sources[_task_id(claim)]
        result = _keep_and_translate(session, claim, outcome, source, settings, now)
    else:
        employee = session.get(Employee, job.employee_id)
        assert employee is not None  # a foreign key guarantees it
        host = _fleet_host(employee.fleet_host).name
        if ended is None and host not in unpacked.unreadable:
            return
        result = _host_failure(host, unpacked=unpacked, run_result=ended)
    _finish(
        session, claim, result, worker=job.lease_owner, settings=settings, config=config, now=now
    )


def _close_orphaned_run(
    session: Session, run: Run, *, ended: RunResult | None, now: datetime
) -> None:
    """End a dead worker's run: how it ended and that its worker died, or abandoned."""
    if ended is None:
        status = RunStatus.ABANDONED.value
    else:
        status = ended.status + WORKER_DIED
        run.return_code = ended.return_code
        if ended.event_log is not None:
            run.event_log_path = str(ended.event_log)
    run.status, run.finished_at = status, now
    session.add(run)
    record(
        session,
        actor="system:queue",
        action="run.abandoned" if ended is None else "run.adopted",
        subject_type="run",
        subject_id=run.id or 0,
        data={"worker": run.worker, "status": status},
        now=now,
    )


class BatchRun:
    """One claimed batch on its way: `start` its run, `wait` for it, `record` every job.

    From `start` until `record` (or `abandon`) a heartbeat renews the lease on every claimed
    job, so a batch waiting to be recorded while the next one runs keeps its jobs; a worker
    killed at any point leaves leases that expire, and the next worker adopts or requeues.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        claims: list[JobClaim],
        tasks: dict[int, tuple[FleetHost, EngineTask]],
        decided: dict[int, JobResult],
        run_id: int,
        private_data_dir: Path,
        worker: WorkerConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.claims, self.tasks, self.decided = claims, tasks, decided
        self.run_id, self.private_data_dir = run_id, private_data_dir
        self._engine, self._worker, self._clock = engine, worker, clock
        self._heartbeat = _Heartbeat(
            engine,
            worker=worker,
            job_ids=[claim.job_id for claim in claims],
            run_id=run_id,
            clock=clock,
        )
        self._playbook: PlaybookRun | None = None
        self.run_result: RunResult | None = None
        self._unpacked = _Unpacked()
        self._started: float | None = None  # time.monotonic() when its run started

    def start(self, *, settings: Settings, pacing: PaceCarry | None = None) -> None:
        """Start the run over the batch's hosts (nothing to start if every result is decided)."""
        self._heartbeat.start()
        by_host: dict[FleetHost, list[EngineTask]] = {}
        for host, task in self.tasks.values():
            by_host.setdefault(host, []).append(task)
        if not by_host:
            return
        key = new_batch_key()
        now = self._clock()
        not_after = now + self._worker.lease - self._worker.task_allowance
        start_after = pace_offsets(
            [task for _, task in self.tasks.values()],
            per_minute=settings.pace_per_minute,
            first=pacing.first_offsets(now=now) if pacing else None,
        )
        batches = {
            host: encode_batch(
                host_tasks,
                key=key,
                not_after=not_after,
                start_after=start_after,
                contexts=self._worker.contexts,
            )
            for host, host_tasks in by_host.items()
        }
        self._started = time.monotonic()
        self._playbook = start_playbook(
            batches=batches,
            key=key,
            playbooks_dir=settings.playbooks_dir,
            private_data_dir=self.private_data_dir,
            forks=self._worker.forks,
            timeout_seconds=self._worker.run_timeout_seconds,
        )

    def handed_back_by(self, until: float) -> bool:
        """Wait until the hosts have sent back their results, but no later than `until` (a
        `time.monotonic()` moment); whether they have (a run with nothing to run has)."""
        return self._playbook is None or self._playbook.handed_back(until=until)

    def wait(self, *, pacing: PaceCarry | None = None) -> None:
        """Wait for what the hosts send back and unpack it; the play may still be cleaning
        up on the hosts (`record` waits for its end), but no browser of this run still works."""
        if self._playbook is None:
            return
        if self._playbook.wait_for_archives():
            self.run_result = self._playbook.wait()
            archives = _archives(self.run_result)
        else:
            archives = fetched_archives(self.private_data_dir)
        if pacing is not None:
            pacing.ran(
                {task.policy.policy.platform for _, task in self.tasks.values()},
                ended=self._clock(),
            )
        self._unpacked = _unpack_run(self.private_data_dir, archives)

    def _result(self, claim: JobClaim) -> JobResult:
        """The job's result as the run left it, before its evidence is checked."""
        decided = self.decided.get(claim.job_id)
        if decided is not None:
            return decided
        host, _ = self.tasks[claim.job_id]
        outcome = self._unpacked.outcomes.get(_task_id(claim))
        if outcome is not None:
            return result_of(outcome)
        return _host_failure(host.name, unpacked=self._unpacked, run_result=self.run_result)

    def seconds_per_task(self) -> float | None:
        """How often a host of this run finished a task, once the run has been waited for:
        the mean time of its tasks over the contexts each host ran at once, leaving out tasks
        that took over thrice the median (they waited for a time-out, which says little of
        the next run); None if no task came back."""
        durations = [
            (outcome.finished_at - outcome.started_at).total_seconds()
            for claim in self.claims
            if claim.job_id in self.tasks
            and (outcome := self._unpacked.outcomes.get(_task_id(claim))) is not None
        ]
        if not durations:
            return None
        usual = 3 * statistics.median(durations)
        at_once = min(self._worker.contexts, self._busiest_host_tasks())
        return statistics.mean(duration for duration in durations if duration <= usual) / at_once

    def _busiest_host_tasks(self) -> int:
        """How many tasks the host with the most of this batch's tasks runs."""
        return max(Counter(host.name for host, _ in self.tasks.values()).values(), default=0)

    def early_start_at(self, seconds_per_task: float) -> float | None:
        """When the next run should start (a `time.monotonic()` moment) so that, starting up
        as long as this one did, its first task follows this run's last one: this run's start
        plus its tasks' time, at `seconds_per_task` on its busiest host. None if it has no run
        under way. Runs vary by more than their start-up, so it aims a twentieth of the tasks'
        time early: a brief overlap costs less than idle browsers."""
        if self._started is None or self._playbook is None:
            return None
        tasks_time = self._busiest_host_tasks() * seconds_per_task
        return self._started + tasks_time * (1 - EARLY_MARGIN)

    @property
    def may_pause_a_policy(self) -> bool:
        """Whether recording may pause a policy: some job failed in a way no retry fixes.

        The next batch must then be claimed only after this one is recorded, so that a
        paused policy takes no more jobs, as if batches ran strictly one after another.
        """
        return any(
            not (result.succeeded or result.needs_employee or result.transient)
            for result in map(self._result, self.claims)
        )

    def record(self, *, settings: Settings, policies: PolicySet) -> CycleReport:
        """Record every job's outcome and evidence (a transaction each), then the run's end.

        A job whose outcome came back in its host's archive ends as that outcome says, even
        if the host failed afterwards (its clean-up): the run keeps that as a warning, since
        retrying would do the work on the platform twice.
        """
        engine, worker, clock = self._engine, self._worker, self._clock
        if self._playbook is not None and self.run_result is None:
            self.run_result = self._playbook.wait()  # the play's clean-up on the hosts
        config = ConsentConfig.from_settings(settings, policies=policies)
        states: Counter[str] = Counter()
        failed: list[tuple[JobClaim, str]] = []
        try:
            for claim in self.claims:
                with session_scope(engine) as session:
                    ran = claim.job_id not in self.decided
                    outcome = self._unpacked.outcomes.get(_task_id(claim)) if ran else None
                    if outcome is None:
                        result = self._result(claim)
                    else:
                        source = self._unpacked.sources[_task_id(claim)]
                        result = _keep_and_translate(
                            session, claim, outcome, source, settings, clock()
                        )
                    state = _finish(
                        session,
                        claim,
                        result,
                        worker=worker.name,
                        settings=settings,
                        config=config,
                        now=clock(),
                    )
                    states[state or "lost_lease"] += 1
                    if state == JobState.FAILED:
                        failed.append((claim, result.message))
                if state is not None and settings.webhook_url:
                    _post_job_event(engine, settings, claim, result, state=state, now=clock())
        finally:
            self._heartbeat.stop()
        if failed and settings.admin_email:
            with session_scope(engine) as session:
                _summarise_failures(
                    session, failed, worker=worker.name, settings=settings, now=clock()
                )
        run_result = self.run_result
        with session_scope(engine) as session:
            finished = session.get(Run, self.run_id)
            assert finished is not None
            finished.status = run_result.status if run_result else RunStatus.NOT_NEEDED
            finished.return_code = run_result.return_code if run_result else None
            if run_result and run_result.event_log:
                finished.event_log_path = str(run_result.event_log)
            finished.finished_at = clock()
            session.add(finished)
            for host in run_result.hosts.values() if run_result else ():
                if host.warning is not None:  # the jobs took their outcomes from its archive
                    record(
                        session,
                        actor=f"worker:{worker.name}",
                        action="run.host_warning",
                        subject_type="run",
                        subject_id=self.run_id,
                        data={"host": host.host, "warning": host.warning},
                        now=clock(),
                    )
        return CycleReport(claimed=len(self.claims), states=states, run_id=self.run_id)

    def abandon(self) -> None:
        """Stop renewing the leases without recording: the next worker adopts or requeues."""
        self._heartbeat.stop()


def claim_batch(
    engine: Engine,
    *,
    settings: Settings,
    policies: PolicySet,
    worker: WorkerConfig,
    clock: Callable[[], datetime] = utcnow,
) -> BatchRun | None:
    """Adopt or requeue what dead workers left, claim a batch and prepare its tasks and run."""
    config = ConsentConfig.from_settings(settings, policies=policies)
    with session_scope(engine) as session:
        # On SQLite, workers queue here: two must not both read a dead worker's run as
        # still open and adopt it twice (PostgreSQL locks the run instead).
        begin_writing(session)
        _recover_orphaned_runs(
            session, settings=settings, config=config, now=clock(), quiet_for=worker.lease
        )
        requeue_expired(session, now=clock())
        claims = claim_jobs(
            session,
            worker=worker.name,
            limit=_batch_limit(worker, settings),
            now=clock(),
            lease=worker.lease,
        )
    if not claims:
        return None
    with session_scope(engine) as session:
        tasks, decided = _prepare(
            session, claims, settings=settings, policies=policies, now=clock()
        )
    run_root = settings.ensure_data_dir() / "runs"
    run_root.mkdir(exist_ok=True)
    private = new_private_data_dir(run_root)
    with session_scope(engine) as session:
        run = Run(
            worker=worker.name,
            status=RunStatus.RUNNING,
            job_count=len(claims),
            private_data_dir=str(private),
            started_at=(opened := clock()),
            heartbeat_at=opened,
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        run_id = run.id
        session.execute(
            update(Job)
            .where(col(Job.id).in_([claim.job_id for claim in claims]))
            .values(run_id=run_id)
        )
    return BatchRun(
        engine,
        claims=claims,
        tasks=tasks,
        decided=decided,
        run_id=run_id,
        private_data_dir=private,
        worker=worker,
        clock=clock,
    )


def run_cycle(
    engine: Engine,
    *,
    settings: Settings,
    policies: PolicySet,
    worker: WorkerConfig,
    clock: Callable[[], datetime] = utcnow,
) -> CycleReport:
    """Claim a batch, run it through ansible-runner, and record every job's outcome."""
    batch = claim_batch(engine, settings=settings, policies=policies, worker=worker, clock=clock)
    if batch is None:
        return CycleReport(claimed=0)
    try:
        batch.start(settings=settings)
        batch.wait()
    except BaseException:
        batch.abandon()
        raise
    return batch.record(settings=settings, policies=policies)


def _finish(
    session: Session,
    claim: JobClaim,
    result: JobResult,
    *,
    worker: str,
    settings: Settings,
    config: ConsentConfig,
    now: datetime,
) -> str | None:
    """Record the attempt; drift queues the opt-out again; repeated failures pause the policy."""
    actor = f"worker:{worker}"
    state = finish_job(session, job_id=claim.job_id, worker=worker, result=result, now=now)
    if state is None:
        return None
    if claim.purpose == JobPurpose.VERIFY and result.outcome == "drifted":
        queue_repair(session, drifted_job_id=claim.job_id, actor=actor, now=now)
    _tell_the_employee(
        session, claim, result, state=state, settings=settings, config=config, actor=actor, now=now
    )
    if result.succeeded or result.needs_employee or result.transient:
        failure = None  # only failures a retry cannot fix say the page changed
    else:
        failure = result.message
    if (
        note_policy_result(
            session,
            policy_id=claim.policy_id,
            failure=failure,
            pause_after=settings.policy_pause_after_failures,
            actor=actor,
            now=now,
        )
        and settings.admin_email
    ):
        enqueue(
            session,
            to=settings.admin_email,
            kind="policy_paused",
            context={
                "policy_id": claim.policy_id,
                "failures": settings.policy_pause_after_failures,
                "reason": failure_signature(result.message),
                "contact_email": settings.contact_email,
            },
            actor=actor,
            now=now,
            reference=("policy", claim.policy_id),
        )
    return state


def _tell_the_employee(
    session: Session,
    claim: JobClaim,
    result: JobResult,
    *,
    state: str,
    settings: Settings,
    config: ConsentConfig,
    actor: str,
    now: datetime,
) -> None:
    """A receipt with the proof after a verified opt-out; what to do when it needs them."""
    policy = config.policies.get(claim.policy_id) if claim.policy_id in config.policies else None
    if policy is None:
        return
    if state == JobState.NEEDS_ACTION:
        employee = session.get(Employee, claim.employee_id)
        assert employee is not None  # a foreign key guarantees it
        enqueue(
            session,
            to=employee.email,
            kind="needs_action",
            context={
                "employee_name": employee.name,
                "platform": platform_name(policy.policy.platform),
                "title": policy.policy.title,
                "action": result.message,
                "contact_email": settings.contact_email,
            },
            actor=actor,
            now=now,
            reference=("job", claim.job_id),
        )
    elif (
        state == JobState.SUCCEEDED
        and claim.purpose == JobPurpose.OPT_OUT
        and result.outcome in RECEIPT_LABELS
    ):
        proof = [
            ProofItem(record.kind, record.sha256, record.captured_at, record.url)
            for record in evidence_for_job(session, job_id=claim.job_id)
            if record.kind != "outcome" and record.data.get("attempt") == claim.attempt
        ]
        queue_receipt(
            session,
            consent_id=claim.consent_id,
            policy_id=claim.policy_id,
            policy_version=claim.policy_version,
            outcome=RECEIPT_LABELS[result.outcome],
            detail=result.message,
            proof=proof,
            verified_at=now,
            config=config,
            actor=actor,
            now=now,
        )


def _summarise_failures(
    session: Session,
    failed: list[tuple[JobClaim, str]],
    *,
    worker: str,
    settings: Settings,
    now: datetime,
) -> None:
    """One message to the admins listing the jobs of a run that failed for good."""
    assert settings.admin_email is not None
    emails = dict(
        session.exec(
            select(Employee.id, Employee.email).where(
                col(Employee.id).in_([claim.employee_id for claim, _ in failed])
            )
        ).all()
    )
    enqueue(
        session,
        to=settings.admin_email,
        kind="failure_summary",
        context={
            "worker": worker,
            "failures": [
                {
                    "job_id": claim.job_id,
                    "policy_id": claim.policy_id,
                    "employee": emails.get(claim.employee_id, f"employee {claim.employee_id}"),
                    "reason": failure_signature(reason),
                }
                for claim, reason in failed
            ],
            "contact_email": settings.contact_email,
        },
        actor=f"worker:{worker}",
        now=now,
    )


def _post_job_event(
    engine: Engine,
    settings: Settings,
    claim: JobClaim,
    result: JobResult,
    *,
    state: str,
    now: datetime,
) -> None:
    """Tell the webhook how an attempt ended (after it is committed); record a failed post."""
    assert settings.webhook_url is not None
    event = {
        "event": "job.attempt_finished",
        "job_id": claim.job_id,
        "campaign_id": claim.campaign_id,
        "employee_id": claim.employee_id,
        "policy_id": claim.policy_id,
        "policy_version": claim.policy_version,
        "purpose": claim.purpose,
        "attempt": claim.attempt,
        "state": state,
        "outcome": result.outcome,
        "message": result.message,
        "at": now.isoformat(),
    }
    problem = post_event(settings.webhook_url, event, secret=settings.secret())
    if problem is not None:
        with session_scope(engine) as session:
            record(
                session,
                actor="worker:webhook",
                action="webhook.failed",
                subject_type="job",
                subject_id=claim.job_id,
                data={"url": settings.webhook_url, "problem": problem, "state": state},
                now=now,
            )


def _keep_and_translate(
    session: Session,
    claim: JobClaim,
    outcome: Outcome,
    source: Path,
    settings: Settings,
    now: datetime,
) -> JobResult:
    """Keep an outcome's evidence and translate it for the queue; bad proof is a failure."""
    try:
        keep_evidence(
            session,
            job_id=claim.job_id,
            attempt=claim.attempt,
            outcome=outcome,
            source_root=source,
            evidence_root=settings.resolved_evidence_dir,
            now=now,
        )
    except EvidenceIntegrityError as exc:
        # Proof that does not check out never makes a job compliant.
        return JobResult("failed", f"evidence rejected: {exc.message}", transient=True)
    return result_of(outcome)
