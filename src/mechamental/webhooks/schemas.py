"""Request and response bodies of the webhook endpoints.

Strict request bodies with every rule a schema keyword, like the workspaces'. The URL's
scheme and its host's addresses are checked by the service (they depend on settings and
DNS), as a 422 in FastAPI's shape.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from mechamental.sync.events.frames import EventType
from mechamental.webhooks.deliveries import TEST_EVENT

# Types recorded in the log (the stream's synthetic `sync.*` never reach webhooks), and test.
DELIVERED_TYPES = (*(t.value for t in EventType if not t.value.startswith("sync.")), TEST_EVENT)
_PREFIXES = sorted({t.split(".")[0] + ".*" for t in DELIVERED_TYPES})
FILTER_PATTERN = "^(" + "|".join(re.escape(p) for p in ["*", *_PREFIXES, *DELIVERED_TYPES]) + ")$"

EventFilter = Annotated[str, StringConstraints(pattern=FILTER_PATTERN)]


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


EventFilters = Annotated[
    list[EventFilter],
    Field(
        min_length=1,
        max_length=50,
        description="Exact event types or prefixes (`workspace.*`, `presence.*`); `*`: all",
    ),
    AfterValidator(_dedupe),
]
Url = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=2000, pattern=r"^[hH][tT][tT][pP][sS]?://[^\x00-\x20]+$"
    ),
]
Description = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
WebhookId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$", title="Webhook Id"),
]
DeliveryId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$", title="Delivery Id"),
]


class WebhookWrite(BaseModel):
    """Body of the create (`POST`) and the replace (`PUT`): omitted fields take defaults."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Url = Field(description="https; must not resolve to a private or loopback address")
    event_types: EventFilters = Field(default_factory=lambda: ["*"])
    description: Description = ""
    enabled: bool = True


class WebhookRead(BaseModel):
    """An endpoint (never its secret)."""

    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None = Field(description="Why the service disabled it, if it did")
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    """The create response: the endpoint and its signing secret, shown this once."""

    secret: str = Field(examples=["whsec_..."], description="Verify signatures with it")


class SecretRotated(BaseModel):
    """A new signing secret; the previous one signs alongside it until `previous_valid_until`."""

    secret: str = Field(examples=["whsec_..."])
    previous_valid_until: datetime


class WebhookList(BaseModel):
    """One page of the org's endpoints, newest first."""

    has_more: bool
    next_cursor: str | None
    webhooks: list[WebhookRead]


class AttemptRead(BaseModel):
    """One HTTP attempt of a delivery."""

    attempted_at: datetime
    status_code: int | None = Field(description="None: no HTTP answer (network, timeout)")
    duration_ms: int
    error: str | None


class DeliveryRead(BaseModel):
    """One event's delivery to one endpoint."""

    id: str
    webhook_id: str
    message_id: str = Field(description="The `webhook-id` header, the same on every attempt")
    event_id: str | None
    event_type: str
    status: Literal["pending", "delivering", "succeeded", "failed"]
    attempts: list[AttemptRead]
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime


class DeliveryList(BaseModel):
    """One page of an endpoint's deliveries, newest first."""

    has_more: bool
    next_cursor: str | None
    deliveries: list[DeliveryRead]


class ListParams(BaseModel):
    """Paging of the webhook and delivery lists."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=50, ge=1, le=200, description="Maximum number of items (1-200)")
    cursor: str | None = Field(default=None, description="From the previous page's next_cursor")
