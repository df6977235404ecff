"""A batch through real ansible-runner and real Chromium against the replica."""

from __future__ import annotations

import json
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from orchestrator.automation.batch import encode_batch, new_batch_key
from orchestrator.automation.outcomes import EmployeeFacts, EngineTask
from orchestrator.policies import load_policies
from orchestrator.replica import Behaviour, Platform
from orchestrator.runner.ansible import (
    FleetHost,
    new_private_data_dir,
    run_playbook,
    start_playbook,
)

pytestmark = [pytest.mark.browser, pytest.mark.ansible]

REPO = Path(__file__).resolve().parents[2]
POLICIES = load_policies(REPO / "policies")


def _task(replica, tmp_path: Path, account: str, policy_id: str) -> EngineTask:
    return EngineTask(
        task_id=f"{account}-{policy_id}",
        policy=POLICIES.get(policy_id),
        employee=EmployeeFacts(f"{account}@example.com", "Fleet Person", "Ops", "DE"),
        storage_state=replica.client.storage_state(Platform.LINKEDIN, account),
        evidence_dir=tmp_path / "unused",
        base_url=f"{replica.base_url}/linkedin",
        on=date(2026, 11, 23),
    )


@contextmanager
def _processes_showing(secret: bytes) -> Iterator[set[str]]:
    """While the block runs, every process whose command line or environment held `secret`
    (what any local user, or anyone reading /proc as the same user, could see)."""
    seen: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            for proc in Path("/proc").iterdir():
                for name in ("cmdline", "environ"):
                    try:
                        if secret in (proc / name).read_bytes():
                            seen.add(f"{proc.name}/{name}")
                    except OSError:
                        pass  # gone already, or not a process directory

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()


def _outcomes(archive: Path, into: Path) -> dict[str, dict]:
    with tarfile.open(archive) as packed:
        packed.extractall(into, filter="data")
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"))
        for path in into.glob("*/outcome.json")
    }


def test_one_run_opts_out_a_hosts_employees_and_leaks_no_secret(replica, tmp_path: Path) -> None:
    for account, behaviours in (("fleet-a", ()), ("fleet-b", (Behaviour.ALREADY_OPTED_OUT,))):
        replica.client.seed_account(Platform.LINKEDIN, account, behaviours=behaviours)
    tasks = [
        _task(replica, tmp_path, "fleet-a", "linkedin-genai-training"),
        _task(replica, tmp_path, "fleet-a", "linkedin-data-processing-objection"),
        _task(replica, tmp_path, "fleet-b", "linkedin-genai-training"),
    ]
    key = new_batch_key()
    local = FleetHost("localhost")
    gone = FleetHost("gone.invalid", connection="ssh", address="127.0.0.1", port=1)
    with _processes_showing(key) as exposed:
        result = run_playbook(
            batches={local: encode_batch(tasks, key=key), gone: encode_batch(tasks[:1], key=key)},
            key=key,
            playbooks_dir=REPO / "playbooks",
            private_data_dir=new_private_data_dir(tmp_path / "runs"),
            forks=2,
        )

    assert not exposed, f"the batch key was visible in {sorted(exposed)}"
    assert result.hosts["gone.invalid"].unreachable
    assert result.hosts["gone.invalid"].archive is None
    archive = result.hosts["localhost"].archive
    assert archive is not None, result.hosts["localhost"].error
    outcomes = _outcomes(archive, tmp_path / "back")
    assert {task_id: o["status"] for task_id, o in outcomes.items()} == {
        "fleet-a-linkedin-genai-training": "changed",
        "fleet-a-linkedin-data-processing-objection": "changed",
        "fleet-b-linkedin-genai-training": "already_compliant",
    }
    assert (tmp_path / "back" / "fleet-a-linkedin-genai-training" / "screenshot_after.png").exists()
    state = replica.client.account_state(Platform.LINKEDIN, "fleet-a")
    assert state.toggles["data_for_ai_improvement"] is False
    assert len(state.objection_submissions) == 1
    assert result.event_log is not None and any(result.event_log.iterdir())

    secrets = [key] + [
        cookie["value"].encode() for task in tasks for cookie in task.storage_state["cookies"]
    ]
    for path in result.private_data_dir.rglob("*"):
        if path.is_file() and path.suffix != ".gz":
            content = path.read_bytes()
            for secret in secrets:
                assert secret not in content, f"secret found in {path}"


