"""One error family for everything a user or client can get wrong.

Each error carries a message meant for people and the HTTP status a client should see, so the
CLI prints it and the API renders it without knowing which room raised it.
"""

from __future__ import annotations

from http import HTTPStatus


class OrchestratorError(Exception):
    """Base error: `message` is for people, `status` for HTTP clients."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(OrchestratorError):
    """The thing named does not exist."""

    status = HTTPStatus.NOT_FOUND


class ConflictError(OrchestratorError):
    """The request clashes with the current state (already decided, already running...)."""

    status = HTTPStatus.CONFLICT


class ConfigurationError(OrchestratorError):
    """The installation's settings are unusable (bad database URL, unwritable directory...)."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
