"""Who does what in the demo: the answers employees give and the state of their accounts.

Fixed by the sample directory's row order so every run tells the same story, and the test of
the demo can check the reports against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Answer(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    SILENT = "silent"

    @property
    def told(self) -> str:
        """The answer as the demo's summary tells it."""
        return {"approve": "approved", "decline": "declined"}.get(self.value, "never answered")


# Positions (0-based) in the sample directory.
_DECLINE = frozenset({6, 18, 32, 47})
_SILENT = frozenset({4, 13, 25, 37, 43, 56})
_SIGNED_OUT = frozenset({9})  # approves, but their LinkedIn session has expired
_ALREADY_OPTED_OUT = frozenset({15, 40})  # approves; the switch was already off


@dataclass(frozen=True)
class Person:
    """One employee's part in the story."""

    email: str
    answer: Answer
    replica_behaviours: tuple[str, ...]

    @property
    def signed_out(self) -> bool:
        return "signed_out" in self.replica_behaviours


def cast(emails: Sequence[str]) -> list[Person]:
    """Give each employee of the sample, in file order, their part."""
    people = []
    for position, email in enumerate(emails):
        if position in _DECLINE:
            answer = Answer.DECLINE
        elif position in _SILENT:
            answer = Answer.SILENT
        else:
            answer = Answer.APPROVE
        behaviours: tuple[str, ...] = ()
        if position in _SIGNED_OUT:
            behaviours = ("signed_out",)
        elif position in _ALREADY_OPTED_OUT:
            behaviours = ("already_opted_out",)
        people.append(Person(email=email, answer=answer, replica_behaviours=behaviours))
    return people
