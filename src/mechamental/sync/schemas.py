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


class StreamTicket(BaseModel):
    """Opens this workspace's stream (and reopens it) until `expires_at`: `?ticket=`."""

    ticket: str = Field(description="Secret: put it only in the stream's URL")
    expires_at: datetime = Field(description="Until when the ticket opens the stream")
    stream_url: str = Field(
        description="The stream's path with the ticket, for `new EventSource(stream_url)`"
    )
