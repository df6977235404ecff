"""What the engine is given and what it gives back: small frozen values, never ORM rows.

These cross the boundary between the orchestrator and a fleet host (later as JSON through
Ansible), so they hold plain data only and serialise with `as_dict()`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from orchestrator.policies import LoadedPolicy

Mode = Literal["opt_out", "verify"]


class OutcomeStatus(StrEnum):
    """How a run ended. Only CHANGED and ALREADY_COMPLIANT mean the account is opted out."""

    CHANGED = "changed"
    ALREADY_COMPLIANT = "already_compliant"
    NOT_APPLICABLE = "not_applicable"
    NEEDS_EMPLOYEE_ACTION = "needs_employee_action"
    DRIFTED = "drifted"
    FAILED = "failed"

    @property
    def compliant(self) -> bool:
        return self in {OutcomeStatus.CHANGED, OutcomeStatus.ALREADY_COMPLIANT}


@dataclass(frozen=True)
class EmployeeFacts:
    """What a policy may know of the employee (its `fill` templates use these)."""

    email: str
    name: str
    department: str
    country: str

    def template_context(self) -> dict[str, Any]:
        return {"employee": asdict(self)}


@dataclass(frozen=True)
class EngineTask:
    """One policy for one employee, in the session the employee provided."""

    task_id: str
    policy: LoadedPolicy
    employee: EmployeeFacts
    storage_state: dict[str, Any] | None
    evidence_dir: Path
    base_url: str | None = None
    mode: Mode = "opt_out"
    on: date | None = None
    prior_confirmation: dict[str, str] | None = None


@dataclass(frozen=True)
class EvidenceFile:
    """A file of proof, with the hash that lets an auditor detect any change to it."""

    kind: str
    path: str
    sha256: str
    url: str | None
    captured_at: datetime


@dataclass(frozen=True)
class ControlReading:
    """The control the opt-out is about, as read on the page: before and after the run."""

    control: str
    aria: str
    checked_before: bool | None
    checked_after: bool | None


@dataclass(frozen=True)
class Outcome:
    """The result of one task: status, why, where it stopped, and the proof it left."""

    task_id: str
    policy_id: str
    policy_version: str
    status: OutcomeStatus
    message: str
    started_at: datetime
    finished_at: datetime
    step: str | None = None
    transient: bool = False
    retry_after_seconds: float | None = None
    rule_id: str | None = None
    rule_source: str | None = None
    employee_action: str | None = None
    final_url: str | None = None
    control: ControlReading | None = None
    captured: dict[str, str] = field(default_factory=dict)
    evidence: tuple[EvidenceFile, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: enums as values, times as ISO strings."""
        data = asdict(self)
        data["status"] = self.status.value
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        for item in data["evidence"]:
            item["captured_at"] = item["captured_at"].isoformat()
        return data


def outcome_from_dict(data: dict[str, Any]) -> Outcome:
    """Rebuild an Outcome from its `as_dict()` form (what comes back from a fleet host)."""
    control = data.get("control")
    return Outcome(
        task_id=data["task_id"],
        policy_id=data["policy_id"],
        policy_version=data["policy_version"],
        status=OutcomeStatus(data["status"]),
        message=data["message"],
        started_at=datetime.fromisoformat(data["started_at"]),
        finished_at=datetime.fromisoformat(data["finished_at"]),
        step=data.get("step"),
        transient=bool(data.get("transient")),
        retry_after_seconds=data.get("retry_after_seconds"),
        rule_id=data.get("rule_id"),
        rule_source=data.get("rule_source"),
        employee_action=data.get("employee_action"),
        final_url=data.get("final_url"),
        control=ControlReading(**control) if control else None,
        captured=dict(data.get("captured") or {}),
        evidence=tuple(
            EvidenceFile(
                kind=item["kind"],
                path=item["path"],
                sha256=item["sha256"],
                url=item.get("url"),
                captured_at=datetime.fromisoformat(item["captured_at"]),
            )
            for item in data.get("evidence", [])
        ),
    )
