"""`/api/consents`: employees' answers, by campaign, employee and state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from orchestrator.consent.listing import list_consents
from orchestrator.consent.models import ConsentState
from orchestrator.web.api.common import IdQuery, Limit, Offset, Page
from orchestrator.web.api.schemas import ConsentOut
from orchestrator.web.auth import Viewer
from orchestrator.web.context import WebDep

router = APIRouter(prefix="/consents", tags=["consents"])


@router.get("", response_model=Page[ConsentOut])
def consents(
    web: WebDep,
    _: Viewer,
    campaign_id: IdQuery = None,
    employee_id: IdQuery = None,
    state: Annotated[ConsentState | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ConsentOut]:
    """Consents matching the filters, newest first."""
    with web.unit_of_work() as session:
        items, total = list_consents(
            session,
            campaign_id=campaign_id,
            employee_id=employee_id,
            state=state.value if state else None,
            limit=limit,
            offset=offset,
        )
    return Page(
        items=[ConsentOut.model_validate(i) for i in items],
        total=total,
        limit=limit,
        offset=offset,
    )
