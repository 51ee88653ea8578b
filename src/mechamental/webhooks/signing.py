"""Signing secrets: made in the Standard Webhooks form, stored encrypted, used to sign.

A secret is `whsec_` + base64 of 32 random bytes (what the `standardwebhooks` verifier
takes). The table holds it sealed with AES-GCM under a key derived from SECRET_KEY by
HMAC-SHA256 with a label of its own, so a database dump alone cannot sign; the webhook's
id is the associated data, so a sealed secret copied onto another row does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets as _random

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "whsec_"
_LABEL = b"mechamental.webhooks.secret.v1"
_NONCE = 12


def new_secret() -> str:
    """A fresh signing secret, as shown once to the caller."""
    return PREFIX + base64.b64encode(_random.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for."""
    return base64.b64decode(secret.removeprefix(PREFIX))


class SecretBox:
    """Seals and opens signing secrets with a key derived from SECRET_KEY."""

    __slots__ = ("_aead",)

    def __init__(self, secret_key: bytes) -> None:
        self._aead = AESGCM(hmac.new(secret_key, _LABEL, hashlib.sha256).digest())

    def seal(self, secret: str, *, webhook_id: str) -> str:
        """The stored form of `secret` for the webhook `webhook_id`."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, secret.encode(), webhook_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, *, webhook_id: str) -> str:
        """The secret sealed in `stored` (raises `cryptography`'s InvalidTag if not ours)."""
        raw = base64.b64decode(stored)
        return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], webhook_id.encode()).decode()


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64 HMAC-SHA256>` signature over `id.timestamp.body` (Standard Webhooks)."""
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    mac = hmac.new(secret_bytes(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()
