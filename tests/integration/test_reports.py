"""Department reports and evidence bundles over a fleet driven through the real services.

Every employee is steered, through campaigns, consent answers, the job queue and re-checks, to
a planned status per policy; the report must count exactly what the plan says, now and as of
earlier moments of the same history.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from orchestrator.campaigns.service import (
    CampaignScope,
    answer,
    cancel_campaign,
    create_campaign,
    expire_overdue,
    launch_campaign,
)
from orchestrator.consent.config import ConsentConfig
from orchestrator.consent.links import LinkSigner
from orchestrator.consent.models import LinkPurpose
from orchestrator.consent.service import Decision, read_link, revoke
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.employees.models import Employee
from orchestrator.employees.service import import_directory
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.jobs.models import Job, JobPurpose
from orchestrator.jobs.queue import (
    JobResult,
    claim_jobs,
    finish_job,
    queue_repair,
    queue_verifications,
    retry_job,
)
from orchestrator.notifications.models import OutboxMessage
from orchestrator.policies import load_policies
from orchestrator.reports import (
    ReportFormat,
    ReportParameters,
    Status,
    build_department_report,
    employee_policy_statuses,
    render_report,
    verify_bundle,
    write_evidence_bundle,
)
from orchestrator.reports.render import report_json_schema
from orchestrator.reports.signing import public_pem, read_key_file, signing_key

POLICIES = load_policies(Path(__file__).resolve().parents[2] / "policies")
GENAI = "linkedin-genai-training"
OBJECTION = "linkedin-data-processing-objection"
T0 = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)  # before LinkedIn's 2025-11-03 EU change
CONFIG = ConsentConfig(
    policies=POLICIES,
    signer=LinkSigner("report-test-secret-" + "r" * 32),
    public_base_url="https://optout.example.com",
    contact_email="privacy@example.com",
    evidence_retention_days=400,
)
LINK = re.compile(r"https://optout\.example\.com/consent/(withdraw/)?([A-Za-z0-9._-]+)")
MARKUP_DEPARTMENT = "R&D <img src=x onerror=alert(1)>"
FORMULA_DEPARTMENT = "=HYPERLINK(evil)"

# email → (department, country, plan: status per policy in the end).
S = Status
PEOPLE: dict[str, tuple[str, str, dict[str, Status]]] = {
    "c1@x.com": ("Engineering/Platform", "US", {GENAI: S.COMPLIANT, OBJECTION: S.COMPLIANT}),
    "c2@x.com": ("Engineering", "US", {GENAI: S.COMPLIANT, OBJECTION: S.FAILED}),
    "c3@x.com": ("Sales/EMEA", "DE", {GENAI: S.EXEMPT, OBJECTION: S.COMPLIANT}),
    "n1@x.com": ("Sales", "US", {GENAI: S.NEEDS_EMPLOYEE_ACTION, OBJECTION: S.COMPLIANT}),
    "f1@x.com": ("Sales", "US", {GENAI: S.FAILED, OBJECTION: S.FAILED}),
    "r1@x.com": (MARKUP_DEPARTMENT, "US", {GENAI: S.QUEUED_OR_RUNNING, OBJECTION: S.COMPLIANT}),
    "q1@x.com": (
        "Engineering/Platform",
        "US",
        {GENAI: S.QUEUED_OR_RUNNING, OBJECTION: S.QUEUED_OR_RUNNING},
    ),
    "d1@x.com": ("Engineering", "US", {GENAI: S.DRIFTED, OBJECTION: S.COMPLIANT}),
    "x1@x.com": ("Sales/EMEA", "FR", {GENAI: S.EXEMPT, OBJECTION: S.DECLINED}),
    "v1@x.com": (FORMULA_DEPARTMENT, "US", {GENAI: S.REVOKED, OBJECTION: S.REVOKED}),
    "e1@x.com": ("Sales", "US", {GENAI: S.CONSENT_EXPIRED, OBJECTION: S.CONSENT_EXPIRED}),
    "p1@x.com": (
        "Engineering/Platform",
        "US",
        {GENAI: S.PENDING_CONSENT, OBJECTION: S.PENDING_CONSENT},
    ),
    "k1@x.com": ("Sales", "US", {GENAI: S.REQUEST_CANCELLED, OBJECTION: S.REQUEST_CANCELLED}),
    "a1@x.com": ("Engineering", "US", {GENAI: S.EXEMPT, OBJECTION: S.COMPLIANT}),  # not applicable
}
T_APPROVE = T0 + timedelta(days=1)
T_RUN = T0 + timedelta(days=2)
T_RECHECK = T0 + timedelta(days=4)
T_LATE = T0 + timedelta(days=6)
T_EXPIRE = T0 + timedelta(days=15)
T_CANCEL = T0 + timedelta(days=16)
NOW = T0 + timedelta(days=20)


@dataclass
class Fleet:
    engine: Engine
    settings: Settings
    evidence: dict[int, bytes]  # evidence record id → file bytes


def _token(engine: Engine, email: str, *, withdraw: bool = False) -> str:
    with Session(engine) as session:
        body = session.exec(
            select(OutboxMessage.text_body)
            .where(OutboxMessage.to_address == email)
            .order_by(col(OutboxMessage.id).desc())
        ).first()
    assert body is not None
    return next(token for kind, token in LINK.findall(body) if bool(kind) == withdraw)


def _decide(engine: Engine, email: str, decision: Decision, now: datetime) -> None:
    token = _token(engine, email)
    with session_scope(engine) as session:
        view = read_link(session, token=token, purpose=LinkPurpose.DECIDE, config=CONFIG, now=now)
        answer(
            session,
            token=token,
            decision=decision,
            shown_sha256=view.explanation.sha256,
            ip=None,
            user_agent=None,
            config=CONFIG,
            now=now,
        )


def _campaign(engine: Engine, scope: CampaignScope, now: datetime) -> int:
    with session_scope(engine) as session:
        campaign_id = create_campaign(
            session,
            name="LinkedIn",
            policy_ids=[GENAI, OBJECTION],
            scope=scope,
            policies=POLICIES,
            deadline=now + timedelta(days=14),
            actor="cli:admin",
            now=now,
        ).id
        launch_campaign(session, campaign_id=campaign_id, config=CONFIG, actor="cli:admin", now=now)
    return campaign_id


def _result(target: Status) -> JobResult:
    if target in (Status.COMPLIANT, Status.DRIFTED):
        return JobResult("changed", "switched off", succeeded=True)
    if target is Status.EXEMPT:
        return JobResult("not_applicable", "no such setting here", succeeded=True)
    if target is Status.NEEDS_EMPLOYEE_ACTION:
        return JobResult("needs_employee_action", "Sign in to LinkedIn", needs_employee=True)
    return JobResult("failed", "no control named Submit at https://x.example/a1", transient=False)


def _keep_proof(
    session: Session, job: Job, root: Path, evidence: dict[int, bytes], at: datetime
) -> None:
    data = f"PNG of job {job.id}".encode()
    relative = f"jobs/{job.id}/attempt-1/after.png"
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    (root / relative).write_bytes(data)
    record = EvidenceRecord(
        job_id=job.id,  # type: ignore[arg-type]
        kind="screenshot_after",
        path=relative,
        sha256=hashlib.sha256(data).hexdigest(),
        url="https://www.linkedin.com/x",
        policy_version=job.policy_version,
        captured_at=at,
        data={"attempt": 1},
    )
    session.add(record)
    session.flush()
    evidence[record.id] = data  # type: ignore[index]


def _jobs(session: Session, purpose: JobPurpose) -> list[tuple[Job, str]]:
    return list(
        session.exec(
            select(Job, Employee.email)
            .join(Employee, col(Employee.id) == col(Job.employee_id))
            .where(col(Job.purpose) == purpose, col(Job.state) == "running")
        ).all()
    )


@pytest.fixture
def fleet(engine: Engine, tmp_path: Path) -> Fleet:
    return build_fleet(engine, tmp_path)


def build_fleet(engine: Engine, tmp_path: Path) -> Fleet:
    """Steer every employee in PEOPLE to their planned statuses, through the real services."""
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", policies_dir=POLICIES.directory)  # type: ignore[call-arg]
    root = settings.resolved_evidence_dir
    evidence: dict[int, bytes] = {}
    directory = "email,name,department,country\n" + "".join(
        f'{email},Person,"{dept}",{country}\n' for email, (dept, country, _) in PEOPLE.items()
    )
    with session_scope(engine) as session:
        import_directory(
            session, data=directory.encode(), source="d.csv", actor="t", now=T0 - timedelta(1)
        )
    plan = {email: targets for email, (_, _, targets) in PEOPLE.items()}
    late = {"q1@x.com", "v1@x.com"}
    first = [e for e in plan if e not in {"p1@x.com", "k1@x.com"}]
    _campaign(engine, CampaignScope(emails=tuple(first)), T0)
    for email, targets in plan.items():
        if email in late or email not in first:
            continue
        if Status.DECLINED in targets.values():
            _decide(engine, email, Decision.DECLINE, T_APPROVE)
        elif Status.CONSENT_EXPIRED not in targets.values():
            _decide(engine, email, Decision.APPROVE, T_APPROVE)
    with session_scope(engine) as session:
        claim_jobs(session, worker="w", limit=100, now=T_RUN, lease=timedelta(days=30))
        for job, email in _jobs(session, JobPurpose.OPT_OUT):
            target = plan[email][job.policy_id]
            if target is Status.QUEUED_OR_RUNNING:
                continue  # stays running
            finish_job(session, job_id=job.id, worker="w", result=_result(target), now=T_RUN)  # type: ignore[arg-type]
            if target in (Status.COMPLIANT, Status.DRIFTED):
                _keep_proof(session, job, root, evidence, T_RUN)
    with session_scope(engine) as session:
        queue_verifications(session, older_than=timedelta(0), now=T_RECHECK, actor="t")
        claim_jobs(session, worker="w", limit=100, now=T_RECHECK, lease=timedelta(days=30))
        for job, email in _jobs(session, JobPurpose.VERIFY):
            drifted = plan[email][job.policy_id] is Status.DRIFTED
            result = (
                JobResult("drifted", "switched back on", succeeded=True)
                if drifted
                else JobResult("already_compliant", "still off", succeeded=True)
            )
            finish_job(session, job_id=job.id, worker="w", result=result, now=T_RECHECK)  # type: ignore[arg-type]
            if not drifted:
                _keep_proof(session, job, root, evidence, T_RECHECK)
            else:
                queue_repair(session, drifted_job_id=job.id, actor="t", now=T_RECHECK)  # type: ignore[arg-type]
    for email in late:
        _decide(engine, email, Decision.APPROVE, T_LATE)
    token = _token(engine, "v1@x.com", withdraw=True)
    with session_scope(engine) as session:
        revoke(
            session,
            token=token,
            ip=None,
            user_agent=None,
            config=CONFIG,
            now=T_LATE + timedelta(hours=1),
        )
    with session_scope(engine) as session:
        expire_overdue(session, now=T_EXPIRE)
    _campaign(engine, CampaignScope(emails=("p1@x.com",)), T_EXPIRE)
    cancelled = _campaign(engine, CampaignScope(emails=("k1@x.com",)), T_EXPIRE)
    with session_scope(engine) as session:
        cancel_campaign(session, campaign_id=cancelled, actor="cli:admin", now=T_CANCEL)
    return Fleet(engine, settings, evidence)


def report(engine: Engine, *, department: str | None = None, as_of: datetime | None = None):
    params = ReportParameters(department, as_of, NOW, "cli:auditor@host")
    with Session(engine) as session:
        return build_department_report(session, params=params, policies=POLICIES)


def expected_counts(plan: dict[str, dict[str, Status]]) -> dict[tuple[str, str], Counter[str]]:
    """The independent count: each planned status added to its department and every parent."""
    counts: dict[tuple[str, str], Counter[str]] = {}
    for email, targets in plan.items():
        department = PEOPLE[email][0]
        parts = department.split("/")
        for depth in range(1, len(parts) + 1):
            for policy_id, status in targets.items():
                key = ("/".join(parts[:depth]), policy_id)
                counts.setdefault(key, Counter())[status.value] += 1
    return counts


def as_counts(rows) -> dict[tuple[str, str], Counter[str]]:
    return {
        (row.department, row.policy_id): Counter({k: v for k, v in row.counts.items() if v})
        for row in rows
    }


def test_report_counts_equal_an_independent_count_with_every_status(fleet: Fleet) -> None:
    plan = {email: targets for email, (_, _, targets) in PEOPLE.items()}
    assert {s for targets in plan.values() for s in targets.values()} == set(Status)
    result = report(fleet.engine)
    assert as_counts(result.rows) == expected_counts(plan)
    for row in result.rows:
        assert row.total == sum(row.counts.values())
        assert row.percentages[Status.COMPLIANT.value] == round(
            100 * row.counts[Status.COMPLIANT.value] / row.total, 1
        )
    totals = {row.policy_id: row.counts for row in result.totals}
    assert totals[GENAI][Status.COMPLIANT.value] == 2  # c1, c2
    assert totals[OBJECTION][Status.COMPLIANT.value] == 6
    assert sum(totals[GENAI].values()) == len(PEOPLE)


def test_platform_is_compliant_only_when_every_step_is_verified(fleet: Fleet) -> None:
    result = report(fleet.engine)
    linkedin = {row.department: row for row in result.platforms if row.platform == "linkedin"}
    # c1 both verified; c3 and a1 exempt from the toggle and verified on the form. c2 (form
    # failed), n1, d1, r1 have one step left: not compliant.
    assert (linkedin["Engineering"].compliant, linkedin["Engineering"].total) == (2, 6)
    assert (linkedin["Sales"].compliant, linkedin["Sales"].total) == (1, 6)


def test_department_scope_rolls_up_sub_departments_only(fleet: Fleet) -> None:
    result = report(fleet.engine, department=" Engineering ")
    assert result.params.department == "Engineering"
    assert {row.department for row in result.rows} == {"Engineering", "Engineering/Platform"}
    engineering = {row.policy_id: row for row in result.totals}
    assert engineering[GENAI].total == 6
    assert engineering[GENAI].counts[Status.DRIFTED.value] == 1


def test_times_exposure_and_failure_reasons(fleet: Fleet) -> None:
    result = report(fleet.engine)
    genai = next(row for row in result.totals if row.policy_id == GENAI)
    # Requested at T0, first verified at T_RUN (2 days later; the re-check only renews the
    # proof); LinkedIn was on by default from 2024-09-18.
    assert genai.mean_days_to_compliance == 2.0
    exposure = (T_RUN - datetime(2024, 9, 18, tzinfo=UTC)).total_seconds() / 86400
    assert genai.mean_exposure_days == round(exposure, 1)
    objection = next(row for row in result.totals if row.policy_id == OBJECTION)
    assert objection.mean_exposure_days is None  # the policy dates no default-on day
    reasons = {(r.policy_id, r.status): (r.reason, r.count) for r in result.failure_reasons}
    assert reasons[(GENAI, "failed")] == ("no control named Submit at <url>", 1)
    assert reasons[(OBJECTION, "failed")][1] == 2
    assert reasons[(GENAI, "needs_employee_action")] == ("Sign in to LinkedIn", 1)


def test_as_of_reports_follow_the_history(fleet: Fleet) -> None:
    def totals(as_of: datetime) -> dict[str, Counter[str]]:
        return {
            row.policy_id: Counter({k: v for k, v in row.counts.items() if v})
            for row in report(fleet.engine, as_of=as_of).totals
        }

    # Right after the launch: everyone asked is pending, EU employees exempt from the toggle.
    start = totals(T0 + timedelta(hours=1))
    assert start[GENAI] == Counter(pending_consent=10, exempt=2)
    assert start[OBJECTION] == Counter(pending_consent=12)
    # The workers have run: verified, failed and waiting; the re-check has not found drift yet.
    ran = totals(T_RUN + timedelta(hours=1))
    assert ran[GENAI] == Counter(
        compliant=3,
        exempt=3,
        failed=1,
        needs_employee_action=1,
        queued_or_running=1,
        pending_consent=3,
    )
    # After the re-check: the drifted account stops counting as compliant.
    rechecked = totals(T_RECHECK + timedelta(hours=1))
    assert rechecked[GENAI][Status.COMPLIANT.value] == 2
    assert rechecked[GENAI][Status.DRIFTED.value] == 1
    assert rechecked[OBJECTION][Status.DECLINED.value] == 1
    # Now: the same as the report without a date.
    assert totals(NOW) == {
        row.policy_id: Counter({k: v for k, v in row.counts.items() if v})
        for row in report(fleet.engine).totals
    }


def test_a_retried_job_waits_again_now_and_as_of_after_the_retry(fleet: Fleet) -> None:
    waiting = sum(plan[GENAI] is Status.QUEUED_OR_RUNNING for _, _, plan in PEOPLE.values())
    with session_scope(fleet.engine) as session:
        failed = session.exec(
            select(Job.id)
            .join(Employee, col(Employee.id) == col(Job.employee_id))
            .where(Employee.email == "f1@x.com", Job.policy_id == GENAI)
        ).one()
        retry_job(session, job_id=failed, actor="cli:admin", now=NOW)  # type: ignore[arg-type]
    for as_of in (None, NOW + timedelta(hours=1)):
        totals = {row.policy_id: row.counts for row in report(fleet.engine, as_of=as_of).totals}
        assert totals[GENAI][Status.FAILED.value] == 0  # f1 was the one failed on the toggle
        assert totals[GENAI][Status.QUEUED_OR_RUNNING.value] == waiting + 1


def test_one_employees_statuses_with_proof(fleet: Fleet) -> None:
    with Session(fleet.engine) as session:
        employee_id = session.exec(select(Employee.id).where(Employee.email == "d1@x.com")).one()
        now = {
            s.policy_id: s
            for s in employee_policy_statuses(session, employee_id=employee_id, policies=POLICIES)
        }  # type: ignore[arg-type]
        before = employee_policy_statuses(
            session,
            employee_id=employee_id,
            policies=POLICIES,
            as_of=T_RUN + timedelta(hours=1),  # type: ignore[arg-type]
        )
    assert now[GENAI].status is Status.DRIFTED
    assert "switched back on" in now[GENAI].detail
    assert now[OBJECTION].status is Status.COMPLIANT
    assert now[OBJECTION].verified_at == T_RECHECK  # the re-check is the newest proof
    assert {s.policy_id: s.status for s in before} == {
        GENAI: Status.COMPLIANT,
        OBJECTION: Status.COMPLIANT,
    }
    assert all(len(s.evidence_ids) == 1 for s in before)


def _rendered(result, fmt: ReportFormat) -> bytes:
    return b"".join(render_report(result, fmt))


def test_html_is_self_contained_and_names_stay_inert(fleet: Fleet) -> None:
    html = _rendered(report(fleet.engine), ReportFormat.HTML).decode()
    assert "R&amp;D &lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html
    assert "<svg" in html and 'aria-label="Compliance by department"' in html
    assert "<script" not in html and "<link" not in html and "url(" not in html
    assert "cli:auditor@host" in html and "all departments" in html


def test_pdf_has_the_department_table(fleet: Fleet) -> None:
    pdf = _rendered(report(fleet.engine), ReportFormat.PDF)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Engineering/Platform" in text
    assert "Sales/EMEA" in text
    assert "linkedin-data-processing-objection" in text
    assert "cli:auditor@host" in text


def test_csv_neutralises_formulas_and_carries_parameters(fleet: Fleet) -> None:
    result = report(fleet.engine, as_of=NOW)
    rows = list(csv.DictReader(io.StringIO(_rendered(result, ReportFormat.CSV).decode())))
    departments = {row["department"] for row in rows}
    assert "'" + FORMULA_DEPARTMENT in departments
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
    assert {row["as_of"] for row in rows} == {NOW.isoformat()}
    assert {row["generated_by"] for row in rows} == {"cli:auditor@host"}
    sales = next(r for r in rows if r["department"] == "Sales" and r["policy_id"] == GENAI)
    assert (sales["failed"], sales["consent_expired"], sales["total"]) == ("1", "1", "6")


def test_json_follows_its_schema(fleet: Fleet) -> None:
    document = json.loads(_rendered(report(fleet.engine), ReportFormat.JSON))
    jsonschema.validate(document, report_json_schema())
    assert document["params"]["generated_by"] == "cli:auditor@host"
    assert document["rows"][0]["counts"].keys() == {s.value for s in Status}


def test_bundle_verifies_and_names_an_altered_screenshot(fleet: Fleet, tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    params = ReportParameters(None, None, NOW, "cli:auditor@host")
    with Session(fleet.engine) as session:
        summary = write_evidence_bundle(
            session, params=params, policies=POLICIES, settings=fleet.settings, out=out
        )
    assert summary.evidence_files == 8  # the newest proof of each verified opt-out
    check = verify_bundle(out, public_key=read_key_file(_pem(tmp_path, fleet.settings)))
    assert check.ok, check.problems
    with zipfile.ZipFile(out) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        records = json.loads(bundle.read("records.json"))
        screenshot = next(info for info in bundle.infolist() if info.filename.endswith(".png"))
    assert manifest["audit_chain_head"]["seq"] > 0
    assert {r["employee"] for r in records} >= {"c1@x.com", "c3@x.com"}
    data = bytearray(out.read_bytes())
    start = (
        screenshot.header_offset + 30 + len(screenshot.filename.encode()) + len(screenshot.extra)
    )
    data[start] ^= 0x01
    altered = tmp_path / "altered.zip"
    altered.write_bytes(bytes(data))
    check = verify_bundle(altered)
    assert not check.ok
    assert check.problems == [
        f"{screenshot.filename} was altered (its bytes no longer match the zip's CRC)"
    ]


def test_a_rewritten_manifest_or_member_fails_verification(fleet: Fleet, tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    params = ReportParameters("Sales", None, NOW, "cli:auditor@host")
    with Session(fleet.engine) as session:
        write_evidence_bundle(
            session, params=params, policies=POLICIES, settings=fleet.settings, out=out
        )
    with zipfile.ZipFile(out) as bundle:
        members = {name: bundle.read(name) for name in bundle.namelist()}
    manifest = members["manifest.json"]
    one_byte = manifest.replace(b'"Sales"', b'"Salez"', 1)
    assert one_byte != manifest

    def rezip(path: Path, changes: dict[str, bytes | None]) -> Path:
        with zipfile.ZipFile(path, "w") as bundle:
            for name, data in {**members, **changes}.items():
                if data is not None:
                    bundle.writestr(name, data)
        return path

    check = verify_bundle(rezip(tmp_path / "m.zip", {"manifest.json": one_byte}))
    assert check.problems == [
        "manifest.sig does not match manifest.json: the manifest was altered after signing"
    ]
    check = verify_bundle(
        rezip(tmp_path / "r.zip", {"report.csv": members["report.csv"] + b"x", "report.json": None})
    )
    assert check.problems[0].startswith("report.csv was altered (SHA-256 ")
    assert check.problems[1] == "report.json is missing from the bundle"
    other = tmp_path / "other"
    other_key = public_pem(signing_key(Settings(_env_file=None, data_dir=other)))  # type: ignore[call-arg]
    (other / "pinned.pem").write_bytes(other_key)
    check = verify_bundle(out, public_key=read_key_file(other / "pinned.pem"))
    assert check.problems == [
        "public-key.pem is not the pinned public key: the bundle was signed by another key"
    ]


def _pem(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "installation.pem"
    path.write_bytes(public_pem(signing_key(settings)))
    return path


def test_before_any_campaign_every_policy_reports_nobody(engine: Engine, tmp_path: Path) -> None:
    directory = "email,name,department,country\na@x.com,Ann,Sales,US\n"
    with session_scope(engine) as session:
        import_directory(session, data=directory.encode(), source="d.csv", actor="t", now=T0)
    result = report(engine)
    assert result.rows == () and result.failure_reasons == ()
    assert {row.policy_id: row.total for row in result.totals} == {
        loaded.policy.id: 0 for loaded in POLICIES
    }
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    params = ReportParameters(None, None, NOW, "cli:auditor@host")
    with Session(engine) as session:
        summary = write_evidence_bundle(
            session, params=params, policies=POLICIES, settings=settings, out=tmp_path / "b.zip"
        )
    assert (summary.evidence_files, summary.purged_records) == (0, 0)
    assert verify_bundle(tmp_path / "b.zip").ok
