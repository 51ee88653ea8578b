"""Roles and the permissions they grant: the one table the API enforces."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    WORKSPACE_READ = "workspace:read"
    WORKSPACE_CREATE = "workspace:create"
    WORKSPACE_UPDATE = "workspace:update"
    WORKSPACE_DELETE = "workspace:delete"
    SYNC_READ = "sync:read"
    PRESENCE_WRITE = "presence:write"
    API_KEY_MANAGE = "api_key:manage"
    WEBHOOK_MANAGE = "webhook:manage"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


_VIEWER = frozenset({Permission.WORKSPACE_READ, Permission.SYNC_READ, Permission.PRESENCE_WRITE})
_MEMBER = _VIEWER | {Permission.WORKSPACE_CREATE, Permission.WORKSPACE_UPDATE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission),
    Role.MEMBER: _MEMBER,
    Role.VIEWER: _VIEWER,
}


def can_grant(granter: Role, role: Role) -> bool:
    """Whether a key manager with role `granter` may mint or revoke a key with `role`.

    Owner keys stay in owners' hands: an admin holding `api_key:manage` could otherwise
    mint an owner key and so raise itself to owner.
    """
    return role is not Role.OWNER or granter is Role.OWNER
