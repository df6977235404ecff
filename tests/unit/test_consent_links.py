"""Consent link tokens, the request's text, and the CSRF guard: pure functions, no database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from starlette.requests import Request

from orchestrator.consent.errors import InvalidLinkError
from orchestrator.consent.explanation import EmployeeFacts, explain, format_time
from orchestrator.consent.links import LinkSigner, token_sha256
from orchestrator.consent.models import LinkPurpose
from orchestrator.policies import load_policies
from orchestrator.web.csrf import COOKIE_NAME, CsrfError, CsrfGuard

POLICIES = load_policies(Path(__file__).resolve().parents[2] / "policies")
SECRET = "unit-test-secret-" + "u" * 32
DEADLINE = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
ANN = EmployeeFacts(
    name="Ann Lee",
    email="ann@example.com",
    accounts={"linkedin": "https://www.linkedin.com/in/ann-lee"},
    fleet_host=None,
)


def test_a_token_says_which_consent_for_what_and_until_when() -> None:
    signer = LinkSigner(SECRET)
    token = signer.issue(consent_id=42, purpose=LinkPurpose.DECIDE, expires_at=DEADLINE)
    claims = signer.read(token, purpose=LinkPurpose.DECIDE)
    assert (claims.consent_id, claims.purpose, claims.expires_at) == (
        42,
        LinkPurpose.DECIDE,
        DEADLINE,
    )
    other = signer.issue(consent_id=42, purpose=LinkPurpose.DECIDE, expires_at=DEADLINE)
    assert other != token  # every message gets its own link
    assert token_sha256(token) == hashlib.sha256(token.encode()).hexdigest()
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@pytest.mark.parametrize(
    "mangle",
    [
        # Signature changed; not its last character, whose low bits may be base64 padding
        # that decodes to the same bytes.
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],
        lambda t: t[: len(t) // 2],  # cut short by a mail program
        lambda t: "x" + t,
        lambda t: "",
        lambda t: t * 5,  # absurdly long
    ],
    ids=["altered", "truncated", "prefixed", "empty", "too-long"],
)
def test_damaged_tokens_are_refused(mangle) -> None:
    signer = LinkSigner(SECRET)
    token = signer.issue(consent_id=1, purpose=LinkPurpose.DECIDE, expires_at=DEADLINE)
    with pytest.raises(InvalidLinkError):
        signer.read(mangle(token), purpose=LinkPurpose.DECIDE)


def test_a_token_is_good_for_its_purpose_and_installation_only() -> None:
    token = LinkSigner(SECRET).issue(consent_id=1, purpose=LinkPurpose.REVOKE, expires_at=None)
    assert LinkSigner(SECRET).read(token, purpose=LinkPurpose.REVOKE).expires_at is None
    with pytest.raises(InvalidLinkError):
        LinkSigner(SECRET).read(token, purpose=LinkPurpose.DECIDE)
    with pytest.raises(InvalidLinkError):
        LinkSigner("another-installation-" + "z" * 32).read(token, purpose=LinkPurpose.REVOKE)


def render(**overrides):
    values = {
        "employee": ANN,
        "policies": [POLICIES.get("linkedin-genai-training")],
        "respond_by": DEADLINE,
        "contact_email": "privacy@example.com",
        "retention_days": 400,
    }
    values.update(overrides)
    return explain(**values)


def test_the_request_text_is_deterministic_and_its_hash_covers_every_fact() -> None:
    first = render()
    assert render() == first
    assert first.sha256 == hashlib.sha256(first.html.encode()).hexdigest()
    assert first.versions == {
        "linkedin-genai-training": POLICIES.get("linkedin-genai-training").version
    }
    changed = [
        render(respond_by=DEADLINE + timedelta(days=1)),
        render(retention_days=30),
        render(contact_email="dpo@example.com"),
        render(employee=EmployeeFacts("Ann Lee", "ann@example.com", {}, None)),
        render(employee=EmployeeFacts("Ann Lee", "ann@example.com", ANN.accounts, "laptop-17")),
        render(policies=[POLICIES.get("linkedin-data-processing-objection")]),
    ]
    assert len({first.sha256, *(other.sha256 for other in changed)}) == len(changed) + 1


def test_the_request_text_says_what_where_what_is_kept_and_who_to_ask() -> None:
    text = render(
        policies=[
            POLICIES.get("linkedin-data-processing-objection"),
            POLICIES.get("linkedin-genai-training"),
        ]
    )
    assert [item.policy_id for item in text.items] == [
        "linkedin-data-processing-objection",
        "linkedin-genai-training",
    ]
    for fact in (
        "Ann Lee",
        "your LinkedIn account https://www.linkedin.com/in/ann-lee",
        "a screenshot of the page before the change",
        "Kept for 400 days",
        "Friday 4 December 2026, 17:00 UTC",
        "mailto:privacy@example.com",
        "never asks for or sees your password",
        "does not undo use that already happened",  # residual risk, from the policy
    ):
        assert fact in text.html
    assert (
        "<script"
        not in render(employee=EmployeeFacts("<script>alert(1)</script>", "a@b.c", {}, None)).html
    )


def test_times_read_the_same_everywhere() -> None:
    assert format_time(DEADLINE) == "Friday 4 December 2026, 17:00 UTC"
    berlin = DEADLINE.astimezone(ZoneInfo("Europe/Berlin"))
    assert format_time(berlin) == "Friday 4 December 2026, 17:00 UTC"


def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE_NAME}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


def test_csrf_tokens_bind_the_browser_the_link_and_the_time() -> None:
    guard = CsrfGuard(SECRET, secure_cookie=False)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    cookie, new = guard.cookie(request_with(None))
    assert new and guard.cookie(request_with(cookie)) == (cookie, False)
    token = guard.token(cookie=cookie, binding="link-1", now=now)
    guard.check(request_with(cookie), token, binding="link-1", now=now + timedelta(hours=1))
    for request, form_token, binding, when in [
        (request_with(None), token, "link-1", now),  # no cookie
        (request_with("y" * 43), token, "link-1", now),  # another browser
        (request_with(cookie), token, "link-2", now),  # another link's page
        (request_with(cookie), None, "link-1", now),  # no token
        (request_with(cookie), token + "x", "link-1", now),  # altered
        (request_with(cookie), token, "link-1", now + timedelta(hours=13)),  # stale page
    ]:
        with pytest.raises(CsrfError):
            guard.check(request, form_token, binding=binding, now=when)
