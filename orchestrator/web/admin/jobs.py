"""Jobs: the queue with filters, and one job with its evidence side by side and its run log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from orchestrator.evidence.listing import list_evidence
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.jobs.listing import get_job, list_jobs, run_log
from orchestrator.jobs.models import JobState
from orchestrator.jobs.queue import retry_job
from orchestrator.web.admin.pages import checked_form, redirect, render
from orchestrator.web.api.common import IdPath, IdQuery, Offset, write
from orchestrator.web.api.jobs import cancel_one
from orchestrator.web.auth import JobRunner, Permission, Viewer, may
from orchestrator.web.context import WebDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/admin/jobs")
def jobs(
    request: Request,
    web: WebDep,
    principal: Viewer,
    state: Annotated[JobState | None, Query()] = None,
    campaign_id: IdQuery = None,
    offset: Offset = 0,
) -> Response:
    """The queue, newest first, filtered by state and campaign."""
    with web.unit_of_work() as session:
        items, total = list_jobs(
            session,
            state=state.value if state else None,
            campaign_id=campaign_id,
            limit=PAGE_SIZE,
            offset=offset,
        )
    context = {
        "items": items,
        "total": total,
        "offset": offset,
        "limit": PAGE_SIZE,
        "states": list(JobState),
        "filters": {"state": state.value if state else "", "campaign_id": campaign_id or ""},
    }
    return render(request, web, principal, "admin/jobs.html", context, section="jobs")


@router.get("/admin/jobs/{job_id}")
def job(job_id: IdPath, request: Request, web: WebDep, principal: Viewer) -> Response:
    """One job: its state, the evidence viewer (before and after side by side), its run log."""
    with web.unit_of_work() as session:
        found = get_job(session, job_id=job_id)
        evidence: list[EvidenceRecord] = []
        if may(principal, Permission.EVIDENCE):
            evidence, _ = list_evidence(session, job_id=job_id, limit=200)
        log = run_log(session, job_id=job_id)
    attempts = sorted({int(e.data.get("attempt", 0)) for e in evidence}, reverse=True)
    by_attempt = {
        attempt: {e.kind: e for e in evidence if int(e.data.get("attempt", 0)) == attempt}
        for attempt in attempts
    }
    context = {"job": found, "by_attempt": by_attempt, "evidence": evidence, "log": log}
    return render(request, web, principal, "admin/job.html", context, section="jobs")


@router.post("/admin/jobs/{job_id}/retry")
async def retry(job_id: IdPath, request: Request, web: WebDep, principal: JobRunner) -> Response:
    """Queue the job again."""
    await checked_form(request, web, principal)
    now = web.clock()

    def run() -> None:
        with web.unit_of_work() as session:
            retry_job(session, job_id=job_id, actor=principal.actor, now=now)

    await write(web, run)
    return redirect(f"/admin/jobs/{job_id}")


@router.post("/admin/jobs/{job_id}/cancel")
async def cancel(job_id: IdPath, request: Request, web: WebDep, principal: JobRunner) -> Response:
    """Cancel the job."""
    await checked_form(request, web, principal)
    await cancel_one(
        web, job_id=job_id, actor=principal.actor, reason=f"cancelled by {principal.actor}"
    )
    return redirect(f"/admin/jobs/{job_id}")
