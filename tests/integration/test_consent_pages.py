"""The web app's answers to everything people and clients can send: never a 500, never a trace."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from orchestrator.consent.links import LinkSigner
from orchestrator.consent.models import LinkPurpose
from orchestrator.core.db import make_engine
from orchestrator.core.settings import Settings
from orchestrator.policies import load_policies
from orchestrator.web.app import create_app

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
SECRET = "pages-test-secret-" + "p" * 32


@pytest.fixture
def client(tmp_path: Path, live_server):
    settings = Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET)
    # A database without its schema: any request that reaches it fails like a broken database.
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    server = live_server(
        lambda _: create_app(settings, engine=engine, policies=load_policies(POLICIES_DIR))
    )
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http
    engine.dispose()


def genuine_token() -> str:
    return LinkSigner(SECRET).issue(
        consent_id=1, purpose=LinkPurpose.DECIDE, expires_at=datetime(2030, 1, 1, tzinfo=UTC)
    )


def test_unknown_pages_are_404_pages_for_people_and_json_for_the_api(client: httpx.Client) -> None:
    page = client.get("/nothing-here")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address" in page.text
    api = client.get("/api/nothing")
    assert api.status_code == 404
    assert api.json() == {"error": {"status": 404, "message": "there is no page at this address"}}
    assert client.get("/consent/").status_code == 404


def test_damaged_links_say_what_to_do(client: httpx.Client) -> None:
    for token in ("not-a-token", genuine_token()[:-4] + "abcd", "x" * 5000):
        page = client.get(f"/consent/{token}")
        assert page.status_code == 400
        assert "copy the whole address" in page.text
        assert "Traceback" not in page.text
    machine = client.get("/consent/nope", headers={"Accept": "application/json"})
    assert machine.status_code == 400
    assert machine.json()["error"]["message"] == "this link is not complete or not one of ours"


def test_methods_and_bodies_the_pages_do_not_take(client: httpx.Client) -> None:
    assert client.put("/consent/abc").status_code == 405
    assert client.delete("/consent/withdraw/abc").status_code == 405
    assert client.post("/consent/abc", json={"decision": "approve"}).status_code == 415
    huge = client.post(
        "/consent/abc",
        content=b"decision=" + b"a" * 100_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413
    bad_bytes = client.post(
        "/consent/abc",
        content=b"decision=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad_bytes.status_code == 400
    no_csrf = client.post("/consent/abc", data={"decision": "approve"})
    assert no_csrf.status_code == 403
    assert "nothing was recorded" in no_csrf.text


def test_a_broken_database_is_503_with_retry_after(client: httpx.Client) -> None:
    page = client.get(f"/consent/{genuine_token()}")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "60"
    assert "Try again in a few minutes" in page.text


def test_health_static_files_and_security_headers(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert health.json() == {"status": "ok"}
    assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
    css = client.get("/static/site.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    page = client.get("/consent/nope")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
