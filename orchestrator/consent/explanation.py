"""The exact text an employee decides on, rendered deterministically so its hash proves it.

The consent page shows `Explanation.html` verbatim, and the decision records its SHA-256: the
same employee, policies (by version) and deadline always render the same bytes, so an auditor
can re-render a consent's text from the policy files and check it against the recorded hash.
Emails say the same things from the same `items`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from orchestrator.core.clock import as_utc
from orchestrator.policies import LoadedPolicy

TEMPLATES_DIR = Path(__file__).parent / "templates"

EVIDENCE_LABELS = {
    "screenshot_before": "a screenshot of the page before the change",
    "screenshot_after": "a screenshot of the page after it",
    "control_state": "the setting's checked state (on or off)",
    "confirmation": "the confirmation the platform shows (such as a case number)",
    "final_url": "the address of the last page opened",
}
PLATFORM_NAMES = {"linkedin": "LinkedIn", "x": "X", "chatgpt": "ChatGPT"}


@dataclass(frozen=True)
class EmployeeFacts:
    """What the text says about the person: who, which accounts, where their browser runs."""

    name: str
    email: str
    accounts: Mapping[str, str]
    fleet_host: str | None


@dataclass(frozen=True)
class PolicyItem:
    """One opt-out as the employee reads it."""

    policy_id: str
    version: str
    title: str
    description: str
    platform_name: str
    account: str
    how: str
    evidence: tuple[str, ...]
    residual_risk: str


@dataclass(frozen=True)
class Explanation:
    """The rendered request, its SHA-256, and the items and policy versions it covers."""

    html: str
    sha256: str
    items: tuple[PolicyItem, ...]

    @property
    def versions(self) -> dict[str, str]:
        """Policy id → version of every policy the text describes."""
        return {item.policy_id: item.version for item in self.items}

    def item_contexts(self) -> list[dict[str, Any]]:
        """The items as plain data for email templates."""
        return [asdict(item) for item in self.items]


def platform_name(platform: str) -> str:
    """How people write a platform's name (`linkedin` → LinkedIn)."""
    return PLATFORM_NAMES.get(platform, platform.replace("-", " ").title())


def format_time(value: datetime) -> str:
    """A time as people read it, always in UTC: `Thursday 3 December 2026, 17:00 UTC`."""
    moment = as_utc(value)
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} UTC"


def policy_item(policy: LoadedPolicy, employee: EmployeeFacts) -> PolicyItem:
    """How one policy reads for one employee."""
    name = platform_name(policy.policy.platform)
    identifier = employee.accounts.get(policy.policy.platform)
    account = (
        f"your {name} account {identifier}"
        if identifier
        else f"the {name} account signed in in your work browser profile"
    )
    where = f" on {employee.fleet_host}" if employee.fleet_host else ""
    how = (
        f"An automated browser opens {name} in the session you already have{where}, does only "
        f"this and checks the result. It never asks for or sees your password."
    )
    return PolicyItem(
        policy_id=policy.policy.id,
        version=policy.version,
        title=policy.policy.title,
        description=" ".join(policy.policy.description.split()),
        platform_name=name,
        account=account,
        how=how,
        evidence=tuple(EVIDENCE_LABELS.get(kind, kind) for kind in policy.policy.evidence),
        residual_risk=" ".join(policy.policy.residual_risk.split()),
    )


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def explain(
    *,
    employee: EmployeeFacts,
    policies: Sequence[LoadedPolicy],
    respond_by: datetime,
    contact_email: str,
    retention_days: int,
) -> Explanation:
    """Render the request for `employee` covering `policies` (in id order)."""
    items = tuple(
        policy_item(policy, employee) for policy in sorted(policies, key=lambda p: p.policy.id)
    )
    html = (
        _environment()
        .get_template("explanation.html")
        .render(
            employee=employee,
            items=items,
            respond_by=format_time(respond_by),
            contact_email=contact_email,
            retention_days=retention_days,
        )
    )
    return Explanation(
        html=html, sha256=hashlib.sha256(html.encode("utf-8")).hexdigest(), items=items
    )
