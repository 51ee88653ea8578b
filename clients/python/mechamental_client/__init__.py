"""Python client of the MechaMental workspace service (sync and async), on httpx only."""

from mechamental_client._async import AsyncEventStream, AsyncMechaMental
from mechamental_client._client import EventStream, MechaMental
from mechamental_client._core import (
    AuthenticationError,
    ConflictError,
    MechaMentalError,
    Members,
    NotFoundError,
    RateLimitError,
    Token,
    ValidationError,
    Workspace,
)
from mechamental_client._live import GaveUp, Status
from mechamental_client._sse import Event, Reset

__all__ = [
    "AsyncEventStream",
    "AsyncMechaMental",
    "AuthenticationError",
    "ConflictError",
    "Event",
    "EventStream",
    "GaveUp",
    "MechaMental",
    "MechaMentalError",
    "Members",
    "NotFoundError",
    "RateLimitError",
    "Reset",
    "Status",
    "Token",
    "ValidationError",
    "Workspace",
]
