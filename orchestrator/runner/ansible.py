"""Running `playbooks/optout.yml` with ansible-runner over the hosts of one batch.

Each run gets its own private data directory (never shared between runs). Sessions travel only
inside the encrypted batches. The key is not passed as an extra variable or environment
variable (ansible-runner writes both, and its whole environment, into the private data
directory); it sits in a 0600 file in a separate temporary directory for the run's duration,
the play reads it in a `no_log` task, and the file is deleted when the run ends. So no session
or key is written in clear text to runner files, events or logs.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

PLAYBOOK = "optout.yml"


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
    """What came back from one host: its result archive, or why there is none."""

    host: str
    archive: Path | None
    error: str | None = None
    unreachable: bool = False


@dataclass(frozen=True)
class RunResult:
    """One ansible-runner run: its status, per-host results and where its event log is kept."""

    status: str
    return_code: int | None
    private_data_dir: Path
    event_log: Path | None
    hosts: dict[str, HostResult] = field(default_factory=dict)


@contextmanager
def _key_file(key: bytes) -> Iterator[Path]:
    """The batch key in a private file outside the run's directory, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="optout-key-"))
    path = directory / "batch.key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _search_path() -> str:
    """PATH with this interpreter's directory first: a virtualenv's ansible-playbook wins."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def run_playbook(
    *,
    batches: dict[FleetHost, bytes],
    key: bytes,
    playbooks_dir: Path,
    work_root: Path,
    forks: int = 5,
    timeout_seconds: int | None = None,
) -> RunResult:
    """Run the opt-out play on every host with its encrypted batch; collect the archives.

    Args:
        batches: each host's encrypted batch.
        key: the key that decrypts the batches (handed over through a short-lived file).
        playbooks_dir: where `optout.yml` is.
        work_root: parent of the run's fresh private data directory.
        forks: how many hosts Ansible drives at once.
        timeout_seconds: stop the whole run after this long (hosts then count as failed).

    Returns:
        The run's status, each host's archive or error, and the event log's path.
    """
    private = work_root / f"run-{uuid.uuid4().hex}"
    (private / "project").mkdir(parents=True)
    shutil.copy(playbooks_dir / PLAYBOOK, private / "project" / PLAYBOOK)
    batch_dir, results_dir = private / "batches", private / "results"
    batch_dir.mkdir(mode=0o700)
    results_dir.mkdir(mode=0o700)
    for host, data in batches.items():
        path = batch_dir / f"{host.name}.batch"
        path.write_bytes(data)
        path.chmod(0o600)
    inventory = {"all": {"hosts": {host.name: host.inventory_vars() for host in batches}}}
    with _key_file(key) as key_file:
        runner = ansible_runner.run(
            private_data_dir=str(private),
            playbook=PLAYBOOK,
            inventory=inventory,
            extravars={
                "optout_batch_dir": str(batch_dir),
                "optout_results_dir": str(results_dir),
                "optout_key_file": str(key_file),
            },
            envvars={"PATH": _search_path()},
            forks=forks,
            quiet=True,
            timeout=timeout_seconds,
        )
    problems = _host_problems(runner.events)
    hosts: dict[str, HostResult] = {}
    for host in batches:
        archive = results_dir / f"{host.name}.tar.gz"
        problem = problems.get(host.name)
        if problem is None and archive.exists():
            hosts[host.name] = HostResult(host.name, archive)
        else:
            unreachable, reason = problem or (False, f"the run ended {runner.status}")
            hosts[host.name] = HostResult(host.name, None, reason, unreachable)
    artifacts = private / "artifacts" / str(runner.config.ident) / "job_events"
    return RunResult(
        status=str(runner.status),
        return_code=runner.rc,
        private_data_dir=private,
        event_log=artifacts if artifacts.exists() else None,
        hosts=hosts,
    )


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
