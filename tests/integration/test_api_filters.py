"""The API and admin pages as admins filter and steer: the directory by where opt-outs stand,
campaigns with run windows, pausing and resuming a campaign."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select, update

from orchestrator.campaigns.models import Campaign, CampaignState
from orchestrator.core.db import session_scope
from orchestrator.employees.models import Employee
from orchestrator.employees.service import import_directory
from orchestrator.jobs.models import Job, JobState
from tests.factories import approved_jobs
from tests.support import csrf_of, sign_in

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_campaign_created_through_the_api_keeps_its_run_windows(site) -> None:
    client, _, tokens, _ = site
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    body = {
        "name": "Nights only",
        "policy_ids": ["linkedin-genai-training"],
        "scope": {"everyone": True},
        "timezone": "Europe/Berlin",
        "run_windows": ["mon-fri 22:00-06:00", "sat,sun 00:00-24:00"],
    }
    created = client.post("/api/campaigns", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["run_windows"] == ["mon-fri 22:00-06:00", "sat,sun 00:00-24:00"]
    status = client.get(f"/api/campaigns/{created.json()['id']}", headers=admin).json()
    assert status["campaign"]["run_windows"] == body["run_windows"]
    assert status["held"] == {}

    bad = client.post(
        "/api/campaigns", json={**body, "run_windows": ["nightly 22:00-06:00"]}, headers=admin
    )
    assert bad.status_code == 400
    assert "'nightly' is not a day" in bad.json()["error"]["message"]


def test_the_directory_filters_by_where_each_opt_out_stands(site, engine) -> None:
    client, _, tokens, _ = site
    people = "email,name,department,country\n" + "".join(
        f"{who}@example.com,{who.title()},Ops,DE\n" for who in ("ann", "bob", "cat")
    )
    with session_scope(engine) as session:
        import_directory(session, data=people.encode(), source="d.csv", actor="t", now=NOW)
    approved_jobs(
        engine, emails=["ann@example.com", "bob@example.com"], policies={"p": "v"}, now=NOW
    )
    with session_scope(engine) as session:
        session.execute(
            update(Job)
            .where(
                col(Job.employee_id).in_(
                    select(Employee.id).where(Employee.email == "bob@example.com")
                )
            )
            .values(state=JobState.NEEDS_ACTION)
        )
    auditor = {"Authorization": f"Bearer {tokens['auditor']}"}

    def emails(progress: str) -> list[str]:
        answer = client.get("/api/employees", params={"progress": progress}, headers=auditor)
        assert answer.status_code == 200, answer.text
        return [item["email"] for item in answer.json()["items"]]

    assert emails("in_progress") == ["ann@example.com"]
    assert emails("needs_action") == ["bob@example.com"]
    assert emails("opted_out") == []
    assert (
        client.get("/api/employees", params={"progress": "nope"}, headers=auditor).status_code
        == 422
    )

    sign_in(client, "auditor")
    page = client.get("/admin/employees", params={"progress": "needs_action"})
    assert page.status_code == 200
    assert "bob@example.com" in page.text and "ann@example.com" not in page.text
    assert client.get("/admin/employees", params={"progress": ""}).status_code == 200


def _job_states(engine) -> list[str]:
    with session_scope(engine) as session:
        return sorted(session.exec(select(Job.state)).all())


def test_admins_pause_and_resume_a_campaign_through_the_api_and_the_page(site, engine) -> None:
    client, _, tokens, _ = site
    people = (
        "email,name,department,country\nann@example.com,Ann,Ops,DE\nbob@example.com,Bob,Ops,DE\n"
    )
    with session_scope(engine) as session:
        import_directory(session, data=people.encode(), source="d.csv", actor="t", now=NOW)
    approved_jobs(
        engine, emails=["ann@example.com", "bob@example.com"], policies={"p": "v"}, now=NOW
    )
    with session_scope(engine) as session:
        session.execute(update(Campaign).values(state=CampaignState.RUNNING))
        campaign_id = session.exec(select(Campaign.id)).one()
    operator = {"Authorization": f"Bearer {tokens['operator']}"}
    auditor = {"Authorization": f"Bearer {tokens['auditor']}"}

    assert client.post(f"/api/campaigns/{campaign_id}/pause", headers=auditor).status_code == 403
    assert _job_states(engine) == ["queued", "queued"]
    paused = client.post(f"/api/campaigns/{campaign_id}/pause", headers=operator)
    assert paused.status_code == 200, paused.text
    assert paused.json()["campaign"]["state"] == "paused"
    assert paused.json()["held"] == {"campaign_paused": 2}
    assert _job_states(engine) == ["scheduled", "scheduled"]
    again = client.post(f"/api/campaigns/{campaign_id}/pause", headers=operator)
    assert again.status_code == 409
    assert "only a running one pauses" in again.json()["error"]["message"]

    sign_in(client, "operator")
    page = client.get(f"/admin/campaigns/{campaign_id}")
    assert "Held while paused" in page.text and ">Resume</button>" in page.text
    assert ">Pause</button>" not in page.text
    resumed = client.post(
        f"/admin/campaigns/{campaign_id}/resume",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert resumed.status_code == 200  # followed the 303 back to the campaign's page
    assert ">Pause</button>" in resumed.text and "Held while paused" not in resumed.text
    assert _job_states(engine) == ["queued", "queued"]
    status = client.get(f"/api/campaigns/{campaign_id}", headers=auditor).json()
    assert status["campaign"]["state"] == "running" and status["held"] == {}

    cancelled = client.post(
        f"/api/campaigns/{campaign_id}/cancel", json={"reason": "wrong scope"}, headers=operator
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["campaign"]["state"] == "cancelled"
    assert _job_states(engine) == ["cancelled", "cancelled"]
    late = client.post(f"/api/campaigns/{campaign_id}/resume", headers=operator)
    assert late.status_code == 409


def test_a_reminder_cadence_too_long_to_mean_anything_is_refused_and_nothing_is_created(
    site,
) -> None:
    client, _, tokens, _ = site
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    body = {
        "name": "Never reminded",
        "policy_ids": ["linkedin-genai-training"],
        "scope": {"everyone": True},
    }
    for cadence in ("99999999999w", "999999999d"):
        refused = client.post(
            "/api/campaigns", json={**body, "remind_every": cadence}, headers=admin
        )
        assert refused.status_code == 400, refused.text
        assert (
            f"the duration '{cadence}' is longer than 36,525 days"
            in (refused.json()["error"]["message"])
        )
    assert client.get("/api/campaigns", headers=admin).json()["items"] == []
