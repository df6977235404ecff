"""What a fleet host runs: `python -m orchestrator.automation.host --out RESULT.tar.gz`.

It reads the batch key and this host's encrypted batch from its standard input (the key's line
first), so neither lands on the host's disk, in its process list or in its environment. It
runs every task in one browser, a fresh context per task and as many tasks at once as the
batch allows, and packs each task's outcome and evidence into one archive for the controller
to fetch. Task failures are outcomes inside the archive; only a batch that cannot run at all
(no key, altered batch, no browser) exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tarfile
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from orchestrator.automation.browser import launch_chromium
from orchestrator.core.errors import OrchestratorError

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from orchestrator.automation.batch import Batch
    from orchestrator.automation.outcomes import EngineTask

EXIT_BATCH_UNUSABLE = 3


class UnusableBatchError(Exception):
    """The batch cannot be opened: wrong key, altered bytes, or not the policy that was sent."""


def _open_batch(batch: bytes, key: bytes, work: Path) -> Batch:
    """Load the engine and decrypt the batch. Runs in a thread beside the start of Playwright
    and Chromium (most of a batch's start-up on the host), so the engine and policy schema are
    imported here rather than at the top of this module."""
    from orchestrator.automation import engine  # noqa: F401 - loaded now; `_run_tasks` uses it
    from orchestrator.automation.batch import BatchError, decode_batch

    try:
        return decode_batch(batch, key=key, work_dir=work)
    except BatchError as exc:
        raise UnusableBatchError(str(exc)) from exc


def run_batch(batch: bytes, result: Path, *, key: bytes) -> Counter[str]:
    """Run an encrypted batch and write the result archive; returns the count of each status."""
    with tempfile.TemporaryDirectory(prefix="optout-host-") as directory:
        work = Path(directory)
        evidence = work / "evidence"
        statuses = asyncio.run(_run_batch(batch, key, work, evidence))
        with tarfile.open(result, "w:gz") as archive:
            archive.add(evidence, arcname=".")
    result.chmod(0o600)
    return statuses


async def _run_batch(batch: bytes, key: bytes, work: Path, evidence: Path) -> Counter[str]:
    """Decrypt the batch while the browser starts, then run its tasks; a batch that cannot
    be opened still ends the run before any task starts, the browser closed."""
    opening = asyncio.create_task(asyncio.to_thread(_open_batch, batch, key, work))
    started = time.monotonic()
    try:
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright)
            try:
                return await _run_tasks(browser, await opening, evidence, started=started)
            finally:
                await browser.close()
    finally:
        if not opening.done():
            opening.cancel()


async def _run_tasks(
    browser: Browser, decoded: Batch, evidence: Path, *, started: float
) -> Counter[str]:
    """Run the batch's tasks in order and pace, up to `decoded.contexts` at once, writing each
    outcome under `evidence`.

    A task waits for its turn (its pace offset) and for a free context. Several at once keep
    the browser busy while a page waits on the site (a save, a load): on two cores, two
    contexts ran the replica's toggle 1.2 to 1.35 times as fast as one; a third added little
    (the browser process is then the limit)."""
    from orchestrator.automation.engine import not_started, run_task, write_outcome

    statuses: Counter[str] = Counter()
    evidence.mkdir(exist_ok=True)
    free = asyncio.Semaphore(decoded.contexts)

    async def run_one(task: EngineTask) -> None:
        try:
            if decoded.not_after is not None and datetime.now(UTC) > decoded.not_after:
                outcome = not_started(task, "the batch's time ran out before it started")
            else:
                outcome = await run_task(browser, task)
            write_outcome(outcome, evidence)
            statuses[outcome.status.value] += 1
        finally:
            free.release()

    ordered = sorted(decoded.tasks, key=lambda task: decoded.start_after.get(task.task_id, 0))
    last: dict[str, tuple[float, float]] = {}  # platform → (offset, started)
    running: set[asyncio.Task[None]] = set()
    for task in ordered:
        # Pacing: the controller spaced each platform's tasks across the fleet; a slow task
        # never lets the next ones of its platform start in a burst.
        platform = task.policy.policy.platform
        offset = decoded.start_after.get(task.task_id, 0.0)
        earliest = started + offset
        if platform in last:
            previous_offset, previous_start = last[platform]
            earliest = max(earliest, previous_start + offset - previous_offset)
        await free.acquire()
        if (wait := earliest - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        last[platform] = (offset, time.monotonic())
        running.add(asyncio.create_task(run_one(task)))
    await asyncio.gather(*running)
    return statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run this host's opt-out batch: its key's line, then the batch, on stdin."
    )
    parser.add_argument("--out", type=Path, required=True, help="result archive (.tar.gz)")
    args = parser.parse_args(argv)
    key, _, batch = sys.stdin.buffer.read().partition(b"\n")
    if not key.strip() or not batch.strip():
        print("no batch key and batch on standard input: cannot open the batch", file=sys.stderr)
        return EXIT_BATCH_UNUSABLE
    try:
        statuses = run_batch(batch.strip(), args.out, key=key.strip())
    except (UnusableBatchError, OrchestratorError, OSError, PlaywrightError) as exc:
        print(f"the batch could not run: {exc}", file=sys.stderr)
        return EXIT_BATCH_UNUSABLE
    print(json.dumps({"tasks": sum(statuses.values()), "statuses": dict(statuses)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
