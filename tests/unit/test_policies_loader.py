"""Loading a policy directory: all or nothing, with every problem located in its file."""

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.policies import (
    Policy,
    PolicyError,
    PolicyProblem,
    UnknownPolicyError,
    load_policies,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "policies"
EXAMPLE = DATA / "valid" / "example-toggle.yml"


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def problems_for(directory: Path) -> list[PolicyProblem]:
    with pytest.raises(PolicyError) as raised:
        load_policies(directory)
    return list(raised.value.problems)


def problems_for_document(tmp_path: Path, document: dict[str, Any]) -> list[PolicyProblem]:
    (tmp_path / f"{document['id']}.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return problems_for(tmp_path)


def only_problem(tmp_path: Path, document: dict[str, Any]) -> PolicyProblem:
    problems = problems_for_document(tmp_path, document)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_valid_directory_loads():
    policies = load_policies(DATA / "valid")

    assert policies.ids == ("example-toggle",)
    assert len(policies) == 1
    assert "example-toggle" in policies
    assert [loaded.policy.id for loaded in policies] == ["example-toggle"]
    assert policies.get("example-toggle").path == EXAMPLE


def test_an_unknown_id_names_the_known_ones():
    policies = load_policies(DATA / "valid")

    with pytest.raises(UnknownPolicyError) as raised:
        policies.get("linkedin-genai-training")

    assert raised.value.known_ids == ("example-toggle",)
    assert "known policies: example-toggle" in raised.value.message


def test_every_problem_of_every_file_is_reported_and_nothing_loads():
    problems = problems_for(DATA / "broken")
    found = {(problem.file.name, problem.location) for problem in problems}

    assert found == {
        ("bad-regex.yml", "controls.training_toggle.names[1]"),
        ("bad-template.yml", "steps[2].fill.value"),
        ("syntax-error.yml", ""),
        ("unknown-key.yml", "steps[1].ensure.checked"),
        ("unknown-key.yml", "steps[1].ensure.checkd"),
        ("unsafe-urls.yml", "start_url"),
        ("unsafe-urls.yml", "steps[0].goto.url"),
        ("wrong-id.yml", "id"),
    }
    assert all(problem.reason for problem in problems)
    assert all(problem.line is not None for problem in problems)


def test_the_error_message_lists_each_problem_with_file_line_and_location():
    with pytest.raises(PolicyError) as raised:
        load_policies(DATA / "broken")

    message = raised.value.message
    assert message.startswith("8 problems in the policies:")
    assert "bad-template.yml:31: steps[2].fill.value: unknown template variable employee.phone" in (
        message
    )


def test_yaml_syntax_error_gives_line_and_column():
    problem = next(p for p in problems_for(DATA / "broken") if p.file.name == "syntax-error.yml")

    assert (problem.line, problem.column) == (31, 9)
    assert "flow mapping started on line 30" in problem.reason


def test_duplicate_yaml_key_is_refused(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "kind: toggle\n", "kind: toggle\nkind: form\n"
    )
    (tmp_path / "example-toggle.yml").write_text(text, encoding="utf-8")

    (problem,) = problems_for(tmp_path)

    assert "duplicate key 'kind'" in problem.reason
    assert problem.line == 7


def test_unknown_key_suggests_the_allowed_ones(tmp_path):
    document = example()
    document["controls"]["training_toggle"]["label"] = "Use my data"

    problem = only_problem(tmp_path, document)

    assert problem.location == "controls.training_toggle.label"
    assert problem.reason.startswith("unknown key 'label' (allowed: role, roles, names,")


def test_wrong_type_names_the_value(tmp_path):
    document = example()
    document["verify"]["reload"] = "sometimes"

    problem = only_problem(tmp_path, document)

    assert problem.location == "verify.reload"
    assert "'sometimes'" in problem.reason


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("url_assertions", ["^/settings/(ai$"], "invalid regular expression"),
        ("url_assertions", ["/settings/ai"], "must start with '^/'"),
        ("url_assertions", ["^/settings/ai"], "must end with '$'"),
        ("deny_names", ["/close/g"], "unsupported regex flag 'g'"),
    ],
)
def test_bad_patterns_are_refused(tmp_path, field, value, reason):
    document = example()
    document[field] = value

    problem = only_problem(tmp_path, document)

    assert problem.location == f"{field}[0]"
    assert reason in problem.reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("{{ employee.phone }}", "unknown template variable employee.phone"),
        ("{{ manager.email }}", "unknown template variable manager"),
        ("{{ employee }}", "unknown template variable employee "),
        ("{{ employee.__class__ }}", "unknown template variable employee.__class__"),
        ("{{ employee.name ", "template syntax error on line 1"),
        ("{{ employee.name | shout }}", "template syntax error"),
    ],
)
def test_bad_templates_are_refused(tmp_path, value, reason):
    document = example()
    document["steps"][2]["fill"]["value"] = value

    problem = only_problem(tmp_path, document)

    assert problem.location == "steps[2].fill.value"
    assert reason in problem.reason


