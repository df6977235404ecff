"""Keeping the employee directory in step with the HR system's export, and reading it back.

The import is all-or-nothing: the file is validated in full first, then every insert, update,
deactivation and audit event is written in the caller's single transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import NewEvent, record_many
from orchestrator.core.db import analyze_after_bulk_write
from orchestrator.core.errors import ConflictError
from orchestrator.employees.directory import (
    DirectoryRow,
    FileFormat,
    detect_format,
    normalise_country,
    normalise_department,
    read_directory,
)
from orchestrator.employees.models import Department, Employee


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    source: str
    sha256: str
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    deactivated: int
    departments_created: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class EmployeeView:
    """An employee as lists and the API show it: the department as its full path."""

    id: int
    email: str
    name: str
    department: str
    country: str
    fleet_host: str | None
    accounts: dict[str, str]
    active: bool
    time_zone: str | None = None


@dataclass
class _Plan:
    create: list[DirectoryRow] = field(default_factory=list)
    update: list[tuple[int, DirectoryRow, dict[str, list[Any]]]] = field(default_factory=list)
    unchanged: int = 0
    deactivate: list[tuple[int, str]] = field(default_factory=list)
    new_departments: list[str] = field(default_factory=list)


employees_table = Employee.__table__  # type: ignore[attr-defined]
departments_table = Department.__table__  # type: ignore[attr-defined]
_update_by_id = update(employees_table).where(employees_table.c.id == bindparam("row_id"))


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: depth + 1]) for depth in range(len(parts))]


def _plan(session: Session, rows: Sequence[DirectoryRow], *, deactivate_missing: bool) -> _Plan:
    plan = _Plan()
    known_departments = set(session.exec(select(Department.path)).all())
    wanted = {ancestor for row in rows for ancestor in _ancestors(row.department)}
    plan.new_departments = sorted(wanted - known_departments, key=lambda p: (p.count("/"), p))

    existing: dict[str, dict[str, Any]] = {}
    employee = employees_table.c
    query = sa_select(
        employee.id,
        employee.email,
        employee.name,
        departments_table.c.path.label("department"),
        employee.country,
        employee.fleet_host,
        employee.time_zone,
        employee.accounts,
        employee.active,
    ).join(departments_table, departments_table.c.id == employee.department_id)
    for found in session.execute(query).mappings():
        existing[found["email"]] = dict(found)

    for row in rows:
        current = existing.pop(row.email, None)
        if current is None:
            plan.create.append(row)
            continue
        wanted_values = {
            "name": row.name,
            "department": row.department,
            "country": row.country,
            "fleet_host": row.fleet_host,
            "time_zone": row.time_zone,
            "accounts": row.accounts,
            "active": True,
        }
        changes = {
            name: [current[name], value]
            for name, value in wanted_values.items()
            if current[name] != value
        }
        if changes:
            plan.update.append((current["id"], row, changes))
        else:
            plan.unchanged += 1
    if deactivate_missing:
        plan.deactivate = sorted(
            (values["id"], email) for email, values in existing.items() if values["active"]
        )
    return plan


def _create_departments(session: Session, paths: Sequence[str]) -> dict[str, int]:
    """Create the missing departments (parents first) and return every path's id."""
    ids: dict[str, int] = {
        path: id_ for path, id_ in session.exec(select(Department.path, Department.id)) if id_
    }
    for path in paths:
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        department = Department(
            path=path, name=path.rsplit("/", 1)[-1], parent_id=ids[parent] if parent else None
        )
        session.add(department)
        session.flush()
        assert department.id is not None
        ids[path] = department.id
    return ids