def test_a_batch_that_cannot_be_opened_fails_the_host_with_a_reason(
    replica, tmp_path: Path
) -> None:
    replica.client.seed_account(Platform.LINKEDIN, "fleet-c")
    tasks = [_task(replica, tmp_path, "fleet-c", "linkedin-genai-training")]
    result = run_playbook(
        batches={FleetHost("localhost"): encode_batch(tasks, key=new_batch_key())},
        key=new_batch_key(),  # not the key the batch was encrypted with
        playbooks_dir=REPO / "playbooks",
        private_data_dir=new_private_data_dir(tmp_path / "runs"),
    )
    host = result.hosts["localhost"]
    assert host.archive is None
    assert not host.unreachable
    assert "exit code 3" in (host.error or "")
    assert "cannot be decrypted" in (host.error or "")
    state = replica.client.account_state(Platform.LINKEDIN, "fleet-c")
    assert state.toggles["data_for_ai_improvement"] is True


def _run_here(batch: bytes, key: bytes, tmp_path: Path) -> dict[str, dict]:
    """Run one batch on this machine through ansible-runner; the outcomes it sent back."""
    result = run_playbook(
        batches={FleetHost("localhost"): batch},
        key=key,
        playbooks_dir=REPO / "playbooks",
        private_data_dir=new_private_data_dir(tmp_path / "runs"),
    )
    archive = result.hosts["localhost"].archive
    assert archive is not None, result.hosts["localhost"].error
    return _outcomes(archive, tmp_path / "back")


def _spans(outcomes: dict[str, dict]) -> list[tuple[datetime, datetime]]:
    return sorted(
        (datetime.fromisoformat(o["started_at"]), datetime.fromisoformat(o["finished_at"]))
        for o in outcomes.values()
    )


def _most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    return max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)


def test_a_host_runs_as_many_tasks_at_once_as_its_batch_allows(replica, tmp_path: Path) -> None:
    accounts = [f"together-{number}" for number in range(4)]
    for account in accounts:
        # Saves of a second: tasks that overlap at all overlap there.
        replica.client.seed_account(Platform.LINKEDIN, account, behaviours=[Behaviour.SLOW_SAVE])
    tasks = [_task(replica, tmp_path, account, "linkedin-genai-training") for account in accounts]
    key = new_batch_key()
    outcomes = _run_here(encode_batch(tasks, key=key, contexts=2), key, tmp_path)
    assert {o["status"] for o in outcomes.values()} == {"changed"}
    assert len(outcomes) == 4
    assert _most_at_once(_spans(outcomes)) == 2
    for account in accounts:
        state = replica.client.account_state(Platform.LINKEDIN, account)
        assert state.toggles["data_for_ai_improvement"] is False
        assert state.toggle_changes["data_for_ai_improvement"] == 1
        assert (tmp_path / "back" / f"{account}-linkedin-genai-training").is_dir()


def test_a_host_starts_tasks_no_earlier_than_their_pace_allows(replica, tmp_path: Path) -> None:
    accounts = ["paced-a", "paced-b", "paced-c"]
    for account in accounts:
        # Tasks longer than their spacing: with three contexts free, only the pace holds them.
        replica.client.seed_account(Platform.LINKEDIN, account, behaviours=[Behaviour.SLOW_SAVE])
    tasks = [_task(replica, tmp_path, account, "linkedin-genai-training") for account in accounts]
    offsets = {task.task_id: 1.5 * number for number, task in enumerate(tasks)}
    key = new_batch_key()
    outcomes = _run_here(
        encode_batch(tasks, key=key, start_after=offsets, contexts=3), key, tmp_path
    )
    starts = [datetime.fromisoformat(outcomes[task.task_id]["started_at"]) for task in tasks]
    assert all((b - a).total_seconds() >= 1.4 for a, b in pairwise(starts))


def test_the_outcomes_can_be_taken_before_the_play_has_cleaned_up(replica, tmp_path: Path) -> None:
    replica.client.seed_account(Platform.LINKEDIN, "early-a")
    tasks = [_task(replica, tmp_path, "early-a", "linkedin-genai-training")]
    key = new_batch_key()
    run = start_playbook(
        batches={FleetHost("localhost"): encode_batch(tasks, key=key)},
        key=key,
        playbooks_dir=REPO / "playbooks",
        private_data_dir=new_private_data_dir(tmp_path / "runs"),
    )
    run.wait_for_archives()
    # Whether or not the clean-up is over, the archive that arrived is whole.
    outcomes = _outcomes(run.private_data_dir / "results" / "localhost.tar.gz", tmp_path / "back")
    assert outcomes["early-a-linkedin-genai-training"]["status"] == "changed"
    result = run.wait()
    assert result.status == "successful"
    assert result.hosts["localhost"].archive is not None
