"""Installation settings: defaults, the generated secret, and refusals with clear reasons."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestrator.core.db import make_engine
from orchestrator.core.durations import LONGEST, DurationError, parse_duration
from orchestrator.core.errors import ConfigurationError
from orchestrator.core.settings import Settings


def test_defaults_put_everything_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'optout.db'}"
    assert settings.resolved_evidence_dir == tmp_path / "data" / "evidence"


def test_environment_variables_configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTOUT_DATABASE_URL", "postgresql://db.example/optout")
    monkeypatch.setenv("OPTOUT_PUBLIC_BASE_URL", "https://optout.example.com/")
    monkeypatch.setenv("OPTOUT_SMTP_PORT", "587")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_database_url == "postgresql://db.example/optout"
    assert settings.public_base_url == "https://optout.example.com"
    assert settings.smtp_port == 587


def test_secret_is_generated_once_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    with ThreadPoolExecutor(max_workers=8) as pool:
        secrets = set(pool.map(lambda _: settings.secret(), range(16)))
    assert len(secrets) == 1
    secret = secrets.pop()
    assert len(secret) >= 48
    path = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "data", _env_file=None).secret() == secret  # type: ignore[call-arg]
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary files left


def test_a_short_configured_secret_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="short", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        settings.secret()


BAD_WEB_ADDRESSES = [
    ("hooks.example.com/optout", "must be an http:// or https:// URL"),
    ("file:///etc/passwd", "must be an http:// or https:// URL"),
    ("http://[::1", "is not a valid URL: Invalid port"),
    ("https://", "names no host"),
    ("https://hooks.example.com:99999/optout", r"port 99999 is out of range \(1-65535\)"),
    ("http://hooks.example.com:0/", "port 0 is out of range"),
]


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        (variable, value, reason)
        for variable in ("OPTOUT_WEBHOOK_URL", "OPTOUT_PUBLIC_BASE_URL", "OPTOUT_REPLICA_URL")
        for value, reason in BAD_WEB_ADDRESSES
    ]
    + [
        ("OPTOUT_REVERIFY_AFTER_DAYS", "99999999999", "less than or equal to 36525"),
        ("OPTOUT_REVERIFY_AFTER_DAYS", "999999999", "less than or equal to 36525"),
        ("OPTOUT_EVIDENCE_RETENTION_DAYS", "99999999999", "less than or equal to 36525"),
        ("OPTOUT_ADMIN_IDLE_MINUTES", "99999999999", "less than or equal to 43200"),
        ("OPTOUT_POLICY_PAUSE_AFTER_FAILURES", "99999999999", "less than or equal to 1000"),
        ("OPTOUT_PACE_PER_MINUTE", "inf", "finite number"),
        ("OPTOUT_PACE_PER_MINUTE", "1e9", "less than or equal to 600"),
    ],
)
def test_settings_no_request_or_date_could_use_are_refused_when_read(
    variable: str, value: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused at start-up with the variable's name, not by the first use. Before, a webhook
    of `http://[::1` stopped the worker at its first event, and a re-check age of 999999999
    days stopped every worker pass with an OverflowError."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=reason) as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert [error["loc"] for error in refused.value.errors()] == [
        (variable.removeprefix("OPTOUT_").lower(),)
    ]


def test_web_addresses_that_requests_can_use_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTOUT_WEBHOOK_URL", "https://hooks.example.com:8443/optout?team=it")
    monkeypatch.setenv("OPTOUT_REPLICA_URL", "http://[::1]:8100/")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.webhook_url == "https://hooks.example.com:8443/optout?team=it"
    assert settings.replica_url == "http://[::1]:8100"


@pytest.mark.parametrize("url", ["mysql://localhost/x", "not a url", "oracle+cx://x"])
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must start with sqlite"):
        make_engine(url)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        (" 0s ", timedelta(0)),
        ("15M", timedelta(minutes=15)),
        ("3w", timedelta(weeks=3)),
        ("36525d", LONGEST),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["30", "5y", "-1d", "d", "1.5d", "3 days"])
def test_unreadable_durations_say_how_to_write_them(text: str) -> None:
    with pytest.raises(
        DurationError,
        match="weeks, days, hours, minutes or seconds such as 2w, 30d, 12h, 15m or 30s",
    ):
        parse_duration(text)


@pytest.mark.parametrize("text", ["36526d", "5218w", "99999999999999999999s", "999999999d"])
def test_durations_over_a_century_are_refused_before_any_date_overflows(text: str) -> None:
    with pytest.raises(DurationError, match="a century at most"):
        parse_duration(text)
