"""Creating, launching and steering campaigns; the functions a scheduler calls when time passes.

Every function takes the session first and only flushes: the CLI command or the request commits,
and mail queued here is delivered after that commit. Each state change writes its audit events
in the same transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, or_, update
from sqlmodel import Session, col, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import NewEvent, record, record_many
from orchestrator.campaigns.holds import WindowPass, apply_run_windows
from orchestrator.campaigns.models import Campaign, CampaignState, Exemption
from orchestrator.campaigns.timing import zone
from orchestrator.campaigns.windows import RunWindow, windows_from_json
from orchestrator.consent import service as consent_service
from orchestrator.consent.config import ConsentConfig
from orchestrator.consent.models import Consent, ConsentState
from orchestrator.consent.service import Answer, ConsentRequest, Decision
from orchestrator.core.clock import as_utc
from orchestrator.core.db import analyze_after_bulk_write
from orchestrator.core.errors import ConflictError, NotFoundError, OrchestratorError
from orchestrator.employees.directory import normalise_department
from orchestrator.employees.models import Department, Employee
from orchestrator.jobs.models import Job, JobHold, JobState
from orchestrator.notifications.models import MailState, OutboxMessage
from orchestrator.notifications.outbox import count_by_state
from orchestrator.policies import LoadedPolicy, PolicySet, applicable

DEFAULT_RESPONSE_PERIOD = timedelta(days=14)
SHORTEST_RESPONSE_PERIOD = timedelta(hours=1)
SHORTEST_REMINDER_INTERVAL = timedelta(hours=1)
HELD_BY_PAUSE = "held: the campaign is paused"
SCHEDULER = "scheduler"


class CampaignError(OrchestratorError):
    """A campaign request that cannot be carried out as given."""


@dataclass(frozen=True)
class CampaignScope:
    """Who a campaign is for: everyone, or departments (with their sub-departments) and emails."""

    everyone: bool = False
    departments: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        if self.everyone:
            return {"everyone": True}
        return {"departments": list(self.departments), "emails": list(self.emails)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CampaignScope:
        return cls(
            everyone=bool(data.get("everyone")),
            departments=tuple(data.get("departments", ())),
            emails=tuple(data.get("emails", ())),
        )

    def describe(self) -> str:
        """The scope in words, for tables."""
        if self.everyone:
            return "everyone"
        parts = [f"department {d}" for d in self.departments]
        parts += list(self.emails)
        return ", ".join(parts)


@dataclass(frozen=True)
class CampaignView:
    """A campaign as lists, status and the API show it."""

    id: int
    name: str
    state: CampaignState
    policy_ids: tuple[str, ...]
    scope: CampaignScope
    consent_deadline: datetime | None
    reminder_interval_hours: int | None
    starts_at: datetime | None
    timezone: str
    created_by: str
    created_at: datetime
    launched_at: datetime | None
    finished_at: datetime | None
    run_windows: tuple[RunWindow, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state.value,
            "policy_ids": list(self.policy_ids),
            "scope": self.scope.as_json(),
            "consent_deadline": _iso(self.consent_deadline),
            "reminder_interval_hours": self.reminder_interval_hours,
            "starts_at": _iso(self.starts_at),
            "timezone": self.timezone,
            "run_windows": [window.describe() for window in self.run_windows],
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "launched_at": _iso(self.launched_at),
            "finished_at": _iso(self.finished_at),
        }


@dataclass(frozen=True)
class LaunchReport:
    """What a launch did: who was in scope, who was asked, who was exempt and until when."""

    campaign_id: int
    state: CampaignState
    in_scope: int
    asked: int
    exempt_employees: int
    exemptions: int
    respond_by: datetime


@dataclass(frozen=True)
class CampaignStatus:
    """Counts per consent state, job state, mail state, and exemptions per policy."""

    campaign: CampaignView
    consents: dict[str, int]
    jobs: dict[str, int]
    mail: dict[str, int]
    exemptions: dict[str, int]
    held: dict[str, int] = field(default_factory=dict)
    next_window_opens_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.as_json(),
            "consents": self.consents,
            "jobs": self.jobs,
            "held": self.held,
            "next_window_opens_at": _iso(self.next_window_opens_at),
            "mail": self.mail,
            "exemptions": self.exemptions,
        }


@dataclass
class DueReport:
    """What one scheduler pass did."""

    launched: list[LaunchReport] = field(default_factory=list)
    reminded: int = 0
    expired: int = 0
    completed: list[int] = field(default_factory=list)
    windows: WindowPass = field(default_factory=lambda: WindowPass(released=0, held=0))


# --- creating -------------------------------------------------------------------------------


def create_campaign(
    session: Session,
    *,
    name: str,
    policy_ids: Sequence[str],
    scope: CampaignScope,
    policies: PolicySet,
    actor: str,
    now: datetime,
    deadline: datetime | None = None,
    remind_every: timedelta | None = None,
    starts_at: datetime | None = None,
    timezone: str = "UTC",
    run_windows: Sequence[RunWindow] = (),
) -> CampaignView:
    """Create a campaign: a draft to launch by hand, or scheduled when `starts_at` is given.

    With run windows, its jobs run only inside them, on each employee's wall clock.
    """
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise CampaignError("a campaign needs a name of 1 to 200 characters")
    chosen = list(dict.fromkeys(policy_ids))
    if not chosen:
        raise CampaignError("choose at least one policy (--policy ID)")
    for policy_id in chosen:
        policies.get(policy_id)  # UnknownPolicyError lists the known ids
    zone(timezone)
    scope = _checked_scope(session, scope)
    if starts_at is not None and starts_at <= now:
        raise CampaignError(
            f"the start time {starts_at.isoformat()} is in the past; leave it out to launch by hand"
        )
    begins = starts_at or now
    if deadline is not None and deadline < begins + SHORTEST_RESPONSE_PERIOD:
        raise CampaignError(
            f"the deadline {deadline.isoformat()} leaves employees less than "
            f"{_hours(SHORTEST_RESPONSE_PERIOD)} hour to answer after the start "
            f"({begins.isoformat()})"
        )
    if remind_every is not None and remind_every < SHORTEST_REMINDER_INTERVAL:
        raise CampaignError("reminders can be sent at most once an hour")
    campaign = Campaign(
        name=name,
        state=CampaignState.SCHEDULED if starts_at else CampaignState.DRAFT,
        policy_ids=chosen,
        scope=scope.as_json(),
        consent_deadline=deadline,
        reminder_interval_hours=_hours(remind_every) if remind_every else None,
        starts_at=starts_at,
        timezone=timezone,
        run_windows=[window.to_json() for window in run_windows],
        created_by=actor,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    view = _view(campaign)
    record(
        session,
        actor=actor,
        action="campaign.created",
        subject_type="campaign",
        subject_id=view.id,
        data=view.as_json(),
        now=now,
    )
    return view


def _checked_scope(session: Session, scope: CampaignScope) -> CampaignScope:
    if scope.everyone and (scope.departments or scope.emails):
        raise CampaignError("choose everyone (--all) or departments and emails, not both")
    if not scope.everyone and not (scope.departments or scope.emails):
        raise CampaignError("choose who the campaign is for: --all, --department D or --email E")
    departments = tuple(
        dict.fromkeys(normalise_department(d) or d.strip() for d in scope.departments)
    )
    emails = tuple(dict.fromkeys(e.strip().lower() for e in scope.emails))
    if departments:
        known = set(
            session.exec(select(Department.path).where(col(Department.path).in_(departments)))
        )
        missing = [d for d in departments if d not in known]
        if missing:
            raise NotFoundError(f"no such department: {', '.join(missing)}")
    if emails:
        known = set(session.exec(select(Employee.email).where(col(Employee.email).in_(emails))))
        missing = [e for e in emails if e not in known]
        if missing:
            raise NotFoundError(f"no employee with the email {', '.join(missing)}")
    return CampaignScope(scope.everyone, departments, emails)


# --- launching ------------------------------------------------------------------------------


def launch_campaign(
    session: Session, *, campaign_id: int, config: ConsentConfig, actor: str, now: datetime
) -> LaunchReport:
    """Decide exemptions per employee and policy, and ask everyone else for consent by email.

    Applicability is decided by each policy's dated rules for the employee's country on the
    launch day in the campaign's time zone. Employees for whom no policy applies get no email.
    """
    campaign = _get(session, campaign_id)
    if campaign.state not in (CampaignState.DRAFT, CampaignState.SCHEDULED):
        raise ConflictError(
            f"campaign {campaign_id} is {campaign.state}"
            + (f" (launched {_iso(campaign.launched_at)})" if campaign.launched_at else "")
            + "; only a draft or scheduled campaign can be launched"
        )
    policies = [config.policies.get(policy_id) for policy_id in campaign.policy_ids]
    respond_by = campaign.consent_deadline or _next_full_hour(now + DEFAULT_RESPONSE_PERIOD)
    if respond_by < now + SHORTEST_RESPONSE_PERIOD:
        raise ConflictError(
            f"campaign {campaign_id}'s deadline {_iso(respond_by)} has passed or is less than an "
            "hour away; create a new campaign with a later --deadline"
        )
    employees = _employees_in_scope(session, CampaignScope.from_json(campaign.scope))
    if not employees:
        raise ConflictError(
            f"campaign {campaign_id}'s scope ({CampaignScope.from_json(campaign.scope).describe()})"
            " has no active employee; nothing was launched"
        )
    day = now.astimezone(zone(campaign.timezone)).date()
    requests: list[ConsentRequest] = []
    exemptions: list[Exemption] = []
    for employee in employees:
        applying: list[LoadedPolicy] = []
        for loaded in policies:
            decision = applicable(loaded.policy, country=employee.country, on=day)
            if decision.applies:
                applying.append(loaded)
                continue
            exemptions.append(
                Exemption(
                    campaign_id=campaign_id,
                    employee_id=employee.id,  # type: ignore[arg-type]  # rows read back have ids
                    policy_id=loaded.policy.id,
                    policy_version=loaded.version,
                    rule=decision.rule_id or "",
                    source=decision.source or "",
                    reason=decision.reason,
                    decided_at=now,
                )
            )
        if applying:
            requests.append(
                ConsentRequest(campaign_id, campaign.name, employee, applying, respond_by)
            )
    session.add_all(exemptions)
    session.flush()
    record_many(
        session,
        [
            NewEvent(
                actor,
                "exemption.recorded",
                "exemption",
                str(exemption.id),
                {
                    "campaign_id": campaign_id,
                    "employee_id": exemption.employee_id,
                    "policy_id": exemption.policy_id,
                    "policy_version": exemption.policy_version,
                    "rule": exemption.rule,
                    "source": exemption.source,
                    "reason": exemption.reason,
                    "on": day,
                },
            )
            for exemption in exemptions
        ],
        now=now,
    )
    consent_service.request_consents(
        session, requests=requests, config=config, actor=actor, now=now
    )
    analyze_after_bulk_write(
        session,
        len(requests) + len(exemptions),
        Consent.__tablename__,
        Exemption.__tablename__,
        AuditEvent.__tablename__,
    )
    campaign.state = CampaignState.RUNNING if requests else CampaignState.COMPLETED
    campaign.consent_deadline = respond_by
    campaign.launched_at = now
    if not requests:
        campaign.finished_at = now
    session.add(campaign)
    session.flush()
    report = LaunchReport(
        campaign_id=campaign_id,
        state=CampaignState(campaign.state),
        in_scope=len(employees),
        asked=len(requests),
        exempt_employees=len(employees) - len(requests),
        exemptions=len(exemptions),
        respond_by=respond_by,
    )
    record(
        session,
        actor=actor,
        action="campaign.launched",
        subject_type="campaign",
        subject_id=campaign_id,
        data={
            "state": report.state,
            "in_scope": report.in_scope,
            "asked": report.asked,
            "exempt_employees": report.exempt_employees,
            "exemptions": report.exemptions,
            "respond_by": respond_by,
            "applicability_day": day,
            "policy_versions": {p.policy.id: p.version for p in policies},
        },
        now=now,
    )
    return report


def launch_due_campaigns(
    session: Session, *, config: ConsentConfig, now: datetime, actor: str = SCHEDULER
) -> list[LaunchReport]:
    """Launch every scheduled campaign whose start time has come."""
    due = session.exec(
        select(Campaign.id)
        .where(col(Campaign.state) == CampaignState.SCHEDULED, col(Campaign.starts_at) <= now)
        .order_by(col(Campaign.starts_at), col(Campaign.id))
    ).all()
    return [
        launch_campaign(session, campaign_id=campaign_id, config=config, actor=actor, now=now)
        for campaign_id in due
        if campaign_id is not None
    ]


def _employees_in_scope(session: Session, scope: CampaignScope) -> list[Employee]:
    query = (
        select(Employee)
        .join(Department, col(Department.id) == col(Employee.department_id))
        .where(col(Employee.active).is_(True))
    )
    if not scope.everyone:
        conditions: list[ColumnElement[bool]] = []
        if scope.emails:
            conditions.append(col(Employee.email).in_(scope.emails))
        for path in scope.departments:
            conditions.append(col(Department.path) == path)
            conditions.append(col(Department.path).startswith(path + "/", autoescape=True))
        query = query.where(or_(*conditions))
    return list(session.exec(query.order_by(col(Employee.email))).all())


# --- answering ------------------------------------------------------------------------------


def answer(
    session: Session,
    *,
    token: str,
    decision: Decision,
    shown_sha256: str,
    ip: str | None,
    user_agent: str | None,
    config: ConsentConfig,
    now: datetime,
) -> Answer:
    """Record an employee's answer; approved work waits while the campaign is paused or
    outside its run windows."""
    result = consent_service.decide(
        session,
        token=token,
        decision=decision,
        shown_sha256=shown_sha256,
        ip=ip,
        user_agent=user_agent,
        config=config,
        now=now,
    )
    if result.changed and result.job_ids:
        campaign_id = result.view.consent.campaign_id
        state, run_windows = session.exec(
            select(Campaign.state, Campaign.run_windows).where(col(Campaign.id) == campaign_id)
        ).one()
        if state == CampaignState.PAUSED:
            _hold_jobs(session, campaign_id=campaign_id, actor=SCHEDULER, now=now)
        elif run_windows:
            apply_run_windows(session, now=now, actor=SCHEDULER, campaign_id=campaign_id)
    return result


# --- steering -------------------------------------------------------------------------------


def pause_campaign(
    session: Session, *, campaign_id: int, actor: str, now: datetime
) -> CampaignView:
    """Hold a running campaign: no reminders, and its waiting jobs wait (scheduled) until resumed.

    Employees can still answer; their answers are recorded, and approved work waits too.
    """
    campaign = _get(session, campaign_id)
    if campaign.state != CampaignState.RUNNING:
        raise ConflictError(
            f"campaign {campaign_id} is {campaign.state}; only a running one pauses"
        )
    campaign.state = CampaignState.PAUSED
    session.add(campaign)
    held = _hold_jobs(session, campaign_id=campaign_id, actor=actor, now=now)
    record(
        session,
        actor=actor,
        action="campaign.paused",
        subject_type="campaign",
        subject_id=campaign_id,
        data={"held_jobs": len(held)},
        now=now,
    )
    return _view(campaign)


def resume_campaign(
    session: Session, *, campaign_id: int, actor: str, now: datetime
) -> CampaignView:
    """Resume a paused campaign: held jobs are queued again and reminders continue."""
    campaign = _get(session, campaign_id)
    if campaign.state != CampaignState.PAUSED:
        raise ConflictError(
            f"campaign {campaign_id} is {campaign.state}; only a paused one resumes"
        )
    campaign.state = CampaignState.RUNNING
    session.add(campaign)
    released = (
        session.exec(
            update(Job)
            .where(
                col(Job.campaign_id) == campaign_id,
                col(Job.state) == JobState.SCHEDULED,
                col(Job.hold) == JobHold.CAMPAIGN_PAUSED,
            )
            .values(
                state=JobState.QUEUED,
                hold=None,
                last_error=None,
                next_attempt_at=now,
                updated_at=now,
            )
            .returning(col(Job.id))
        )
        .scalars()
        .all()
    )
    # Like every change of a job's state, each release has an event of its own: reports as
    # of a past moment read a job's state then from its newest event.
    record_many(
        session,
        [
            NewEvent(actor, "job.released", "job", str(job_id), {"reason": "campaign resumed"})
            for job_id in released
        ],
        now=now,
    )
    record(
        session,
        actor=actor,
        action="campaign.resumed",
        subject_type="campaign",
        subject_id=campaign_id,
        data={"released_jobs": len(released)},
        now=now,
    )
    return _view(campaign)


def cancel_campaign(
    session: Session, *, campaign_id: int, actor: str, now: datetime, reason: str | None = None
) -> CampaignView:
    """Stop a campaign: unanswered requests are withdrawn (and their unsent mail), waiting jobs
    are cancelled. Recorded answers stay as they are."""
    campaign = _get(session, campaign_id)
    if campaign.state == CampaignState.CANCELLED:
        raise ConflictError(f"campaign {campaign_id} was already cancelled")
    why = f"campaign {campaign_id} cancelled" + (f": {reason}" if reason else "")
    previous = campaign.state
    campaign.state = CampaignState.CANCELLED
    campaign.finished_at = now
    session.add(campaign)
    session.flush()
    withdrawn = consent_service.cancel_pending(
        session, campaign_id=campaign_id, reason=why, actor=actor, now=now
    )
    jobs = consent_service.cancel_waiting_jobs(
        session, campaign_id=campaign_id, reason=why, actor=actor, now=now
    )
    record(
        session,
        actor=actor,
        action="campaign.cancelled",
        subject_type="campaign",
        subject_id=campaign_id,
        data={
            "previous_state": previous,
            "reason": reason,
            "withdrawn_consents": len(withdrawn),
            "cancelled_jobs": len(jobs),
        },
        now=now,
    )
    return _view(campaign)


def _hold_jobs(session: Session, *, campaign_id: int, actor: str, now: datetime) -> list[int]:
    held = list(
        session.exec(
            update(Job)
            .where(col(Job.campaign_id) == campaign_id, col(Job.state) == JobState.QUEUED)
            .values(
                state=JobState.SCHEDULED,
                hold=JobHold.CAMPAIGN_PAUSED,
                last_error=HELD_BY_PAUSE,
                updated_at=now,
            )
            .returning(col(Job.id))
        ).scalars()
    )
    record_many(
        session,
        [
            NewEvent(actor, "job.held", "job", str(job_id), {"reason": HELD_BY_PAUSE})
            for job_id in held
        ],
        now=now,
    )
    return held


# --- time passing ---------------------------------------------------------------------------


def remind_due(
    session: Session,
    *,
    config: ConsentConfig,
    now: datetime,
    actor: str = SCHEDULER,
    campaign_id: int | None = None,
    everyone: bool = False,
) -> int:
    """Queue reminders to employees who have not answered, at each running campaign's cadence
    (or all of them now with `everyone`); returns how many were queued.

    Nobody is reminded while an earlier message to them is still waiting to be delivered.
    """
    query = select(Campaign).where(col(Campaign.state) == CampaignState.RUNNING)
    if campaign_id is not None:
        campaign = _get(session, campaign_id)
        if campaign.state != CampaignState.RUNNING:
            raise ConflictError(
                f"campaign {campaign_id} is {campaign.state}; reminders go out only "
                "for a running campaign"
            )
        query = query.where(col(Campaign.id) == campaign_id)
    total = 0
    for campaign in session.exec(query.order_by(col(Campaign.id))).all():
        if campaign.reminder_interval_hours is None and not everyone:
            continue
        interval = timedelta(hours=campaign.reminder_interval_hours or 0)
        pending = session.exec(
            select(Consent).where(
                col(Consent.campaign_id) == campaign.id,
                col(Consent.state) == ConsentState.PENDING,
                col(Consent.respond_by) > now,
            )
        ).all()
        undelivered = _consents_with_queued_mail(session, campaign_id=campaign.id)
        due = [
            consent
            for consent in pending
            if consent.id not in undelivered
            and (everyone or (consent.last_reminded_at or consent.requested_at) + interval <= now)
        ]
        total += consent_service.send_reminders(
            session, consents=due, campaign_name=campaign.name, config=config, actor=actor, now=now
        )
    return total


def expire_overdue(session: Session, *, now: datetime, actor: str = SCHEDULER) -> DueReport:
    """Expire unanswered requests past their deadline; complete campaigns whose deadline passed."""
    report = DueReport()
    report.expired = len(consent_service.expire_overdue(session, actor=actor, now=now))
    finished = session.exec(
        select(Campaign).where(
            col(Campaign.state).in_((CampaignState.RUNNING, CampaignState.PAUSED)),
            col(Campaign.consent_deadline) <= now,
        )
    ).all()
    for campaign in finished:
        campaign.state = CampaignState.COMPLETED
        campaign.finished_at = now
        session.add(campaign)
        report.completed.append(campaign.id)  # type: ignore[arg-type]
    session.flush()
    record_many(
        session,
        [
            NewEvent(
                actor, "campaign.completed", "campaign", str(campaign_id), {"reason": "deadline"}
            )
            for campaign_id in report.completed
        ],
        now=now,
    )
    return report


def run_due(
    session: Session, *, config: ConsentConfig, now: datetime, actor: str = SCHEDULER
) -> DueReport:
    """One scheduler pass: launch what is due, expire what is overdue, send due reminders,
    and release or hold jobs as run windows open and shut (last, so nothing queued in this
    pass escapes its window)."""
    report = expire_overdue(session, now=now, actor=actor)
    report.launched = launch_due_campaigns(session, config=config, now=now, actor=actor)
    report.reminded = remind_due(session, config=config, now=now, actor=actor)
    report.windows = apply_run_windows(session, now=now, actor=actor)
    return report


def _consents_with_queued_mail(session: Session, *, campaign_id: int | None) -> set[int]:
    consent_ids = select(cast(Consent.id, String)).where(col(Consent.campaign_id) == campaign_id)
    rows = session.exec(
        select(OutboxMessage.reference_id).where(
            col(OutboxMessage.state) == MailState.QUEUED,
            col(OutboxMessage.reference_type) == consent_service.MAIL_REFERENCE,
            col(OutboxMessage.reference_id).in_(consent_ids),
        )
    ).all()
    return {int(value) for value in rows if value is not None}


# --- reading --------------------------------------------------------------------------------


def campaign_status(session: Session, *, campaign_id: int) -> CampaignStatus:
    """A campaign with its counts per consent, job and mail state and exemptions per policy."""
    campaign = _get(session, campaign_id)
    consents = {state.value: 0 for state in ConsentState}
    consents.update(
        session.exec(
            select(Consent.state, func.count())
            .where(col(Consent.campaign_id) == campaign_id)
            .group_by(col(Consent.state))
        ).all()
    )
    jobs = {state.value: 0 for state in JobState}
    jobs.update(
        session.exec(
            select(Job.state, func.count())
            .where(col(Job.campaign_id) == campaign_id)
            .group_by(col(Job.state))
        ).all()
    )
    exemptions = dict(
        session.exec(
            select(Exemption.policy_id, func.count())
            .where(col(Exemption.campaign_id) == campaign_id)
            .group_by(col(Exemption.policy_id))
            .order_by(col(Exemption.policy_id))
        ).all()
    )
    consent_ids = session.exec(select(Consent.id).where(col(Consent.campaign_id) == campaign_id))
    mail = count_by_state(
        session,
        reference_type=consent_service.MAIL_REFERENCE,
        reference_ids=[i for i in consent_ids if i is not None],
    )
    waiting = (col(Job.campaign_id) == campaign_id, col(Job.state) == JobState.SCHEDULED)
    held = {
        str(hold): count
        for hold, count in session.exec(
            select(Job.hold, func.count()).where(*waiting).group_by(col(Job.hold))
        ).all()
        if hold is not None
    }
    opens = session.exec(
        select(func.min(Job.next_attempt_at)).where(*waiting, col(Job.hold) == JobHold.RUN_WINDOW)
    ).one()
    return CampaignStatus(
        _view(campaign),
        consents,
        jobs,
        mail,
        exemptions,
        held=held,
        next_window_opens_at=as_utc(opens) if opens is not None else None,
    )


def list_campaigns(session: Session) -> list[CampaignView]:
    """Every campaign, newest first."""
    rows = session.exec(select(Campaign).order_by(col(Campaign.id).desc())).all()
    return [_view(row) for row in rows]


def get_campaign(session: Session, *, campaign_id: int) -> CampaignView:
    """One campaign."""
    return _view(_get(session, campaign_id))


def _get(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_id} (`optout campaign list` shows them)")
    return campaign


def _view(campaign: Campaign) -> CampaignView:
    assert campaign.id is not None
    return CampaignView(
        id=campaign.id,
        name=campaign.name,
        state=CampaignState(campaign.state),
        policy_ids=tuple(campaign.policy_ids),
        scope=CampaignScope.from_json(campaign.scope),
        consent_deadline=campaign.consent_deadline,
        reminder_interval_hours=campaign.reminder_interval_hours,
        starts_at=campaign.starts_at,
        timezone=campaign.timezone,
        run_windows=tuple(windows_from_json(campaign.run_windows)),
        created_by=campaign.created_by,
        created_at=campaign.created_at,
        launched_at=campaign.launched_at,
        finished_at=campaign.finished_at,
    )


def _next_full_hour(moment: datetime) -> datetime:
    """`moment` rounded up to the hour: deadlines people read are round."""
    whole = moment.replace(minute=0, second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(hours=1)


def _hours(duration: timedelta) -> int:
    return max(1, math.ceil(duration.total_seconds() / 3600))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
