"""The batch a fleet host receives: tasks, the exact policy files they run, and sessions.

It travels encrypted (Fernet, a fresh key per run) because it holds employees' sessions: the
ciphertext may sit in runner directories, the key never does. Policy files travel as bytes and
are checked against their recorded version on arrival, so a host runs exactly the policy the
employee consented to, never whatever file it happens to have.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from orchestrator.automation.outcomes import EmployeeFacts, EngineTask
from orchestrator.policies import load_policies


class BatchError(Exception):
    """The batch cannot be read: wrong key, altered bytes, or a policy that is not the one sent."""


def new_batch_key() -> bytes:
    """A fresh key for one run's batches."""
    return Fernet.generate_key()


@dataclass(frozen=True)
class Batch:
    """A host's tasks, when each may start (seconds after the batch starts, for pacing), the
    time after which none may start, and how many may run at once in the host's browser."""

    tasks: list[EngineTask]
    not_after: datetime | None
    start_after: dict[str, float]
    contexts: int = 1


def encode_batch(
    tasks: list[EngineTask],
    *,
    key: bytes,
    not_after: datetime | None = None,
    start_after: dict[str, float] | None = None,
    contexts: int = 1,
) -> bytes:
    """Serialise and encrypt tasks (with their policy files) for one host.

    `not_after` bounds when the host may start a task: a worker that dies leaves its host
    running, and the lease it held must outlast anything that host may still do. `contexts`
    is how many tasks the host runs at once, each in its own context of its one browser.
    """
    policies: dict[str, dict[str, str]] = {}
    for task in tasks:
        loaded = task.policy
        content = loaded.path.read_bytes()
        if hashlib.sha256(content).hexdigest() != loaded.version:
            raise BatchError(
                f"policy {loaded.policy.id} changed on disk since it was loaded; reload and retry"
            )
        policies[loaded.policy.id] = {"version": loaded.version, "text": content.decode("utf-8")}
    payload = {
        "not_after": not_after.isoformat() if not_after else None,
        "start_after": start_after or {},
        "contexts": contexts,
        "policies": policies,
        "tasks": [
            {
                "task_id": task.task_id,
                "policy_id": task.policy.policy.id,
                "employee": asdict(task.employee),
                "storage_state": task.storage_state,
                "base_url": task.base_url,
                "mode": task.mode,
                "on": task.on.isoformat() if task.on else None,
                "prior_confirmation": task.prior_confirmation,
            }
            for task in tasks
        ],
    }
    return Fernet(key).encrypt(json.dumps(payload).encode("utf-8"))


def decode_batch(data: bytes, *, key: bytes, work_dir: Path) -> Batch:
    """Decrypt a batch, re-create its policy files under `work_dir` and rebuild the tasks."""
    try:
        payload: dict[str, Any] = json.loads(Fernet(key).decrypt(data))
    except (InvalidToken, ValueError) as exc:
        raise BatchError("the batch cannot be decrypted with the given key") from exc
    policy_dir = work_dir / "policies"
    policy_dir.mkdir(parents=True, exist_ok=True)
    for policy_id, sent in payload["policies"].items():
        (policy_dir / f"{policy_id}.yml").write_text(sent["text"], encoding="utf-8")
    policies = load_policies(policy_dir)
    for policy_id, sent in payload["policies"].items():
        if policies.get(policy_id).version != sent["version"]:
            raise BatchError(f"policy {policy_id} does not match the version that was sent")
    evidence_dir = work_dir / "evidence"
    tasks = [
        EngineTask(
            task_id=item["task_id"],
            policy=policies.get(item["policy_id"]),
            employee=EmployeeFacts(**item["employee"]),
            storage_state=item["storage_state"],
            evidence_dir=evidence_dir,
            base_url=item["base_url"],
            mode=item["mode"],
            on=date.fromisoformat(item["on"]) if item["on"] else None,
            prior_confirmation=item["prior_confirmation"],
        )
        for item in payload["tasks"]
    ]
    not_after = payload.get("not_after")
    return Batch(
        tasks,
        datetime.fromisoformat(not_after) if not_after else None,
        {str(task_id): float(delay) for task_id, delay in payload["start_after"].items()},
        max(1, int(payload.get("contexts", 1))),
    )
