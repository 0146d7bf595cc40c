"""Encryption at rest for workspace secrets (AES-256-GCM, key derived from settings)."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from stepwell_settings import DEVELOPMENT_SECRET_KEY, Settings

_VERSION = b"\x01"


class InsecureSecretKey(RuntimeError):
    """The default secret key outside development mode, or a key too short to be one."""


class DecryptionError(ValueError):
    """Ciphertext that this key did not produce (wrong key, or tampered with)."""


class SecretBox:
    """Seals values bound to a context (workspace and name), so rows can't be swapped."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"stepwell-secrets", info=b"aes-gcm-v1"
        ).derive(secret_key.encode())
        self._aead = AESGCM(derived)

    def seal(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        if len(sealed) < 13 or sealed[:1] != _VERSION:
            raise DecryptionError("not a sealed value")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], context.encode()).decode()
        except InvalidTag:
            raise DecryptionError("wrong secret key, or the value was tampered with") from None


def secret_box(settings: Settings) -> SecretBox:
    """The box for these settings; refuses the default key outside development mode."""
    if settings.mode != "development":
        if settings.secret_key == DEVELOPMENT_SECRET_KEY:
            raise InsecureSecretKey(
                "STEPWELL_SECRET_KEY is the development default; set a random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if len(settings.secret_key) < 32:
            raise InsecureSecretKey("STEPWELL_SECRET_KEY must be at least 32 characters")
    return SecretBox(settings.secret_key)
