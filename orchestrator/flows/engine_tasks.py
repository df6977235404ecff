"""Building an engine task from the database: the employee, their session, the policy's target."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from orchestrator.automation.outcomes import EmployeeFacts, EngineTask, Mode
from orchestrator.core.errors import NotFoundError, OrchestratorError
from orchestrator.employees.models import Department, Employee
from orchestrator.employees.sessions import load_session, store_session
from orchestrator.policies import LoadedPolicy, Policy
from orchestrator.replica import REAL_ORIGINS, ReplicaClient


def target_base_url(policy: Policy, *, replica_url: str | None) -> str | None:
    """Where the policy's origin is served: None for the real site, else the replica's prefix."""
    if replica_url is None:
        return None
    prefix = REAL_ORIGINS.get(policy.origin)
    if prefix is None:
        raise OrchestratorError(f"the replica does not stand in for {policy.origin}")
    return f"{replica_url}/{prefix}"


def employee_facts(session: Session, *, email: str) -> tuple[int, EmployeeFacts]:
    """The employee's id and what policies may know of them."""
    row = session.exec(
        select(Employee, Department.path)
        .join(Department, col(Department.id) == col(Employee.department_id))
        .where(Employee.email == email.strip().lower())
    ).first()
    if row is None:
        raise NotFoundError(f"no employee with the email {email}")
    employee, department = row
    assert employee.id is not None
    facts = EmployeeFacts(
        email=employee.email, name=employee.name, department=department, country=employee.country
    )
    return employee.id, facts


def engine_task(
    session: Session,
    *,
    loaded: LoadedPolicy,
    employee_email: str,
    secret: str,
    evidence_dir: Path,
    task_id: str,
    replica_url: str | None,
    mode: Mode = "opt_out",
    on: date | None = None,
    prior_confirmation: dict[str, str] | None = None,
) -> EngineTask:
    """Everything the engine needs to run `loaded` for one employee (session decrypted)."""
    employee_id, facts = employee_facts(session, email=employee_email)
    return EngineTask(
        task_id=task_id,
        policy=loaded,
        employee=facts,
        storage_state=load_session(
            session, employee_id=employee_id, platform=loaded.policy.platform, secret=secret
        ),
        evidence_dir=evidence_dir,
        base_url=target_base_url(loaded.policy, replica_url=replica_url),
        mode=mode,
        on=on,
        prior_confirmation=prior_confirmation,
    )


def seed_replica_session(
    session: Session,
    *,
    replica_url: str,
    employee_email: str,
    platform: str,
    behaviours: Iterable[str],
    secret: str,
    actor: str,
    now: datetime,
) -> None:
    """Create the employee's account on the replica and keep its session as theirs (demo, tests)."""
    _, facts = employee_facts(session, email=employee_email)
    with ReplicaClient(replica_url) as replica:
        replica.seed_account(platform, facts.email, email=facts.email, behaviours=behaviours)
        state = replica.storage_state(platform, facts.email)
    store_session(
        session,
        employee_email=facts.email,
        platform=platform,
        storage_state=state,
        secret=secret,
        actor=actor,
        now=now,
    )
