"""`/api/policies`: the loaded policies with their versions, and which are paused."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from orchestrator.jobs.models import PolicyHealth
from orchestrator.jobs.queue import paused_policies
from orchestrator.policies import LoadedPolicy
from orchestrator.web.api.schemas import PolicyOut
from orchestrator.web.auth import Viewer
from orchestrator.web.context import WebDep

router = APIRouter(prefix="/policies", tags=["policies"])


@router.get("", response_model=list[PolicyOut])
def policies(web: WebDep, _: Viewer) -> list[PolicyOut]:
    """Every loaded policy (a handful: not paged), with its version and pause state."""
    with web.unit_of_work() as session:
        paused = {health.policy_id: health for health in paused_policies(session)}
    return [policy_out(loaded, paused.get(loaded.policy.id)) for loaded in web.consent.policies]


@router.get("/{policy_id}", response_model=PolicyOut)
def policy(policy_id: Annotated[str, Path(max_length=100)], web: WebDep, _: Viewer) -> PolicyOut:
    """One policy."""
    loaded = web.consent.policies.get(policy_id)
    with web.unit_of_work() as session:
        paused = {health.policy_id: health for health in paused_policies(session)}
    return policy_out(loaded, paused.get(policy_id))


def policy_out(loaded: LoadedPolicy, health: PolicyHealth | None) -> PolicyOut:
    return PolicyOut(
        id=loaded.policy.id,
        platform=loaded.policy.platform,
        title=loaded.policy.title,
        version=loaded.version,
        paused=health is not None,
        paused_reason=health.failure_reason if health else None,
    )
