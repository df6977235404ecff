"""What goes wrong with policies: problems found while loading, and unknown policy ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.core.errors import NotFoundError, OrchestratorError


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong in one file: where (`steps[2].ensure.control`, line) and why."""

    file: Path
    location: str
    reason: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        place = str(self.file)
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        where = f" {self.location}:" if self.location else ""
        return f"{place}:{where} {self.reason}"


class PolicyError(OrchestratorError):
    """The policies are unusable; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the policies:\n{lines}")


class UnknownPolicyError(NotFoundError):
    """A policy id that is not in the loaded set; the message lists the ids that are."""

    def __init__(self, policy_id: str, known_ids: Iterable[str]) -> None:
        self.policy_id = policy_id
        self.known_ids = tuple(known_ids)
        known = ", ".join(self.known_ids) or "none"
        super().__init__(f"unknown policy {policy_id!r}; known policies: {known}")


class TemplateRenderError(OrchestratorError):
    """A policy's value template needs data the employee record does not have."""
