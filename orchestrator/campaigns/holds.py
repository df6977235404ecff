"""Holding jobs outside their campaign's run windows, and releasing them when a window opens.

A held job is `scheduled` with `hold = run_window`, its `next_attempt_at` set to the opening in
its employee's time zone (the campaign's time zone for employees without one), and a
`last_error` that says what it waits for, so `campaign status` and the job list show why
nothing happens. Jobs a paused campaign holds are never released here, nor window holds by a
resume: each hold has its own release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select, update
from sqlmodel import Session

from orchestrator.audit.service import NewEvent, record_many
from orchestrator.campaigns.models import Campaign, CampaignState
from orchestrator.campaigns.timing import zone
from orchestrator.campaigns.windows import RunWindow, describe, next_opening, windows_from_json
from orchestrator.employees.models import Employee
from orchestrator.jobs.models import Job, JobHold, JobState

_campaigns = Campaign.__table__  # type: ignore[attr-defined]
_jobs = Job.__table__  # type: ignore[attr-defined]
_employees = Employee.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WindowPass:
    """Jobs released because their window opened, and jobs held because theirs is shut."""

    released: int
    held: int


@dataclass(frozen=True)
class _Windowed:
    id: int
    timezone: str
    windows: Sequence[RunWindow]


def apply_run_windows(
    session: Session, *, now: datetime, actor: str, campaign_id: int | None = None
) -> WindowPass:
    """Release the window holds that are due, then hold every queued job outside its window.

    Runs before each claim, so a job released here but still outside a window (the window was
    narrowed, a time zone changed) is held again at once instead of being claimed.
    """
    campaigns = _windowed_running_campaigns(session, campaign_id)
    released = _release_due(session, campaign_ids=[c.id for c in campaigns], now=now, actor=actor)
    held = sum(_hold_outside(session, campaign, now=now, actor=actor) for campaign in campaigns)
    return WindowPass(released=released, held=held)


def _windowed_running_campaigns(session: Session, campaign_id: int | None) -> list[_Windowed]:
    query = select(_campaigns.c.id, _campaigns.c.timezone, _campaigns.c.run_windows).where(
        _campaigns.c.state == CampaignState.RUNNING
    )
    if campaign_id is not None:
        query = query.where(_campaigns.c.id == campaign_id)
    return [
        _Windowed(id=row.id, timezone=row.timezone, windows=windows_from_json(row.run_windows))
        for row in session.execute(query)
        if row.run_windows
    ]


def _release_due(session: Session, *, campaign_ids: list[int], now: datetime, actor: str) -> int:
    if not campaign_ids:
        return 0
    released = (
        session.execute(
            update(_jobs)
            .where(
                _jobs.c.campaign_id.in_(campaign_ids),
                _jobs.c.state == JobState.SCHEDULED,
                _jobs.c.hold == JobHold.RUN_WINDOW,
                _jobs.c.next_attempt_at <= now,
            )
            .values(state=JobState.QUEUED, hold=None, last_error=None, updated_at=now)
            .returning(_jobs.c.id)
        )
        .scalars()
        .all()
    )
    record_many(
        session,
        [
            NewEvent(actor, "job.released", "job", str(job_id), {"reason": "run window open"})
            for job_id in released
        ],
        now=now,
    )
    return len(released)


def _hold_outside(session: Session, campaign: _Windowed, *, now: datetime, actor: str) -> int:
    employee_zone = func.coalesce(_employees.c.time_zone, campaign.timezone)
    queued_here = and_(_jobs.c.campaign_id == campaign.id, _jobs.c.state == JobState.QUEUED)
    zones = session.execute(
        select(employee_zone)
        .select_from(_jobs.join(_employees, _employees.c.id == _jobs.c.employee_id))
        .where(queued_here)
        .distinct()
    ).scalars()
    held = 0
    for zone_name in list(zones):
        where = zone(zone_name)
        opens = next_opening(campaign.windows, now, where)
        if opens == now:
            continue
        reason = (
            f"waiting for the run window ({describe(campaign.windows)}, {zone_name}); "
            f"opens {opens.astimezone(where):%a %Y-%m-%d %H:%M %Z}"
        )
        in_zone = select(_employees.c.id).where(employee_zone == zone_name)
        ids = (
            session.execute(
                update(_jobs)
                .where(queued_here, _jobs.c.employee_id.in_(in_zone))
                .values(
                    state=JobState.SCHEDULED,
                    hold=JobHold.RUN_WINDOW,
                    # A retry's backoff still counts when it ends after the window opens.
                    next_attempt_at=case(
                        (_jobs.c.next_attempt_at > opens, _jobs.c.next_attempt_at), else_=opens
                    ),
                    last_error=reason,
                    updated_at=now,
                )
                .returning(_jobs.c.id)
            )
            .scalars()
            .all()
        )
        record_many(
            session,
            [NewEvent(actor, "job.held", "job", str(job_id), {"reason": reason}) for job_id in ids],
            now=now,
        )
        held += len(ids)
    return held
