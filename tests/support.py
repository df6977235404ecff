"""Small tools many tests share: a settable clock and the `optout` command as a process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from orchestrator.admins.models import Role
from orchestrator.admins.service import create_admin, create_api_token
from orchestrator.audit.models import AuditEvent
from orchestrator.core.clock import utcnow
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.jobs.models import Job, JobState
from orchestrator.policies import load_policies
from orchestrator.web.app import create_app


def process_env(**settings: str) -> dict[str, str]:
    """This process's environment without the machine's `OPTOUT_*` settings, plus `settings`:
    a command under test reads only what its test gives it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPTOUT_")}
    env.update(settings)
    return env


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


ADMIN_PASSWORD = "correct horse battery staple"


def admin_accounts(engine: Any, *, now: datetime) -> dict[str, str]:
    """One admin account and one API token per role (named after it); returns role → token."""
    tokens: dict[str, str] = {}
    with session_scope(engine) as session:
        for role in Role:
            create_admin(
                session, username=role.value, password=ADMIN_PASSWORD, role=role, actor="t", now=now
            )
            tokens[role.value], _ = create_api_token(
                session, name=role.value, role=role, expires_at=None, actor="t", now=now
            )
    return tokens


def sign_in(http: Any, username: str, *, password: str = ADMIN_PASSWORD) -> Any:
    """Sign `http` (an httpx.Client on the app) in through the sign-in form; returns the answer."""
    page = http.get("/admin/sign-in")
    return http.post(
        "/admin/sign-in",
        data={
            "csrf": csrf_of(page.text),
            "username": username,
            "password": password,
            "next": "/admin",
        },
    )


def csrf_of(page_text: str) -> str:
    """The CSRF token in a page's forms."""
    found = re.search(r'name="csrf" value="([^"]+)"', page_text)
    assert found is not None, page_text
    return found.group(1)


def web_app(
    engine: Any, *, data_dir: Path, now: datetime | None, **overrides: Any
) -> tuple[Any, Settings]:
    """The web app on `engine` with this repository's policies, a fixed secret and a clock
    stopped at `now` (a `Clock`; None: real time); returns the app and its settings."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "secret_key": "web-test-secret-" + "w" * 32,
        "policies_dir": REPO / "policies",
    }
    values.update(overrides)
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    policies = load_policies(REPO / "policies")
    clock = utcnow if now is None else Clock(now)
    app = create_app(settings, engine=engine, policies=policies, clock=clock)
    return app, settings


def assert_each_job_done_once(engine: Engine) -> list[Job]:
    """Every job succeeded at its first attempt and was claimed once (nothing ran twice)."""
    with Session(engine) as session:
        jobs = list(session.exec(select(Job)).all())
        claims = session.exec(
            select(func.count()).where(col(AuditEvent.action) == "job.claimed")
        ).one()
    # Not a test module, so pytest does not rewrite these asserts: each says what it saw.
    seen = [(job.id, job.state, job.attempts, job.last_error) for job in jobs]
    assert {(job.state, job.attempts) for job in jobs} == {(JobState.SUCCEEDED, 1)}, seen
    assert claims == len(jobs), f"{claims} claims of {len(jobs)} jobs"
    return jobs
