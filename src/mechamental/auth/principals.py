"""Who is calling: the authenticated principal attached to a request."""

from __future__ import annotations

from dataclasses import dataclass

from mechamental.auth.permissions import ROLE_PERMISSIONS, Permission, Role

# Where an authorized request keeps its principal in the ASGI scope (request log, log context).
PRINCIPAL_SCOPE_KEY = "mechamental.principal"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller, bound to one organization."""

    user_id: str
    org_id: str
    role: Role
    token_id: str | None = None  # the API key's id (also for its tickets); None for JWTs
    # When the credential stops being valid (epoch seconds): a key's `expires_at`, a JWT's
    # `exp`. Streams opened with it end then (`sync.unauthorized`, `token_expired`).
    expires_at: float | None = None

    def can(self, permission: Permission) -> bool:
        """Whether this principal's role grants `permission`."""
        return permission in ROLE_PERMISSIONS[self.role]
