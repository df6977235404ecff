"""Employees: search and filter, one employee's consents, jobs and evidence, and imports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from orchestrator.consent.listing import Progress, employees_in, list_consents
from orchestrator.employees.directory import DirectoryImportError, detect_format
from orchestrator.employees.listing import department_paths, get_employee
from orchestrator.employees.service import ImportReport, import_directory, list_employees
from orchestrator.evidence.listing import list_evidence
from orchestrator.jobs.listing import list_jobs
from orchestrator.web.admin.pages import checked_form, render
from orchestrator.web.api.common import IdPath, Offset, write
from orchestrator.web.auth import Importer, Viewer
from orchestrator.web.context import WebDep
from orchestrator.web.forms import FormError

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Filter = Annotated[str, Query(max_length=200)]


@router.get("/admin/employees")
def employees(
    request: Request,
    web: WebDep,
    principal: Viewer,
    q: Filter = "",
    department: Filter = "",
    status: Filter = "",
    progress: Filter = "",
    offset: Offset = 0,
) -> Response:
    """The directory, searchable by name or email, filtered by department, status and where
    their opt-outs stand."""
    active = {"active": True, "inactive": False}.get(status)
    chosen = {choice.value: choice for choice in Progress}.get(progress)
    with web.unit_of_work() as session:
        items, total = list_employees(
            session,
            department=department or None,
            active=active,
            search=q or None,
            among=employees_in(chosen) if chosen else None,
            limit=PAGE_SIZE,
            offset=offset,
        )
        departments = department_paths(session)
    context = {
        "items": items,
        "total": total,
        "offset": offset,
        "limit": PAGE_SIZE,
        "filters": {
            "q": q,
            "department": department,
            "status": status,
            "progress": chosen.value if chosen else "",
        },
        "departments": departments,
        "progress_choices": [(choice.value, choice.value.replace("_", " ")) for choice in Progress],
    }
    return render(request, web, principal, "admin/employees.html", context, section="employees")


@router.get("/admin/employees/import")
def import_page(request: Request, web: WebDep, principal: Importer) -> Response:
    """The import form."""
    return render(request, web, principal, "admin/import.html", {}, section="employees")


@router.post("/admin/employees/import")
async def import_submit(request: Request, web: WebDep, principal: Importer) -> Response:
    """Import the uploaded export: a summary, or the table of every problem (nothing imported)."""
    form = await checked_form(request, web, principal)
    upload = form.upload
    if upload is None or not upload.data:
        raise FormError("choose the directory file (CSV or JSON) to import")
    data, source = upload.data, upload.filename[:200]
    dry_run = form.get("dry_run") == "on"
    deactivate_missing = form.get("deactivate_missing") == "on"
    now = web.clock()

    def run() -> ImportReport:
        with web.unit_of_work() as session:
            return import_directory(
                session,
                data=data,
                source=source,
                actor=principal.actor,
                now=now,
                file_format=detect_format(source),
                deactivate_missing=deactivate_missing,
                dry_run=dry_run,
            )

    try:
        report = await write(web, run)
    except DirectoryImportError as exc:
        context = {"rejected": exc, "problems": exc.problems}
        return render(
            request, web, principal, "admin/import.html", context, section="employees", status=422
        )
    return render(
        request, web, principal, "admin/import.html", {"report": report}, section="employees"
    )


@router.get("/admin/employees/{employee_id}")
def employee(employee_id: IdPath, request: Request, web: WebDep, principal: Viewer) -> Response:
    """One employee: who they are, their consents, jobs and evidence."""
    with web.unit_of_work() as session:
        view = get_employee(session, employee_id=employee_id)
        consents, _ = list_consents(session, employee_id=employee_id, limit=100)
        jobs, _ = list_jobs(session, employee_id=employee_id, limit=100)
        evidence, _ = list_evidence(session, employee_id=employee_id, limit=100)
    context = {"employee": view, "consents": consents, "jobs": jobs, "evidence": evidence}
    return render(request, web, principal, "admin/employee.html", context, section="employees")
