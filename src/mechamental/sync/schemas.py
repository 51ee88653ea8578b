"""Response models of the sync endpoints (documentation; responses are encoded directly)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ViewedResource(BaseModel):
    """What a member is looking at."""

    resource_type: str = Field(examples=["document"])
    resource_id: str = Field(examples=["doc-42"])


class PresenceMember(BaseModel):
    """One present user, however many tabs they have open."""

    user_id: str
    connections: int = Field(description="Open event streams of this user on the workspace")
    viewing: ViewedResource | None
    since: datetime = Field(description="When the user joined")


class PresenceList(BaseModel):
    """The members present in a workspace."""

    members: list[PresenceMember]