def test_id_must_equal_the_file_name(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "renamed.yml")

    (problem,) = problems_for(tmp_path)

    assert (problem.file.name, problem.location) == ("renamed.yml", "id")
    assert "must equal the file name 'renamed'" in problem.reason


def test_duplicate_ids_are_reported_in_both_files(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "example-toggle.yml")
    shutil.copy(EXAMPLE, tmp_path / "copy.yml")

    problems = problems_for(tmp_path)

    duplicates = {p.file.name: p.reason for p in problems if "duplicate id" in p.reason}
    assert duplicates == {
        "example-toggle.yml": "duplicate id 'example-toggle' (also in copy.yml)",
        "copy.yml": "duplicate id 'example-toggle' (also in example-toggle.yml)",
    }


@pytest.mark.parametrize(
    ("start_url", "reason"),
    [
        ("https://www.example.com/settings/close-account", "falls under the policy's deny_urls"),
        ("https://www.example.com/settings/Close-Account/", "falls under the policy's deny_urls"),
        ("https://www.example.com/settings/ai/../close-account", "falls under"),
        ("https://www.example.com/settings/close%2Daccount", "falls under"),
        ("https://example.com/settings/ai", "not on the policy's origin"),
        ("http://www.example.com/settings/ai", "not on the policy's origin"),
        ("settings/ai", "not on the policy's origin"),
    ],
)
def test_start_url_must_be_on_the_origin_and_off_the_deny_list(tmp_path, start_url, reason):
    document = example()
    document["start_url"] = start_url

    problem = only_problem(tmp_path, document)

    assert problem.location == "start_url"
    assert reason in problem.reason


def test_a_goto_into_the_deny_list_is_refused(tmp_path):
    document = example()
    document["steps"][0]["goto"]["url"] = "/settings/close-account"

    problem = only_problem(tmp_path, document)

    assert problem.location == "steps[0].goto.url"


def test_references_to_unknown_controls_are_refused(tmp_path):
    document = example()
    document["steps"][1]["ensure"]["control"] = "training_switch"
    document["verify"]["control_state"]["control"] = "training_switch"

    problems = problems_for_document(tmp_path, document)

    assert {p.location for p in problems} >= {
        "steps[1].ensure.control",
        "verify.control_state.control",
    }
    assert "unknown control 'training_switch' (known: comment_box, training_toggle)" in (
        problems[0].reason
    )


def test_a_step_has_exactly_one_key(tmp_path):
    document = example()
    document["steps"][1]["click"] = {"control": "training_toggle"}

    problem = only_problem(tmp_path, document)

    assert problem.location == "steps[1]"
    assert "found: ensure, click" in problem.reason


def test_a_step_must_fit_the_control_role(tmp_path):
    document = example()
    document["steps"][2]["fill"]["control"] = "training_toggle"
    document["controls"].pop("comment_box")

    problem = only_problem(tmp_path, document)

    assert problem.location == "steps[2].fill.control"
    assert "needs combobox or textbox" in problem.reason


