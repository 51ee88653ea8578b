"""API errors: each carries its status and code; `install_handlers` renders them all.

Every non-2xx response except 422 uses the reference's envelope
`{error, message, details, timestamp, status_code}`. 422 keeps FastAPI's own body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match


class ErrorBody(BaseModel):
    """The reference's error envelope."""

    error: str = Field(examples=["RESOURCE_NOT_FOUND"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    timestamp: str = Field(examples=["2025-01-01T00:00:00.000000"])
    status_code: int


class APIError(Exception):
    """Base of every error the API returns on purpose."""

    status_code = 500
    error = "INTERNAL_SERVER_ERROR"
    message = "An unexpected error occurred"
    headers: dict[str, str] | None = None

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message
        self.details = details


class AuthenticationFailed(APIError):
    status_code = 401
    error = "AUTHENTICATION_FAILED"
    message = "Authentication required"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(APIError):
    status_code = 403
    error = "FORBIDDEN"
    message = "You don't have permission to perform this action"

    def __init__(
        self, required_permission: str, message: str | None = None, **details: Any
    ) -> None:
        super().__init__(message, required_permission=required_permission, **details)


class ResourceNotFound(APIError):
    status_code = 404
    error = "RESOURCE_NOT_FOUND"
    message = "The requested resource was not found"

    def __init__(self, resource_type: str, resource_id: str) -> None:
        super().__init__(resource_type=resource_type, resource_id=resource_id)


class PreconditionFailed(APIError):
    status_code = 412
    error = "PRECONDITION_FAILED"
    message = "The resource has changed since it was read (If-Match did not match)"


class Conflict(APIError):
    status_code = 409
    error = "CONFLICT"
    message = "The resource is in a state that does not allow this"


class PayloadTooLarge(APIError):
    status_code = 413
    error = "PAYLOAD_TOO_LARGE"
    message = "The request body is too large"


class ServiceUnavailable(APIError):
    status_code = 503
    error = "SERVICE_UNAVAILABLE"
    message = "The service is not ready"
    headers = {"Retry-After": "1"}


class DatabaseUnavailable(ServiceUnavailable):
    """The database dropped the connection, is starting or stopping, or is busy past the wait."""

    message = "The database is briefly unavailable; retry shortly"


class QuotaExceeded(APIError):
    """A create beyond the org's quota (`MAX_WORKSPACES_PER_ORG`)."""

    status_code = 403
    error = "QUOTA_EXCEEDED"
    message = "The organization has reached its quota"

    def __init__(self, quota: str, *, limit: int, current: int) -> None:
        super().__init__(
            f"The organization has reached its {quota} quota ({limit})",
            quota=quota,
            limit=limit,
            current=current,
        )


class RateLimited(APIError):
    """A token bucket is empty (mechamental.ratelimit): retry after `Retry-After`."""

    status_code = 429
    error = "RATE_LIMITED"
    message = "Too many requests; retry after Retry-After seconds"

    def __init__(self, *, limit: int, window_seconds: int, retry_after: int, scope: str) -> None:
        super().__init__(
            limit=limit,
            window_seconds=window_seconds,
            retry_after_seconds=retry_after,
            scope=scope,
        )
        self.headers = {"Retry-After": str(retry_after)}


class TooManyStreams(APIError):
    """A stream over `MAX_STREAMS_PER_USER` or `MAX_STREAMS_PER_ORG`, refused before it starts."""

    status_code = 429
    error = "TOO_MANY_STREAMS"
    message = "Too many open event streams; close one or retry after Retry-After seconds"

    def __init__(self, *, limit: int, current: int, scope: str, retry_after: int) -> None:
        super().__init__(limit=limit, current=current, scope=scope, retry_after_seconds=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


def now_timestamp() -> str:
    """The envelope's timestamp: UTC, microseconds, written as the reference shows it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def envelope(status_code: int, error: str, message: str, details: dict[str, Any]) -> bytes:
    """Encode one error envelope."""
    return orjson.dumps(
        {
            "error": error,
            "message": message,
            "details": details,
            "timestamp": now_timestamp(),
            "status_code": status_code,
        }
    )


def error_response(exc: APIError) -> Response:
    """The HTTP response for an `APIError`."""
    body = envelope(exc.status_code, exc.error, exc.message, exc.details)
    return Response(body, exc.status_code, exc.headers, media_type="application/json")


def validation_error(
    loc: list[str | int], msg: str, input_: Any, type_: str
) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for checks that need more than a schema."""
    return RequestValidationError([{"type": type_, "loc": tuple(loc), "msg": msg, "input": input_}])


_HTTP_CODES = {
    400: ("BAD_REQUEST", "The request is malformed"),
    404: ("RESOURCE_NOT_FOUND", "The requested resource was not found"),
    405: ("METHOD_NOT_ALLOWED", "The method is not allowed for this resource"),
    406: ("NOT_ACCEPTABLE", "The requested representation is not available"),
    413: ("PAYLOAD_TOO_LARGE", "The request body is too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The media type is not supported"),
}


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 304:
        return Response(status_code=304, headers=exc.headers)
    error, message = _HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", str(exc.detail)))
    details: dict[str, Any] = {}
    headers = exc.headers
    if exc.status_code == 404:
        details = {"resource_type": "route", "resource_id": request.url.path}
    elif exc.status_code == 405:
        # Starlette's Allow names only the first route that matched the path.
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    body = envelope(exc.status_code, error, message, details)
    return Response(body, exc.status_code, headers, media_type="application/json")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this request's path."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


# A non-JSON body is echoed as `input` bytes, which need not be UTF-8.
_LENIENT_BYTES: dict[Any, Any] = {bytes: lambda value: value.decode("utf-8", "replace")}


async def _validation_error(_request: Request, exc: Exception) -> Response:
    """FastAPI's own 422 body, encoded so that no client input can break the encoding.

    FastAPI's default handler fails (a 500) when the echoed `input` holds NaN/Infinity or a
    lone surrogate, both of which Python's JSON parser accepts in a request body, or bytes
    that are not UTF-8.
    """
    assert isinstance(exc, RequestValidationError)
    content = {"detail": jsonable_encoder(exc.errors(), custom_encoder=_LENIENT_BYTES)}
    try:
        body = orjson.dumps(content)  # NaN and Infinity become null
    except orjson.JSONEncodeError:  # lone surrogates or huge integers: ASCII-escaped JSON
        body = json.dumps(content, separators=(",", ":"), default=str).encode()
    return Response(body, 422, media_type="application/json")


def install_handlers(app: FastAPI) -> None:
    """Render every error the API raises in one place."""
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, invalid, revoked or expired token"},
    403: {"model": ErrorBody, "description": "The token lacks the permission or the org"},
    404: {"model": ErrorBody, "description": "No such resource in this organization"},
    429: {
        "model": ErrorBody,
        "description": "A rate limit of the credential or the org (`RATE_LIMITED`; the event "
        "stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}},
            "RateLimit-Policy": {
                "description": "The limits (draft-ietf-httpapi-ratelimit-headers)",
                "schema": {"type": "string"},
            },
            "RateLimit": {
                "description": "What is left of each limit, and when it is whole again",
                "schema": {"type": "string"},
            },
        },
    },
    500: {"model": ErrorBody, "description": "Unexpected error"},
}


# The 413 of routes that take a body (middleware.RequestMiddleware enforces MAX_BODY_BYTES).
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "Body over 64 KiB"}
}
