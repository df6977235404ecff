"""`/api/audit`: the append-only audit log, newest first, and a check of its hash chain."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.audit.listing import list_events
from orchestrator.audit.service import verify_chain
from orchestrator.web.api.common import Limit, Offset, Page, Text
from orchestrator.web.api.schemas import AuditEventOut, ChainOut
from orchestrator.web.auth import Viewer
from orchestrator.web.context import WebDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEventOut])
def events(
    web: WebDep,
    _: Viewer,
    action: Text = None,
    actor: Text = None,
    subject_type: Text = None,
    subject_id: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditEventOut]:
    """Audit events matching the filters (an action ending in `.` matches as a prefix)."""
    with web.unit_of_work() as session:
        items, total = list_events(
            session,
            action=action,
            actor=actor,
            subject_type=subject_type,
            subject_id=subject_id,
            limit=limit,
            offset=offset,
        )
        found = [AuditEventOut.model_validate(i) for i in items]
    return Page(items=found, total=total, limit=limit, offset=offset)


@router.get("/verify", response_model=ChainOut)
def verify(web: WebDep, _: Viewer) -> ChainOut:
    """Walk the whole hash chain: does every event still hash to what the next one names?"""
    with web.unit_of_work() as session:
        report = verify_chain(session)
    return ChainOut(
        ok=report.ok,
        checked=report.checked,
        head_seq=report.head.seq if report.head else None,
        head_hash=report.head.hash if report.head else None,
        broken_seq=report.broken_seq,
        problem=report.problem,
    )
