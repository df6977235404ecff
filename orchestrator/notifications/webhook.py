"""Posting job events as JSON to the installation's webhook, signed with its secret.

Each body is signed with HMAC-SHA256 under the installation secret (header
`X-Optout-Signature: sha256=<hex>`), so a receiver can tell our events from forgeries. A
receiver that is down or slow delays nothing but its own event: the failure is returned to the
caller, which records it in the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Optout-Signature"
TIMEOUT_SECONDS = 5.0


def sign(body: bytes, *, secret: str) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post_event(url: str, event: dict[str, Any], *, secret: str) -> str | None:
    """POST one event; None when the receiver accepted it (2xx), else why it did not."""
    body = json.dumps(event, separators=(",", ":"), default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret=secret)}
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.is_success:
        return None
    return f"HTTP {response.status_code}"
