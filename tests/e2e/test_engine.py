"""The engine in real Chromium against the replica: outcomes, proof, and what the site saved.

Every test asserts the replica's server-side state (the toggle really off, the form submitted
exactly once, deny-listed pages never opened), and that no failure is reported as compliant.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.automation.engine import EngineOptions
from orchestrator.automation.outcomes import EmployeeFacts, EngineTask, Outcome, OutcomeStatus
from orchestrator.policies import LoadedPolicy, load_policies
from orchestrator.replica import REAL_ORIGINS, Behaviour, Platform

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
POLICIES = load_policies(REPO / "policies")
TODAY = date(2026, 11, 23)
FAST = EngineOptions(action_timeout_ms=4_000, navigation_timeout_ms=8_000)


@pytest.fixture
def run(replica, engine_browser, tmp_path: Path, request: pytest.FixtureRequest):
    """Seed a replica account and run a policy for it; returns (outcome, replica state)."""

    def seed_and_run(
        policy: str | LoadedPolicy,
        *behaviours: Behaviour,
        account: str | None = None,
        country: str = "US",
        on: date = TODAY,
        seed: bool = True,
        **task_options: Any,
    ) -> tuple[Outcome, Any]:
        loaded = POLICIES.get(policy) if isinstance(policy, str) else policy
        platform = Platform(REAL_ORIGINS[loaded.policy.origin])
        account_id = account or re.sub(r"[^\w.@+-]", "-", request.node.name)[:150]
        if seed:
            replica.client.seed_account(platform, account_id, behaviours=behaviours)
        task = EngineTask(
            task_id=f"{account_id}-{loaded.policy.id}-{len(list(tmp_path.iterdir()))}",
            policy=loaded,
            employee=EmployeeFacts(
                email=f"{account_id}@example.com",
                name="Ann Lee",
                department="Engineering",
                country=country,
            ),
            storage_state=task_options.pop(
                "storage_state", replica.client.storage_state(platform, account_id)
            ),
            evidence_dir=tmp_path,
            base_url=f"{replica.base_url}/{platform.value}",
            on=on,
            **task_options,
        )
        outcome = engine_browser.run(task, options=FAST)
        return outcome, replica.client.account_state(platform, account_id)

    return seed_and_run


def evidence_kinds(outcome: Outcome) -> set[str]:
    return {item.kind for item in outcome.evidence}


def assert_evidence_intact(outcome: Outcome, root: Path) -> None:
    for item in outcome.evidence:
        data = (root / item.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item.sha256, item.path


def test_linkedin_toggle_is_switched_off_verified_and_proven(run, tmp_path: Path) -> None:
    outcome, state = run("linkedin-genai-training")
    assert outcome.status is OutcomeStatus.CHANGED, outcome.message
    assert state.toggles["data_for_ai_improvement"] is False
    assert state.toggle_changes["data_for_ai_improvement"] == 1
    assert outcome.control is not None
    assert (outcome.control.checked_before, outcome.control.checked_after) == (True, False)
    assert "Use my data for training content creation AI models" in outcome.control.aria
    assert {"screenshot_before", "screenshot_after", "control_state", "final_url"} <= (
        evidence_kinds(outcome)
    )
    assert_evidence_intact(outcome, tmp_path)
    before = next(e for e in outcome.evidence if e.kind == "screenshot_before")
    assert (tmp_path / before.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert outcome.policy_version == POLICIES.get("linkedin-genai-training").version
    assert state.deny_listed_visits == []


def test_already_off_clicks_nothing_and_a_second_run_is_idempotent(run) -> None:
    outcome, state = run("linkedin-genai-training", Behaviour.ALREADY_OPTED_OUT)
    assert outcome.status is OutcomeStatus.ALREADY_COMPLIANT
    assert state.toggle_changes.get("data_for_ai_improvement", 0) == 0
    assert "screenshot_after" in evidence_kinds(outcome)

    first, _ = run("linkedin-genai-training", account="idempotent-member")
    again, state = run("linkedin-genai-training", account="idempotent-member", seed=False)
    assert (first.status, again.status) == (OutcomeStatus.CHANGED, OutcomeStatus.ALREADY_COMPLIANT)
    assert state.toggle_changes["data_for_ai_improvement"] == 1


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour.SLOW_SAVE,
        Behaviour.LABEL_VARIANT,
        Behaviour.LAYOUT_VARIANT,
        Behaviour.COOKIE_BANNER,
    ],
)
def test_page_variations_still_end_switched_off(run, behaviour: Behaviour) -> None:
    outcome, state = run("linkedin-genai-training", behaviour)
    assert outcome.status is OutcomeStatus.CHANGED, outcome.message
    assert state.toggles["data_for_ai_improvement"] is False
    if behaviour is Behaviour.COOKIE_BANNER:
        assert state.cookie_consent == "rejected"  # never accepts on the employee's behalf


@pytest.mark.parametrize(
    ("behaviour", "says"),
    [(Behaviour.SIGNED_OUT, "signed out"), (Behaviour.CHECKPOINT, "security check")],
)
def test_sessions_that_need_the_employee(run, behaviour: Behaviour, says: str) -> None:
    outcome, state = run("linkedin-genai-training", behaviour)
    assert outcome.status is OutcomeStatus.NEEDS_EMPLOYEE_ACTION
    assert says in outcome.message
    assert outcome.employee_action and "LinkedIn" in outcome.employee_action
    assert "screenshot_needs_action" in evidence_kinds(outcome)
    assert state.toggles["data_for_ai_improvement"] is True


def test_no_session_needs_the_employee_without_opening_a_browser(run) -> None:
    outcome, state = run("linkedin-genai-training", storage_state=None)
    assert outcome.status is OutcomeStatus.NEEDS_EMPLOYEE_ACTION
    assert "no linkedin session" in outcome.message
    assert state.requests == []


def test_save_failing_once_is_a_transient_failure_then_succeeds(run, tmp_path: Path) -> None:
    failed, state = run("linkedin-genai-training", Behaviour.SAVE_FAILS_ONCE, account="flaky")
    assert failed.status is OutcomeStatus.FAILED
    assert failed.transient
    assert not failed.status.compliant
    assert "Something went wrong" in failed.message
    assert state.toggles["data_for_ai_improvement"] is True  # the switch reverted
    assert {"trace", "failure_screenshot"} <= evidence_kinds(failed)
    assert_evidence_intact(failed, tmp_path)

    retried, state = run("linkedin-genai-training", account="flaky", seed=False)
    assert retried.status is OutcomeStatus.CHANGED
    assert state.toggles["data_for_ai_improvement"] is False


def test_rate_limit_is_transient_with_the_sites_retry_after(run) -> None:
    limited, _ = run("linkedin-genai-training", Behaviour.RATE_LIMITED_ONCE, account="busy")
    assert limited.status is OutcomeStatus.FAILED
    assert limited.transient
    assert limited.retry_after_seconds is not None
    retried, state = run("linkedin-genai-training", account="busy", seed=False)
    assert retried.status is OutcomeStatus.CHANGED
    assert state.toggles["data_for_ai_improvement"] is False


def test_absent_setting_fails_closed(run) -> None:
    outcome, state = run("linkedin-genai-training", Behaviour.SETTING_ABSENT)
    assert outcome.status is OutcomeStatus.FAILED
    assert not outcome.transient
    assert "no element matches 'training_toggle'" in outcome.message
    assert outcome.step == "steps[1].ensure"
    assert state.toggles["data_for_ai_improvement"] is True


def test_a_failure_trace_shows_the_page_as_it_stood_when_the_task_failed(
    run, tmp_path: Path
) -> None:
    outcome, _ = run("linkedin-genai-training", Behaviour.SETTING_ABSENT)
    trace = next(e for e in outcome.evidence if e.kind == "trace")
    assert_evidence_intact(outcome, tmp_path)
    with zipfile.ZipFile(tmp_path / trace.path) as archive:
        names = archive.namelist()
        dom = archive.read("failure/page.html").decode()
        tree = archive.read("failure/page.aria.yml").decode()
    assert "trace.trace" in names  # still a Playwright trace: the actions and their errors
    assert "This setting is not available in your region." in dom
    assert "This setting is not available in your region." in tree
    assert "Use my data for training" not in tree


def test_verify_mode_reports_drift_without_clicking(run) -> None:
    outcome, state = run("linkedin-genai-training", mode="verify")
    assert outcome.status is OutcomeStatus.DRIFTED
    assert state.toggle_changes.get("data_for_ai_improvement", 0) == 0
    compliant, _ = run("linkedin-genai-training", Behaviour.ALREADY_OPTED_OUT, mode="verify")
    assert compliant.status is OutcomeStatus.ALREADY_COMPLIANT


def test_not_applicable_by_dated_rule_opens_nothing(run) -> None:
    outcome, state = run("linkedin-genai-training", country="FR", on=date(2025, 6, 1))
    assert outcome.status is OutcomeStatus.NOT_APPLICABLE
    assert outcome.rule_id == "eu-eea-ch-excluded-at-launch"
    assert outcome.rule_source
    assert state.requests == []
    applies, _ = run("linkedin-genai-training", country="FR", on=date(2025, 11, 3))
    assert applies.status is OutcomeStatus.CHANGED


def test_objection_form_is_submitted_once_and_its_case_number_kept(run) -> None:
    outcome, state = run("linkedin-data-processing-objection", account="objector")
    assert outcome.status is OutcomeStatus.CHANGED, outcome.message
    [submission] = state.objection_submissions
    assert outcome.captured == {"case_number": submission.case_number}
    assert submission.email == "objector@example.com"
    assert "Ann Lee" in submission.explanation
    assert "confirmation" in evidence_kinds(outcome)

    again, state = run(
        "linkedin-data-processing-objection",
        account="objector",
        seed=False,
        prior_confirmation=outcome.captured,
    )
    assert again.status is OutcomeStatus.ALREADY_COMPLIANT
    assert len(state.objection_submissions) == 1


def test_form_failing_once_is_retryable_and_ends_with_one_submission(run) -> None:
    failed, state = run(
        "linkedin-data-processing-objection", Behaviour.FORM_FAILS_ONCE, account="busy-desk"
    )
    assert failed.status is OutcomeStatus.FAILED
    assert failed.transient
    assert state.objection_submissions == []
    retried, state = run("linkedin-data-processing-objection", account="busy-desk", seed=False)
    assert retried.status is OutcomeStatus.CHANGED
    assert len(state.objection_submissions) == 1


@pytest.mark.parametrize(
    ("policy", "behaviours", "setting"),
    [
        ("x-grok-training", (), "grok_training"),
        ("x-grok-training", (Behaviour.LABEL_VARIANT,), "grok_training"),
        ("chatgpt-improve-model", (), "improve_model_for_everyone"),
        ("chatgpt-improve-model", (Behaviour.LAYOUT_VARIANT,), "improve_model_for_everyone"),
    ],
)
def test_other_platforms(run, policy: str, behaviours: tuple, setting: str) -> None:
    outcome, state = run(policy, *behaviours)
    assert outcome.status is OutcomeStatus.CHANGED, outcome.message
    assert state.toggles[setting] is False
    assert state.toggle_changes[setting] == 1


def _variant(tmp_path: Path, base: str, new_id: str, **changes: Any) -> LoadedPolicy:
    document = yaml.safe_load((REPO / "policies" / f"{base}.yml").read_text(encoding="utf-8"))
    document.update(id=new_id, **changes)
    directory = tmp_path / "variant-policies"
    directory.mkdir(exist_ok=True)
    (directory / f"{new_id}.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_policies(directory).get(new_id)


def _settings_page_policy(tmp_path: Path, new_id: str, control: dict[str, Any]) -> LoadedPolicy:
    """A form-kind variant that starts on the account category page and clicks `control`."""
    return _variant(
        tmp_path,
        "linkedin-data-processing-objection",
        new_id,
        start_url="https://www.linkedin.com/mypreferences/d/categories/account",
        url_assertions=["^/mypreferences/d/categories/account/?$"],
        deny_names=[],
        controls={"target": {**control, "confidence": {"names": "G", "role": "G"}}},
        steps=[
            {"click": {"control": "target"}},
            {"capture": {"text_pattern": "/(CASE-\\d+)/", "as": "case_number"}},
        ],
        evidence=["final_url"],
    )


def test_an_ambiguous_locator_fails_closed(run, tmp_path: Path) -> None:
    policy = _settings_page_policy(tmp_path, "any-link", {"role": "link", "names": ["/./"]})
    outcome, state = run(policy)
    assert outcome.status is OutcomeStatus.FAILED
    assert not outcome.transient
    assert "refusing to guess" in outcome.message
    assert [r.path for r in state.requests] == ["/linkedin/mypreferences/d/categories/account"]


def test_a_link_to_a_deny_listed_page_is_never_followed(run, tmp_path: Path) -> None:
    policy = _settings_page_policy(
        tmp_path, "wanders-off", {"role": "link", "names": ["Close account"]}
    )
    outcome, state = run(policy)
    assert outcome.status is OutcomeStatus.FAILED
    assert "deny-listed" in outcome.message
    assert state.deny_listed_visits == []
