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


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission),
    Role.MEMBER: frozenset(Permission) - {Permission.WORKSPACE_DELETE},
    Role.VIEWER: frozenset(
        {Permission.WORKSPACE_READ, Permission.SYNC_READ, Permission.PRESENCE_WRITE}
    ),
}
