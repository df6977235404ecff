"""`/api/campaigns`: create, launch, remind, pause, resume, cancel, and where each stands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from orchestrator.campaigns.models import CampaignState
from orchestrator.campaigns.service import (
    CampaignScope,
    CampaignStatus,
    CampaignView,
    LaunchReport,
    campaign_status,
    cancel_campaign,
    create_campaign,
    launch_campaign,
    list_campaigns,
    pause_campaign,
    remind_due,
    resume_campaign,
)
from orchestrator.campaigns.timing import parse_duration, parse_moment
from orchestrator.campaigns.windows import parse_windows
from orchestrator.web.api.common import IdPath, Limit, Offset, Page, write
from orchestrator.web.api.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignStatusOut,
    LaunchOut,
    ReasonIn,
    Reminded,
)
from orchestrator.web.auth import CampaignRunner, Viewer
from orchestrator.web.context import WebContext, WebDep

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.get("", response_model=Page[CampaignOut])
def campaigns(
    web: WebDep,
    _: Viewer,
    state: Annotated[CampaignState | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CampaignOut]:
    """Campaigns, newest first, optionally in one state."""
    with web.unit_of_work() as session:
        views = [v for v in list_campaigns(session) if state is None or v.state is state]
    page = views[offset : offset + limit]
    items = [CampaignOut.model_validate(v.as_json()) for v in page]
    return Page(items=items, total=len(views), limit=limit, offset=offset)


@router.post("", response_model=CampaignOut, status_code=201)
async def create(body: CampaignIn, web: WebDep, principal: CampaignRunner) -> CampaignOut:
    """Create a campaign: a draft to launch, or scheduled when `starts_at` is given."""
    now = web.clock()
    deadline = moment(body.deadline, body.timezone, end_of_day=True)
    starts_at = moment(body.starts_at, body.timezone)
    remind_every = parse_duration(body.remind_every) if body.remind_every else None
    windows = parse_windows(body.run_windows)
    scope = CampaignScope(
        everyone=body.scope.everyone,
        departments=tuple(body.scope.departments),
        emails=tuple(body.scope.emails),
    )

    def run() -> CampaignView:
        with web.unit_of_work() as session:
            return create_campaign(
                session,
                name=body.name,
                policy_ids=body.policy_ids,
                scope=scope,
                policies=web.consent.policies,
                actor=principal.actor,
                now=now,
                deadline=deadline,
                remind_every=remind_every,
                starts_at=starts_at,
                timezone=body.timezone,
                run_windows=windows,
            )

    view = await write(web, run)
    return CampaignOut.model_validate(view.as_json())


@router.get("/{campaign_id}", response_model=CampaignStatusOut)
def status(campaign_id: IdPath, web: WebDep, _: Viewer) -> CampaignStatusOut:
    """A campaign with its counts per consent, job and mail state, and exemptions per policy."""
    with web.unit_of_work() as session:
        found = campaign_status(session, campaign_id=campaign_id)
    return status_out(found)


@router.post("/{campaign_id}/launch", response_model=LaunchOut)
async def launch(campaign_id: IdPath, web: WebDep, principal: CampaignRunner) -> LaunchReport:
    """Launch a draft: exemptions recorded, consent emails queued for everyone else."""
    now = web.clock()

    def run() -> LaunchReport:
        with web.unit_of_work() as session:
            return launch_campaign(
                session, campaign_id=campaign_id, config=web.consent, actor=principal.actor, now=now
            )

    return await write(web, run)


@router.post("/{campaign_id}/remind", response_model=Reminded)
async def remind(campaign_id: IdPath, web: WebDep, principal: CampaignRunner) -> Reminded:
    """Remind everyone in the campaign who has not answered, now."""
    now = web.clock()

    def run() -> int:
        with web.unit_of_work() as session:
            return remind_due(
                session,
                config=web.consent,
                now=now,
                actor=principal.actor,
                campaign_id=campaign_id,
                everyone=True,
            )

    return Reminded(reminded=await write(web, run))


@router.post("/{campaign_id}/pause", response_model=CampaignStatusOut)
async def pause(campaign_id: IdPath, web: WebDep, principal: CampaignRunner) -> CampaignStatusOut:
    """Pause a running campaign: no reminders; waiting jobs are held (scheduled) until resumed.
    Employees can still answer."""
    now = web.clock()
    return await _steer(
        web,
        campaign_id,
        lambda session: pause_campaign(
            session, campaign_id=campaign_id, actor=principal.actor, now=now
        ),
    )


@router.post("/{campaign_id}/resume", response_model=CampaignStatusOut)
async def resume(campaign_id: IdPath, web: WebDep, principal: CampaignRunner) -> CampaignStatusOut:
    """Resume a paused campaign: the jobs it held are queued again and reminders continue."""
    now = web.clock()
    return await _steer(
        web,
        campaign_id,
        lambda session: resume_campaign(
            session, campaign_id=campaign_id, actor=principal.actor, now=now
        ),
    )


@router.post("/{campaign_id}/cancel", response_model=CampaignStatusOut)
async def cancel(
    campaign_id: IdPath, web: WebDep, principal: CampaignRunner, body: ReasonIn | None = None
) -> CampaignStatusOut:
    """Cancel a campaign: open requests withdrawn, waiting jobs cancelled."""
    now = web.clock()
    reason = body.reason if body else None
    return await _steer(
        web,
        campaign_id,
        lambda session: cancel_campaign(
            session, campaign_id=campaign_id, actor=principal.actor, now=now, reason=reason
        ),
    )


async def _steer(
    web: WebContext, campaign_id: int, change: Callable[[Session], object]
) -> CampaignStatusOut:
    """Apply a change to a campaign and answer with where it stands, in one transaction."""

    def run() -> CampaignStatus:
        with web.unit_of_work() as session:
            change(session)
            return campaign_status(session, campaign_id=campaign_id)

    return status_out(await write(web, run))


def moment(text: str | None, timezone: str, *, end_of_day: bool = False) -> datetime | None:
    """An ISO 8601 time from a request, in UTC (None stays None)."""
    return None if text is None else parse_moment(text, timezone=timezone, end_of_day=end_of_day)


def status_out(found: CampaignStatus) -> CampaignStatusOut:
    return CampaignStatusOut.model_validate(found.as_json())
