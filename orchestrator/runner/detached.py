"""The run process: `python -m orchestrator.runner.detached PRIVATE_DATA_DIR`, key on stdin.

It runs ansible-runner as the run spec in the directory says and writes the run's status
beside it. The key is not passed as an extra variable or environment variable (ansible-runner
writes both, and its whole environment, into the private data directory): it sits in a 0600
file in a separate temporary directory while the play runs, the play reads it in a `no_log`
task, and the file is deleted when the run ends. So no session or key is written in clear text
to runner files, events or logs.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ansible_runner

from orchestrator.runner.ansible import (
    FETCH_ACTION,
    FETCHED,
    PLAYBOOK,
    RUN_OUTCOME,
    RUN_PROCESS,
    RUN_SPEC,
)

# Per-run start-up is what batching saves; this keeps the rest of it small. Pipelining sends
# each module over the connection's standard input instead of a temporary file per task (no
# become is used, so `requiretty` does not matter).
FAST_ANSIBLE = {"ANSIBLE_PIPELINING": "True"}


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


def _mark_fetched(private: Path) -> Callable[[dict[str, Any]], bool]:
    """An event handler that marks each host as soon as its result archive has arrived, so the
    worker can take the outcomes while the play still cleans up (every event is still kept)."""
    marks = private / FETCHED
    marks.mkdir(mode=0o700)

    def handle(event: dict[str, Any]) -> bool:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("resolved_action") == FETCH_ACTION:
            (marks / str(data["host"])).touch()
        return True

    return handle


def _search_path() -> str:
    """PATH with this interpreter's directory first: a virtualenv's ansible-playbook wins."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    private = Path(arguments[0])
    key = sys.stdin.buffer.read().strip()
    (private / RUN_PROCESS).write_text(
        json.dumps({"host": socket.gethostname(), "pid": os.getpid()}), encoding="utf-8"
    )
    spec = json.loads((private / RUN_SPEC).read_text(encoding="utf-8"))
    with _key_file(key) as key_file:
        runner = ansible_runner.run(
            private_data_dir=str(private),
            playbook=PLAYBOOK,
            inventory=spec["inventory"],
            extravars={**spec["extravars"], "optout_key_file": str(key_file)},
            envvars={"PATH": _search_path(), **FAST_ANSIBLE},
            forks=spec["forks"],
            quiet=True,
            event_handler=_mark_fetched(private),
            timeout=spec["timeout"],
        )
    outcome = {"status": runner.status, "rc": runner.rc, "ident": str(runner.config.ident)}
    (private / RUN_OUTCOME).write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
