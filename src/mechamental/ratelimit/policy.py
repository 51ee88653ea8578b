"""What is limited and how much: one token bucket per kind of call and scope.

A bucket of `burst` calls refills at `rate` per second. Announced with the IETF draft
fields (draft-ietf-httpapi-ratelimit-headers-12): `RateLimit-Policy` names each policy with
its quota `q` (the burst) and window `w` (seconds to refill it whole), `RateLimit` its
remaining calls `r` and the seconds `t` until the bucket is whole again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from mechamental.config import RateLimitTuning

MAX_SKEW_SECONDS = 1.0


class Kind(StrEnum):
    """The kinds of call limited apart: REST calls, stream opens, presence calls."""

    REST = "rest"
    STREAM = "stream"
    PRESENCE = "presence"


class Scope(StrEnum):
    """Whose bucket: the credential's (an API key, a JWT's user) or the whole org's."""

    CREDENTIAL = "credential"
    ORG = "org"


@dataclass(frozen=True, slots=True)
class Policy:
    """One bucket's shape, with what the math and the headers need precomputed."""

    name: str  # the policy's identifier in the headers: "<kind>.<scope>"
    scope: Scope
    rate: float
    burst: int
    interval: float  # seconds one call takes to refill
    capacity: float  # seconds the whole bucket takes to refill
    window_seconds: int
    # A call is allowed up to `capacity + slack` ahead: checks from one process reach Redis
    # out of order (and processes' clocks differ), so a call stamped a few ms earlier than
    # the one before it must not lose a token it has. Half a call at most: never one more.
    limit: float

    @classmethod
    def make(cls, kind: Kind, scope: Scope, rate: float, burst: int) -> Policy:
        """The policy of `kind` for `scope`."""
        interval = 1.0 / rate
        return cls(
            f"{kind.value}.{scope.value}",
            scope,
            rate,
            burst,
            interval,
            burst * interval,
            max(1, math.ceil(burst / rate)),
            burst * interval + min(interval / 2, MAX_SKEW_SECONDS),
        )

    def item(self) -> str:
        """Its `RateLimit-Policy` list member."""
        return f'"{self.name}";q={self.burst};w={self.window_seconds}'


@dataclass(frozen=True, slots=True)
class KindPolicies:
    """The credential's and the org's policy of one kind, and their fixed header value."""

    credential: Policy
    org: Policy
    policy_header: bytes


def policies(tuning: RateLimitTuning) -> dict[Kind, KindPolicies]:
    """Every kind's pair of policies, from the settings."""
    result: dict[Kind, KindPolicies] = {}
    for kind in Kind:
        credential = Policy.make(
            kind,
            Scope.CREDENTIAL,
            getattr(tuning, f"{kind.value}_credential_rate"),
            getattr(tuning, f"{kind.value}_credential_burst"),
        )
        org = Policy.make(
            kind,
            Scope.ORG,
            getattr(tuning, f"{kind.value}_org_rate"),
            getattr(tuning, f"{kind.value}_org_burst"),
        )
        header = f"{credential.item()}, {org.item()}".encode()
        result[kind] = KindPolicies(credential, org, header)
    return result
