"""Campaigns: the list, a new campaign, and one campaign's progress with its actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.responses import Response

from orchestrator.campaigns.models import CampaignState
from orchestrator.campaigns.service import (
    CampaignScope,
    CampaignView,
    campaign_status,
    cancel_campaign,
    create_campaign,
    launch_campaign,
    list_campaigns,
    pause_campaign,
    remind_due,
    resume_campaign,
)
from orchestrator.campaigns.timing import parse_duration
from orchestrator.campaigns.windows import parse_windows
from orchestrator.employees.listing import department_paths
from orchestrator.jobs.listing import list_jobs
from orchestrator.jobs.models import JobState
from orchestrator.web.admin.pages import AdminForm, checked_form, redirect, render
from orchestrator.web.api.campaigns import moment
from orchestrator.web.api.common import IdPath, write
from orchestrator.web.auth import CampaignRunner, Viewer
from orchestrator.web.context import WebContext, WebDep

router = APIRouter(include_in_schema=False)
OPEN_JOB_STATES = (JobState.QUEUED, JobState.SCHEDULED, JobState.RUNNING)


@router.get("/admin/campaigns")
def campaigns(request: Request, web: WebDep, principal: Viewer) -> Response:
    """Every campaign, newest first."""
    with web.unit_of_work() as session:
        items = list_campaigns(session)
    return render(
        request, web, principal, "admin/campaigns.html", {"items": items}, section="campaigns"
    )


@router.get("/admin/campaigns/new")
def new_campaign(request: Request, web: WebDep, principal: CampaignRunner) -> Response:
    """The form for a new campaign: policies, who, and the consent deadline."""
    with web.unit_of_work() as session:
        departments = department_paths(session)
    context = {"policies": list(web.consent.policies), "departments": departments, "form": {}}
    return render(request, web, principal, "admin/campaign_new.html", context, section="campaigns")


@router.post("/admin/campaigns/new")
async def create(request: Request, web: WebDep, principal: CampaignRunner) -> Response:
    """Create the campaign as a draft, then show it (launching is a separate, deliberate step)."""
    form = await checked_form(request, web, principal)
    policy_ids = form.getlist("policy")
    departments = tuple(form.getlist("department"))
    emails = tuple(e for e in form.get("emails", "").replace(",", " ").split() if e)
    everyone = form.get("who") == "everyone"
    timezone = form.get("timezone", "UTC").strip() or "UTC"
    deadline = moment(form.get("deadline") or None, timezone, end_of_day=True)
    remind = form.get("remind_every", "").strip()
    windows = parse_windows(
        line for line in form.get("run_windows", "").splitlines() if line.strip()
    )
    now = web.clock()

    def run() -> CampaignView:
        with web.unit_of_work() as session:
            return create_campaign(
                session,
                name=form.get("name", ""),
                policy_ids=policy_ids,
                scope=CampaignScope(
                    everyone=everyone,
                    departments=() if everyone else departments,
                    emails=() if everyone else emails,
                ),
                policies=web.consent.policies,
                actor=principal.actor,
                now=now,
                deadline=deadline,
                remind_every=parse_duration(remind) if remind else None,
                timezone=timezone,
                run_windows=windows,
            )

    view = await write(web, run)
    return redirect(f"/admin/campaigns/{view.id}")


@router.get("/admin/campaigns/{campaign_id}")
def campaign(campaign_id: IdPath, request: Request, web: WebDep, principal: Viewer) -> Response:
    """One campaign's progress: consents, jobs and mail by state; refreshes while jobs run."""
    with web.unit_of_work() as session:
        status = campaign_status(session, campaign_id=campaign_id)
        jobs, job_total = list_jobs(session, campaign_id=campaign_id, limit=100)
    open_jobs = sum(status.jobs.get(state.value, 0) for state in OPEN_JOB_STATES)
    live = status.campaign.state is CampaignState.RUNNING and (
        open_jobs > 0 or status.consents.get("pending", 0) > 0
    )
    context = {
        "status": status,
        "campaign": status.campaign,
        "jobs": jobs,
        "job_total": job_total,
        "open_jobs": open_jobs,
        "refresh": 5 if live else None,
    }
    return render(request, web, principal, "admin/campaign.html", context, section="campaigns")


@dataclass(frozen=True)
class _Action:
    """One button on a campaign's page: what it does, given the checked form."""

    summary: str
    perform: Callable[[Session, int, WebContext, str, datetime, AdminForm], object]


def _launch(
    session: Session, campaign_id: int, web: WebContext, actor: str, now: datetime, _: AdminForm
) -> object:
    return launch_campaign(
        session, campaign_id=campaign_id, config=web.consent, actor=actor, now=now
    )


def _remind(
    session: Session, campaign_id: int, web: WebContext, actor: str, now: datetime, _: AdminForm
) -> object:
    return remind_due(
        session, config=web.consent, now=now, actor=actor, campaign_id=campaign_id, everyone=True
    )


def _pause(
    session: Session, campaign_id: int, _: WebContext, actor: str, now: datetime, __: AdminForm
) -> object:
    return pause_campaign(session, campaign_id=campaign_id, actor=actor, now=now)


def _resume(
    session: Session, campaign_id: int, _: WebContext, actor: str, now: datetime, __: AdminForm
) -> object:
    return resume_campaign(session, campaign_id=campaign_id, actor=actor, now=now)


def _cancel(
    session: Session, campaign_id: int, _: WebContext, actor: str, now: datetime, form: AdminForm
) -> object:
    reason = form.get("reason", "").strip()[:500] or None
    return cancel_campaign(session, campaign_id=campaign_id, actor=actor, now=now, reason=reason)


ACTIONS = {
    "launch": _Action("Launch a draft: exemptions recorded, consent emails queued.", _launch),
    "remind": _Action("Remind everyone who has not answered, now.", _remind),
    "pause": _Action("Pause: no reminders, waiting jobs held until resumed.", _pause),
    "resume": _Action("Resume: held jobs queued again, reminders continue.", _resume),
    "cancel": _Action("Cancel: open requests withdrawn, waiting jobs cancelled.", _cancel),
}


def _action_route(name: str, action: _Action) -> None:
    async def act(
        campaign_id: IdPath, request: Request, web: WebDep, principal: CampaignRunner
    ) -> Response:
        form = await checked_form(request, web, principal)
        now = web.clock()

        def run() -> None:
            with web.unit_of_work() as session:
                action.perform(session, campaign_id, web, principal.actor, now, form)

        await write(web, run)
        return redirect(f"/admin/campaigns/{campaign_id}")

    act.__doc__ = action.summary
    router.add_api_route(
        f"/admin/campaigns/{{campaign_id}}/{name}", act, methods=["POST"], name=f"{name}_campaign"
    )


for _name, _action in ACTIONS.items():
    _action_route(_name, _action)