def test_the_verified_state_must_be_the_one_the_steps_ensure(tmp_path):
    document = example()
    document["verify"]["control_state"]["checked"] = True

    problem = only_problem(tmp_path, document)

    assert problem.location == "verify.control_state"


def test_a_form_must_be_submit_once_with_a_captured_confirmation(tmp_path):
    document = example()
    document["kind"] = "form"

    problems = problems_for_document(tmp_path, document)

    assert {p.location for p in problems} == {"submit_once"}


def test_contradicting_applicability_rules_are_refused(tmp_path):
    document = example()
    document["applicability"].append(
        {
            "id": "france-applies",
            "effect": "applies",
            "regions": ["FR"],
            "effective_from": "2024-06-01",
            "source": "https://www.example.com/fr",
            "confidence": "G",
            "reason": "France was never exempt.",
        }
    )

    problem = only_problem(tmp_path, document)

    assert problem.location == "applicability"
    assert "'eu-exempt-2024' and 'france-applies' overlap" in problem.reason


@pytest.mark.parametrize(
    ("region", "reason"),
    [("UK", "write 'GB'"), ("XX", "neither an ISO 3166-1"), ("fr", "neither an ISO 3166-1")],
)
def test_regions_must_be_iso_codes_or_groups(tmp_path, region, reason):
    document = example()
    document["applicability"][0]["regions"] = [region]

    problem = only_problem(tmp_path, document)

    assert problem.location == "applicability[0].regions[0]"
    assert reason in problem.reason


def test_an_unused_control_is_reported(tmp_path):
    document = example()
    document["controls"]["spare"] = {
        "role": "button",
        "names": ["Spare"],
        "confidence": {"names": "G", "role": "G"},
    }

    problem = only_problem(tmp_path, document)

    assert problem.location == "controls.spare"


def test_a_yaml_suffix_is_reported_not_ignored(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "example-toggle.yaml")

    (problem,) = problems_for(tmp_path)

    assert problem.reason == "rename to example-toggle.yml"


def test_a_missing_directory_is_a_policy_error_naming_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (problem,) = problems_for(Path("nowhere"))

    assert problem.reason == "no such policy directory"
    assert str(problem).startswith(f"{tmp_path / 'nowhere'}:")


def test_a_directory_without_policies_is_a_policy_error(tmp_path):
    (tmp_path / "README.md").write_text("policies live elsewhere", encoding="utf-8")

    (problem,) = problems_for(tmp_path)

    assert problem.reason == "no policy files (*.yml) here"


def test_validating_a_policy_directly_runs_the_same_checks():
    document = example()
    document["start_url"] = "https://elsewhere.example.net/settings/ai"

    with pytest.raises(ValueError, match="start_url: 'https://elsewhere"):
        Policy.model_validate(document)


@pytest.mark.parametrize(
    "origin",
    ["https://www.example.com/", "https://WWW.example.com", "ftp://www.example.com", "example.com"],
)
def test_origin_is_scheme_and_host_only(tmp_path, origin):
    document = example()
    document["origin"] = origin

    problems = problems_for_document(tmp_path, document)

    assert problems[0].location == "origin"


def test_verify_steps_cannot_change_anything(tmp_path):
    document = example()
    document["verify"]["steps"] = [{"ensure": {"control": "training_toggle", "checked": False}}]

    problem = only_problem(tmp_path, document)

    assert problem.location == "verify"
    assert "not 'ensure'" in problem.reason


def test_a_wrong_id_is_reported_alongside_other_errors(tmp_path):
    document = example()
    document["kind"] = "switch"
    (tmp_path / "renamed.yml").write_text(yaml.safe_dump(document), encoding="utf-8")

    problems = problems_for(tmp_path)

    assert [problem.location for problem in problems] == ["id", "kind"]
    assert "'toggle', 'form' or 'flow'" in problems[1].reason
