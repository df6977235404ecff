"""Asking employees for consent and recording their answers.

Every operation takes the session first and only flushes; the caller (a CLI command, a request)
commits. Answers are decided by a conditional UPDATE on the consent's state, so two clicks at the
same moment record one decision and one set of jobs, on SQLite as on PostgreSQL. Every change
writes its audit events in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from orchestrator.audit.service import NewEvent, record_many
from orchestrator.consent.config import ConsentConfig
from orchestrator.consent.errors import (
    AnswerConflictError,
    RequestChangedError,
    RequestClosedError,
    RequestUnavailableError,
    UnknownLinkError,
)
from orchestrator.consent.explanation import (
    EVIDENCE_LABELS,
    EmployeeFacts,
    Explanation,
    explain,
    format_time,
    platform_name,
)
from orchestrator.consent.links import token_sha256
from orchestrator.consent.models import Consent, ConsentLink, ConsentState, LinkPurpose
from orchestrator.core.errors import NotFoundError
from orchestrator.employees.models import Employee
from orchestrator.jobs.models import Job, JobPurpose, JobState
from orchestrator.notifications.models import OutboxMessage
from orchestrator.notifications.outbox import NewMessage, cancel_queued, enqueue_many
from orchestrator.policies import LoadedPolicy, UnknownPolicyError

MAIL_REFERENCE = "consent"  # outbox rows about a consent name it as ("consent", id)
WAITING_JOB_STATES = (JobState.QUEUED, JobState.SCHEDULED)
_CHUNK = 500  # ids per IN (...), far below every database's parameter limit
_CONSENTS = Consent.__table__  # type: ignore[attr-defined]
_JOBS = Job.__table__  # type: ignore[attr-defined]
_LINKS = ConsentLink.__table__  # type: ignore[attr-defined]
_MAX_ATTEMPTS = Job.model_fields["max_attempts"].default


class Decision(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"

    @property
    def state(self) -> ConsentState:
        """The consent state this decision records."""
        return ConsentState.APPROVED if self is Decision.APPROVE else ConsentState.DECLINED


@dataclass(frozen=True)
class ConsentView:
    """A consent as its pages show it."""

    id: int
    campaign_id: int
    state: ConsentState
    employee_name: str
    employee_email: str
    requested_at: datetime
    respond_by: datetime
    decided_at: datetime | None
    revoked_at: datetime | None
    closed_at: datetime | None
    policy_versions: dict[str, str]


@dataclass(frozen=True)
class LinkView:
    """What a link opens: the consent, the request's text, and what the link can still do."""

    purpose: LinkPurpose
    consent: ConsentView
    explanation: Explanation
    now: datetime

    @property
    def overdue(self) -> bool:
        """Whether the deadline to answer has passed."""
        return self.now >= self.consent.respond_by

    @property
    def actionable(self) -> bool:
        """Whether the page offers a button: an open request, or an approval to withdraw."""
        if self.consent.state is ConsentState.PENDING:
            return not self.overdue
        return self.purpose is LinkPurpose.REVOKE and self.consent.state is ConsentState.APPROVED


@dataclass(frozen=True)
class Answer:
    """The outcome of a POST: the consent now, and whether this request changed it."""

    view: LinkView
    changed: bool
    job_ids: tuple[int, ...] = ()
    withdraw_url: str | None = None


@dataclass(frozen=True)
class ConsentRequest:
    """One employee to ask, within one campaign, about the policies that apply to them."""

    campaign_id: int
    campaign_name: str
    employee: Employee
    policies: Sequence[LoadedPolicy]
    respond_by: datetime


@dataclass(frozen=True)
class ProofItem:
    """One piece of evidence as a receipt lists it."""

    kind: str
    sha256: str
    captured_at: datetime
    url: str | None = None


def employee_facts(employee: Employee) -> EmployeeFacts:
    """The facts about an employee that a request's text states."""
    return EmployeeFacts(
        name=employee.name,
        email=employee.email,
        accounts={str(k): str(v) for k, v in employee.accounts.items()},
        fleet_host=employee.fleet_host,
    )


def employee_actor(email: str) -> str:
    """How the audit log names an employee acting through a link."""
    return f"employee:{email}"


# --- asking ---------------------------------------------------------------------------------


