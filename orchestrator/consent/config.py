"""What the consent operations need from the installation, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.consent.links import LinkSigner
from orchestrator.core.settings import Settings
from orchestrator.policies import PolicySet, load_policies


@dataclass(frozen=True)
class ConsentConfig:
    """The policies, the link signer and the facts every request states."""

    policies: PolicySet
    signer: LinkSigner
    public_base_url: str
    contact_email: str
    evidence_retention_days: int

    @classmethod
    def from_settings(
        cls, settings: Settings, *, policies: PolicySet | None = None
    ) -> ConsentConfig:
        """Built from the settings; loads the policies from `policies_dir` unless given."""
        return cls(
            policies=policies if policies is not None else load_policies(settings.policies_dir),
            signer=LinkSigner(settings.secret()),
            public_base_url=settings.public_base_url,
            contact_email=settings.contact_email,
            evidence_retention_days=settings.evidence_retention_days,
        )

    def decide_url(self, token: str) -> str:
        """Where a decide link points: the page with Approve and Decline."""
        return f"{self.public_base_url}/consent/{token}"

    def revoke_url(self, token: str) -> str:
        """Where a withdraw link points."""
        return f"{self.public_base_url}/consent/withdraw/{token}"
