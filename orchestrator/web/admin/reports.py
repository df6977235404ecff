"""Reports: compliance by department at a glance, and the downloads (report, evidence bundle)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from orchestrator.admins.service import Principal
from orchestrator.employees.listing import department_paths
from orchestrator.reports import (
    DepartmentReport,
    ReportFormat,
    ReportParameters,
    build_department_report,
)
from orchestrator.web.admin.pages import render
from orchestrator.web.auth import Viewer
from orchestrator.web.context import WebContext, WebDep

router = APIRouter(include_in_schema=False)
BAR_WIDTH = 360
ROW_HEIGHT = 24


def current_report(web: WebContext, principal: Principal) -> DepartmentReport:
    """The report on every department as things stand now."""
    params = ReportParameters(
        department=None, as_of=None, generated_at=web.clock(), generated_by=principal.actor
    )
    with web.unit_of_work() as session:
        return build_department_report(session, params=params, policies=web.consent.policies)


def compliance_chart(report: DepartmentReport, *, top_level_only: bool) -> dict[str, Any] | None:
    """The compliance chart's bars, one per department sized by its share compliant (None when
    no one is in scope of any policy yet)."""
    bars = [
        (name, percent, pairs)
        for name, percent, pairs in report.chart()
        if not top_level_only or "/" not in name
    ]
    if not bars:
        return None
    return {
        "bars": [
            {
                "name": name,
                "percent": percent,
                "pairs": pairs,
                "width": round(BAR_WIDTH * percent / 100, 1),
                "y": index * ROW_HEIGHT,
            }
            for index, (name, percent, pairs) in enumerate(bars)
        ],
        "height": len(bars) * ROW_HEIGHT,
        "bar_width": BAR_WIDTH,
    }


@router.get("/admin/reports")
def reports(request: Request, web: WebDep, principal: Viewer) -> Response:
    """The compliance chart and per-policy totals, and the form to download a report or bundle."""
    report = current_report(web, principal)
    with web.unit_of_work() as session:
        departments = department_paths(session)
    context = {
        "departments": departments,
        "report": report,
        "compliance": compliance_chart(report, top_level_only=False),
        "formats": list(ReportFormat),
    }
    return render(request, web, principal, "admin/reports.html", context, section="reports")
