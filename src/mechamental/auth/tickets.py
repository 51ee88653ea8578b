"""Stream tickets: short-lived, signed, one workspace's stream, no long-lived secret in a URL.

A browser's `EventSource` cannot send headers, so the stream takes a credential in its
URL, where it lands in history, consoles and proxy logs. A ticket is what goes there
instead: it opens (and reopens) one workspace's stream for `STREAM_TICKET_SECONDS`, and
nothing else. It is a JWT signed with a key derived from the service's secret key, so any
process verifies it without a shared session store; its audience keeps it from ever
passing as a bearer token (the bearer JWT verifier has its own key and rules anyway).

A ticket carries the identity it was made for and the credential it was made from: the
API key's id (checked to be live on every open, so a revoked key's tickets die at once)
and the credential's own end (a JWT's `exp`, a key's `expires_at`), which bounds both the
ticket and the streams it opens.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from mechamental.auth.permissions import Role
from mechamental.auth.principals import Principal
from mechamental.clock import Clock

AUDIENCE = "mechamental:stream-ticket"
_REQUIRED = ["aud", "exp", "sub", "org", "ws", "role"]


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    """A ticket and when it stops opening its stream."""

    ticket: str
    expires_at: datetime


class TicketSigner:
    """Issues and verifies stream tickets with the service's secret key."""

    def __init__(self, secret_key: bytes, *, lifetime_seconds: int, clock: Clock) -> None:
        self._key = hmac.new(secret_key, b"mechamental stream ticket", hashlib.sha256).digest()
        self.lifetime = lifetime_seconds
        self.clock = clock

    def issue(self, principal: Principal, *, workspace_id: str) -> IssuedTicket:
        """A ticket for `principal` to open `workspace_id`'s stream (never past its credential)."""
        now = self.clock.now()
        expires = now + self.lifetime
        if principal.expires_at is not None:
            expires = min(expires, principal.expires_at)
        claims: dict[str, Any] = {
            "aud": AUDIENCE,
            "iat": int(now),
            "exp": expires,
            "sub": principal.user_id,
            "org": principal.org_id,
            "ws": workspace_id,
            "role": principal.role.value,
        }
        if principal.token_id is not None:
            claims["key"] = principal.token_id
        if principal.expires_at is not None:
            claims["cexp"] = principal.expires_at
        ticket = jwt.encode(claims, self._key, algorithm="HS256")
        return IssuedTicket(ticket, datetime.fromtimestamp(expires, UTC))

    def verify(self, ticket: str, *, org_id: str, workspace_id: str) -> Principal | None:
        """The principal of a valid, unexpired ticket for this workspace; else None.

        Whether the API key it names is still live is the caller's check (a database read).
        """
        try:
            claims = jwt.decode(
                ticket,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                # Expiry is checked below on the service's clock (tests move it).
                options={"require": _REQUIRED, "verify_exp": False},
            )
        except jwt.PyJWTError:
            return None
        exp, cexp, key = claims["exp"], claims.get("cexp"), claims.get("key")
        if not isinstance(exp, (int, float)) or self.clock.now() >= exp:
            return None
        if claims["org"] != org_id or claims["ws"] != workspace_id:
            return None
        role = claims["role"]
        if role not in Role.__members__.values():
            return None
        return Principal(
            user_id=str(claims["sub"]),
            org_id=org_id,
            role=Role(role),
            token_id=key if isinstance(key, str) else None,
            expires_at=float(cexp) if isinstance(cexp, (int, float)) else None,
        )
