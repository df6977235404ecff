"""The dashboard: where things stand at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from orchestrator.campaigns.models import CampaignState
from orchestrator.campaigns.service import list_campaigns
from orchestrator.jobs.listing import job_counts, recent_failures
from orchestrator.jobs.queue import paused_policies
from orchestrator.web.admin.pages import render
from orchestrator.web.admin.reports import compliance_chart, current_report
from orchestrator.web.auth import Viewer
from orchestrator.web.context import WebDep

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def dashboard(request: Request, web: WebDep, principal: Viewer) -> Response:
    """Compliance by department, job counts, recent failures, paused policies, live campaigns."""
    with web.unit_of_work() as session:
        counts = job_counts(session)
        failures = recent_failures(session, limit=10)
        paused = paused_policies(session)
        live = [
            c
            for c in list_campaigns(session)
            if c.state in (CampaignState.RUNNING, CampaignState.SCHEDULED, CampaignState.PAUSED)
        ]
    compliance = compliance_chart(current_report(web, principal), top_level_only=True)
    context = {
        "counts": counts,
        "failures": failures,
        "paused": paused,
        "live": live,
        "compliance": compliance,
    }
    return render(request, web, principal, "admin/dashboard.html", context, section="dashboard")
