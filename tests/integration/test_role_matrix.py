"""Every admin and API route × every role (and a signed-out visitor) gets the intended answer.

The expectations below are written out here by hand, independently of the app's role table;
the test also fails when a route exists that this table does not name.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.support import admin_accounts, csrf_of, sign_in, web_app

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALL = frozenset({"admin", "operator", "auditor"})
RUNNERS = frozenset({"admin", "operator"})
ADMIN = frozenset({"admin"})
AUDITORS = frozenset({"admin", "auditor"})

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/employees"): ALL,
    ("GET", "/api/employees/{employee_id}"): ALL,
    ("POST", "/api/employees/import"): ADMIN,
    ("GET", "/api/policies"): ALL,
    ("GET", "/api/policies/{policy_id}"): ALL,
    ("GET", "/api/campaigns"): ALL,
    ("POST", "/api/campaigns"): RUNNERS,
    ("GET", "/api/campaigns/{campaign_id}"): ALL,
    ("POST", "/api/campaigns/{campaign_id}/launch"): RUNNERS,
    ("POST", "/api/campaigns/{campaign_id}/remind"): RUNNERS,
    ("POST", "/api/campaigns/{campaign_id}/pause"): RUNNERS,
    ("POST", "/api/campaigns/{campaign_id}/resume"): RUNNERS,
    ("POST", "/api/campaigns/{campaign_id}/cancel"): RUNNERS,
    ("GET", "/api/consents"): ALL,
    ("GET", "/api/jobs"): ALL,
    ("GET", "/api/jobs/{job_id}"): ALL,
    ("GET", "/api/jobs/{job_id}/log"): ALL,
    ("POST", "/api/jobs/{job_id}/retry"): RUNNERS,
    ("POST", "/api/jobs/{job_id}/cancel"): RUNNERS,
    ("GET", "/api/evidence"): ALL,
    ("GET", "/api/evidence/{evidence_id}"): ALL,
    ("GET", "/api/evidence/{evidence_id}/file"): ALL,
    ("GET", "/api/reports/department"): ALL,
    ("GET", "/api/bundles/department"): AUDITORS,
    ("GET", "/api/audit"): ALL,
    ("GET", "/api/audit/verify"): ALL,
    ("GET", "/admin"): ALL,
    ("GET", "/admin/employees"): ALL,
    ("GET", "/admin/employees/{employee_id}"): ALL,
    ("GET", "/admin/employees/import"): ADMIN,
    ("POST", "/admin/employees/import"): ADMIN,
    ("GET", "/admin/campaigns"): ALL,
    ("GET", "/admin/campaigns/new"): RUNNERS,
    ("POST", "/admin/campaigns/new"): RUNNERS,
    ("GET", "/admin/campaigns/{campaign_id}"): ALL,
    ("POST", "/admin/campaigns/{campaign_id}/launch"): RUNNERS,
    ("POST", "/admin/campaigns/{campaign_id}/remind"): RUNNERS,
    ("POST", "/admin/campaigns/{campaign_id}/pause"): RUNNERS,
    ("POST", "/admin/campaigns/{campaign_id}/resume"): RUNNERS,
    ("POST", "/admin/campaigns/{campaign_id}/cancel"): RUNNERS,
    ("GET", "/admin/jobs"): ALL,
    ("GET", "/admin/jobs/{job_id}"): ALL,
    ("POST", "/admin/jobs/{job_id}/retry"): RUNNERS,
    ("POST", "/admin/jobs/{job_id}/cancel"): RUNNERS,
    ("GET", "/admin/reports"): ALL,
    ("GET", "/admin/audit"): ALL,
}
# Open to everyone by design: signing in and out, the front door, the API schema and reference.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/admin/sign-in"),
    ("POST", "/admin/sign-in"),
    ("POST", "/admin/sign-out"),
}


@pytest.fixture
def server(engine, tmp_path, live_server):
    tokens = admin_accounts(engine, now=NOW)
    app, _ = web_app(engine, data_dir=tmp_path, now=NOW)
    return app, live_server(lambda _: app), tokens


def concrete(path: str) -> str:
    return (
        path.replace("{policy_id}", "linkedin-genai-training")
        .replace("_id}", "")
        .replace("{employee", "1")
        .replace("{campaign", "1")
        .replace("{job", "1")
        .replace("{evidence", "1")
    )


def all_routes(routes):
    """Every route with methods, through included routers (however FastAPI nests them)."""
    for route in routes:
        nested = getattr(route, "effective_candidates", None)
        if nested is not None:
            yield from all_routes(nested())
        elif getattr(route, "methods", None) and getattr(route, "path", None):
            yield route


def test_every_route_and_role_gets_the_intended_answer(server) -> None:
    app, live, tokens = server
    routes = {
        (method, route.path)
        for route in all_routes(app.routes)
        if route.path.startswith(("/api", "/admin", "/"))
        for method in route.methods - {"HEAD"}
        if not route.path.startswith("/consent") and route.path != "/healthz"
    }
    assert routes - PUBLIC == set(EXPECTED), "a route is missing from (or extra in) EXPECTED"

    people: dict[str, httpx.Client] = {}
    csrf: dict[str, str] = {}
    for role in ALL:
        people[role] = httpx.Client(base_url=live.url, timeout=30)
        assert sign_in(people[role], role).status_code == 303  # to the dashboard
        csrf[role] = csrf_of(people[role].get("/admin").text)
    anonymous = httpx.Client(base_url=live.url, timeout=30, follow_redirects=False)
    try:
        for (method, path), allowed in sorted(EXPECTED.items()):
            url = concrete(path)
            api = path.startswith("/api")
            # Signed out: the API says 401, the UI sends people to sign in.
            answer = anonymous.request(method, url)
            if api:
                assert answer.status_code == 401, (method, path)
            else:
                assert answer.status_code == 303, (method, path)
                assert answer.headers["location"].startswith("/admin/sign-in?next=")
            for role in sorted(ALL):
                if api:
                    headers = {"Authorization": f"Bearer {tokens[role]}"}
                    answer = anonymous.request(method, url, headers=headers, json={})
                else:
                    client = people[role]
                    data = {"csrf": csrf[role]} if method == "POST" else None
                    answer = client.request(method, url, data=data)
                if role in allowed:
                    assert answer.status_code not in (401, 403), (method, path, role, answer.text)
                else:
                    assert answer.status_code == 403, (method, path, role)
                    assert f"your role ({role}) does not allow this" in answer.text.lower()
    finally:
        anonymous.close()
        for client in people.values():
            client.close()
