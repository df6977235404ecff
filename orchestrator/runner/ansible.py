"""Running `playbooks/optout.yml` with ansible-runner over the hosts of one batch.

Each run gets its own private data directory (never shared between runs) and its own process
(`orchestrator.runner.detached`, in a session of its own), so a worker killed mid-run does not
take the run down with it: the run finishes, fetches its results, and the next worker adopts
them. Sessions travel only inside the encrypted batches; the key goes to the run process
through a pipe (see `detached` for how it reaches the play without touching runner files).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.core.errors import ConfigurationError

PLAYBOOK = "optout.yml"
RUN_SPEC = "run-spec.json"
RUN_OUTCOME = "run-outcome.json"
RUN_PROCESS = "run-process.json"
FETCHED = "fetched"  # one empty file per host whose result archive has arrived
FETCH_ACTION = "ansible.builtin.fetch"


def check_playbook(playbooks_dir: Path) -> None:
    """Refuse to work without the playbook: found missing only after a claim, it would stop
    the worker with a batch claimed, whose jobs then wait out their lease."""
    playbook = playbooks_dir / PLAYBOOK
    if not playbook.is_file():
        raise ConfigurationError(
            f"no playbook at {playbook.absolute()}: set OPTOUT_PLAYBOOKS_DIR to the folder "
            f"holding {PLAYBOOK} (the project's playbooks/)"
        )


@dataclass(frozen=True)
class FleetHost:
    """An inventory host: its name and how Ansible reaches it (default: this machine)."""

    name: str
    connection: str = "local"
    address: str | None = None
    port: int | None = None
    python: str | None = None

    def inventory_vars(self) -> dict[str, str]:
        variables = {
            "ansible_connection": self.connection,
            "ansible_python_interpreter": self.python or sys.executable,
        }
        if self.address:
            variables["ansible_host"] = self.address
        if self.port:
            variables["ansible_port"] = str(self.port)
        return variables


@dataclass(frozen=True)
class HostResult:
    """What came back from one host: its result archive, or why there is none; and what
    failed on the host after its archive had arrived (its clean-up), which the outcomes in
    the archive do not depend on."""

    host: str
    archive: Path | None
    error: str | None = None
    unreachable: bool = False
    warning: str | None = None


@dataclass(frozen=True)
class RunResult:
    """One ansible-runner run: its status, per-host results and where its event log is kept."""

    status: str
    return_code: int | None
    private_data_dir: Path
    event_log: Path | None
    hosts: dict[str, HostResult] = field(default_factory=dict)


def new_private_data_dir(root: Path) -> Path:
    """A fresh, unused private data directory path under `root`."""
    return root / f"run-{uuid.uuid4().hex}"


@dataclass
class PlaybookRun:
    """A run going on in its own process; `wait()` for its result."""

    private_data_dir: Path
    hosts: list[str]
    process: subprocess.Popen[bytes]

    def wait(self) -> RunResult:
        """Wait for the run to end and read its result from its files."""
        self.process.wait()
        return read_run(self.private_data_dir, hosts=self.hosts)

    def wait_for_archives(self) -> bool:
        """Wait until every host's archive has arrived (the play may still be cleaning up on
        the hosts) or the run has ended; whether it has ended."""
        self.handed_back(until=math.inf)
        return self.process.poll() is not None

    def handed_back(self, *, until: float, poll_seconds: float = 0.1) -> bool:
        """Wait until every host's archive has arrived or the run has ended, but no later
        than `until` (a `time.monotonic()` moment); whether it did by then."""
        fetched = self.private_data_dir / FETCHED
        while True:
            if self.process.poll() is not None:
                return True
            if all((fetched / host).exists() for host in self.hosts):
                return True
            left = until - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(poll_seconds, left))


def start_playbook(
    *,
    batches: dict[FleetHost, bytes],
    key: bytes,
    playbooks_dir: Path,
    private_data_dir: Path,
    forks: int = 5,
    timeout_seconds: int | None = None,
) -> PlaybookRun:
    """Start the opt-out play on every host with its encrypted batch, without waiting for it.

    Args:
        batches: each host's encrypted batch.
        key: the key that decrypts the batches (handed over through a short-lived file).
        playbooks_dir: where `optout.yml` is.
        private_data_dir: the run's own directory; must not exist yet (never shared).
        forks: how many hosts Ansible drives at once.
        timeout_seconds: stop the whole run after this long (hosts then count as failed).

    Returns:
        The run in progress; its `wait()` gives the status, each host's archive or error,
        and the event log's path.
    """
    private = private_data_dir
    (private / "project").mkdir(parents=True)
    shutil.copy(playbooks_dir / PLAYBOOK, private / "project" / PLAYBOOK)
    batch_dir, results_dir = private / "batches", private / "results"
    batch_dir.mkdir(mode=0o700)
    results_dir.mkdir(mode=0o700)
    for host, data in batches.items():
        path = batch_dir / f"{host.name}.batch"
        path.write_bytes(data)
        path.chmod(0o600)
    spec = {
        "inventory": {"all": {"hosts": {host.name: host.inventory_vars() for host in batches}}},
        "extravars": {"optout_batch_dir": str(batch_dir), "optout_results_dir": str(results_dir)},
        "forks": forks,
        "timeout": timeout_seconds,
    }
    (private / RUN_SPEC).write_text(json.dumps(spec), encoding="utf-8")
    # The run is its own process in its own session, writing to files: if this worker is
    # killed, the run still finishes and fetches its results, which the next worker adopts.
    with (private / "runner.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "orchestrator.runner.detached", str(private)],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    assert process.stdin is not None
    process.stdin.write(key)  # the key only ever travels through this pipe
    process.stdin.close()
    return PlaybookRun(private, [host.name for host in batches], process)


def run_playbook(
    *,
    batches: dict[FleetHost, bytes],
    key: bytes,
    playbooks_dir: Path,
    private_data_dir: Path,
    forks: int = 5,
    timeout_seconds: int | None = None,
) -> RunResult:
    """Run the opt-out play on every host and wait for it (`start_playbook`, then `wait`)."""
    return start_playbook(
        batches=batches,
        key=key,
        playbooks_dir=playbooks_dir,
        private_data_dir=private_data_dir,
        forks=forks,
        timeout_seconds=timeout_seconds,
    ).wait()


def has_ended(private_data_dir: Path) -> bool:
    """Whether the run wrote how it ended (its process may have died before it could)."""
    return (private_data_dir / RUN_OUTCOME).exists()


def still_running(private_data_dir: Path) -> bool:
    """Whether the run is known to be still going: its process lives on this machine and has
    not written its outcome yet. A run on another machine cannot be asked, so it is not."""
    if has_ended(private_data_dir):
        return False
    try:
        process = json.loads((private_data_dir / RUN_PROCESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if process.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(process["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def fetched_archives(private_data_dir: Path) -> dict[str, Path]:
    """The result archives the run has fetched whole so far, by host. A fetch checks the
    archive's checksum before it counts, so a file that a fetch cut short is never listed."""
    marks = private_data_dir / FETCHED
    if not marks.is_dir():
        return {}
    return {
        mark.name: private_data_dir / "results" / f"{mark.name}.tar.gz" for mark in marks.iterdir()
    }


