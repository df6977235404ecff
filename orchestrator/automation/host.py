"""What a fleet host runs: `python -m orchestrator.automation.host --out RESULT.tar.gz`.

It reads the batch key and this host's encrypted batch from its standard input (the key's line
first), so neither lands on the host's disk, in its process list or in its environment. It
runs every task in one browser (a fresh context per employee), and packs each task's outcome
and evidence into one archive for the controller to fetch. Task failures are outcomes inside
the archive; only a batch that cannot run at all (no key, altered batch, no browser) exits
non-zero.
"""

from __future__ import annotations

import time as _t0mod
_T0 = _t0mod.time()


def _tm(label: str) -> None:  # TEMP-TIMING
    with open("/tmp/fleet-helper-timing.log", "a") as f:
        f.write(f"{_t0mod.time():.3f} host {label}\n")


_tm("module-top")

import argparse
import json
import sys
import tarfile
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from orchestrator.automation.batch import BatchError, decode_batch
from orchestrator.automation.browser import launch_chromium
from orchestrator.automation.engine import not_started, run_task, write_outcome
from orchestrator.core.errors import OrchestratorError

EXIT_BATCH_UNUSABLE = 3
_tm("imports-done")


def run_batch(batch: bytes, result: Path, *, key: bytes) -> Counter[str]:
    """Run an encrypted batch and write the result archive; returns the count of each status."""
    statuses: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="optout-host-") as directory:
        work = Path(directory)
        _tm("decode-start")
        decoded = decode_batch(batch, key=key, work_dir=work)
        _tm("decode-done")
        evidence = work / "evidence"
        evidence.mkdir(exist_ok=True)
        started = time.monotonic()
        ordered = sorted(decoded.tasks, key=lambda task: decoded.start_after.get(task.task_id, 0))
        with sync_playwright() as playwright:
            _tm("pw-started")
            browser = launch_chromium(playwright)
            _tm("browser-launched")
            try:
                last: dict[str, tuple[float, float]] = {}  # platform → (offset, started)
                for task in ordered:
                    # Pacing: the controller spaced each platform's tasks across the fleet;
                    # a slow task never lets the next ones of its platform start in a burst.
                    platform = task.policy.policy.platform
                    offset = decoded.start_after.get(task.task_id, 0.0)
                    earliest = started + offset
                    if platform in last:
                        previous_offset, previous_start = last[platform]
                        earliest = max(earliest, previous_start + offset - previous_offset)
                    if (wait := earliest - time.monotonic()) > 0:
                        time.sleep(wait)
                    last[platform] = (offset, time.monotonic())
                    if decoded.not_after is not None and datetime.now(UTC) > decoded.not_after:
                        outcome = not_started(task, "the batch's time ran out before it started")
                    else:
                        outcome = run_task(browser, task)
                    write_outcome(outcome, evidence)
                    _tm("task-done")
                    statuses[outcome.status.value] += 1
            finally:
                _tm("tasks-done")
                browser.close()
                _tm("browser-closed")
        _tm("pw-stopped")
        with tarfile.open(result, "w:gz") as archive:
            archive.add(evidence, arcname=".")
        _tm("archive-packed")
    result.chmod(0o600)
    return statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run this host's opt-out batch: its key's line, then the batch, on stdin."
    )
    parser.add_argument("--out", type=Path, required=True, help="result archive (.tar.gz)")
    args = parser.parse_args(argv)
    _tm("main")
    key, _, batch = sys.stdin.buffer.read().partition(b"\n")
    _tm("stdin-read")
    if not key.strip() or not batch.strip():
        print("no batch key and batch on standard input: cannot open the batch", file=sys.stderr)
        return EXIT_BATCH_UNUSABLE
    try:
        statuses = run_batch(batch.strip(), args.out, key=key.strip())
    except (BatchError, OrchestratorError, OSError, PlaywrightError) as exc:
        print(f"the batch could not run: {exc}", file=sys.stderr)
        return EXIT_BATCH_UNUSABLE
    print(json.dumps({"tasks": sum(statuses.values()), "statuses": dict(statuses)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
