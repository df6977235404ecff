"""Who a policy applies to, on which day, and from when an employee was exposed."""

from datetime import date
from pathlib import Path

import pytest

from orchestrator.policies import EEA, EU_27, applicable, exposure_start, load_policies

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def linkedin():
    return load_policies(POLICY_DIR).get("linkedin-genai-training").policy


def test_france_was_exempt_before_the_extension(linkedin):
    decision = applicable(linkedin, country="FR", on=date(2025, 6, 1))

    assert decision.applies is False
    assert decision.rule_id == "eu-eea-ch-excluded-at-launch"
    assert decision.source is not None
    assert "a6278444" in decision.source


def test_france_is_in_scope_from_2025_11_03(linkedin):
    decision = applicable(linkedin, country="FR", on=date(2025, 11, 3))

    assert decision.applies is True
    assert decision.rule_id == "extended-2025-11-03"
    assert decision.source is not None


def test_the_last_exempt_day_is_2025_11_02(linkedin):
    assert not applicable(linkedin, country="CH", on=date(2025, 11, 2)).applies
    assert not applicable(linkedin, country="NO", on=date(2025, 11, 2)).applies


@pytest.mark.parametrize(
    "day", [date(2024, 9, 18), date(2025, 6, 1), date(2025, 11, 3), date(2026, 10, 1)]
)
def test_a_us_employee_is_always_in_scope(linkedin, day):
    decision = applicable(linkedin, country="US", on=day)

    assert decision.applies is True
    assert decision.rule_id is None
    assert decision.source is None


def test_country_codes_are_read_case_insensitively(linkedin):
    assert applicable(linkedin, country="fr", on=date(2025, 6, 1)).rule_id == (
        "eu-eea-ch-excluded-at-launch"
    )


def test_the_uk_pause_is_its_own_rule(linkedin):
    decision = applicable(linkedin, country="GB", on=date(2025, 1, 15))

    assert decision.applies is False
    assert decision.rule_id == "uk-paused-after-ico"


def test_exposure_starts_when_the_policy_first_applied(linkedin):
    assert exposure_start(linkedin, country="US") == date(2024, 9, 18)
    assert exposure_start(linkedin, country="FR") == date(2025, 11, 3)
    assert exposure_start(linkedin, country="GB") == date(2024, 9, 18)


def test_exposure_is_unknown_without_a_default_on_date():
    objection = load_policies(POLICY_DIR).get("linkedin-data-processing-objection").policy

    assert exposure_start(objection, country="US") is None


def test_region_groups():
    assert len(EU_27) == 27
    assert sorted(EEA - EU_27) == ["IS", "LI", "NO"]
    assert "CH" not in EEA
    assert "GB" not in EU_27
