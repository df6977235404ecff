"""The test-only control API under `/__replica__/`: seed accounts, read what happened, reset.

Tests, the demo and the benchmarks use it (through `ReplicaClient`) to set up each account's
behaviours and then assert on the replica's server-side state rather than on the page.
"""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Response

from orchestrator.replica.models import (
    AccountSeed,
    AccountState,
    Drift,
    Platform,
    SeededAccount,
    StorageState,
)
from orchestrator.replica.state import (
    ReplicaState,
    UnknownAccountError,
    UnknownSettingError,
    UnsupportedBehaviourError,
)

CONTROL_PREFIX = "/__replica__"


def control_router(state: ReplicaState) -> APIRouter:
    """The control API bound to `state`."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["replica control"])

    @router.get("/health")
    def health() -> dict[str, str]:
        """Answers once the server is up; the test fixture waits on it."""
        return {"status": "ok"}

    @router.post("/accounts", status_code=201)
    def seed_account(seed: AccountSeed) -> SeededAccount:
        """Create or replace an account with its behaviours; returns its session cookie."""
        try:
            return state.seed(seed)
        except UnsupportedBehaviourError as error:
            raise HTTPException(status_code=422, detail=str(error)) from None

    @router.get("/accounts/{platform}/{account_id}")
    def account_state(platform: Platform, account_id: str) -> AccountState:
        """Everything the replica holds about one account."""
        try:
            return state.snapshot(platform, account_id)
        except UnknownAccountError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None

    @router.get("/accounts/{platform}/{account_id}/storage-state")
    def storage_state(
        platform: Platform,
        account_id: str,
        base_url: Annotated[str, Query(description="The replica's origin as the browser sees it")],
    ) -> StorageState:
        """A Playwright storage state that signs a browser context in as the account."""
        host = urlsplit(base_url).hostname
        if host is None:
            raise HTTPException(status_code=422, detail=f"base_url has no host: {base_url!r}")
        try:
            return state.storage_state(platform, account_id, domain=host)
        except UnknownAccountError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None

    @router.post("/accounts/{platform}/{account_id}/drift", status_code=204)
    def drift(platform: Platform, account_id: str, change: Drift) -> Response:
        """The platform switches a setting back on by itself (what re-verification detects)."""
        try:
            state.drift(platform, account_id, change.setting, enabled=change.enabled)
        except UnknownAccountError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        except UnknownSettingError as error:
            raise HTTPException(status_code=422, detail=f"no setting {error}") from None
        return Response(status_code=204)

    @router.post("/reset", status_code=204)
    def reset() -> Response:
        """Forget every account."""
        state.reset()
        return Response(status_code=204)

    return router