def request_consents(
    session: Session,
    *,
    requests: Sequence[ConsentRequest],
    config: ConsentConfig,
    actor: str,
    now: datetime,
) -> list[Consent]:
    """Create one pending consent per request and queue its email (decide + withdraw links)."""
    consents = [
        Consent(
            campaign_id=request.campaign_id,
            employee_id=_id(request.employee),
            state=ConsentState.PENDING,
            policy_versions={p.policy.id: p.version for p in request.policies},
            requested_at=now,
            respond_by=request.respond_by,
        )
        for request in requests
    ]
    session.add_all(consents)
    session.flush()
    messages = []
    events = []
    for request, consent in zip(requests, consents, strict=True):
        message, link_ids = _request_message(
            session, consent, request.employee, request.campaign_name, config, now, reminder=False
        )
        messages.append(message)
        events.append(
            NewEvent(
                actor,
                "consent.requested",
                "consent",
                str(consent.id),
                {
                    "campaign_id": consent.campaign_id,
                    "employee_id": consent.employee_id,
                    "email": request.employee.email,
                    "policy_versions": consent.policy_versions,
                    "respond_by": consent.respond_by,
                    "link_ids": link_ids,
                },
            )
        )
    record_many(session, events, now=now)
    enqueue_many(session, messages, actor=actor, now=now)
    return consents


def send_reminders(
    session: Session,
    *,
    consents: Sequence[Consent],
    campaign_name: str,
    config: ConsentConfig,
    actor: str,
    now: datetime,
) -> int:
    """Queue a reminder (with fresh links) for each consent still pending and in time."""
    waiting = [c for c in consents if c.state == ConsentState.PENDING and now < c.respond_by]
    employees = _employees(session, [c.employee_id for c in waiting])
    messages = []
    events = []
    for consent in waiting:
        employee = employees[consent.employee_id]
        message, link_ids = _request_message(
            session, consent, employee, campaign_name, config, now, reminder=True
        )
        messages.append(message)
        consent.reminders_sent += 1
        consent.last_reminded_at = now
        session.add(consent)
        events.append(
            NewEvent(
                actor,
                "consent.reminded",
                "consent",
                str(consent.id),
                {"reminder": consent.reminders_sent, "link_ids": link_ids},
            )
        )
    session.flush()
    record_many(session, events, now=now)
    enqueue_many(session, messages, actor=actor, now=now)
    return len(waiting)


def _request_message(
    session: Session,
    consent: Consent,
    employee: Employee,
    campaign_name: str,
    config: ConsentConfig,
    now: datetime,
    *,
    reminder: bool,
) -> tuple[NewMessage, list[int]]:
    explanation = _explain(consent, employee, config)
    decide_token, decide_link = _issue(config, consent, LinkPurpose.DECIDE, now)
    withdraw_token, withdraw_link = _issue(config, consent, LinkPurpose.REVOKE, now)
    session.add_all([decide_link, withdraw_link])
    session.flush()
    context = {
        "employee_name": employee.name,
        "campaign_name": campaign_name,
        "items": explanation.item_contexts(),
        "respond_by": format_time(consent.respond_by),
        "decide_url": config.decide_url(decide_token),
        "revoke_url": config.revoke_url(withdraw_token),
        "contact_email": config.contact_email,
        "retention_days": config.evidence_retention_days,
    }
    message = NewMessage(
        to=employee.email,
        kind="consent_reminder" if reminder else "consent_request",
        context=context,
        reference=(MAIL_REFERENCE, _id(consent)),
        send_before=consent.respond_by,
    )
    return message, [_id(decide_link), _id(withdraw_link)]


def _issue(
    config: ConsentConfig, consent: Consent, purpose: LinkPurpose, now: datetime
) -> tuple[str, ConsentLink]:
    # Decide links end with the deadline. Withdraw links do not expire: withdrawing must stay
    # as easy as approving for as long as the approval stands; the consent's state ends them.
    expires_at = consent.respond_by if purpose is LinkPurpose.DECIDE else None
    token = config.signer.issue(consent_id=_id(consent), purpose=purpose, expires_at=expires_at)
    link = ConsentLink(
        consent_id=_id(consent),
        purpose=purpose,
        token_hash=token_sha256(token),
        issued_at=now,
        expires_at=expires_at,
    )
    return token, link


# --- reading and answering ------------------------------------------------------------------


def read_link(
    session: Session, *, token: str, purpose: LinkPurpose, config: ConsentConfig, now: datetime
) -> LinkView:
    """What a link shows; changes nothing (mail scanners fetch links before people do)."""
    _, consent, employee = _load(session, token, purpose, config)
    return _view(purpose, consent, employee, _explain(consent, employee, config), now)


