"""The audit log: every change, newest first, with whether the hash chain holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from orchestrator.audit.listing import list_events
from orchestrator.audit.service import verify_chain
from orchestrator.web.admin.pages import render
from orchestrator.web.api.common import Offset
from orchestrator.web.auth import Viewer
from orchestrator.web.context import WebDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
Filter = Annotated[str, Query(max_length=200)]


@router.get("/admin/audit")
def audit(
    request: Request,
    web: WebDep,
    principal: Viewer,
    action: Filter = "",
    actor: Filter = "",
    subject_type: Filter = "",
    subject_id: Filter = "",
    offset: Offset = 0,
) -> Response:
    """Audit events matching the filters, and the chain's state."""
    with web.unit_of_work() as session:
        items, total = list_events(
            session,
            action=action or None,
            actor=actor or None,
            subject_type=subject_type or None,
            subject_id=subject_id or None,
            limit=PAGE_SIZE,
            offset=offset,
        )
        chain = verify_chain(session)
    context = {
        "items": items,
        "total": total,
        "offset": offset,
        "limit": PAGE_SIZE,
        "chain": chain,
        "filters": {
            "action": action,
            "actor": actor,
            "subject_type": subject_type,
            "subject_id": subject_id,
        },
    }
    return render(request, web, principal, "admin/audit.html", context, section="audit")
