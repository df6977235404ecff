"""The admin UI in real Chromium, over real HTTP: an admin's whole journey, and the guards.

The journey: sign in, import a directory with a bad row (the per-row errors show, nothing is
imported) and then a good one, create and launch a campaign, approve through the link in the
email the SMTP sink received, let a worker run the job (real ansible-runner and Chromium against
the replica), see the job finished, open its evidence, and download the report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, select

from orchestrator.campaigns.service import CampaignScope, create_campaign
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.flows.engine_tasks import seed_replica_session
from orchestrator.flows.execute import WorkerConfig, run_cycle
from orchestrator.notifications.delivery import SmtpSettings, deliver_due
from orchestrator.policies import load_policies
from orchestrator.replica import Platform
from tests.integration import conftest as integration
from tests.integration.conftest import LiveServer, free_port
from tests.support import ADMIN_PASSWORD, REPO, admin_accounts, web_app

pytestmark = pytest.mark.browser

POLICIES = load_policies(REPO / "policies")
GENAI = "linkedin-genai-training"
BAD_DIRECTORY = (
    "email,name,department,country\n"
    "ada@example.com,Ada,Engineering,US\n"
    "not-an-email,Bob,Engineering,US\n"
)
DIRECTORY = "email,name,department,country\nada@example.com,Ada,Engineering,US\n"
smtp_sink = integration.smtp_sink  # the real SMTP server of the integration tests


@pytest.fixture
def admin_site(
    engine, database_url: str, tmp_path: Path, replica, smtp_sink
) -> Iterator[tuple[str, Settings]]:
    """The app on a free port in real time (the journey spans a real worker run), its links
    pointing there, mail to the sink; its settings also serve the worker."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    admin_accounts(engine, now=datetime.now(UTC))
    app, settings = web_app(
        engine,
        data_dir=tmp_path / "data",
        now=None,
        database_url=database_url,
        public_base_url=url,
        replica_url=replica.base_url,
        playbooks_dir=REPO / "playbooks",
        pace_per_minute=0,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
    )
    server = LiveServer(app, port)
    server.start()
    yield url, settings
    server.stop()


@pytest.fixture
def admin_context(
    browser: Browser, admin_site, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BrowserContext]:
    """A fresh browser context on the app; a failing test leaves screenshots in tmp_path."""
    url, _ = admin_site
    context = browser.new_context(base_url=url, accept_downloads=True)
    context.set_default_timeout(10_000)
    failed_before = request.session.testsfailed
    yield context
    if request.session.testsfailed > failed_before:
        for number, open_page in enumerate(context.pages):
            open_page.screenshot(path=tmp_path / f"failure-{number}.png", full_page=True)
    context.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/admin/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def upload(page: Page, name: str, text: str) -> None:
    page.goto("/admin/employees/import")
    page.get_by_label("HR export (CSV or JSON)").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Import").click()


