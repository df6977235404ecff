"""Reading the evidence store for people: records by job or employee, and a record's file.

A file is only ever served from inside the store: the recorded path is resolved and must stay
under the store's root, be a regular file, and not have been purged.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import column, func, table
from sqlmodel import Session, col, select

from orchestrator.core.errors import NotFoundError
from orchestrator.evidence.models import EvidenceRecord

IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
TEXT_SUFFIXES = {".json": "application/json", ".txt": "text/plain; charset=utf-8"}
# Job rows are the queue's; evidence only asks whose job a record belongs to.
_jobs = table("jobs", column("id"), column("employee_id"))


def list_evidence(
    session: Session,
    *,
    job_id: int | None = None,
    employee_id: int | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[EvidenceRecord], int]:
    """One page of evidence records matching the filters, newest first, and the total."""
    query = select(EvidenceRecord)
    if job_id is not None:
        query = query.where(EvidenceRecord.job_id == job_id)
    if employee_id is not None:
        query = query.join(_jobs, _jobs.c.id == col(EvidenceRecord.job_id)).where(
            _jobs.c.employee_id == employee_id
        )
    if kind is not None:
        query = query.where(EvidenceRecord.kind == kind)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(EvidenceRecord.id).desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def get_evidence(session: Session, *, evidence_id: int) -> EvidenceRecord:
    """One evidence record, or NotFoundError."""
    record = session.get(EvidenceRecord, evidence_id)
    if record is None:
        raise NotFoundError(f"no evidence {evidence_id}")
    return record


def evidence_file(record: EvidenceRecord, *, root: Path) -> Path:
    """The record's file inside the store at `root`; NotFoundError if it has none any more."""
    if record.purged_at is not None:
        raise NotFoundError(
            f"evidence {record.id} was purged on {record.purged_at:%Y-%m-%d} (retention); "
            "its hash and metadata are kept"
        )
    if not record.path:
        raise NotFoundError(f"evidence {record.id} is a recorded fact without a file")
    store = root.resolve()
    path = (store / record.path).resolve()
    if not path.is_relative_to(store) or not path.is_file():
        raise NotFoundError(f"the file of evidence {record.id} is not in the evidence store")
    return path


def media_type(path: Path) -> str:
    """What to call a stored file when serving it."""
    suffix = path.suffix.lower()
    return IMAGE_SUFFIXES.get(suffix) or TEXT_SUFFIXES.get(suffix) or "application/octet-stream"
