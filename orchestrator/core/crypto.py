"""Encryption at rest for secrets the installation keeps (employees' browser sessions).

Keys are derived from the installation secret with HKDF, one per purpose, so a key for one
kind of secret never decrypts another. Fernet (AES-CBC + HMAC-SHA256) authenticates every
token: a changed byte fails to decrypt instead of yielding garbage.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from orchestrator.core.errors import OrchestratorError


class DecryptionError(OrchestratorError):
    """The ciphertext was altered, or was made with another installation secret."""


class SecretBox:
    """Encrypts and decrypts bytes under a key derived from the secret for one `purpose`."""

    def __init__(self, secret: str, *, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode("utf-8")
        ).derive(secret.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._purpose = purpose

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise DecryptionError(
                f"a stored {self._purpose} cannot be decrypted: it was altered, or encrypted "
                "with another installation secret"
            ) from exc
