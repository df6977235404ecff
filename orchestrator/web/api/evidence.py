"""`/api/evidence`: evidence records (metadata and hashes) and their files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from orchestrator.evidence.listing import evidence_file, get_evidence, list_evidence, media_type
from orchestrator.web.api.common import IdPath, IdQuery, Limit, Offset, Page
from orchestrator.web.api.employees import evidence_out
from orchestrator.web.api.schemas import EvidenceOut
from orchestrator.web.auth import EvidenceReader
from orchestrator.web.context import WebContext, WebDep

router = APIRouter(prefix="/evidence", tags=["evidence"])


@router.get("", response_model=Page[EvidenceOut])
def evidence(
    web: WebDep,
    _: EvidenceReader,
    job_id: IdQuery = None,
    employee_id: IdQuery = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[EvidenceOut]:
    """Evidence records matching the filters, newest first."""
    with web.unit_of_work() as session:
        items, total = list_evidence(
            session, job_id=job_id, employee_id=employee_id, kind=kind, limit=limit, offset=offset
        )
    return Page(items=[evidence_out(i) for i in items], total=total, limit=limit, offset=offset)


@router.get("/{evidence_id}", response_model=EvidenceOut)
def one(evidence_id: IdPath, web: WebDep, _: EvidenceReader) -> EvidenceOut:
    """One evidence record."""
    with web.unit_of_work() as session:
        return evidence_out(get_evidence(session, evidence_id=evidence_id))


@router.get(
    "/{evidence_id}/file",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}, "application/json": {}}}},
)
def file(evidence_id: IdPath, web: WebDep, _: EvidenceReader) -> FileResponse:
    """The record's file from the evidence store (PNG screenshot, JSON outcome...)."""
    return serve_evidence(web, evidence_id)


def serve_evidence(web: WebContext, evidence_id: int) -> FileResponse:
    """A stored evidence file, never a path outside the store, with its hash as the ETag."""
    with web.unit_of_work() as session:
        record = get_evidence(session, evidence_id=evidence_id)
    path = evidence_file(record, root=web.settings.resolved_evidence_dir)
    return FileResponse(
        path,
        media_type=media_type(path),
        headers={"ETag": f'"{record.sha256}"', "Cache-Control": "private, no-store"},
        filename=path.name,
        content_disposition_type="inline",
    )
