"""Reports and evidence bundles through the API and the admin UI, and the `/docs` reference.

A small directory in two departments with a launched campaign: the downloads must say what the
database says, in every format, with a file name, and refuse bad queries with a clear 4xx.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from orchestrator.campaigns.service import CampaignScope, create_campaign, launch_campaign
from orchestrator.core.db import session_scope
from orchestrator.employees.service import import_directory
from orchestrator.reports import verify_bundle
from tests.support import admin_accounts, sign_in, web_app

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LAUNCHED = NOW - timedelta(days=2)
GENAI = "linkedin-genai-training"
DIRECTORY = (
    "email,name,department,country\n"
    "ann@example.com,Ann,Engineering/Platform,US\n"
    "bob@example.com,Bob,Engineering,US\n"
    "cat@example.com,Cat,Sales,US\n"
)


@pytest.fixture
def served(engine, tmp_path, live_server):
    """The app over HTTP with three employees asked (pending) since LAUNCHED; role → token."""
    tokens = admin_accounts(engine, now=LAUNCHED)
    app, _ = web_app(engine, data_dir=tmp_path / "data", now=NOW)
    with session_scope(engine) as session:
        import_directory(session, data=DIRECTORY.encode(), source="d.csv", actor="t", now=LAUNCHED)
        campaign = create_campaign(
            session,
            name="LinkedIn",
            policy_ids=[GENAI],
            scope=CampaignScope(everyone=True),
            policies=app.state.web.consent.policies,
            actor="t",
            now=LAUNCHED,
        )
        launch_campaign(
            session, campaign_id=campaign.id, config=app.state.web.consent, actor="t", now=LAUNCHED
        )
    server = live_server(lambda _: app)
    client = httpx.Client(base_url=server.url, timeout=60)
    yield client, tokens
    client.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_report_downloads_in_every_format_with_a_file_name(served) -> None:
    client, tokens = served
    url = "/api/reports/department"
    query = {"department": "Engineering"}
    answers = {
        fmt: client.get(url, params={**query, "format": fmt}, headers=bearer(tokens["auditor"]))
        for fmt in ("json", "csv", "html", "pdf")
    }
    for fmt, answer in answers.items():
        assert answer.status_code == 200, (fmt, answer.text)
        disposition = answer.headers["content-disposition"]
        assert disposition == f'attachment; filename="compliance-engineering-20261123T0900Z.{fmt}"'
    assert answers["pdf"].headers["content-type"] == "application/pdf"
    assert answers["csv"].headers["content-type"] == "text/csv; charset=utf-8"

    report = answers["json"].json()
    assert report["params"]["department"] == "Engineering"
    assert report["params"]["generated_by"] == "token:auditor"
    total = next(row for row in report["totals"] if row["policy_id"] == GENAI)
    assert total["total"] == 2  # Ann in Engineering/Platform and Bob; not Cat in Sales
    assert total["counts"]["pending_consent"] == 2
    rows = list(csv.DictReader(io.StringIO(answers["csv"].text)))
    assert {r["department"] for r in rows if r["policy_id"] == GENAI} == {
        "Engineering",
        "Engineering/Platform",
        "(total)",
    }
    assert "Engineering/Platform" in answers["html"].text
    pdf = PdfReader(io.BytesIO(answers["pdf"].content))
    assert "Engineering" in "".join(page.extract_text() for page in pdf.pages)

    # As of the day before the launch nobody had been asked yet.
    before = client.get(
        url,
        params={"format": "json", "as_of": (LAUNCHED - timedelta(days=1)).date().isoformat()},
        headers=bearer(tokens["operator"]),
    )
    assert before.status_code == 200
    assert all(row["total"] == 0 for row in before.json()["totals"])


BAD_QUERIES = [
    ({"department": "Marketing"}, 404, "no department 'Marketing' in the directory"),
    ({"as_of": "23/11/2026"}, 400, "cannot read the time '23/11/2026'"),
    ({"as_of": "2026-11-24"}, 400, "as_of '2026-11-24' is in the future"),
    ({"as_of": "9999-12-31T23:59:59-23:59"}, 400, "is out of range"),
]


def test_bad_report_queries_get_a_clear_json_error(served) -> None:
    client, tokens = served
    for path in ("/api/reports/department", "/api/bundles/department"):
        for query, status, message in BAD_QUERIES:
            answer = client.get(path, params=query, headers=bearer(tokens["admin"]))
            assert answer.status_code == status, (path, query, answer.text)
            assert message in answer.json()["error"]["message"]
    answer = client.get(
        "/api/reports/department", params={"format": "docx"}, headers=bearer(tokens["admin"])
    )
    assert answer.status_code == 422
    assert "format" in answer.json()["error"]["message"]
    assert "'html', 'pdf', 'csv' or 'json'" in answer.json()["error"]["message"]


def test_the_bundle_is_a_signed_zip_for_auditors_not_operators(served, tmp_path: Path) -> None:
    client, tokens = served
    answer = client.get(
        "/api/bundles/department",
        params={"department": "Sales"},
        headers=bearer(tokens["auditor"]),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    disposition = answer.headers["content-disposition"]
    assert disposition == 'attachment; filename="evidence-bundle-sales-20261123T0900Z.zip"'
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(answer.content)
    verified = verify_bundle(bundle)
    assert verified.ok, verified.problems
    assert verified.manifest is not None
    assert verified.manifest["parameters"]["department"] == "Sales"

    refused = client.get("/api/bundles/department", headers=bearer(tokens["operator"]))
    assert refused.status_code == 403
    assert (
        "your role (operator) does not allow this (bundles)" in refused.json()["error"]["message"]
    )


def test_the_reports_page_and_dashboard_show_compliance_by_department(served) -> None:
    client, _ = served
    sign_in(client, "operator")
    page = client.get("/admin/reports")
    assert page.status_code == 200
    assert 'action="/api/reports/department"' in page.text
    assert "Download evidence bundle" not in page.text  # operators get no bundles
    assert '<option value="Engineering/Platform">' in page.text
    chart = re.search(r"<svg class=\"chart\".*?</svg>", page.text, re.S)
    assert chart is not None
    assert "Engineering/Platform: 0.0% of 1." in chart.group(0)
    assert "Sales: 0.0% of 1." in chart.group(0)

    dashboard = client.get("/admin")
    assert "Compliance by department" in dashboard.text
    top = re.search(r"<desc[^>]*>(.*?)</desc>", dashboard.text, re.S)
    assert top is not None
    assert top.group(1).split(". ") == ["Engineering: 0.0% of 2", "Sales: 0.0% of 1", ""]

    auditor = httpx.Client(base_url=str(client.base_url), timeout=30)
    with auditor:
        sign_in(auditor, "auditor")
        assert "Download evidence bundle" in auditor.get("/admin/reports").text
        # The page's download button, as the browser submits it: a GET with the sign-in cookie.
        download = auditor.get(
            "/api/bundles/department", params={"department": "", "as_of": "", "format": "html"}
        )
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"


def test_docs_lists_every_operation_of_the_schema_without_scripts(served) -> None:
    client, _ = served
    schema = client.get("/openapi.json").json()
    page = client.get("/docs")
    assert page.status_code == 200
    assert "<script" not in page.text
    assert 'href="/openapi.json"' in page.text
    text = html.unescape(page.text)
    count = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            count += 1
            assert f'method-{method}">{method.upper()}</span> <code>{path}</code>' in text
            assert operation["summary"] in text
            for parameter in operation.get("parameters", []):
                assert f"<code>{parameter['name']}</code>" in text
    assert count >= 24
    assert "one of html, pdf, csv, json" in text  # the report's formats, from the schema
    assert json.dumps(schema)  # the schema itself stays valid JSON for tools
