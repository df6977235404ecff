"""Evidence retention: old files go, their records stay marked, the audit log and reports say so;
and the `optout report`, `bundle` and `evidence purge` commands as an admin runs them."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from orchestrator.audit.models import AuditEvent
from orchestrator.audit.service import verify_chain
from orchestrator.core.clock import utcnow
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.employees.service import import_directory
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.evidence.service import purge_expired_evidence
from orchestrator.jobs.models import Job
from orchestrator.policies import load_policies
from orchestrator.reports import (
    ReportFormat,
    ReportParameters,
    build_department_report,
    render_report,
    verify_bundle,
    write_evidence_bundle,
)
from tests.factories import approved_jobs
from tests.support import REPO, optout, process_env

POLICIES = load_policies(REPO / "policies")
GENAI = "linkedin-genai-training"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _verified_fleet(engine: Engine, root: Path, now: datetime = NOW) -> dict[str, Path]:
    """Two employees opted out: ann's proof is 500 days old, bob's 10 days; returns their files."""
    old, recent = now - timedelta(days=500), now - timedelta(days=10)
    people = "email,name,department,country\nann@x.com,Ann,Ops,US\nbob@x.com,Bob,Ops/Field,US\n"
    with session_scope(engine) as session:
        import_directory(session, data=people.encode(), source="d.csv", actor="t", now=old)
    approved_jobs(
        engine,
        emails=["ann@x.com", "bob@x.com"],
        policies={GENAI: POLICIES.get(GENAI).version},
        now=old,
    )
    files = {}
    with session_scope(engine) as session:
        jobs = session.exec(select(Job).order_by(col(Job.id))).all()
        for job, (email, at) in zip(jobs, [("ann", old), ("bob", recent)], strict=True):
            job.state, job.outcome, job.finished_at = "succeeded", "changed", at
            session.add(job)
            data = f"screenshot of {email}".encode()
            relative = f"jobs/{job.id}/attempt-1/after.png"
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_bytes(data)
            session.add(
                EvidenceRecord(
                    job_id=job.id,  # type: ignore[arg-type]
                    kind="screenshot_after",
                    path=relative,
                    sha256=hashlib.sha256(data).hexdigest(),
                    policy_version=job.policy_version,
                    captured_at=at,
                )
            )
            files[email] = root / relative
    return files


def _purge(engine: Engine, root: Path, *, dry_run: bool = False):
    with session_scope(engine) as session:
        return purge_expired_evidence(
            session,
            older_than=timedelta(days=400),
            now=NOW,
            actor="cli:admin",
            evidence_dir=root,
            dry_run=dry_run,
        )


def test_purge_removes_old_files_keeps_records_and_is_audited(
    engine: Engine, tmp_path: Path
) -> None:
    root = tmp_path / "evidence"
    files = _verified_fleet(engine, root)
    dry = _purge(engine, root, dry_run=True)
    assert (dry.records, dry.files, dry.dry_run) == (1, 1, True)
    assert files["ann"].exists()

    summary = _purge(engine, root)
    assert (summary.records, summary.files, summary.bytes) == (1, 1, len(b"screenshot of ann"))
    assert not files["ann"].exists() and files["bob"].exists()
    with Session(engine) as session:
        records = session.exec(select(EvidenceRecord).order_by(col(EvidenceRecord.id))).all()
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "evidence.purged")).one()
        assert verify_chain(session).ok
    assert [r.purged_at for r in records] == [NOW, None]
    assert event.actor == "cli:admin"
    assert (event.data["records"], event.data["older_than_days"]) == (1, 400)
    assert _purge(engine, root).records == 0  # nothing left to purge


def test_a_proof_with_several_purged_records_counts_each_and_changes_no_figure(
    engine: Engine, tmp_path: Path
) -> None:
    """Ann's proof has a second record (the page's text); both are purged. The report cites
    both, and its counts, means and exposure stay what they were before the purge."""
    root = tmp_path / "evidence"
    _verified_fleet(engine, root)
    with session_scope(engine) as session:
        ann = session.exec(select(EvidenceRecord).order_by(col(EvidenceRecord.id))).first()
        assert ann is not None
        session.add(
            EvidenceRecord(
                job_id=ann.job_id,
                kind="page_text",
                sha256=hashlib.sha256(b"text").hexdigest(),
                policy_version=ann.policy_version,
                captured_at=ann.captured_at,
            )
        )

    def report() -> tuple[list[Any], int]:
        params = ReportParameters(None, None, NOW, "cli:auditor")
        with Session(engine) as session:
            built = build_department_report(session, params=params, policies=POLICIES)
        return built.rows, built.retention.cited_records_purged

    before, cited_before = report()
    assert cited_before == 0
    assert _purge(engine, root).records == 2
    after, cited_after = report()
    assert cited_after == 2
    assert after == before
    assert any(row.total == 2 and row.mean_days_to_compliance is not None for row in after)


def test_a_department_report_cites_only_its_own_purged_records(
    engine: Engine, tmp_path: Path
) -> None:
    """Ann (Ops) lost her proof's file; Bob (Ops/Field) did not."""
    root = tmp_path / "evidence"
    _verified_fleet(engine, root)
    _purge(engine, root)

    def cited(department: str) -> int:
        params = ReportParameters(department, None, NOW, "cli:auditor")
        with Session(engine) as session:
            built = build_department_report(session, params=params, policies=POLICIES)
        return built.retention.cited_records_purged

    assert (cited("Ops"), cited("Ops/Field")) == (1, 0)


