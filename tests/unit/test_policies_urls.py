"""Mapping policy URLs onto the replica, the deny list, label matching and value templates."""

from pathlib import Path

import pytest

from orchestrator.policies import (
    TemplateRenderError,
    compile_text_match,
    is_denied,
    load_policies,
    rebase,
    render_template,
    site_path,
)

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
REPLICA = "http://127.0.0.1:8765/linkedin"


@pytest.fixture(scope="module")
def linkedin():
    return load_policies(POLICY_DIR).get("linkedin-genai-training").policy


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.linkedin.com/mypreferences/d/settings/data-for-ai-improvement",
            f"{REPLICA}/mypreferences/d/settings/data-for-ai-improvement",
        ),
        ("/help/linkedin/ask/TS-DPRO", f"{REPLICA}/help/linkedin/ask/TS-DPRO"),
        ("https://www.linkedin.com/feed/?trk=nav#top", f"{REPLICA}/feed/?trk=nav#top"),
        ("https://www.linkedin.com", f"{REPLICA}/"),
    ],
)
def test_rebase_maps_real_urls_onto_the_replica(linkedin, url, expected):
    assert rebase(url, linkedin, REPLICA) == expected
    assert rebase(url, linkedin, REPLICA + "/") == expected


def test_rebase_without_a_base_keeps_the_real_site(linkedin):
    assert (
        rebase("/mypreferences/d/", linkedin, None) == "https://www.linkedin.com/mypreferences/d/"
    )


def test_rebase_refuses_urls_off_the_origin(linkedin):
    with pytest.raises(ValueError, match="not on the origin"):
        rebase("https://evil.example.net/mypreferences/d/", linkedin, REPLICA)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            f"{REPLICA}/mypreferences/d/settings/data-for-ai-improvement?x=1",
            "/mypreferences/d/settings/data-for-ai-improvement",
        ),
        (REPLICA, "/"),
        ("http://127.0.0.1:8765/linkedinx/uas/login", None),
        ("http://127.0.0.1:9999/linkedin/uas/login", None),
        ("https://www.linkedin.com/uas/login", None),
    ],
)
def test_site_path_reads_replica_pages_as_the_real_site(linkedin, page, expected):
    assert site_path(page, linkedin, REPLICA) == expected


def test_site_path_on_the_real_site(linkedin):
    assert site_path("https://www.linkedin.com/checkpoint/challenge", linkedin, None) == (
        "/checkpoint/challenge"
    )
    assert site_path(f"{REPLICA}/checkpoint/challenge", linkedin, None) is None


@pytest.mark.parametrize(
    ("path", "denied"),
    [
        ("/mypreferences/d/close-accounts", True),
        ("/mypreferences/d/close-accounts/confirm", True),
        ("/MyPreferences/d/Close-Accounts", True),
        ("/mypreferences/d/settings/../close-accounts", True),
        ("//mypreferences/d/hibernate-account", True),
        ("/mypreferences/d/%68ibernate-account", True),
        ("/mypreferences/d/settings/data-for-ai-improvement", False),
    ],
)
def test_deny_prefixes_survive_spelling_tricks(linkedin, path, denied):
    assert is_denied(path, linkedin.deny_urls) is denied


@pytest.mark.parametrize(
    ("written", "text", "matches"),
    [
        ("Use my data", "USE MY DATA for training", True),
        ("a.b", "axb", False),
        ("/^Done$/i", "done", True),
        ("/^Done$/", "done", False),
        ("/^Done$/", "Done", True),
    ],
)
def test_text_matches(written, text, matches):
    assert bool(compile_text_match(written).search(text)) is matches


def test_render_fills_in_the_employee():
    rendered = render_template(
        "I, {{ employee.name }} <{{ employee.email }}>",
        {"employee": {"name": "Ada", "email": "a@x"}},
    )

    assert rendered == "I, Ada <a@x>"


def test_render_stops_when_a_value_is_missing():
    with pytest.raises(TemplateRenderError, match="name"):
        render_template("I, {{ employee.name }}", {"employee": {"email": "a@x"}})
