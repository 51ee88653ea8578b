"""Bearer JWTs: HS256 with a shared secret, or RS256/ES256 with a public key."""

from __future__ import annotations

import time
from collections import OrderedDict

import jwt

from mechamental.auth.permissions import Role
from mechamental.auth.principals import Principal
from mechamental.config import Settings

VERIFIED_JWT_CACHE_SIZE = 10_000


class JWTVerifier:
    """Checks bearer JWTs: HS256 with a shared secret, or RS256/ES256 with a public key."""

    def __init__(self, settings: Settings) -> None:
        self.key: str | None = None
        self.algorithms: list[str] = []
        if settings.jwt_public_key:
            key = settings.jwt_public_key
            if not key.lstrip().startswith("-----BEGIN"):
                with open(key) as fh:  # a path to a PEM file
                    key = fh.read()
            self.key, self.algorithms = key, ["RS256", "ES256"]
        elif settings.jwt_secret:
            self.key, self.algorithms = settings.jwt_secret, ["HS256"]
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        # A verified JWT stays valid until its `exp` (JWTs cannot be revoked), so the result
        # is cached by the exact token string: a signature check per call costs ~0.2 ms.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal | None:
        """The principal a valid JWT names, or None for any invalid one."""
        if self.key is None:
            return None
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() < hit[1]:
                self._verified.move_to_end(token)
                return hit[0]
            del self._verified[token]
        principal, expires = self._decode(token)
        if principal is not None:
            self._verified[token] = (principal, expires)
            if len(self._verified) > VERIFIED_JWT_CACHE_SIZE:
                self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal | None, float]:
        assert self.key is not None
        required = ["exp", "sub", "org_id", "role"]
        if self.audience:
            required.append("aud")
        if self.issuer:
            required.append("iss")
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": required},
                leeway=5,
            )
        except jwt.PyJWTError:
            return None, 0.0
        sub, org_id, role = claims.get("sub"), claims.get("org_id"), claims.get("role")
        if not (isinstance(sub, str) and sub and isinstance(org_id, str) and org_id):
            return None, 0.0
        # Ids we could not store (column sizes; NUL, which PostgreSQL refuses) are invalid claims.
        if len(sub) > 200 or len(org_id) > 64 or "\x00" in sub + org_id:
            return None, 0.0
        if not isinstance(role, str) or role not in Role.__members__.values():
            return None, 0.0
        exp = float(claims["exp"])
        return Principal(user_id=sub, org_id=org_id, role=Role(role), expires_at=exp), exp
