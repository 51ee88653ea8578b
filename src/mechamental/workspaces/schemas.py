"""Request and response bodies of the workspace endpoints, as the reference names them.

Request bodies are strict: the body is JSON, so a boolean is `true`/`false` only (pydantic's
lax mode took "yes", "true" and 0), and every constraint is a schema keyword, so the
OpenAPI document states exactly what is accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from mechamental.buckets.models import BucketStatus

# PostgreSQL cannot store NUL in text: refused on every backend alike (422, not 500).
NO_NUL = r"^[^\x00]*$"
# Unicode White_Space, spelled out so the schema's regex means the same in every engine
# (Python's str.strip() also strips \x1c-\x1f; Rust's and ECMAScript's \s do not).
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"
_SPACE_CLASS = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# 1-100 characters once stripped of outer whitespace, no NUL: as a pattern, since JSON
# Schema's length keywords would count the whitespace that is stripped.
NAME_PATTERN = (
    rf"^[{_SPACE_CLASS}]*[^\x00{_SPACE_CLASS}]"
    rf"([^\x00]{{0,98}}[^\x00{_SPACE_CLASS}])?[{_SPACE_CLASS}]*$"
)


def _strip(value: str) -> str:
    return value.strip(WHITESPACE)


WorkspaceName = Annotated[
    str,
    StringConstraints(pattern=NAME_PATTERN),
    AfterValidator(_strip),
]
Description = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
PlanId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Tag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9._:-]{1,64}$")]


def _dedupe(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Tags = Annotated[list[Tag], Field(max_length=50), AfterValidator(_dedupe)]


class WorkspaceCreate(BaseModel):
    """Body of `POST /v1/orgs/{org_id}/workspaces`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    organization_id: str | None = Field(
        default=None, description="If given, must equal the org_id in the path"
    )
    name: WorkspaceName
    description: Description | None = None
    subscription_plan_id: PlanId | None = None
    is_active: bool = True
    tags: Tags = Field(default_factory=list)
    region: str | None = Field(
        default=None, description="AWS region code; defaults to the server's DEFAULT_REGION"
    )


class WorkspaceUpdate(BaseModel):
    """Body of `PUT /v1/orgs/{org_id}/workspaces/{workspace_id}`: only the fields sent change."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: WorkspaceName = Field(default=None)  # type: ignore[assignment]
    description: Description | None = None
    subscription_plan_id: PlanId | None = None
    is_active: bool = Field(default=None)  # type: ignore[assignment]
    tags: Tags = Field(default=None)  # type: ignore[arg-type]
    region: str = Field(default=None, description="Cannot change once set")  # type: ignore[assignment]


class ListParams(BaseModel):
    """Query parameters of `GET /v1/orgs/{org_id}/workspaces`."""

    model_config = ConfigDict(extra="ignore")

    organization_id: str | None = Field(default=None, description="If given, must equal org_id")
    limit: int = Field(
        default=50, ge=1, le=200, description="Maximum number of items to return (1-200)"
    )
    cursor: str | None = Field(
        default=None, description="Cursor for pagination (from previous response's next_cursor)"
    )
    is_active: bool | None = Field(default=None, description="Only active (or inactive) ones")
    tag: str | None = Field(default=None, max_length=64, description="Only those with this tag")
    region: str | None = Field(default=None, max_length=32, description="Only this region")
    q: str | None = Field(default=None, max_length=100, description="Name contains (any case)")


class WorkspaceRead(BaseModel):
    """A workspace as every endpoint returns it."""

    workspace_id: str
    name: str
    description: str | None
    owner_id: str
    subscription_plan_id: str | None
    is_active: bool
    tags: list[str]
    region: str = Field(examples=["us-east-1"])
    s3_bucket: str
    bucket_status: BucketStatus
    bucket_error: str | None = Field(
        default=None, description="Last provisioning error while bucket_status is failed"
    )
    created_at: datetime
    updated_at: datetime


class WorkspaceList(BaseModel):
    """One page of `GET /v1/orgs/{org_id}/workspaces`."""

    total: int
    has_more: bool
    next_cursor: str | None
    workspaces: list[WorkspaceRead]


class MessageResponse(BaseModel):
    """Body of a successful delete."""

    message: str
