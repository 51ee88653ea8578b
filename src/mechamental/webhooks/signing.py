"""Signing secrets: made in the Standard Webhooks form and used to sign.

A secret is `whsec_` + base64 of 32 random bytes (what the `standardwebhooks` verifier
takes). The table holds it sealed (`mechamental.sealing.SecretBox` under `SEAL_LABEL`), so
a database dump alone cannot sign; the webhook's id is the associated data, so a sealed
secret copied onto another row does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random

PREFIX = "whsec_"
# The key that seals stored signing secrets (`Services.webhook_secrets`) is derived under this.
SEAL_LABEL = b"mechamental.webhooks.secret.v1"


def new_secret() -> str:
    """A fresh signing secret, as shown once to the caller."""
    return PREFIX + base64.b64encode(_random.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64 HMAC-SHA256>` signature over `id.timestamp.body` (Standard Webhooks)."""
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    mac = hmac.new(secret_bytes(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()