def _apply(session: Session, plan: _Plan, *, actor: str, now: datetime) -> list[NewEvent]:
    events: list[NewEvent] = []
    department_ids = _create_departments(session, plan.new_departments)
    events.extend(
        NewEvent(actor, "department.created", "department", path, {"path": path})
        for path in plan.new_departments
    )
    if plan.create:
        # Core statements on the table: the ORM's bulk path costs more than the insert itself,
        # and RETURNING would make SQLite insert row by row; one SELECT fetches the new ids.
        session.execute(
            insert(employees_table),
            [
                {
                    "email": row.email,
                    "name": row.name,
                    "department_id": department_ids[row.department],
                    "country": row.country,
                    "fleet_host": row.fleet_host,
                    "time_zone": row.time_zone,
                    "accounts": row.accounts,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for row in plan.create
            ],
        )
        ids_by_email = dict(
            session.execute(
                select(employees_table.c.email, employees_table.c.id).where(
                    employees_table.c.created_at == now
                )
            ).all()
        )
        for row in plan.create:
            events.append(
                NewEvent(
                    actor,
                    "employee.created",
                    "employee",
                    str(ids_by_email[row.email]),
                    {
                        "email": row.email,
                        "name": row.name,
                        "department": row.department,
                        "country": row.country,
                        "fleet_host": row.fleet_host,
                        "time_zone": row.time_zone,
                        "accounts": row.accounts,
                    },
                )
            )
    if plan.update:
        session.execute(
            _update_by_id,
            [
                {
                    "row_id": employee_id,
                    "name": row.name,
                    "department_id": department_ids[row.department],
                    "country": row.country,
                    "fleet_host": row.fleet_host,
                    "time_zone": row.time_zone,
                    "accounts": row.accounts,
                    "active": True,
                    "deactivated_at": None,
                    "updated_at": now,
                }
                for employee_id, row, _ in plan.update
            ],
        )
        events.extend(
            NewEvent(
                actor,
                "employee.updated",
                "employee",
                str(employee_id),
                {"email": row.email, "changes": changes},
            )
            for employee_id, row, changes in plan.update
        )
    if plan.deactivate:
        session.execute(
            _update_by_id.values(active=False, deactivated_at=now, updated_at=now),
            [{"row_id": employee_id} for employee_id, _ in plan.deactivate],
        )
        events.extend(
            NewEvent(
                actor,
                "employee.deactivated",
                "employee",
                str(employee_id),
                {"email": email, "reason": "missing from the directory import"},
            )
            for employee_id, email in plan.deactivate
        )
    return events


def import_directory(
    session: Session,
    *,
    data: bytes,
    source: str,
    actor: str,
    now: datetime,
    file_format: FileFormat | None = None,
    deactivate_missing: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Upsert employees from a CSV/JSON export by case-insensitive email; all rows or none."""
    rows = read_directory(data, source=source, file_format=file_format or detect_format(source))
    plan = _plan(session, rows, deactivate_missing=deactivate_missing)
    report = ImportReport(
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        dry_run=dry_run,
        rows=len(rows),
        created=len(plan.create),
        updated=len(plan.update),
        unchanged=plan.unchanged,
        deactivated=len(plan.deactivate),
        departments_created=len(plan.new_departments),
    )
    if dry_run:
        return report
    try:
        events = _apply(session, plan, actor=actor, now=now)
        summary = report.as_dict()
        summary["deactivate_missing"] = deactivate_missing
        events.append(NewEvent(actor, "directory.imported", "directory", source, summary))
        record_many(session, events, now=now)
    except IntegrityError as exc:
        raise ConflictError(
            "the directory changed while this import ran (another import at the same time?); "
            "nothing was imported — run it again"
        ) from exc
    written = report.created + report.updated + report.deactivated
    tables = (Department.__tablename__, Employee.__tablename__, AuditEvent.__tablename__)
    analyze_after_bulk_write(session, written, *tables)
    return report


def list_employees(
    session: Session,
    *,
    department: str | None = None,
    country: str | None = None,
    active: bool | None = None,
    search: str | None = None,
    among: Select[tuple[int]] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[EmployeeView], int]:
    """One page of employees matching the filters, and how many match in total.

    A department matches itself and everything below it (`Engineering` includes
    `Engineering/Platform`). `among` is a query of employee ids from another room (for
    example those whose opt-out needs them), kept as SQL so the page stays one query.
    """
    query = select(Employee, Department.path).join(
        Department, col(Department.id) == col(Employee.department_id)
    )
    if department is not None:
        path = normalise_department(department) or department
        query = query.where(
            or_(
                col(Department.path) == path,
                col(Department.path).startswith(path + "/", autoescape=True),
            )
        )
    if country is not None:
        query = query.where(Employee.country == (normalise_country(country) or country.upper()))
    if active is not None:
        query = query.where(Employee.active == active)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            or_(col(Employee.email).like(pattern), func.lower(Employee.name).like(pattern))
        )
    if among is not None:
        query = query.where(col(Employee.id).in_(among))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = session.exec(query.order_by(col(Employee.email)).limit(limit).offset(offset)).all()
    views = [
        EmployeeView(
            id=employee.id,  # type: ignore[arg-type]  # always set on rows read back
            email=employee.email,
            name=employee.name,
            department=path,
            country=employee.country,
            fleet_host=employee.fleet_host,
            accounts=dict(employee.accounts),
            active=employee.active,
            time_zone=employee.time_zone,
        )
        for employee, path in page
    ]
    return views, total
