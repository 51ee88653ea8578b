"""Python client of the MechaMental workspace service (sync and async), on httpx only."""

from mechamental_client._async import AsyncMechaMental
from mechamental_client._client import MechaMental
from mechamental_client._core import (
    AuthenticationError,
    ConflictError,
    MechaMentalError,
    NotFoundError,
    ValidationError,
    Workspace,
)
from mechamental_client._sse import Event, Reset

__all__ = [
    "AsyncMechaMental",
    "AuthenticationError",
    "ConflictError",
    "Event",
    "MechaMental",
    "MechaMentalError",
    "NotFoundError",
    "Reset",
    "ValidationError",
    "Workspace",
]
