"""`/api/employees`: the directory, one employee with their consents, jobs and evidence, import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from orchestrator.consent.listing import Progress, employees_in, list_consents
from orchestrator.employees.directory import FileFormat
from orchestrator.employees.listing import get_employee
from orchestrator.employees.service import ImportReport, import_directory, list_employees
from orchestrator.evidence.listing import list_evidence
from orchestrator.jobs.listing import list_jobs
from orchestrator.web.api.common import IdPath, Limit, Offset, Page, Text, write
from orchestrator.web.api.schemas import (
    ConsentOut,
    EmployeeDetail,
    EmployeeOut,
    EvidenceOut,
    ImportOut,
    JobOut,
)
from orchestrator.web.auth import Importer, Viewer
from orchestrator.web.context import WebDep
from orchestrator.web.forms import FormTooLargeError, UnsupportedFormError

router = APIRouter(prefix="/employees", tags=["employees"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024
_FORMATS: dict[str, FileFormat] = {"text/csv": "csv", "application/json": "json"}


@router.get("", response_model=Page[EmployeeOut])
def employees(
    web: WebDep,
    _: Viewer,
    department: Text = None,
    country: Text = None,
    active: bool | None = None,
    search: Text = None,
    progress: Annotated[
        Progress | None,
        Query(description="Only employees with a consent or opt-out job in this state."),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[EmployeeOut]:
    """Employees matching the filters (a department includes its sub-departments)."""
    with web.unit_of_work() as session:
        items, total = list_employees(
            session,
            department=department,
            country=country,
            active=active,
            search=search,
            among=employees_in(progress) if progress else None,
            limit=limit,
            offset=offset,
        )
    return Page(
        items=[EmployeeOut.model_validate(i) for i in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{employee_id}", response_model=EmployeeDetail)
def employee(employee_id: IdPath, web: WebDep, _: Viewer) -> EmployeeDetail:
    """One employee with their latest consents, jobs and evidence (100 of each at most)."""
    with web.unit_of_work() as session:
        view = get_employee(session, employee_id=employee_id)
        consents, _total = list_consents(session, employee_id=employee_id, limit=100)
        jobs, _total = list_jobs(session, employee_id=employee_id, limit=100)
        evidence, _total = list_evidence(session, employee_id=employee_id, limit=100)
    return EmployeeDetail(
        employee=EmployeeOut.model_validate(view),
        consents=[ConsentOut.model_validate(c) for c in consents],
        jobs=[JobOut.model_validate(j) for j in jobs],
        evidence=[evidence_out(e) for e in evidence],
    )


def evidence_out(record: object) -> EvidenceOut:
    out = EvidenceOut.model_validate(record)
    return out.model_copy(update={"has_file": bool(getattr(record, "path", None))})


@router.post(
    "/import",
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
    responses={422: {"description": "The file was rejected; `error.problems` lists each row."}},
)
async def import_employees(
    request: Request,
    web: WebDep,
    principal: Importer,
    source: Annotated[str, Query(min_length=1, max_length=200)] = "directory",
    dry_run: bool = False,
    deactivate_missing: bool = False,
) -> ImportReport:
    """Import the HR export in the body (CSV or JSON): all rows or none, every problem listed."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    file_format = _FORMATS.get(media_type)
    if file_format is None:
        raise UnsupportedFormError("send the directory as text/csv or application/json")
    data = await read_body(request, MAX_IMPORT_BYTES)
    now = web.clock()

    def run() -> ImportReport:
        with web.unit_of_work() as session:
            return import_directory(
                session,
                data=data,
                source=source,
                actor=principal.actor,
                now=now,
                file_format=file_format,
                deactivate_missing=deactivate_missing,
                dry_run=dry_run,
            )

    return await write(web, run)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused past `limit` bytes without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FormTooLargeError(f"the file is larger than {limit // (1024 * 1024)} MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise FormTooLargeError(f"the file is larger than {limit // (1024 * 1024)} MB")
    return bytes(body)