def decide(
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
    """Record an approval or a decline; approval queues one job per policy in the request.

    `shown_sha256` is the hash of the text on the page the employee answered from: if the
    request changed since (a policy file was edited), nothing is recorded and they read it again.
    """
    link, consent, employee = _load(session, token, LinkPurpose.DECIDE, config)
    explanation = _explain(consent, employee, config)
    view = _view(LinkPurpose.DECIDE, consent, employee, explanation, now)
    if consent.state == ConsentState.PENDING and view.overdue:
        raise RequestClosedError("the deadline to answer this request has passed", view=view)
    if consent.state == ConsentState.PENDING and shown_sha256 != explanation.sha256:
        raise RequestChangedError(
            "the request changed after you opened it; read it again before you answer", view=view
        )
    values: dict[str, Any] = {
        "state": decision.state,
        "decided_at": now,
        "decision_ip": (ip or None) and ip[:45],
        "decision_user_agent": (user_agent or None) and user_agent[:500],
        "policy_versions": explanation.versions,
        "shown_text_sha256": explanation.sha256,
    }
    if not _transition(session, consent, ConsentState.PENDING, values):
        return _already_answered(session, consent, employee, explanation, decision, now)
    _mark_used(session, link, now)
    actor = employee_actor(employee.email)
    events = []
    jobs: list[dict[str, Any]] = []
    withdraw_url = None
    withdraw_link_id = None
    if decision is Decision.APPROVE:
        jobs = _queue_jobs(session, consent, explanation, now)
        withdraw_token, withdraw_link = _issue(config, consent, LinkPurpose.REVOKE, now)
        withdraw_url = config.revoke_url(withdraw_token)
        withdraw_link_id = _insert_link(session, withdraw_link)
    events.append(
        NewEvent(
            actor,
            f"consent.{decision.state.value}",
            "consent",
            str(consent.id),
            {
                "campaign_id": consent.campaign_id,
                "employee_id": consent.employee_id,
                "ip": values["decision_ip"],
                "user_agent": values["decision_user_agent"],
                "policy_versions": explanation.versions,
                "shown_text_sha256": explanation.sha256,
                "link_id": link.id,
                "job_ids": [job["id"] for job in jobs],
                "withdraw_link_id": withdraw_link_id,
            },
        )
    )
    events += [_job_event(actor, "job.queued", job) for job in jobs]
    record_many(session, events, now=now)
    return Answer(
        view=_view(LinkPurpose.DECIDE, consent, employee, explanation, now),
        changed=True,
        job_ids=tuple(job["id"] for job in jobs),
        withdraw_url=withdraw_url,
    )


def revoke(
    session: Session,
    *,
    token: str,
    ip: str | None,
    user_agent: str | None,
    config: ConsentConfig,
    now: datetime,
) -> Answer:
    """Withdraw an approval (cancelling the jobs still waiting), or decline a pending request."""
    link, consent, employee = _load(session, token, LinkPurpose.REVOKE, config)
    explanation = _explain(consent, employee, config)
    view = _view(LinkPurpose.REVOKE, consent, employee, explanation, now)
    state = ConsentState(consent.state)
    if state in (ConsentState.REVOKED, ConsentState.DECLINED):
        return Answer(view=view, changed=False)
    if state in (ConsentState.EXPIRED, ConsentState.CANCELLED) or (
        state is ConsentState.PENDING and view.overdue
    ):
        raise RequestClosedError("this request is over: there is nothing to withdraw", view=view)
    actor = employee_actor(employee.email)
    common = {
        "campaign_id": consent.campaign_id,
        "employee_id": consent.employee_id,
        "ip": (ip or None) and ip[:45],
        "user_agent": (user_agent or None) and user_agent[:500],
        "link_id": link.id,
    }
    if state is ConsentState.PENDING:
        # Nothing was approved: withdrawing an open request is declining it.
        values = {
            "state": ConsentState.DECLINED,
            "decided_at": now,
            "decision_ip": common["ip"],
            "decision_user_agent": common["user_agent"],
            "policy_versions": explanation.versions,
            "shown_text_sha256": explanation.sha256,
        }
        if not _transition(session, consent, ConsentState.PENDING, values):
            return revoke(
                session, token=token, ip=ip, user_agent=user_agent, config=config, now=now
            )
        events = [NewEvent(actor, "consent.declined", "consent", str(consent.id), common)]
    else:
        if not _transition(
            session,
            consent,
            ConsentState.APPROVED,
            {"state": ConsentState.REVOKED, "revoked_at": now},
        ):
            return revoke(
                session, token=token, ip=ip, user_agent=user_agent, config=config, now=now
            )
        cancelled = cancel_waiting_jobs(
            session,
            consent_ids=[_id(consent)],
            reason=f"consent withdrawn by the employee on {format_time(now)}",
            actor=actor,
            now=now,
            record=False,
        )
        events = [
            NewEvent(
                actor,
                "consent.revoked",
                "consent",
                str(consent.id),
                {**common, "cancelled_job_ids": [job.id for job in cancelled]},
            )
        ]
        events += [_job_event(actor, "job.cancelled", job.model_dump()) for job in cancelled]
    _mark_used(session, link, now)
    record_many(session, events, now=now)
    return Answer(view=_view(LinkPurpose.REVOKE, consent, employee, explanation, now), changed=True)


def _already_answered(
    session: Session,
    consent: Consent,
    employee: Employee,
    explanation: Explanation,
    decision: Decision,
    now: datetime,
) -> Answer:
    """A second click (or a lost race): same answer is harmless, another one is a conflict."""
    session.refresh(consent)
    view = _view(LinkPurpose.DECIDE, consent, employee, explanation, now)
    if consent.state == decision.state:
        return Answer(view=view, changed=False)
    if consent.state in (ConsentState.APPROVED, ConsentState.DECLINED):
        raise AnswerConflictError(
            f"you already {consent.state} this request; this link cannot change that", view=view
        )
    raise RequestClosedError("this request is over", view=view)


def _insert_link(session: Session, link: ConsentLink) -> int:
    """Insert one link with a single statement (the hot path of an approval); returns its id."""
    values = link.model_dump(exclude={"id"})
    return int(
        session.connection().execute(insert(_LINKS).returning(_LINKS.c.id), values).scalar_one()
    )


def _mark_used(session: Session, link: ConsentLink, now: datetime) -> None:
    # A Core statement on the table: the ORM's bulk-update bookkeeping costs more than the write.
    session.connection().execute(update(_LINKS).where(_LINKS.c.id == link.id).values(used_at=now))


def _transition(
    session: Session, consent: Consent, expected: ConsentState, values: dict[str, Any]
) -> bool:
    """Apply `values` only if the consent is still in `expected`; whether it was."""
    return bool(_transition_many(session, [consent], expected, values))


def _transition_many(
    session: Session, consents: Sequence[Consent], expected: ConsentState, values: dict[str, Any]
) -> list[Consent]:
    """Apply `values` to those consents still in `expected` (checked by the UPDATE itself, so
    concurrent writers cannot both win); returns the ones changed."""
    by_id = {_id(consent): consent for consent in consents}
    ids = list(by_id)
    changed: list[Consent] = []
    for start in range(0, len(ids), _CHUNK):
        # Core on the table (the caller's objects are updated below): the ORM's bulk-update
        # machinery would cost more than the write on the hot path of an answer.
        chunk = ids[start : start + _CHUNK]
        statement = (
            update(_CONSENTS)
            .where(_CONSENTS.c.id.in_(chunk), _CONSENTS.c.state == expected)
            .values(**values)
            .returning(_CONSENTS.c.id)
        )
        updated = session.connection().execute(statement).scalars()
        for consent_id in updated:
            consent = by_id[consent_id]
            for name, value in values.items():
                set_committed_value(consent, name, value)
            changed.append(consent)
    return changed


# --- jobs -----------------------------------------------------------------------------------


def _queue_jobs(
    session: Session, consent: Consent, explanation: Explanation, now: datetime
) -> list[dict[str, Any]]:
    """One queued job per policy of the request, inserted in one statement; returns the rows."""
    rows: list[dict[str, Any]] = [
        {
            "campaign_id": consent.campaign_id,
            "employee_id": consent.employee_id,
            "consent_id": _id(consent),
            "policy_id": policy_id,
            "policy_version": version,
            "purpose": JobPurpose.OPT_OUT.value,
            "state": JobState.QUEUED.value,
            "attempts": 0,
            "max_attempts": _MAX_ATTEMPTS,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for policy_id, version in sorted(explanation.versions.items())
    ]
    # One multi-row INSERT ... RETURNING; rows are matched back by policy, unique per consent.
    inserted = session.connection().execute(
        insert(_JOBS).returning(_JOBS.c.id, _JOBS.c.policy_id), rows
    )
    ids = {policy_id: job_id for job_id, policy_id in inserted}
    for row in rows:
        row["id"] = ids[row["policy_id"]]
        row["last_error"] = None
    return rows


def cancel_waiting_jobs(
    session: Session,
    *,
    reason: str,
    actor: str,
    now: datetime,
    consent_ids: Collection[int] | None = None,
    campaign_id: int | None = None,
    record: bool = True,
) -> list[Job]:
    """Cancel the queued and scheduled jobs (any purpose, re-checks too) of some consents or of
    a campaign; jobs already running are left to the worker, which checks consent first."""
    conditions: list[ColumnElement[bool]] = [col(Job.state).in_(WAITING_JOB_STATES)]
    if consent_ids is not None:
        conditions.append(col(Job.consent_id).in_(list(consent_ids)))
    if campaign_id is not None:
        conditions.append(col(Job.campaign_id) == campaign_id)
    cancelled = (
        session.exec(
            update(Job)
            .where(*conditions)
            .values(state=JobState.CANCELLED, last_error=reason, updated_at=now, finished_at=now)
            .returning(col(Job.id))
        )
        .scalars()
        .all()
    )
    if not cancelled:
        return []
    jobs = list(
        session.exec(
            select(Job)
            .where(col(Job.id).in_(cancelled))
            .order_by(col(Job.id))
            .execution_options(populate_existing=True)
        ).all()
    )
    if record:
        record_many(
            session,
            [_job_event(actor, "job.cancelled", job.model_dump()) for job in jobs],
            now=now,
        )
    return jobs


def _job_event(actor: str, action: str, job: dict[str, Any]) -> NewEvent:
    return NewEvent(
        actor,
        action,
        "job",
        str(job["id"]),
        {
            "consent_id": job["consent_id"],
            "campaign_id": job["campaign_id"],
            "employee_id": job["employee_id"],
            "policy_id": job["policy_id"],
            "policy_version": job["policy_version"],
            "state": job["state"],
            "reason": job["last_error"],
        },
    )


# --- ending requests ------------------------------------------------------------------------


def expire_overdue(session: Session, *, actor: str, now: datetime) -> list[Consent]:
    """Mark every pending consent past its deadline as expired; returns them."""
    overdue = list(
        session.exec(
            select(Consent).where(
                col(Consent.state) == ConsentState.PENDING, col(Consent.respond_by) <= now
            )
        ).all()
    )
    return _close(session, overdue, ConsentState.EXPIRED, reason=None, actor=actor, now=now)


def cancel_pending(
    session: Session, *, campaign_id: int, reason: str, actor: str, now: datetime
) -> list[Consent]:
    """Withdraw a campaign's unanswered requests: they are cancelled and their unsent mail too."""
    pending = list(
        session.exec(
            select(Consent).where(
                col(Consent.campaign_id) == campaign_id, col(Consent.state) == ConsentState.PENDING
            )
        ).all()
    )
    closed = _close(session, pending, ConsentState.CANCELLED, reason=reason, actor=actor, now=now)
    cancel_queued(
        session,
        reference_type=MAIL_REFERENCE,
        reference_ids=[_id(consent) for consent in closed],
        reason=reason,
        actor=actor,
        now=now,
    )
    return closed


def _close(
    session: Session,
    consents: Sequence[Consent],
    state: ConsentState,
    *,
    reason: str | None,
    actor: str,
    now: datetime,
) -> list[Consent]:
    closed = [
        consent
        for consent in consents
        if _transition(session, consent, ConsentState.PENDING, {"state": state, "closed_at": now})
    ]
    record_many(
        session,
        [
            NewEvent(
                actor,
                f"consent.{state.value}",
                "consent",
                str(consent.id),
                {
                    "campaign_id": consent.campaign_id,
                    "employee_id": consent.employee_id,
                    "respond_by": consent.respond_by,
                    "reason": reason,
                },
            )
            for consent in closed
        ],
        now=now,
    )
    return closed


# --- receipts -------------------------------------------------------------------------------


def queue_receipt(
    session: Session,
    *,
    consent_id: int,
    policy_id: str,
    policy_version: str,
    outcome: str,
    detail: str,
    proof: Sequence[ProofItem],
    verified_at: datetime,
    config: ConsentConfig,
    actor: str,
    now: datetime,
) -> OutboxMessage:
    """Queue the message telling an employee their opt-out was done and verified, with proof.

    `outcome` is a short label ("Opted out", "Already opted out"), `detail` one sentence on what
    was verified. The message carries a fresh withdraw link, which also stops re-checks.
    """
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise NotFoundError(f"no consent #{consent_id}")
    employee = session.get(Employee, consent.employee_id)
    assert employee is not None  # a foreign key guarantees it
    try:
        policy = config.policies.get(policy_id)
    except UnknownPolicyError as exc:
        raise RequestUnavailableError(exc.message) from exc
    withdraw_token, withdraw_link = _issue(config, consent, LinkPurpose.REVOKE, now)
    session.add(withdraw_link)
    session.flush()
    facts = employee_facts(employee)
    identifier = facts.accounts.get(policy.policy.platform)
    name = platform_name(policy.policy.platform)
    context = {
        "employee_name": employee.name,
        "title": policy.policy.title,
        "account": f"{name} {identifier}" if identifier else f"your {name} account",
        "outcome_label": outcome,
        "outcome_detail": detail,
        "verified_at": format_time(verified_at),
        "policy_version": policy_version[:12],
        "proof": [
            {
                "label": EVIDENCE_LABELS.get(item.kind, item.kind),
                "sha256": item.sha256,
                "captured_at": format_time(item.captured_at),
                "url": item.url,
            }
            for item in proof
        ],
        "revoke_url": config.revoke_url(withdraw_token),
        "contact_email": config.contact_email,
        "retention_days": config.evidence_retention_days,
    }
    record_many(
        session,
        [
            NewEvent(
                actor,
                "consent.receipt_queued",
                "consent",
                str(consent.id),
                {"policy_id": policy_id, "outcome": outcome, "withdraw_link_id": withdraw_link.id},
            )
        ],
        now=now,
    )
    message = NewMessage(
        to=employee.email,
        kind="opt_out_receipt",
        context=context,
        reference=(MAIL_REFERENCE, consent_id),
    )
    return enqueue_many(session, [message], actor=actor, now=now)[0]


# --- helpers --------------------------------------------------------------------------------


def _load(
    session: Session, token: str, purpose: LinkPurpose, config: ConsentConfig
) -> tuple[ConsentLink, Consent, Employee]:
    claims = config.signer.read(token, purpose=purpose)
    row = session.exec(
        select(ConsentLink, Consent, Employee)
        .join(Consent, col(Consent.id) == col(ConsentLink.consent_id))
        .join(Employee, col(Employee.id) == col(Consent.employee_id))
        .where(col(ConsentLink.token_hash) == token_sha256(token))
        .execution_options(populate_existing=True)
    ).first()
    if row is None or row[0].consent_id != claims.consent_id or row[0].purpose != purpose:
        raise UnknownLinkError("we have no record of this link: its request may have been deleted")
    return row


def _explain(consent: Consent, employee: Employee, config: ConsentConfig) -> Explanation:
    try:
        policies = [config.policies.get(policy_id) for policy_id in sorted(consent.policy_versions)]
    except UnknownPolicyError as exc:
        raise RequestUnavailableError(
            f"this request names the policy {exc.policy_id!r}, which this installation no "
            "longer has, so it cannot be shown or answered; nothing will be done"
        ) from exc
    return explain(
        employee=employee_facts(employee),
        policies=policies,
        respond_by=consent.respond_by,
        contact_email=config.contact_email,
        retention_days=config.evidence_retention_days,
    )


def _view(
    purpose: LinkPurpose,
    consent: Consent,
    employee: Employee,
    explanation: Explanation,
    now: datetime,
) -> LinkView:
    return LinkView(
        purpose=purpose,
        consent=ConsentView(
            id=_id(consent),
            campaign_id=consent.campaign_id,
            state=ConsentState(consent.state),
            employee_name=employee.name,
            employee_email=employee.email,
            requested_at=consent.requested_at,
            respond_by=consent.respond_by,
            decided_at=consent.decided_at,
            revoked_at=consent.revoked_at,
            closed_at=consent.closed_at,
            policy_versions=dict(consent.policy_versions),
        ),
        explanation=explanation,
        now=now,
    )


def _employees(session: Session, ids: Collection[int]) -> dict[int, Employee]:
    if not ids:
        return {}
    rows = session.exec(select(Employee).where(col(Employee.id).in_(list(ids)))).all()
    return {_id(row): row for row in rows}


def _id(row: Consent | ConsentLink | Employee | Job) -> int:
    assert row.id is not None, "rows are flushed before their id is used"
    return row.id
