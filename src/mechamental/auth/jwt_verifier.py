"""Bearer JWTs: HS256 with a shared secret, RS256/ES256 with a public key or a provider's JWKS.

Claims name the caller: `JWT_USER_CLAIM`, `JWT_ORG_CLAIM` and `JWT_ROLE_CLAIM` (`sub`,
`org_id`, `role` by default; identity providers put custom claims under namespaced keys
such as `https://example.com/org_id`), plus `exp`, and `aud`/`iss` when configured.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import jwt
from jwt import PyJWK

from mechamental.auth.jwks import JWKS_ALGORITHMS, JWKSKeys
from mechamental.auth.permissions import Role
from mechamental.auth.principals import Principal
from mechamental.clock import Clock
from mechamental.config import Settings

VERIFIED_JWT_CACHE_SIZE = 10_000
LEEWAY_SECONDS = 5.0  # clock skew allowed on `exp`, `nbf` and `iat`
ROLES = frozenset(Role.__members__.values())


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token already checked: valid until `exp` while its key (if from a JWKS) is current."""

    principal: Principal
    exp: float
    kid: str | None
    key: PyJWK | None


class JWTVerifier:
    """Checks bearer JWTs against the one configured source of keys.

    A JWKS URL wins over a public key (both set is a configuration error) and either over
    the shared secret, so a deployment that moves to an identity provider stops trusting
    the secret.
    """

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        # One clock for `exp`, the verified cache and the JWKS timings: tests move it forward.
        self.clock = clock or Clock()
        self.key: str | None = None
        self.algorithms: list[str] = []
        self.jwks: JWKSKeys | None = None
        if settings.jwt_jwks_url:
            self.jwks = JWKSKeys(
                settings.jwt_jwks_url,
                clock=self.clock,
                cache_seconds=settings.jwt_jwks_cache_seconds,
                min_refetch_seconds=settings.jwt_jwks_min_refetch_seconds,
                timeout_seconds=settings.jwt_jwks_timeout_seconds,
            )
        elif settings.jwt_public_key:
            key = settings.jwt_public_key
            if not key.lstrip().startswith("-----BEGIN"):
                with open(key) as fh:  # a path to a PEM file
                    key = fh.read()
            self.key, self.algorithms = key, ["RS256", "ES256"]
        elif settings.jwt_secret:
            self.key, self.algorithms = settings.jwt_secret, ["HS256"]
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self.user_claim = settings.jwt_user_claim
        self.org_claim = settings.jwt_org_claim
        self.role_claim = settings.jwt_role_claim
        self._required = ["exp", self.user_claim, self.org_claim, self.role_claim]
        if self.audience:
            self._required.append("aud")
        if self.issuer:
            self._required.append("iss")
        # A verified JWT stays valid until its `exp` (JWTs cannot be revoked), so the result
        # is cached by the exact token string: a signature check per call costs ~0.2 ms.
        # An entry never outlives `exp`, nor (JWKS) the key that verified it.
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Principal | None:
        """The principal a valid JWT names, or None for any invalid one.

        Async because a token with a `kid` not yet known may wait for the JWKS fetch (up to
        `JWT_JWKS_TIMEOUT_SECONDS`); every other token is answered without waiting.
        """
        hit = self._verified.get(token)
        if hit is not None:
            if self.clock.now() < hit.exp and (hit.kid is None or self._known(hit.kid) is hit.key):
                self._verified.move_to_end(token)
                return hit.principal
            del self._verified[token]
        kid: str | None = None
        jwk: PyJWK | None = None
        if self.jwks is not None:
            kid, jwk = await self._jwks_key(token)
            if jwk is None:
                return None
            principal = self._decode(token, jwk, [jwk.algorithm_name])
        elif self.key is not None:
            principal = self._decode(token, self.key, self.algorithms)
        else:
            return None
        if principal is not None:
            assert principal.expires_at is not None
            if principal.expires_at > self.clock.now():  # not one accepted only by the leeway
                self._verified[token] = _Verified(principal, principal.expires_at, kid, jwk)
                if len(self._verified) > VERIFIED_JWT_CACHE_SIZE:
                    self._verified.popitem(last=False)
        return principal

    def _known(self, kid: str) -> PyJWK | None:
        assert self.jwks is not None
        return self.jwks.known(kid)

    async def _jwks_key(self, token: str) -> tuple[str | None, PyJWK | None]:
        """The JWKS key the token's header names, if its `alg` is that key's algorithm.

        The header is checked before any lookup, so a token with `alg: none` or HS256 (or
        no `kid`) is refused without costing a fetch.
        """
        assert self.jwks is not None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None, None
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or not kid or alg not in JWKS_ALGORITHMS:
            return None, None
        jwk = await self.jwks.lookup(kid)
        if jwk is None or jwk.algorithm_name != alg:
            return kid, None
        return kid, jwk

    def _decode(self, token: str, key: str | PyJWK, algorithms: list[str]) -> Principal | None:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                # `exp` is checked below on `self.clock`, like the verified cache.
                options={"require": self._required, "verify_exp": False},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.PyJWTError:
            return None
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
            return None
        if exp + LEEWAY_SECONDS <= self.clock.now():
            return None
        sub, org_id = claims.get(self.user_claim), claims.get(self.org_claim)
        role = claims.get(self.role_claim)
        if not (isinstance(sub, str) and sub and isinstance(org_id, str) and org_id):
            return None
        # Ids we could not store (column sizes; NUL, which PostgreSQL refuses) are invalid claims.
        if len(sub) > 200 or len(org_id) > 64 or "\x00" in sub + org_id:
            return None
        if not isinstance(role, str) or role not in ROLES:
            return None
        return Principal(user_id=sub, org_id=org_id, role=Role(role), expires_at=float(exp))
