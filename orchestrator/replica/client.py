"""`ReplicaClient`: the control API from Python, for tests, the demo and the benchmarks.

One place builds the control requests and parses the answers into the same models the server
uses, so callers never hand-write replica URLs or JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from orchestrator.replica.control import CONTROL_PREFIX
from orchestrator.replica.models import (
    DEFAULT_PASSWORD,
    REAL_ORIGINS,
    AccountSeed,
    AccountState,
    Behaviour,
    Platform,
    SeededAccount,
)


class ReplicaRequestError(Exception):
    """The replica refused a control request; the message carries its reason."""


class ReplicaClient:
    """Seeds accounts in a running replica and reads back what happened to them."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        """`base_url` is the replica's origin as browsers reach it, e.g. http://127.0.0.1:8765."""
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=f"{self.base_url}{CONTROL_PREFIX}", timeout=timeout)

    def __enter__(self) -> ReplicaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def seed_account(
        self,
        platform: Platform | str,
        account_id: str,
        *,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        behaviours: Iterable[Behaviour | str] = (),
        training_enabled: bool | None = None,
    ) -> SeededAccount:
        """Create or replace an account; the email defaults to `<account_id>@example.com`."""
        seed = AccountSeed(
            platform=Platform(platform),
            account_id=account_id,
            email=email or f"{account_id}@example.com",
            password=password,
            behaviours=[Behaviour(b) for b in behaviours],
            training_enabled=training_enabled,
        )
        response = self._http.post("/accounts", json=seed.model_dump(mode="json"))
        return SeededAccount.model_validate(self._checked(response).json())

    def account_state(self, platform: Platform | str, account_id: str) -> AccountState:
        """Everything the replica holds about the account."""
        response = self._http.get(self._account_path(platform, account_id))
        return AccountState.model_validate(self._checked(response).json())

    def storage_state(self, platform: Platform | str, account_id: str) -> dict[str, Any]:
        """A Playwright `storage_state` dict that signs a context in as the account."""
        response = self._http.get(
            f"{self._account_path(platform, account_id)}/storage-state",
            params={"base_url": self.base_url},
        )
        state: dict[str, Any] = self._checked(response).json()
        return state

    def drift(
        self, platform: Platform | str, account_id: str, setting: str, *, enabled: bool = True
    ) -> None:
        """Have the platform switch a setting by itself (drift, for re-verification)."""
        response = self._http.post(
            f"{self._account_path(platform, account_id)}/drift",
            json={"setting": setting, "enabled": enabled},
        )
        self._checked(response)

    def reset(self) -> None:
        """Forget every account in the replica."""
        self._checked(self._http.post("/reset"))

    def site_url(self, platform: Platform | str, path: str = "/") -> str:
        """The replica URL of `path` on a site, e.g. ("linkedin", "/login")."""
        return f"{self.base_url}/{Platform(platform).value}{path}"

    def replica_url(self, real_url: str) -> str:
        """The replica URL standing for a real one (https://x.com/a → <replica>/x/a)."""
        parts = urlsplit(real_url)
        prefix = REAL_ORIGINS.get(f"{parts.scheme}://{parts.netloc}")
        if prefix is None:
            raise ValueError(f"the replica does not stand in for {real_url!r}")
        rest = real_url[len(f"{parts.scheme}://{parts.netloc}") :]
        return f"{self.base_url}/{prefix}{rest or '/'}"

    @staticmethod
    def _account_path(platform: Platform | str, account_id: str) -> str:
        return f"/accounts/{Platform(platform).value}/{quote(account_id, safe='')}"

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        if response.is_error:
            raise ReplicaRequestError(
                f"{response.request.method} {response.request.url} answered "
                f"{response.status_code}: {response.text}"
            )
        return response
