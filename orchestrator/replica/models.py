"""The replica's vocabulary (platforms, behaviours, settings) and its control API's JSON shapes.

Defined once here so the server, `ReplicaClient` and the tests agree on every field.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PASSWORD = "replica-password"  # noqa: S105 - made-up replica accounts only


class Platform(StrEnum):
    """A site the replica stands in for; the value is its path prefix."""

    LINKEDIN = "linkedin"
    X = "x"
    CHATGPT = "chatgpt"


# What each prefix stands for: the engine rewrites these origins to `<replica>/<prefix>`.
REAL_ORIGINS: dict[str, str] = {
    "https://www.linkedin.com": Platform.LINKEDIN.value,
    "https://x.com": Platform.X.value,
    "https://chatgpt.com": Platform.CHATGPT.value,
}


class Behaviour(StrEnum):
    """A way one seeded account departs from the happy path; behaviours combine."""

    ALREADY_OPTED_OUT = "already_opted_out"
    SIGNED_OUT = "signed_out"
    CHECKPOINT = "checkpoint"
    SLOW_SAVE = "slow_save"
    SAVE_FAILS_ONCE = "save_fails_once"
    LABEL_VARIANT = "label_variant"
    LAYOUT_VARIANT = "layout_variant"
    SETTING_ABSENT = "setting_absent"
    RATE_LIMITED_ONCE = "rate_limited_once"
    COOKIE_BANNER = "cookie_banner"
    FORM_FAILS_ONCE = "form_fails_once"


_EVERY_PLATFORM = frozenset(
    {
        Behaviour.ALREADY_OPTED_OUT,
        Behaviour.SIGNED_OUT,
        Behaviour.SLOW_SAVE,
        Behaviour.SAVE_FAILS_ONCE,
        Behaviour.SETTING_ABSENT,
        Behaviour.RATE_LIMITED_ONCE,
    }
)

# Only what the replica models for that site: seeding anything else is refused rather than
# silently ignored, so a benchmark matrix cannot claim coverage it does not have.
SUPPORTED_BEHAVIOURS: dict[Platform, frozenset[Behaviour]] = {
    Platform.LINKEDIN: _EVERY_PLATFORM
    | {
        Behaviour.CHECKPOINT,
        Behaviour.LABEL_VARIANT,
        Behaviour.LAYOUT_VARIANT,
        Behaviour.COOKIE_BANNER,
        Behaviour.FORM_FAILS_ONCE,
    },
    Platform.X: _EVERY_PLATFORM | {Behaviour.LABEL_VARIANT},
    Platform.CHATGPT: _EVERY_PLATFORM | {Behaviour.LAYOUT_VARIANT},
}

# The setting each platform's opt-out is about (the key in `AccountState.toggles`).
TRAINING_SETTING: dict[Platform, str] = {
    Platform.LINKEDIN: "data_for_ai_improvement",
    Platform.X: "grok_training",
    Platform.CHATGPT: "improve_model_for_everyone",
}

# Every toggle a platform's pages can save, with its default for a new member.
DEFAULT_TOGGLES: dict[Platform, dict[str, bool]] = {
    Platform.LINKEDIN: {"data_for_ai_improvement": True},
    Platform.X: {
        "grok_training": True,
        "grok_personalization": True,
        "grok_conversation_history": True,
    },
    Platform.CHATGPT: {"improve_model_for_everyone": True},
}


class AccountSeed(BaseModel):
    """A member account to create (or replace) in the replica."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform
    # One URL path segment of the control API, so no slashes.
    account_id: str = Field(min_length=1, max_length=200, pattern=r"^[\w.@+-]+$")
    email: str = Field(min_length=3, max_length=320)
    password: str = DEFAULT_PASSWORD
    behaviours: list[Behaviour] = Field(default_factory=list)
    training_enabled: bool | None = Field(
        default=None,
        description="Initial value of the training toggle; default on, off when already_opted_out.",
    )


class Drift(BaseModel):
    """A setting the platform switches by itself."""

    model_config = ConfigDict(extra="forbid")

    setting: str
    enabled: bool = True


class SeededAccount(BaseModel):
    """What a test needs to act as the seeded member: the session cookie."""

    platform: Platform
    account_id: str
    cookie_name: str
    cookie_path: str
    session: str


class ObjectionSubmission(BaseModel):
    """One accepted TS-DPRO objection, as LinkedIn's help desk would hold it."""

    case_number: str
    request_type: str
    purpose: str
    explanation: str
    email: str
    submitted_at: datetime


class ArchiveRequest(BaseModel):
    """One "Request archive" on the data-copy page."""

    scope: Literal["full", "selected"]
    files: list[str]
    requested_at: datetime


class PageVisit(BaseModel):
    """A request for a page the engine must never open."""

    path: str
    at: datetime


class LoggedRequest(BaseModel):
    """One request the member's browser made, attributed by its session cookie."""

    method: str
    path: str
    status: int
    at: datetime


class AccountState(BaseModel):
    """Everything the replica holds about one account: what tests assert against."""

    platform: Platform
    account_id: str
    email: str
    behaviours: list[Behaviour]
    toggles: dict[str, bool]
    toggle_changes: dict[str, int]
    failed_saves: int
    checkpoint_pending: bool
    cookie_consent: Literal["accepted", "rejected"] | None
    objection_posts: int
    objection_submissions: list[ObjectionSubmission]
    archive_requests: list[ArchiveRequest]
    deny_listed_visits: list[PageVisit]
    requests: list[LoggedRequest]


class StorageCookie(BaseModel):
    """A cookie in the shape Playwright's `storage_state` expects."""

    name: str
    value: str
    domain: str
    path: str
    expires: float = -1
    httpOnly: bool = True  # noqa: N815 - Playwright's field name
    secure: bool = False
    sameSite: Literal["Lax", "Strict", "None"] = "Lax"  # noqa: N815 - Playwright's field name


class StorageState(BaseModel):
    """A Playwright `storage_state` holding one member's session."""

    cookies: list[StorageCookie]
    origins: list[dict[str, object]] = Field(default_factory=list)
