"""The auditor's evidence bundle: one zip an auditor can check without our database.

It holds the report (HTML, CSV, JSON), every evidence file the report cites (the proof of each
verified opt-out) with `records.json` describing them, `manifest.json` listing every file's
SHA-256 with the report's parameters and the audit-chain head, `manifest.sig` (the installation's
Ed25519 signature of the manifest, base64) and `public-key.pem`. The zip is written beside its
destination and renamed into place, so a failure leaves no half-written bundle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import case, select
from sqlmodel import Session

from orchestrator.audit.service import ChainHead, chain_head
from orchestrator.core.clock import as_utc
from orchestrator.core.errors import OrchestratorError
from orchestrator.core.settings import Settings
from orchestrator.employees.models import Employee
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.evidence.service import EvidenceIntegrityError
from orchestrator.policies import PolicySet
from orchestrator.reports.department import (
    DepartmentReport,
    ReportParameters,
    build_department_report,
)
from orchestrator.reports.history import report_statuses
from orchestrator.reports.render import ReportFormat, render_report
from orchestrator.reports.signing import (
    public_pem,
    read_public_key,
    signature_valid,
    signing_key,
)
from orchestrator.reports.statuses import Status, moved_outside, report_scope

BUNDLE_FORMAT = "optout-evidence-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public-key.pem"
RECORDS = "records.json"
_UNSIGNED = {MANIFEST, SIGNATURE}
# What reading a damaged member raises: a CRC mismatch, or a stream that no longer inflates.
_DAMAGED = (zipfile.BadZipFile, zlib.error, OSError, EOFError)
_CHUNK = 1 << 16
_EVIDENCE = EvidenceRecord.__table__  # type: ignore[attr-defined]
_EMPLOYEES = Employee.__table__  # type: ignore[attr-defined]


class BundleError(OrchestratorError):
    """A bundle that cannot be written where asked."""


@dataclass(frozen=True)
class BundleSummary:
    """What went into a bundle."""

    path: Path
    report: DepartmentReport
    files: int
    evidence_files: int
    purged_records: int
    chain_head: ChainHead | None
    public_key_pem: str


@dataclass(frozen=True)
class BundleVerification:
    """The outcome of checking a bundle: every problem found, each naming its file."""

    path: Path
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cited_evidence(
    session: Session, *, params: ReportParameters, policies: PolicySet, department: str | None
) -> Generator[Any, None, None]:
    """The evidence records proving each verified opt-out in the report's scope."""
    scope = report_scope(session, department=department, as_of=params.as_of)
    # The report refreshed the projection just before, so it is as fresh as the report.
    statuses = report_statuses(session, policies=policies, scope=scope)
    if statuses is None:
        return
    s = statuses.rows
    found = (
        select(
            s.c.policy_id,
            _EVIDENCE.c.id,
            _EVIDENCE.c.job_id,
            _EVIDENCE.c.kind,
            _EVIDENCE.c.path,
            _EVIDENCE.c.sha256,
            _EVIDENCE.c.url,
            _EVIDENCE.c.policy_version,
            _EVIDENCE.c.captured_at,
            _EVIDENCE.c.purged_at,
            _EMPLOYEES.c.email,
            s.c.employee_id,
        )
        .select_from(
            s.join(_EVIDENCE, _EVIDENCE.c.job_id == s.c.proof_job_id).join(
                _EMPLOYEES, _EMPLOYEES.c.id == s.c.employee_id
            )
        )
        .where(s.c.status == Status.COMPLIANT.value)
        .order_by(
            case({pid: i for i, pid in enumerate(statuses.policy_ids)}, value=s.c.policy_id),
            _EVIDENCE.c.id,
        )
    )
    if params.as_of is not None:
        found = found.where(_EVIDENCE.c.captured_at <= params.as_of)
    elsewhere = moved_outside(session, scope)  # in the department now, not then
    with closing(session.execute(found.execution_options(yield_per=2000))) as rows:
        for row in rows:
            if row.employee_id not in elsewhere:
                yield row.policy_id, row


def _copy_checked(source: Path, target: IO[bytes], expected: str, name: str) -> None:
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
            target.write(chunk)
    if digest.hexdigest() != expected:
        raise EvidenceIntegrityError(
            f"evidence file {name} no longer matches the SHA-256 recorded when it was captured; "
            "the evidence store was altered, so no bundle was written"
        )


