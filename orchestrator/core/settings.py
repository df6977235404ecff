"""Installation settings, read from `OPTOUT_*` environment variables or a `.env` file.

Built once by the process entry point (`Settings()`) and passed down; tests build their own.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Literal

import httpx
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestrator.core.durations import LONGEST
from orchestrator.core.errors import ConfigurationError

SECRET_FILE_NAME = "secret.key"  # noqa: S105 (a file name, not a secret)


class Settings(BaseSettings):
    """What an installation can configure; the defaults give the embedded single-machine set-up."""

    model_config = SettingsConfigDict(
        env_prefix="OPTOUT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(
        default=Path("var"), description="Where the SQLite file, evidence and keys live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data directory."
    )
    evidence_dir: Path | None = Field(
        default=None, description="Evidence store; default: `evidence/` in the data directory."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs links and sessions; generated into the data directory when not given.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where employees reach the consent pages."
    )
    policies_dir: Path = Field(
        default=Path("policies"), description="Directory of the policy files (*.yml)."
    )
    playbooks_dir: Path = Field(
        default=Path("playbooks"), description="Directory of the Ansible playbooks workers run."
    )
    replica_url: str | None = Field(
        default=None,
        description="Run every policy against the replica at this URL instead of the real sites.",
    )
    evidence_retention_days: int = Field(
        default=400,
        ge=1,
        le=LONGEST.days,
        description="How long evidence is kept before it may be purged (at most a century).",
    )
    pace_per_minute: float = Field(
        default=6,
        ge=0,
        le=600,
        allow_inf_nan=False,
        description="Opt-outs started per platform per minute by one worker's run, jittered "
        "(0: no pacing, e.g. against the replica; at most 600).",
    )
    reverify_after_days: int = Field(
        default=30,
        ge=1,
        le=LONGEST.days,
        description="Re-check compliant accounts this long after the proof (at most a century).",
    )
    policy_pause_after_failures: int = Field(
        default=5, ge=2, le=1000, description="Identical failures in a row that pause a policy."
    )
    webhook_url: str | None = Field(
        default=None, description="Job events are POSTed here as signed JSON (none: off)."
    )
    admin_email: str | None = Field(
        default=None, description="Where the worker reports paused policies (none: log only)."
    )
    contact_email: str = Field(
        default="it-privacy@example.com",
        description="Who employees can ask about an opt-out; named in every email.",
    )
    admin_session_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="An admin's sign-in lasts at most this long."
    )
    admin_idle_minutes: int = Field(
        default=60,
        ge=5,
        le=60 * 24 * 30,
        description="An admin's sign-in ends after this long without a request (at most 30 days).",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "Opt-out orchestrator <optout@localhost>"

    @field_validator("webhook_url", "public_base_url", "replica_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        """Refused here, with the reason, rather than by the first request that uses it."""
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"is not a valid URL: {exc}") from None
        if not url.host:
            raise ValueError("names no host")
        if url.port is not None and not 1 <= url.port <= 65535:
            raise ValueError(f"port {url.port} is out of range (1-65535)")
        return value

    @field_validator("public_base_url", "replica_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        return None if value is None else value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        """The database URL to connect to, defaulting to the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'optout.db').resolve()}"

    @property
    def resolved_evidence_dir(self) -> Path:
        """The evidence store's root directory."""
        return self.evidence_dir or self.data_dir / "evidence"

    def ensure_data_dir(self) -> Path:
        """Create the data directory (owner-only) if it is missing, and return it."""
        try:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the data directory {self.data_dir}: {exc.strerror}"
            ) from exc
        return self.data_dir

    def secret(self) -> str:
        """The installation secret: the configured one, or one generated once and kept 0600."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < 32:
                raise ConfigurationError("OPTOUT_SECRET_KEY must be at least 32 characters long")
            return value
        path = self.ensure_data_dir() / SECRET_FILE_NAME
        if not path.exists():
            # Write a private temporary file, then link it into place: two processes starting at
            # once agree on one secret and nobody ever reads a half-written file.
            descriptor, temporary = tempfile.mkstemp(dir=self.data_dir, prefix=".secret-")
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(secrets.token_urlsafe(48))
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(temporary)
        return path.read_text(encoding="utf-8").strip()