@pytest.mark.ansible
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_admin_opts_an_employee_out_end_to_end(
    engine, admin_site, admin_context: BrowserContext, replica, smtp_sink, tmp_path: Path
) -> None:
    url, settings = admin_site
    page = admin_context.new_page()
    sign_in(page, "admin")

    upload(page, "bad.csv", BAD_DIRECTORY)
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Fix these in the export")
    row = problems.locator("table.problems tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text("3")
    expect(row.locator("td").nth(1)).to_have_text("email")
    page.goto("/admin/employees")
    expect(page.get_by_text("ada@example.com")).to_have_count(0)  # nothing half-imported

    upload(page, "directory.csv", DIRECTORY)
    expect(page.get_by_role("status")).to_contain_text("1 created")
    with session_scope(engine) as session:
        seed_replica_session(
            session,
            replica_url=replica.base_url,
            employee_email="ada@example.com",
            platform="linkedin",
            behaviours=(),
            secret=settings.secret(),
            actor="t",
            now=datetime.now(UTC),
        )

    page.goto("/admin/campaigns/new")
    page.get_by_label("Name (employees see it in the email)").fill("LinkedIn AI opt-out")
    page.get_by_label(re.compile(GENAI)).check()
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", name="LinkedIn AI opt-out")).to_contain_text("draft")
    page.get_by_role("button", name="Launch").click()
    expect(page.get_by_role("heading", name="LinkedIn AI opt-out")).to_contain_text("running")

    delivered = deliver_due(engine, smtp=SmtpSettings.from_settings(settings))
    assert delivered.sent == 1, delivered.errors
    [mail] = smtp_sink.to("ada@example.com")
    body = mail.get_body(("plain",)).get_content()
    link = re.search(rf"{re.escape(url)}/consent/[A-Za-z0-9._-]+", body)
    assert link is not None, body
    employee = admin_context.new_page()
    employee.goto(link.group(0))
    employee.get_by_role("button", name="Approve").click()
    expect(employee.get_by_role("heading").first).to_contain_text("approv", ignore_case=True)

    worker = WorkerConfig(name="ui-test-worker", batch_size=5, forks=1)
    ran = run_cycle(engine, settings=settings, policies=POLICIES, worker=worker)
    assert ran.claimed == 1
    assert (
        replica.client.account_state(Platform.LINKEDIN, "ada@example.com").toggles[
            "data_for_ai_improvement"
        ]
        is False
    )

    # The campaign page refreshes itself while jobs are open; a reload racing that refresh
    # is aborted, so the page is opened afresh in a new tab.
    campaign_url = page.url
    page.close()
    page = admin_context.new_page()
    page.goto(campaign_url)
    jobs = page.locator("section", has=page.get_by_role("heading", name="Jobs", exact=True)).last
    expect(jobs.locator("tbody tr")).to_have_count(1)
    expect(jobs.locator("tbody tr")).to_contain_text("succeeded")
    jobs.get_by_role("link", name=re.compile(r"^#\d+$")).first.click()

    evidence = page.locator("#evidence")
    with Session(engine) as session:
        records = session.exec(select(EvidenceRecord)).all()
    shots = {r.kind: r for r in records if r.kind.startswith("screenshot")}
    assert set(shots) == {"screenshot_before", "screenshot_after"}
    for record in shots.values():
        expect(evidence).to_contain_text(f"sha256 {record.sha256}")
        image = evidence.locator(f'img[src="/api/evidence/{record.id}/file"]')
        expect(image).to_be_visible()
        # Visible once laid out; loaded a moment later: wait until the picture has decoded
        # (a broken one never gets a width, and the wait times out).
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        served = page.request.get(f"/api/evidence/{record.id}/file")
        assert hashlib.sha256(served.body()).hexdigest() == record.sha256
    expect(evidence).to_contain_text(POLICIES.get(GENAI).version[:12])

    page.goto("/admin/reports")
    page.get_by_label("Format").select_option("csv")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download report").click()
    download = download_info.value
    assert re.fullmatch(r"compliance-all-\d{8}T\d{4}Z\.csv", download.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text("utf-8"))))
    [total] = [r for r in rows if r["department"] == "(total)" and r["policy_id"] == GENAI]
    assert (total["total"], total["compliant"]) == ("1", "1")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_auditor_sees_no_launch_button_and_a_forged_launch_is_refused(
    engine, admin_context: BrowserContext
) -> None:
    with session_scope(engine) as session:
        draft = create_campaign(
            session,
            name="Draft",
            policy_ids=[GENAI],
            scope=CampaignScope(everyone=True),
            policies=POLICIES,
            actor="t",
            now=datetime.now(UTC),
        )
    page = admin_context.new_page()
    sign_in(page, "auditor")
    page.goto(f"/admin/campaigns/{draft.id}")
    expect(page.get_by_role("heading", name="Draft")).to_contain_text("draft")
    expect(page.get_by_role("button", name="Launch")).to_have_count(0)

    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    forged = page.request.post(f"/admin/campaigns/{draft.id}/launch", form={"csrf": token or ""})
    assert forged.status == 403
    assert "your role (auditor) does not allow this" in forged.text().lower()
    page.reload()
    expect(page.get_by_role("heading", name="Draft")).to_contain_text("draft")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(admin_context: BrowserContext) -> None:
    page = admin_context.new_page()
    page.goto("/admin/campaigns")
    assert page.url.endswith("/admin/sign-in?next=%2Fadmin%2Fcampaigns")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    assert page.url.endswith("/admin/campaigns")