def write_evidence_bundle(
    session: Session,
    *,
    params: ReportParameters,
    policies: PolicySet,
    settings: Settings,
    out: Path,
) -> BundleSummary:
    """Write the signed bundle of a report and the evidence it cites to `out` (a .zip)."""
    report = build_department_report(session, params=params, policies=policies)
    key = signing_key(settings)
    evidence_root = settings.resolved_evidence_dir
    head = chain_head(session)
    directory = out.parent if str(out.parent) else Path()
    if not directory.is_dir():
        raise BundleError(f"cannot write {out}: the directory {directory} does not exist")
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".bundle-", suffix=".zip")
    os.close(descriptor)
    hashes: dict[str, str] = {}
    records: list[dict[str, Any]] = []
    evidence_files = purged = 0
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as bundle:

            def add(name: str, data: bytes) -> None:
                bundle.writestr(name, data)
                hashes[name] = hashlib.sha256(data).hexdigest()

            for fmt in (ReportFormat.HTML, ReportFormat.CSV, ReportFormat.JSON):
                add(f"report.{fmt.value}", b"".join(render_report(report, fmt)))
            cited = _cited_evidence(
                session, params=params, policies=policies, department=report.params.department
            )
            with closing(cited) as rows:
                for policy_id, row in rows:
                    member = None
                    if row.purged_at is not None:
                        purged += 1
                    elif row.path:
                        member = f"evidence/{PurePosixPath(row.path).as_posix()}"
                        source = evidence_root / row.path
                        if not source.is_file():
                            raise EvidenceIntegrityError(
                                f"evidence file {row.path} (record {row.id}) is missing from the "
                                f"evidence store {evidence_root} and was not purged; no bundle "
                                "was written"
                            )
                        # Screenshots are compressed already; storing them keeps bundling fast.
                        info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
                        info.compress_type = zipfile.ZIP_STORED
                        with bundle.open(info, "w") as target:
                            _copy_checked(source, target, row.sha256, row.path)
                        hashes[member] = row.sha256
                        evidence_files += 1
                    records.append(
                        {
                            "id": row.id,
                            "job_id": row.job_id,
                            "employee": row.email,
                            "policy_id": policy_id,
                            "policy_version": row.policy_version,
                            "kind": row.kind,
                            "sha256": row.sha256,
                            "url": row.url,
                            "captured_at": as_utc(row.captured_at).isoformat(),
                            "file": member,
                            "purged_at": row.purged_at and as_utc(row.purged_at).isoformat(),
                        }
                    )
            add(RECORDS, json.dumps(records, indent=1, ensure_ascii=False).encode())
            pem = public_pem(key)
            add(PUBLIC_KEY, pem)
            manifest = {
                "format": BUNDLE_FORMAT,
                "parameters": {
                    "scope": params.scope,
                    "department": report.params.department,
                    "as_of": params.as_of and as_utc(params.as_of).isoformat(),
                    "generated_at": as_utc(params.generated_at).isoformat(),
                    "generated_by": params.generated_by,
                },
                "audit_chain_head": None if head is None else {"seq": head.seq, "hash": head.hash},
                "evidence_records": len(records),
                "purged_records": purged,
                "files": dict(sorted(hashes.items())),
            }
            manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            bundle.writestr(MANIFEST, manifest_bytes)
            bundle.writestr(SIGNATURE, base64.b64encode(key.sign(manifest_bytes)) + b"\n")
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return BundleSummary(
        path=out,
        report=report,
        files=len(hashes) + 2,
        evidence_files=evidence_files,
        purged_records=purged,
        chain_head=head,
        public_key_pem=pem.decode(),
    )


# --- verifying ------------------------------------------------------------------------------


def _member_sha256(bundle: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with bundle.open(name) as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_bundle(path: Path, *, public_key: Ed25519PublicKey | None = None) -> BundleVerification:
    """Check a bundle offline: the signature (against `public_key` when the auditor pins one)
    and every file's SHA-256; each altered, missing or unexpected file is named."""
    problems: list[str] = []
    try:
        bundle = zipfile.ZipFile(path)
    except FileNotFoundError:
        return BundleVerification(path, [f"{path} does not exist"])
    except (zipfile.BadZipFile, OSError) as exc:
        return BundleVerification(path, [f"{path} is not a readable zip file ({exc})"])
    with bundle:
        names = set(bundle.namelist())
        missing = [name for name in (MANIFEST, SIGNATURE, PUBLIC_KEY) if name not in names]
        if missing:
            return BundleVerification(
                path, [f"{name} is missing, so nothing can be checked" for name in missing]
            )
        manifest_bytes = _read(bundle, MANIFEST, problems)
        manifest = _parse_manifest(manifest_bytes, problems)
        _check_signature(bundle, manifest_bytes, public_key, problems)
        if manifest is None:
            return BundleVerification(path, problems)
        listed: dict[str, str] = manifest["files"]
        checked = 0
        for name, expected in sorted(listed.items()):
            if name not in names:
                problems.append(f"{name} is missing from the bundle")
                continue
            try:
                actual = _member_sha256(bundle, name)
            except _DAMAGED:
                problems.append(f"{name} was altered (its bytes no longer match the zip's CRC)")
                continue
            checked += 1
            if actual != expected:
                problems.append(f"{name} was altered (SHA-256 {actual} instead of {expected})")
        for name in sorted(names - set(listed) - _UNSIGNED):
            problems.append(f"{name} is not listed in the manifest (added after signing)")
        return BundleVerification(path, problems, checked, manifest)


def _read(bundle: zipfile.ZipFile, name: str, problems: list[str]) -> bytes:
    try:
        return bundle.read(name)
    except _DAMAGED:
        problems.append(f"{name} was altered (its bytes no longer match the zip's CRC)")
        return b""


def _parse_manifest(data: bytes, problems: list[str]) -> dict[str, Any] | None:
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        problems.append(f"{MANIFEST} is not valid JSON")
        return None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != BUNDLE_FORMAT
        or not isinstance(manifest.get("files"), dict)
    ):
        problems.append(f"{MANIFEST} is not a {BUNDLE_FORMAT} manifest")
        return None
    return manifest


def _check_signature(
    bundle: zipfile.ZipFile,
    manifest_bytes: bytes,
    pinned: Ed25519PublicKey | None,
    problems: list[str],
) -> None:
    try:
        carried = read_public_key(_read(bundle, PUBLIC_KEY, problems), where=PUBLIC_KEY)
    except OrchestratorError as exc:
        problems.append(exc.message)
        return
    if pinned is not None and public_pem(pinned) != public_pem(carried):
        problems.append(
            f"{PUBLIC_KEY} is not the pinned public key: the bundle was signed by another key"
        )
        return
    try:
        signature = base64.b64decode(_read(bundle, SIGNATURE, problems).strip(), validate=True)
    except binascii.Error:
        problems.append(f"{SIGNATURE} is not a base64 signature")
        return
    if not signature_valid(carried, signature, manifest_bytes):
        problems.append(
            f"{SIGNATURE} does not match {MANIFEST}: the manifest was altered after signing"
        )
