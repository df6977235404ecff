"""Keeping a job attempt's proof: files into the evidence store, records into the database.

Files are checked against the SHA-256 the engine computed when it captured them, then moved
under `<store>/jobs/<job id>/attempt-<n>/`; only then are the records written, in the caller's
transaction. A crash in between leaves unreferenced files, never a record without its file.
Past the retention period, `purge_expired_evidence` deletes the files and marks their records.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from orchestrator.audit.service import record
from orchestrator.automation.outcomes import Outcome
from orchestrator.core.db import analyze_after_bulk_write
from orchestrator.core.errors import OrchestratorError
from orchestrator.evidence.models import EvidenceRecord

_CHUNK = 500  # ids per IN (...), far below every database's parameter limit


class EvidenceIntegrityError(OrchestratorError):
    """A file of proof is missing, outside its folder, or not the file the engine captured."""


@dataclass(frozen=True)
class KeptEvidence:
    """Where an attempt's proof went, and its records."""

    directory: Path
    records: list[EvidenceRecord]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _inside(root: Path, relative: str) -> Path:
    parts = PurePosixPath(relative).parts
    if (
        not parts
        or any(part in {"..", ""} for part in parts)
        or PurePosixPath(relative).is_absolute()
    ):
        raise EvidenceIntegrityError(f"evidence path {relative!r} leaves its folder")
    return root.joinpath(*parts)


def keep_evidence(
    session: Session,
    *,
    job_id: int,
    attempt: int,
    outcome: Outcome,
    source_root: Path,
    evidence_root: Path,
    now: datetime,
) -> KeptEvidence:
    """Move an outcome's files into the store and record each with its hash and context."""
    target = evidence_root / "jobs" / str(job_id) / f"attempt-{attempt}"
    target.mkdir(parents=True, exist_ok=True)
    records: list[EvidenceRecord] = []
    for item in outcome.evidence:
        source = _inside(source_root, item.path)
        if not source.is_file():
            raise EvidenceIntegrityError(f"evidence file {item.path} did not come back")
        if _sha256(source) != item.sha256:
            raise EvidenceIntegrityError(f"evidence file {item.path} changed after it was taken")
        destination = target / source.name
        shutil.move(source, destination)
        records.append(
            EvidenceRecord(
                job_id=job_id,
                kind=item.kind,
                path=destination.relative_to(evidence_root).as_posix(),
                sha256=item.sha256,
                url=item.url,
                policy_version=outcome.policy_version,
                captured_at=item.captured_at,
                data={"attempt": attempt},
            )
        )
    summary: dict[str, Any] = outcome.as_dict()
    summary.pop("evidence")
    outcome_file = target / "outcome.json"
    outcome_file.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    records.append(
        EvidenceRecord(
            job_id=job_id,
            kind="outcome",
            path=outcome_file.relative_to(evidence_root).as_posix(),
            sha256=_sha256(outcome_file),
            url=outcome.final_url,
            policy_version=outcome.policy_version,
            captured_at=now,
            data={"attempt": attempt, "status": outcome.status.value},
        )
    )
    session.add_all(records)
    session.flush()
    return KeptEvidence(target, records)


def evidence_for_job(session: Session, *, job_id: int) -> list[EvidenceRecord]:
    """A job's evidence records, oldest first."""
    return list(
        session.exec(
            select(EvidenceRecord)
            .where(EvidenceRecord.job_id == job_id)
            .order_by(col(EvidenceRecord.id))
        ).all()
    )


@dataclass(frozen=True)
class PurgeSummary:
    """What a retention purge removed (or, on a dry run, would remove)."""

    cutoff: datetime
    records: int
    files: int
    bytes: int
    dry_run: bool


def purge_expired_evidence(
    session: Session,
    *,
    older_than: timedelta,
    now: datetime,
    actor: str,
    evidence_dir: Path,
    dry_run: bool = False,
) -> PurgeSummary:
    """Delete the files of evidence captured before `now - older_than` and mark their records.

    Records stay (with hash, time and URL) so reports can say what was purged and when; one
    audit event records the purge. Files go only after the records are marked and the event
    written; should the caller's commit still fail, the next purge marks those records again.
    """
    cutoff = now - older_than
    expired = list(
        session.exec(
            select(EvidenceRecord.id, EvidenceRecord.path).where(
                col(EvidenceRecord.captured_at) < cutoff, col(EvidenceRecord.purged_at).is_(None)
            )
        ).all()
    )
    files = [_inside(evidence_dir, path) for _, path in expired if path]
    present = [path for path in files if path.is_file()]
    size = sum(path.stat().st_size for path in present)
    summary = PurgeSummary(cutoff, len(expired), len(present), size, dry_run)
    if dry_run or not expired:
        return summary
    ids = [int(record_id) for record_id, _ in expired if record_id is not None]
    for start in range(0, len(ids), _CHUNK):
        session.exec(
            update(EvidenceRecord)
            .where(col(EvidenceRecord.id).in_(ids[start : start + _CHUNK]))
            .values(purged_at=now)
        )
    record(
        session,
        actor=actor,
        action="evidence.purged",
        subject_type="evidence_store",
        subject_id="retention",
        data={
            "cutoff": cutoff,
            "older_than_days": older_than.total_seconds() / 86400,
            "records": len(expired),
            "files": len(present),
            "bytes": size,
            "first_id": min(ids),
            "last_id": max(ids),
        },
        now=now,
    )
    session.flush()
    analyze_after_bulk_write(session, len(ids), EvidenceRecord.__tablename__)
    for path in present:
        path.unlink(missing_ok=True)
    return summary
