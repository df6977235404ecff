"""Writing a task's proof to disk: screenshots, records and traces, each with its SHA-256.

Files go to `<evidence root>/<task id>/`; paths in the outcome are relative to the root, so
the evidence store can move (or be copied back from a fleet host) without rewriting records.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from orchestrator.automation.outcomes import EvidenceFile

# Where a failure trace holds the page as it stood when the task failed.
FAILURE_DOM = "failure/page.html"
FAILURE_ARIA = "failure/page.aria.yml"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


class EvidenceWriter:
    """Collects one task's evidence files under `root/task_id/`."""

    def __init__(self, root: Path, task_id: str) -> None:
        self.root = root
        self.directory = root / task_id
        self._files: list[EvidenceFile] = []

    @property
    def files(self) -> tuple[EvidenceFile, ...]:
        return tuple(self._files)

    def _path(self, name: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / name

    def _keep(self, kind: str, path: Path, url: str | None) -> None:
        self._files.append(
            EvidenceFile(
                kind=kind,
                path=path.relative_to(self.root).as_posix(),
                sha256=sha256_of(path),
                url=url,
                captured_at=datetime.now(UTC),
            )
        )

    async def screenshot(self, page: Page, kind: str) -> None:
        """A PNG of what the page shows now."""
        path = self._path(f"{kind}.png")
        await page.screenshot(path=path)
        self._keep(kind, path, page.url)

    def record(self, kind: str, data: dict[str, Any], *, url: str | None) -> None:
        """A JSON record (the verified control state, a confirmation...)."""
        path = self._path(f"{kind}.json")
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        self._keep(kind, path, url)

    async def trace(self, context: BrowserContext, page: Page) -> None:
        """Stop the context's Playwright trace and keep it (failures only), with the page's
        DOM and accessibility tree at the failure inside it: what a policy author needs to
        see why a control was not found, without paying for DOM snapshots on every task."""
        page_state: dict[str, str] = {}
        with suppress(PlaywrightError):  # the page may be gone; the action log still tells
            page_state[FAILURE_DOM] = await page.content()
            page_state[FAILURE_ARIA] = await page.locator("body").aria_snapshot()
        path = self._path("trace.zip")
        await context.tracing.stop(path=path)
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in page_state.items():
                archive.writestr(name, text)
        self._keep("trace", path, None)
