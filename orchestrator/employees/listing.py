"""Reading the directory for people: one employee, and the departments to filter by."""

from __future__ import annotations

from sqlmodel import Session, col, select

from orchestrator.core.errors import NotFoundError
from orchestrator.employees.models import Department, Employee
from orchestrator.employees.service import EmployeeView


def get_employee(session: Session, *, employee_id: int) -> EmployeeView:
    """One employee with the department's full path, or NotFoundError."""
    found = session.exec(
        select(Employee, Department.path)
        .join(Department, col(Department.id) == col(Employee.department_id))
        .where(Employee.id == employee_id)
    ).first()
    if found is None:
        raise NotFoundError(f"no employee {employee_id}")
    employee, path = found
    return EmployeeView(
        id=employee_id,
        email=employee.email,
        name=employee.name,
        department=path,
        country=employee.country,
        fleet_host=employee.fleet_host,
        accounts=dict(employee.accounts),
        active=employee.active,
        time_zone=employee.time_zone,
    )


def department_paths(session: Session) -> list[str]:
    """Every department's full path, sorted (for filters and campaign scopes)."""
    return list(session.exec(select(Department.path).order_by(col(Department.path))).all())
