"""Rows tests and benchmarks need but do not test: consenting employees with queued jobs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from orchestrator.campaigns.models import Campaign
from orchestrator.consent.models import Consent, ConsentState
from orchestrator.core.db import session_scope
from orchestrator.employees.models import Employee
from orchestrator.employees.service import import_directory
from orchestrator.flows.engine_tasks import seed_replica_session
from orchestrator.jobs.models import Job


def approved_jobs(
    engine: Engine,
    *,
    emails: Sequence[str],
    policies: Mapping[str, str],
    now: datetime,
    max_attempts: int = 3,
) -> None:
    """For each employee: an approved consent and one queued job per policy (id → version)."""
    with session_scope(engine) as session:
        campaign = Campaign(name="c", policy_ids=list(policies), created_by="t", created_at=now)
        session.add(campaign)
        session.flush()
        employees = session.exec(select(Employee).where(col(Employee.email).in_(emails))).all()
        for employee in employees:
            consent = Consent(
                campaign_id=campaign.id,  # type: ignore[arg-type]
                employee_id=employee.id,  # type: ignore[arg-type]
                state=ConsentState.APPROVED,
                policy_versions=dict(policies),
                requested_at=now,
                respond_by=now + timedelta(days=7),
                decided_at=now,
            )
            session.add(consent)
            session.flush()
            for policy_id, version in policies.items():
                session.add(
                    Job(
                        campaign_id=campaign.id,
                        employee_id=employee.id,  # type: ignore[arg-type]
                        consent_id=consent.id,  # type: ignore[arg-type]
                        policy_id=policy_id,
                        policy_version=version,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                        max_attempts=max_attempts,
                    )
                )


def consenting_employees(
    engine: Engine,
    *,
    replica_url: str,
    secret: str,
    people: Mapping[str, Sequence[str]],
    policies: Mapping[str, str],
    now: datetime,
    country: str = "US",
) -> None:
    """Employees (email → replica behaviours) with a LinkedIn session on the replica, an
    approved consent and one queued job per policy: what a worker finds after approvals."""
    directory = "email,name,department,country\n" + "".join(
        f"{email},Person,Ops,{country}\n" for email in people
    )
    with session_scope(engine) as session:
        import_directory(session, data=directory.encode(), source="d.csv", actor="t", now=now)
        for email, behaviours in people.items():
            seed_replica_session(
                session,
                replica_url=replica_url,
                employee_email=email,
                platform="linkedin",
                behaviours=behaviours,
                secret=secret,
                actor="t",
                now=now,
            )
    approved_jobs(engine, emails=list(people), policies=policies, now=now)
