"""The deployment playbooks, run for real: syntax, an installation on this machine, check mode.

`site.yml` installs into a scratch prefix with `optout_manage_system=false` (no apt, users,
PostgreSQL server or systemctl), once per module; the tests then look at what a person deploying
would check: the command runs, the secrets stayed out of the output, the units are valid, the API
unit's command serves, the schema is current, and a second run changes nothing.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from dotenv import dotenv_values

from tests.integration.conftest import free_port
from tests.support import REPO, process_env

pytestmark = pytest.mark.ansible

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
DEPLOY = REPO / "deploy" / "ansible"
PLAYBOOKS = sorted([*DEPLOY.glob("*.yml"), *(REPO / "playbooks").glob("*.yml")])
SECRET_KEY = "deploy-test-secret-" + "k" * 32
SMTP_PASSWORD = "smtp-password-from-a-file-7f3a"
LOCAL = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"


def ansible_playbook(
    playbook: Path, *args: str, inventory: Path, tmp: Path
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook as an operator runs it, with the secret in the controller's environment."""
    env = process_env(
        OPTOUT_SECRET_KEY=SECRET_KEY,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PIPELINING="1",
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        TMPDIR=str(tmp),
    )
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), str(playbook), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def recap(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The PLAY RECAP counts for localhost (ok, changed, failed, ...)."""
    line = next(line for line in result.stdout.splitlines() if line.startswith("localhost "))
    return {name: int(count) for name, count in re.findall(r"(\w+)=(\d+)", line)}


def succeeded(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and recap(result)["failed"] == 0


@dataclass
class Installation:
    root: Path
    prefix: Path
    inventory: Path
    extra_vars: list[str]
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]

    @property
    def venv(self) -> Path:
        return self.prefix / "opt/optout/venv"

    @property
    def env_file(self) -> Path:
        return self.prefix / "etc/optout/optout.env"

    @property
    def units(self) -> Path:
        return self.prefix / "etc/systemd/system"

    def environment(self) -> dict[str, str]:
        """What a unit's process gets: PATH plus the environment file, read as systemd does."""
        values = dotenv_values(self.env_file, interpolate=False)
        return {"PATH": os.environ["PATH"]} | {k: v for k, v in values.items() if v is not None}


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """site.yml run twice into a scratch prefix, on SQLite, with secrets from env and a file."""
    root = tmp_path_factory.mktemp("deploy")
    prefix = root / "prefix"
    secrets = root / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "smtp_password").write_text(SMTP_PASSWORD + "\n", encoding="utf-8")
    inventory = root / "inventory.ini"
    inventory.write_text(
        f"[optout]\n{LOCAL}[optout_fleet]\nlocalhost\n",
        encoding="utf-8",
    )
    extra_vars = [
        f"optout_prefix={prefix}",
        "optout_manage_system=false",
        f"optout_secrets_dir={secrets}",
        f"optout_api_port={free_port()}",
        # The test's only shortcut: no .pyc compilation of ~90 dependencies on 2 busy cores.
        "optout_pip_extra_args=--no-compile",
    ]
    args = [arg for value in extra_vars for arg in ("-e", value)]
    first = ansible_playbook(DEPLOY / "site.yml", *args, inventory=inventory, tmp=root)
    assert succeeded(first), first.stdout[-4000:] + first.stderr[-2000:]
    second = ansible_playbook(DEPLOY / "site.yml", *args, inventory=inventory, tmp=root)
    assert succeeded(second), second.stdout[-4000:] + second.stderr[-2000:]
    return Installation(root, prefix, inventory, args, first, second)


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda path: path.name)
def test_every_playbook_passes_the_syntax_check(playbook: Path) -> None:
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, "--syntax-check", "-i", "localhost,", str(playbook)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_command_runs_on_a_migrated_database(installation: Installation) -> None:
    help_text = subprocess.run(
        [installation.venv / "bin/optout", "--help"], capture_output=True, text=True, check=False
    )
    assert help_text.returncode == 0
    assert "serve" in help_text.stdout
    status = subprocess.run(
        [installation.venv / "bin/optout", "db", "status"],
        capture_output=True,
        text=True,
        env=installation.environment(),
        cwd=installation.prefix,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert "up to date" in status.stdout
    assert (installation.prefix / "var/lib/optout/optout.db").is_file()
    assert (installation.prefix / "opt/optout/policies/linkedin-genai-training.yml").is_file()
    assert (installation.prefix / "opt/optout/playbooks/optout.yml").is_file()


def test_the_environment_file_holds_the_secrets_and_the_output_does_not(
    installation: Installation,
) -> None:
    assert installation.env_file.stat().st_mode & 0o777 == 0o640
    assert (installation.prefix / "var/lib/optout/evidence").stat().st_mode & 0o777 == 0o750
    values = dotenv_values(installation.env_file, interpolate=False)
    assert values["OPTOUT_SECRET_KEY"] == SECRET_KEY
    assert values["OPTOUT_SMTP_PASSWORD"] == SMTP_PASSWORD
    assert values["OPTOUT_ENVIRONMENT"] == "production"
    for run in (installation.first, installation.second):
        output = run.stdout + run.stderr
        assert SECRET_KEY not in output
        assert SMTP_PASSWORD not in output


def test_a_second_run_changes_nothing(installation: Installation) -> None:
    assert recap(installation.first)["changed"] > 0
    assert recap(installation.second)["changed"] == 0, installation.second.stdout[-4000:]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_rendered_units_pass_systemd_analyze_verify(installation: Installation) -> None:
    units = [installation.units / name for name in ("optout-api.service", "optout-worker@.service")]
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(installation.env_file) in units[0].read_text(encoding="utf-8")


def test_the_api_unit_command_serves_the_app(installation: Installation) -> None:
    unit = (installation.units / "optout-api.service").read_text(encoding="utf-8")
    command = shlex.split(re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE)[1])
    assert command[command.index("--workers") + 1] == "2"
    port = command[command.index("--port") + 1]
    server = subprocess.Popen(
        command,
        env=installation.environment(),
        cwd=installation.prefix / "var/lib/optout",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the API did not answer within 90 s"
                time.sleep(0.5)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_the_fleet_host_playbook_prepares_the_same_virtualenv(installation: Installation) -> None:
    result = ansible_playbook(
        DEPLOY / "fleet-host.yml",
        *installation.extra_vars,
        inventory=installation.inventory,
        tmp=installation.root,
    )
    assert succeeded(result), result.stdout[-4000:]
    assert recap(result)["changed"] == 0  # the same release, already in place
    assert "Check that the engine can start here" in result.stdout


def test_a_wrongly_typed_variable_is_refused_by_name(installation: Installation) -> None:
    result = ansible_playbook(
        DEPLOY / "site.yml",
        *installation.extra_vars,
        "-e",
        "optout_workers=many",
        inventory=installation.inventory,
        tmp=installation.root,
    )
    assert result.returncode != 0
    assert "optout_workers" in result.stdout + result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="check mode of a managed system needs root")
def test_check_mode_with_a_managed_system_changes_nothing(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"[optout]\n{LOCAL}", encoding="utf-8")
    prefix = tmp_path / "prefix"
    user_existed = _user_exists("optout")
    result = ansible_playbook(
        DEPLOY / "site.yml",
        "--check",
        "--diff",
        "-e",
        f"optout_prefix={prefix}",
        "-e",
        "optout_manage_system=true",
        "-e",
        "ansible_become_method=su",  # no sudo on this machine; root can su
        inventory=inventory,
        tmp=tmp_path,
    )
    assert succeeded(result), result.stdout[-4000:] + result.stderr[-2000:]
    assert recap(result)["changed"] > 0  # it says what it would do ...
    assert not prefix.exists()  # ... and does none of it
    assert _user_exists("optout") == user_existed
    assert SECRET_KEY not in result.stdout + result.stderr


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