def _started_hosts(private_data_dir: Path) -> list[str]:
    """The hosts the run was started on, from its spec (none if it never got that far)."""
    try:
        spec = json.loads((private_data_dir / RUN_SPEC).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return list(spec["inventory"]["all"]["hosts"])


def read_run(private_data_dir: Path, *, hosts: list[str] | None = None) -> RunResult:
    """The result of a finished run, from its files: status, per-host archives and problems.

    Only archives the run fetched whole count; `hosts` defaults to those it was started on.
    """
    if hosts is None:
        hosts = _started_hosts(private_data_dir)
    outcome_file = private_data_dir / RUN_OUTCOME
    if outcome_file.exists():
        outcome = json.loads(outcome_file.read_text(encoding="utf-8"))
    else:
        outcome = {"status": "error", "rc": None, "ident": None}
    events_dir = (
        private_data_dir / "artifacts" / str(outcome["ident"]) / "job_events"
        if outcome["ident"]
        else None
    )
    events = []
    if events_dir is not None and events_dir.is_dir():
        events = [
            json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(events_dir.glob("*.json"), key=lambda p: int(p.name.split("-")[0]))
        ]
    problems = _host_problems(events)
    # The marks also count when the run's process died before it could say how it ended.
    fetched = _hosts_fetched(events) | fetched_archives(private_data_dir).keys()
    results: dict[str, HostResult] = {}
    for name in hosts:
        archive = private_data_dir / "results" / f"{name}.tar.gz"
        problem = problems.get(name)
        if name in fetched and archive.exists():
            # The play stops a host at its first failure, so a problem of a host whose archive
            # arrived came later: its clean-up failed, and the outcomes stand.
            results[name] = HostResult(name, archive, warning=problem[1] if problem else None)
        else:
            unreachable, reason = problem or (False, f"the run ended {outcome['status']}")
            results[name] = HostResult(name, None, reason, unreachable)
    return RunResult(
        status=str(outcome["status"]),
        return_code=outcome["rc"],
        private_data_dir=private_data_dir,
        event_log=events_dir if events_dir is not None and events_dir.is_dir() else None,
        hosts=results,
    )


def _hosts_fetched(events: Any) -> set[str]:
    """The hosts whose result archive the run fetched whole (the fetch checks its checksum)."""
    return {
        str(event["event_data"]["host"])
        for event in events
        if event.get("event") == "runner_on_ok"
        and event.get("event_data", {}).get("resolved_action") == FETCH_ACTION
    }


def _host_problems(events: Any) -> dict[str, tuple[bool, str]]:
    """Per host: (unreachable?, reason) from the run's events; the first problem wins."""
    problems: dict[str, tuple[bool, str]] = {}
    for event in events:
        kind = event.get("event")
        data = event.get("event_data", {})
        host = data.get("host")
        if host is None or host in problems:
            continue
        if kind == "runner_on_unreachable":
            message = str(data.get("res", {}).get("msg", "unreachable")).strip()
            problems[host] = (True, f"host unreachable: {message.splitlines()[0][:300]}")
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            task = data.get("task", "a task")
            result = data.get("res", {})
            if result.get("censored"):
                detail = f"exit code {result.get('rc', '?')} (output hidden: no_log)"
            else:
                detail = str(result.get("msg", "failed")).strip().splitlines()[0][:300]
            problems[host] = (False, f"{task!r} failed on the host: {detail}")
    return problems
