"""Secrets stored encrypted: AES-GCM under a key derived from SECRET_KEY by HMAC-SHA256.

Outside any domain package so that `services` can hold one box per process (webhook
signing secrets today) without importing a domain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


class SecretBox:
    """Seals and opens secrets with a key derived from SECRET_KEY under `label`."""

    __slots__ = ("_aead",)

    def __init__(self, secret_key: bytes, *, label: bytes) -> None:
        self._aead = AESGCM(hmac.new(secret_key, label, hashlib.sha256).digest())

    def seal(self, secret: str, *, webhook_id: str) -> str:
        """The stored form of `secret` for the webhook `webhook_id`."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, secret.encode(), webhook_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, *, webhook_id: str) -> str:
        """The secret sealed in `stored` (raises `cryptography`'s InvalidTag if not ours)."""
        raw = base64.b64decode(stored)
        return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], webhook_id.encode()).decode()
