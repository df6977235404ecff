"""The installation's Ed25519 key that signs evidence bundles, kept in the data directory.

Generated on first use (0600, written to a private temporary file and linked into place, so two
processes starting at once agree on one key). Auditors pin the public key: `optout bundle
public-key` prints it, and `optout bundle verify --public-key` checks a bundle against it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from orchestrator.core.errors import ConfigurationError, OrchestratorError
from orchestrator.core.settings import Settings

SIGNING_KEY_FILE = "bundle-signing.key"


class PublicKeyError(OrchestratorError):
    """A public key that cannot be read as an Ed25519 PEM key."""


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The installation's signing key, generated once."""
    directory = settings.ensure_data_dir()
    path = directory / SIGNING_KEY_FILE
    if not path.exists():
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".signing-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(
                    Ed25519PrivateKey.generate().private_bytes(
                        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
                    )
                )
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} does not hold an Ed25519 private key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The public half as PEM, the form auditors keep."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def read_public_key(data: bytes, *, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; PublicKeyError naming `where` otherwise."""
    try:
        key = load_pem_public_key(data)
    except ValueError as exc:
        raise PublicKeyError(f"{where} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise PublicKeyError(f"{where} is not an Ed25519 public key")
    return key


def signature_valid(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether `signature` is the key's signature of `data`."""
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def read_key_file(path: Path) -> Ed25519PublicKey:
    """An auditor's pinned public key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PublicKeyError(f"cannot read the public key {path}: {exc.strerror}") from exc
    return read_public_key(data, where=str(path))
