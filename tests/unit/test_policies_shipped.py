"""The shipped policies: they load, say what TARGETS.md says, and their schema is current."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from orchestrator.policies import (
    Capture,
    Ensure,
    Fill,
    LoadedPolicy,
    compile_text_match,
    is_denied,
    load_policies,
    policy_json_schema,
    rebase,
    render_template,
)
from orchestrator.policies.urls import path_of

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
SHIPPED = {
    "chatgpt-improve-model",
    "linkedin-data-processing-objection",
    "linkedin-genai-training",
    "x-grok-training",
}
EMPLOYEE = {
    "employee": {
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "department": "Engineering",
        "country": "GB",
    }
}


@pytest.fixture(scope="module")
def shipped() -> dict[str, LoadedPolicy]:
    return {loaded.policy.id: loaded for loaded in load_policies(POLICY_DIR)}


def test_every_shipped_policy_loads(shipped):
    assert set(shipped) == SHIPPED


@pytest.mark.parametrize("policy_id", sorted(SHIPPED))
def test_start_page_is_safe_and_asserted(shipped, policy_id):
    policy = shipped[policy_id].policy
    start_path = path_of(policy.start_url)

    assert policy.start_url.startswith(policy.origin + "/")
    assert not is_denied(start_path, policy.deny_urls)
    assert any(re.match(pattern, start_path) for pattern in policy.url_assertions)


@pytest.mark.parametrize("policy_id", sorted(SHIPPED))
def test_start_url_moves_onto_the_replica(shipped, policy_id):
    policy = shipped[policy_id].policy
    base = f"http://127.0.0.1:8765/{policy.platform}"

    assert rebase(policy.start_url, policy, base) == base + path_of(policy.start_url)


@pytest.mark.parametrize("policy_id", sorted(SHIPPED))
def test_nothing_claims_a_live_check(shipped, policy_id):
    assert shipped[policy_id].policy.verified_on is None


@pytest.mark.parametrize("policy_id", sorted(SHIPPED))
def test_fill_values_render_for_an_employee(shipped, policy_id):
    for step in shipped[policy_id].policy.steps:
        if isinstance(step.action, Fill):
            rendered = render_template(step.action.value, EMPLOYEE)
            assert "{{" not in rendered


def test_linkedin_toggle_accepts_both_spellings_and_nothing_else(shipped):
    policy = shipped["linkedin-genai-training"].policy
    toggle = policy.controls["training_toggle"]

    def matches(label: str) -> bool:
        return any(compile_text_match(name).search(label) for name in toggle.names)

    assert matches("Use my data for training content creation AI models")
    assert matches("Use my data for training content-creation AI models")
    assert not matches("Share data with affiliates and partners")
    assert set(toggle.allowed_roles) == {"switch", "checkbox"}
    assert (toggle.confidence.names, toggle.confidence.role) == ("V", "G")
    assert [step.keyword for step in policy.steps] == ["dismiss", "ensure"]
    assert policy.steps[1].action == Ensure(control="training_toggle", checked=False)
    assert policy.verify.reload is True
    assert policy.controls["cookie_reject"].within == "#voyager-gdpr-2025"
    assert {"/mypreferences/d/close-accounts", "/mypreferences/d/hibernate-account"} <= set(
        policy.deny_urls
    )


def test_linkedin_objection_is_submitted_once_and_keeps_the_case_number(shipped):
    policy = shipped["linkedin-data-processing-objection"].policy
    capture = policy.steps[-1].action

    assert policy.submit_once
    assert policy.verify.captured == "case_number"
    assert policy.verify.reload is False
    assert isinstance(capture, Capture)
    assert capture.text_pattern is not None
    found = compile_text_match(capture.text_pattern).search("Your case number is CASE-12345678.")
    assert found is not None
    assert found.group(1) == "CASE-12345678"
    assert all(control.confidence.names == "G" for control in policy.controls.values())


@pytest.mark.parametrize(
    ("label", "control"),
    [
        ("Request type", "request_type"),
        ("Type of request", "request_type"),
        ("Purpose", "purpose"),
        ("What processing do you object to?", "purpose"),
        ("Explain your objection", "explanation"),
        ("Please explain your request", "explanation"),
        ("Email address", "email"),
        ("Submit", "submit"),
    ],
)
def test_linkedin_objection_finds_each_replica_field_by_one_control(shipped, label, control):
    controls = shipped["linkedin-data-processing-objection"].policy.controls
    matching = {
        name
        for name, candidate in controls.items()
        if candidate.within is None
        and any(compile_text_match(written).search(label) for written in candidate.names)
    }

    assert matching == {control}


def test_linkedin_objection_picks_the_replica_options(shipped):
    policy = shipped["linkedin-data-processing-objection"].policy
    selected = {
        step.select.control: step.select.option for step in policy.steps if step.select is not None
    }

    assert selected == {
        "request_type": "Object to processing",
        "purpose": "Training other AI or machine learning models",
    }


def test_x_accepts_the_2024_and_2026_labels(shipped):
    names = shipped["x-grok-training"].policy.controls["training_checkbox"].names
    labels = [
        "Allow your public data as well as your interactions, inputs, and results with Grok and "
        "xAI to be used for training and fine-tuning",
        "Allow your posts as well as your interactions, inputs, and results with Grok to be used "
        "for training and fine-tuning",
    ]

    for label in labels:
        assert sum(bool(compile_text_match(name).search(label)) for name in names) == 1


def test_chatgpt_reopens_the_dialog_before_verifying(shipped):
    policy = shipped["chatgpt-improve-model"].policy

    assert policy.start_url == "https://chatgpt.com/settings/data-controls"
    assert [step.keyword for step in policy.verify.steps] == ["click"]
    assert policy.verify.control_state is not None
    assert policy.verify.control_state.checked is False


@pytest.mark.parametrize(
    ("button", "opens_the_dialog"),
    [
        ("On", True),
        ("Off", True),
        ("Improve the model for everyone", True),
        ("Manage", False),
        ("Export", False),
        ("Done", False),
        ("Delete account", False),
    ],
)
def test_chatgpt_row_button_is_found_by_label_or_value(shipped, button, opens_the_dialog):
    row = shipped["chatgpt-improve-model"].policy.controls["model_improvement_row"]

    found = any(compile_text_match(written).search(button) for written in row.names)

    assert found is opens_the_dialog


def test_version_is_the_sha256_of_the_file_bytes(shipped):
    for loaded in shipped.values():
        assert loaded.version == hashlib.sha256(loaded.path.read_bytes()).hexdigest()
        assert loaded.short_version == loaded.version[:12]


def test_version_changes_when_one_byte_changes(tmp_path):
    shutil.copy(POLICY_DIR / "x-grok-training.yml", tmp_path)
    before = load_policies(tmp_path).get("x-grok-training").version
    path = tmp_path / "x-grok-training.yml"
    path.write_bytes(path.read_bytes() + b" ")

    after = load_policies(tmp_path).get("x-grok-training").version

    assert after != before


def test_committed_schema_is_current():
    committed = json.loads((POLICY_DIR / "schema.json").read_text(encoding="utf-8"))

    assert committed == policy_json_schema(), (
        "policies/schema.json is stale; regenerate it with "
        "`.venv/bin/python -m orchestrator.policies > policies/schema.json`"
    )
