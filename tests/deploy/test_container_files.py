"""The container files, checked as far as this machine can without a container engine."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.support import REPO, optout

CONTAINER = REPO / "deploy" / "container"


def _compose() -> dict:
    return yaml.safe_load((CONTAINER / "compose.yaml").read_text(encoding="utf-8"))


def _containerfile() -> str:
    return (CONTAINER / "Containerfile").read_text(encoding="utf-8")


def test_compose_has_the_services_a_trial_needs() -> None:
    services = _compose()["services"]
    assert {"api", "worker", "postgres", "mailpit", "replica", "migrate"} <= set(services)
    assert "postgres" in _compose()["volumes"]
    # A worker can be scaled: nothing that would clash between two copies.
    assert "ports" not in services["worker"] and "container_name" not in services["worker"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


@pytest.mark.parametrize("service", ["migrate", "api", "worker", "replica"])
def test_compose_commands_exist(service: str, tmp_path: Path) -> None:
    command = _compose()["services"][service]["command"]
    assert command[0] == "optout"
    words = [word for word in command[1:] if not word.startswith("-")]
    words = [word for word in words if not re.fullmatch(r"[\d.]+", word)]  # option values
    result = optout({"PATH": "/usr/bin:/bin"}, *words, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_containerfile_serves_the_app_as_a_non_root_user_with_a_healthcheck() -> None:
    text = _containerfile()
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", text, re.MULTILINE)  # Debian slim
    assert re.search(r"^USER optout$", text, re.MULTILINE)
    assert "/healthz" in re.search(r"^HEALTHCHECK .*(?:\n .*)*", text, re.MULTILINE)[0]
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)[1]
    assert yaml.safe_load(cmd)[:2] == ["optout", "serve"]  # a command the api service checks


def test_containerfile_copies_only_what_exists() -> None:
    for line in _containerfile().splitlines():
        if line.startswith("COPY") and "--from=" not in line:
            *sources, _destination = shlex.split(line)[1:]
            for source in sources:
                assert (REPO / source).exists(), f"{line!r}: {source} is not in the repository"
