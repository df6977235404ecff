"""Small tools many tests share: a settable clock and the `optout` command as a process."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.core.settings import Settings


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


REPO = Path(__file__).resolve().parents[1]


def worker_settings(
    tmp_path: Path, *, database_url: str, replica_url: str, **overrides: Any
) -> Settings:
    """Settings for a worker in a test: this repository's policies and playbooks, the replica,
    no pacing, a fixed secret, nothing read from the environment."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "policies_dir": REPO / "policies",
        "playbooks_dir": REPO / "playbooks",
        "replica_url": replica_url,
        "pace_per_minute": 0,
        "secret_key": "test-secret-" + "x" * 40,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
