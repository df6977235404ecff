"""Small tools many tests share: a settable clock and the `optout` command as a process."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path


class Clock:
    """The one fake: time, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def optout(
    env: dict[str, str], *args: str, cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run `optout ARGS` as an admin would; no output may ever hold a Python traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result
