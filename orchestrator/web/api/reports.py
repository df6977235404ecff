"""`/api/reports` and `/api/bundles`: the compliance report and the auditor's evidence bundle.

Both are downloads: the report streams in the asked format as it is rendered; the bundle is
written to a private temporary file (signed zip) that is streamed and then deleted. The admin
UI's reports page links here, so a browser's sign-in may read them as any API GET.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from orchestrator.admins.service import Principal
from orchestrator.campaigns.timing import parse_as_of
from orchestrator.reports import (
    ReportFormat,
    ReportParameters,
    build_department_report,
    render_report,
    report_file_name,
    report_media_type,
    write_evidence_bundle,
)
from orchestrator.web.auth import BundleMaker, Viewer
from orchestrator.web.context import WebContext, WebDep

router = APIRouter(tags=["reports"])

DepartmentQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Only this department (its full path) and its sub-departments; empty: all.",
    ),
]
AsOfQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="The state at this moment (ISO 8601, UTC unless it has an offset; a bare "
        "date means the end of that day); empty: now.",
        examples=["2026-11-30"],
    ),
]
_REPORT_TYPES: dict[str, dict[str, str]] = {
    report_media_type(fmt).split(";")[0]: {} for fmt in ReportFormat
}


def report_parameters(
    web: WebContext, principal: Principal, *, department: str | None, as_of: str | None
) -> ReportParameters:
    """What the report covers, asked by `principal` now."""
    now = web.clock()
    return ReportParameters(
        department=(department or "").strip() or None,
        as_of=parse_as_of(as_of, now=now),
        generated_at=now,
        generated_by=principal.actor,
    )


@router.get(
    "/reports/department",
    response_class=StreamingResponse,
    responses={200: {"content": _REPORT_TYPES, "description": "The report, as a download."}},
)
def department_report(
    web: WebDep,
    principal: Viewer,
    format: Annotated[ReportFormat, Query(description="html, pdf, csv or json.")] = (
        ReportFormat.HTML
    ),
    department: DepartmentQuery = None,
    as_of: AsOfQuery = None,
) -> StreamingResponse:
    """Compliance by department and policy, now or as of a past moment, streamed as a file."""
    params = report_parameters(web, principal, department=department, as_of=as_of)
    with web.unit_of_work() as session:
        report = build_department_report(session, params=params, policies=web.consent.policies)
    name = report_file_name(report, format)
    return StreamingResponse(
        render_report(report, format),
        media_type=report_media_type(format),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/bundles/department",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The signed bundle."}},
)
def evidence_bundle(
    web: WebDep, principal: BundleMaker, department: DepartmentQuery = None, as_of: AsOfQuery = None
) -> FileResponse:
    """The auditor's signed zip: the report and every piece of evidence it cites, with hashes."""
    params = report_parameters(web, principal, department=department, as_of=as_of)
    directory = Path(tempfile.mkdtemp(prefix="optout-bundle-"))
    try:
        with web.unit_of_work() as session:
            summary = write_evidence_bundle(
                session,
                params=params,
                policies=web.consent.policies,
                settings=web.settings,
                out=directory / "bundle.zip",
            )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    stem = report_file_name(summary.report, ReportFormat.JSON).removesuffix(".json")
    return FileResponse(
        summary.path,
        media_type="application/zip",
        filename=stem.replace("compliance-", "evidence-bundle-", 1) + ".zip",
        background=BackgroundTask(shutil.rmtree, directory, ignore_errors=True),
    )
