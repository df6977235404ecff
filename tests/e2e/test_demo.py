"""The README's first command, end to end: the demo's output folder tells the scenario's story."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO, optout, process_env

pytestmark = [pytest.mark.ansible, pytest.mark.browser]

LINKEDIN = ("linkedin-genai-training", "linkedin-data-processing-objection")
# The scenario (orchestrator/demo/scenario.py): of 60 employees, 4 decline, 6 never answer,
# and of the 50 who approve one was signed out of LinkedIn.
EXPECTED = {
    "compliant": 49,
    "declined": 4,
    "pending_consent": 6,
    "needs_employee_action": 1,
    "failed": 0,
}


def test_the_demo_writes_every_report_and_a_bundle_that_verifies(tmp_path: Path) -> None:
    env = process_env()
    out = tmp_path / "demo-output"
    demo = optout(env, "demo", "--out", str(out), cwd=REPO, timeout=900)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr
    assert "hash chain intact" in demo.stdout

    for fmt in ("html", "pdf", "csv", "json"):
        assert (out / "reports" / f"compliance.{fmt}").stat().st_size > 1000, fmt

    report = json.loads((out / "reports" / "compliance.json").read_text(encoding="utf-8"))
    totals = {row["policy_id"]: row for row in report["totals"]}
    for policy_id in LINKEDIN:
        assert totals[policy_id]["total"] == 60
        counts = totals[policy_id]["counts"]
        assert {status: counts[status] for status in EXPECTED} == EXPECTED, policy_id
    per_department = sum(
        row["total"]
        for row in report["rows"]
        if row["policy_id"] == LINKEDIN[0] and "/" not in row["department"]
    )
    assert per_department == 60  # the six top-level departments cover everyone once

    rows = list(csv.reader(io.StringIO((out / "reports" / "compliance.csv").read_text("utf-8"))))
    assert any("Engineering" in row for row in rows)

    verified = optout(env, "bundle", "verify", str(out / "evidence-bundle.zip"), cwd=REPO)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with zipfile.ZipFile(out / "evidence-bundle.zip") as bundle:
        screenshots = [name for name in bundle.namelist() if name.endswith(".png")]
    assert len(screenshots) >= 2 * 49  # before and after, at least one pair per compliant
