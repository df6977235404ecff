"""What can be wrong with a consent link or an answer, each with the HTTP status people get.

Errors about a known consent carry its `view`, so the page can say what was recorded and what
to do next instead of a bare error.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from orchestrator.core.errors import ConflictError, NotFoundError, OrchestratorError

if TYPE_CHECKING:
    from orchestrator.consent.service import LinkView


class InvalidLinkError(OrchestratorError):
    """The token's signature does not check out: cut short, changed, or not ours."""

    status = HTTPStatus.BAD_REQUEST


class UnknownLinkError(NotFoundError):
    """A genuine token we have no record of (its request was deleted)."""


class ConsentLinkError(OrchestratorError):
    """A problem with an answer to a known consent; `view` is what the page shows."""

    def __init__(self, message: str, *, view: LinkView) -> None:
        super().__init__(message)
        self.view = view


class RequestClosedError(ConsentLinkError):
    """The request is over (deadline passed, withdrawn, cancelled): nothing can be answered."""

    status = HTTPStatus.GONE


class AnswerConflictError(ConsentLinkError, ConflictError):
    """A different answer was already recorded through this request."""


class RequestChangedError(ConsentLinkError, ConflictError):
    """The request's text changed after the page was opened; the employee must read it again."""


class RequestUnavailableError(OrchestratorError):
    """The request names a policy the installation no longer has, so it cannot be shown."""

    status = HTTPStatus.GONE
