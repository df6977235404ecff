"""`optout admin` as an admin runs it: accounts and API tokens, and clear refusals."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support import optout, process_env, sign_in, web_app


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return process_env(
        OPTOUT_DATA_DIR=str(tmp_path / "data"), OPTOUT_DATABASE_URL=database_url, COLUMNS="200"
    )


def test_accounts_and_tokens_from_creation_to_revocation(
    cli_env, tmp_path: Path, engine, live_server
) -> None:
    def run(*args: str):
        return optout(cli_env, "admin", *args, cwd=tmp_path)

    app, _ = web_app(engine, data_dir=tmp_path / "web", now=None)
    server = live_server(lambda _: app)
    web = httpx.Client(base_url=server.url, timeout=30)
    password = tmp_path / "password.txt"
    password.write_text("a long enough passphrase for tests\n")

    created = run("create", "ada", "--role", "auditor", "--password-file", str(password))
    assert created.returncode == 0, created.stderr
    assert "Created ada (auditor)." in created.stdout
    generated = run("create", "bob", "--role", "operator")  # no terminal: a password is made
    assert generated.returncode == 0, generated.stderr
    shown = re.search(r"Password \(shown once, write it down\): (\S+)", generated.stdout)
    assert shown is not None, generated.stdout
    again = run("create", "ada", "--role", "admin", "--password-file", str(password))
    assert again.returncode != 0
    assert "ada" in again.stderr

    listed = run("list")
    assert re.search(r"ada\s+│?\s*auditor\s+│?\s*yes", listed.stdout), listed.stdout
    assert re.search(r"bob\s+│?\s*operator\s+│?\s*yes", listed.stdout), listed.stdout
    assert sign_in(web, "bob", password=shown.group(1)).status_code == 303
    assert web.get("/admin", follow_redirects=False).status_code == 200
    assert run("disable", "bob").stdout.startswith("Disabled bob.")
    assert web.get("/admin", follow_redirects=False).status_code == 303  # signed out at once
    assert sign_in(web, "bob", password=shown.group(1)).status_code == 401

    made = run("token", "create", "ci-reports", "--role", "auditor", "--expires", "30d")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1].strip()
    auth = {"Authorization": f"Bearer {token}"}
    assert web.get("/api/audit/verify", headers=auth).status_code == 200
    revoked = run("token", "revoke", "ci-reports")
    assert revoked.returncode == 0
    assert "Revoked ci-reports." in revoked.stdout
    assert web.get("/api/audit/verify", headers=auth).status_code == 401
    web.close()