def test_reports_and_bundles_say_what_was_purged(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    root = settings.resolved_evidence_dir
    _verified_fleet(engine, root)
    _purge(engine, root)
    params = ReportParameters(None, None, NOW, "cli:auditor")
    with Session(engine) as session:
        report = build_department_report(session, params=params, policies=POLICIES)
        summary = write_evidence_bundle(
            session, params=params, policies=POLICIES, settings=settings, out=tmp_path / "b.zip"
        )
    assert report.retention.cited_records_purged == 1
    assert (report.retention.last_purge_at, report.retention.last_purge_records) == (NOW, 1)
    html = b"".join(render_report(report, ReportFormat.HTML)).decode()
    assert "1 evidence record(s) this report cites were purged" in html
    assert (summary.evidence_files, summary.purged_records) == (1, 1)
    with zipfile.ZipFile(summary.path) as bundle:
        records = json.loads(bundle.read("records.json"))
    assert sorted((r["file"] is None, r["purged_at"]) for r in records) == [
        (False, None),
        (True, NOW.isoformat()),
    ]
    assert verify_bundle(summary.path).ok


def test_a_missing_unpurged_file_stops_the_bundle(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    files = _verified_fleet(engine, settings.resolved_evidence_dir)
    files["bob"].unlink()
    out = tmp_path / "b.zip"
    with Session(engine) as session, pytest.raises(Exception, match="is missing from the evidence"):
        write_evidence_bundle(
            session,
            params=ReportParameters(None, None, NOW, "t"),
            policies=POLICIES,
            settings=settings,
            out=out,
        )
    assert list(tmp_path.glob("*.zip")) == [] and list(tmp_path.glob(".bundle-*")) == []


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return process_env(
        OPTOUT_DATABASE_URL=database_url,
        OPTOUT_DATA_DIR=str(tmp_path / "data"),
        OPTOUT_POLICIES_DIR=str(REPO / "policies"),
    )


def test_report_bundle_and_purge_commands(engine: Engine, cli_env, tmp_path: Path) -> None:
    _verified_fleet(engine, tmp_path / "data" / "evidence", now=utcnow())
    run = lambda *args: optout(cli_env, *args, cwd=tmp_path)  # noqa: E731

    done = run("report", "--format", "csv", "--department", "Ops", "--out", "r.csv")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "r.csv").read_text()
    assert text.splitlines()[1].startswith("Ops,linkedin-genai-training,linkedin,2,2,")
    assert "department Ops" in text
    bad = run("report", "--format", "json", "--department", "Nope", "--out", "x.json")
    assert (bad.returncode, bad.stderr.strip()) == (
        2,
        "error: no department 'Nope' in the directory",
    )
    assert not (tmp_path / "x.json").exists()

    key = run("bundle", "public-key")
    (tmp_path / "pinned.pem").write_text(key.stdout)
    assert run("bundle", "create", "--out", "b.zip").returncode == 0
    good = run("bundle", "verify", "b.zip", "--public-key", "pinned.pem")
    assert good.returncode == 0 and "is intact" in good.stdout
    data = bytearray((tmp_path / "b.zip").read_bytes())
    with zipfile.ZipFile(tmp_path / "b.zip") as bundle:
        info = bundle.getinfo("manifest.json")
    data[info.header_offset + 30 + len(info.filename) + len(info.extra) + 5] ^= 0x20
    (tmp_path / "b.zip").write_bytes(bytes(data))
    broken = run("bundle", "verify", "b.zip")
    assert broken.returncode == 1 and "manifest.json was altered" in broken.stderr

    dry = run("evidence", "purge", "--dry-run")  # the default: OPTOUT_EVIDENCE_RETENTION_DAYS
    assert dry.returncode == 0 and "Would purge 1 evidence records" in dry.stdout
    purged = run("evidence", "purge", "--older-than", "100d")
    assert purged.returncode == 0 and "Purged 1 evidence records" in purged.stdout
    assert list(tmp_path.glob(".*-*")) == []  # no temporary file left behind
