"""Signed, expiring, single-purpose link tokens.

A token is an itsdangerous URL-safe signature (HMAC-SHA1 over a key derived from the
installation secret) of the consent id, a random nonce and the expiry, salted with its purpose:
a withdraw token never verifies as a decide token. The database keeps only each token's SHA-256,
so a copy of the database alone neither reveals a link nor forges one, and single use, expiry
and withdrawal are decided by the stored row, not by the token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadData, URLSafeTimedSerializer

from orchestrator.consent.errors import InvalidLinkError
from orchestrator.consent.models import LinkPurpose

MAX_TOKEN_LENGTH = 400  # ours are about 120 characters; anything far longer is not ours


@dataclass(frozen=True)
class LinkClaims:
    """What a verified token says: which consent, for what, and until when."""

    consent_id: int
    purpose: LinkPurpose
    expires_at: datetime | None


class LinkSigner:
    """Issues and verifies link tokens with the installation secret."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret)

    def issue(self, *, consent_id: int, purpose: LinkPurpose, expires_at: datetime | None) -> str:
        """A new token for `purpose` on a consent (a fresh nonce makes every token unique)."""
        payload = {
            "c": consent_id,
            "n": secrets.token_urlsafe(12),
            "e": int(expires_at.timestamp()) if expires_at is not None else None,
        }
        return str(self._serializer.dumps(payload, salt=_salt(purpose)))

    def read(self, token: str, *, purpose: LinkPurpose) -> LinkClaims:
        """The claims of a genuine token for `purpose`; InvalidLinkError for anything else."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidLinkError("this link is not complete or not one of ours")
        try:
            payload = self._serializer.loads(token, salt=_salt(purpose))
        except BadData as exc:
            raise InvalidLinkError("this link is not complete or not one of ours") from exc
        if not (
            isinstance(payload, dict)
            and isinstance(payload.get("c"), int)
            and isinstance(payload.get("e"), int | None)
        ):
            raise InvalidLinkError("this link is not complete or not one of ours")
        expiry = payload["e"]
        return LinkClaims(
            consent_id=payload["c"],
            purpose=purpose,
            expires_at=datetime.fromtimestamp(expiry, UTC) if expiry is not None else None,
        )


def token_sha256(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _salt(purpose: LinkPurpose) -> str:
    return f"optout.consent-link.{purpose.value}"
