"""Signing in to the admin UI and what guards it: rate limits, CSRF, session lifetimes, sign-out,
the API's refusal of cookie-only changes, and evidence files kept inside the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import Session, func, select

from orchestrator.admins.models import AdminSession
from orchestrator.campaigns.models import Campaign
from orchestrator.core.db import session_scope
from orchestrator.employees.service import import_directory
from orchestrator.evidence.models import EvidenceRecord
from orchestrator.jobs.models import Job
from orchestrator.web.auth import SESSION_COOKIE
from tests import factories
from tests.support import csrf_of, sign_in

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def sessions(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(AdminSession)).one()


def test_repeated_wrong_passwords_lock_the_name_for_a_while(site) -> None:
    client, clock, _, _ = site
    for _ in range(5):
        wrong = sign_in(client, "admin", password="not it")
        assert wrong.status_code == 401
        assert "The username or password is not right." in wrong.text
    locked = sign_in(client, "admin")  # even the right password, for now
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Too many failed sign-ins; wait 15 minutes and try again." in locked.text
    assert SESSION_COOKIE not in client.cookies

    clock.now = NOW + timedelta(minutes=16)
    assert sign_in(client, "admin").status_code == 303
    assert client.get("/admin").status_code == 200


def test_an_admin_form_without_its_csrf_token_changes_nothing(site, engine) -> None:
    client, _, _, _ = site
    sign_in(client, "admin")
    form = {"name": "Sneaky", "policy": "linkedin-genai-training", "who": "everyone"}
    missing = client.post("/admin/campaigns/new", data=form)
    assert missing.status_code == 403
    assert "did not come from our page" in missing.text

    # A token from another person's sign-in does not count either.
    other = httpx.Client(base_url=str(client.base_url), timeout=30)
    with other:
        sign_in(other, "operator")
        foreign = csrf_of(other.get("/admin").text)
    assert client.post("/admin/campaigns/new", data={**form, "csrf": foreign}).status_code == 403
    with Session(engine) as session:
        assert session.exec(select(Campaign)).all() == []

    genuine = csrf_of(client.get("/admin/campaigns/new").text)
    created = client.post("/admin/campaigns/new", data={**form, "csrf": genuine})
    assert created.status_code == 303
    assert created.headers["location"].startswith("/admin/campaigns/")


def test_an_idle_sign_in_ends_and_so_does_an_old_one(site) -> None:
    client, clock, _, _ = site
    sign_in(client, "auditor")
    clock.now = NOW + timedelta(minutes=59)
    assert client.get("/admin").status_code == 200  # still active: this counts as use
    clock.now += timedelta(minutes=61)
    idle = client.get("/admin/jobs", follow_redirects=False)
    assert idle.status_code == 303
    assert idle.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Fjobs"
    api = client.get("/api/jobs")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == "Bearer"

    clock.now = NOW + timedelta(days=1)
    sign_in(client, "auditor")
    start = clock.now
    while clock.now < start + timedelta(hours=12):  # busy all day, never idle an hour
        assert client.get("/admin", follow_redirects=False).status_code == 200
        clock.now += timedelta(minutes=50)
    assert client.get("/admin", follow_redirects=False).status_code == 303  # 12 h are up


def test_signing_out_deletes_the_session(site, engine) -> None:
    client, _, _, _ = site
    sign_in(client, "admin")
    cookie = client.cookies[SESSION_COOKIE]
    assert sessions(engine) == 1
    token = csrf_of(client.get("/admin").text)
    out = client.post("/admin/sign-out", data={"csrf": token})
    assert out.status_code == 303
    assert out.headers["location"] == "/admin/sign-in"
    assert sessions(engine) == 0
    replay = httpx.Client(base_url=str(client.base_url), cookies={SESSION_COOKIE: cookie})
    with replay:
        assert replay.get("/admin").headers["location"].startswith("/admin/sign-in")


def test_the_api_refuses_changes_with_only_a_browser_sign_in(site) -> None:
    client, _, tokens, _ = site
    sign_in(client, "admin")
    body = {"name": "x", "policy_ids": ["linkedin-genai-training"], "scope": {"everyone": True}}
    answer = client.post("/api/campaigns", json=body)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "need an API token" in answer.json()["error"]["message"]
    assert client.get("/api/campaigns").status_code == 200  # reading is fine
    with_token = client.post(
        "/api/campaigns", json=body, headers={"Authorization": f"Bearer {tokens['admin']}"}
    )
    assert with_token.status_code == 201


def test_evidence_files_come_only_from_the_store_and_not_after_a_purge(site, engine) -> None:
    client, _, tokens, settings = site
    store = settings.resolved_evidence_dir
    store.mkdir(parents=True)
    (store / "kept.png").write_bytes(b"\x89PNG kept")
    outside = store.parent / "secret.txt"
    outside.write_text("not evidence")
    with session_scope(engine) as session:
        import_directory(
            session,
            data=b"email,name,department,country\nann@example.com,Ann,Eng,US\n",
            source="d.csv",
            actor="t",
            now=NOW,
        )
    factories.approved_jobs(engine, emails=["ann@example.com"], policies={"p": "v"}, now=NOW)
    ids = {}
    with session_scope(engine) as session:
        job = session.exec(select(Job)).one()
        for name, path, purged in (
            ("kept", "kept.png", None),
            ("escape", "../secret.txt", None),
            ("absolute", str(outside), None),
            ("purged", "kept.png", NOW),
        ):
            record = EvidenceRecord(
                job_id=job.id,
                kind="screenshot_after",
                path=path,
                sha256="0" * 64,
                policy_version="v",
                captured_at=NOW,
                purged_at=purged,
            )
            session.add(record)
            session.flush()
            ids[name] = record.id
    auth = {"Authorization": f"Bearer {tokens['auditor']}"}
    kept = client.get(f"/api/evidence/{ids['kept']}/file", headers=auth)
    assert kept.status_code == 200
    assert kept.content == b"\x89PNG kept"
    for name in ("escape", "absolute"):
        answer = client.get(f"/api/evidence/{ids[name]}/file", headers=auth)
        assert answer.status_code == 404, name
        assert "not in the evidence store" in answer.json()["error"]["message"]
        assert "not evidence" not in answer.text
    purged = client.get(f"/api/evidence/{ids['purged']}/file", headers=auth)
    assert purged.status_code == 404
    assert "was purged on 2026-11-23 (retention)" in purged.json()["error"]["message"]
