"""`/api/jobs`: the queue with filters, one job, its run's log, retry and cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from orchestrator.jobs.listing import get_job, list_jobs, run_log
from orchestrator.jobs.models import JobState
from orchestrator.jobs.queue import cancel_job, retry_job
from orchestrator.web.api.common import IdPath, IdQuery, Limit, Offset, Page, Text, write
from orchestrator.web.api.schemas import JobOut, ReasonIn, RunLogOut
from orchestrator.web.auth import JobRunner, Viewer
from orchestrator.web.context import WebContext, WebDep

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=Page[JobOut])
def jobs(
    web: WebDep,
    _: Viewer,
    state: Annotated[JobState | None, Query()] = None,
    campaign_id: IdQuery = None,
    employee_id: IdQuery = None,
    policy_id: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[JobOut]:
    """Jobs matching the filters, newest first."""
    with web.unit_of_work() as session:
        items, total = list_jobs(
            session,
            state=state.value if state else None,
            campaign_id=campaign_id,
            employee_id=employee_id,
            policy_id=policy_id,
            limit=limit,
            offset=offset,
        )
        found = [JobOut.model_validate(i) for i in items]
    return Page(items=found, total=total, limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobOut)
def job(job_id: IdPath, web: WebDep, _: Viewer) -> JobOut:
    """One job."""
    with web.unit_of_work() as session:
        return JobOut.model_validate(get_job(session, job_id=job_id))


@router.get("/{job_id}/log", response_model=RunLogOut)
def log(job_id: IdPath, web: WebDep, _: Viewer) -> RunLogOut:
    """What the ansible-runner run that last carried the job out printed."""
    with web.unit_of_work() as session:
        return RunLogOut.model_validate(run_log(session, job_id=job_id))


@router.post("/{job_id}/retry", response_model=JobOut)
async def retry(job_id: IdPath, web: WebDep, principal: JobRunner) -> JobOut:
    """Queue a failed, needs-action or cancelled job again (its consent must still stand)."""
    now = web.clock()

    def run() -> JobOut:
        with web.unit_of_work() as session:
            retry_job(session, job_id=job_id, actor=principal.actor, now=now)
            return JobOut.model_validate(get_job(session, job_id=job_id))

    return await write(web, run)


@router.post("/{job_id}/cancel", response_model=JobOut)
async def cancel(
    job_id: IdPath, web: WebDep, principal: JobRunner, body: ReasonIn | None = None
) -> JobOut:
    """Cancel a queued, scheduled or running job."""
    reason = (body.reason if body else None) or f"cancelled by {principal.actor}"
    return await cancel_one(web, job_id=job_id, actor=principal.actor, reason=reason)


async def cancel_one(web: WebContext, *, job_id: int, actor: str, reason: str) -> JobOut:
    """Cancel a job in its own transaction and return it as it now stands."""
    now = web.clock()

    def run() -> JobOut:
        with web.unit_of_work() as session:
            cancel_job(session, job_id=job_id, actor=actor, reason=reason, now=now)
            return JobOut.model_validate(get_job(session, job_id=job_id))

    return await write(web, run)
