"""The HTTP edge's own limits: slow clients, the open-file limit and errors below the ASGI app.

uvicorn's httptools protocol closes an idle keep-alive connection (`timeout_keep_alive`)
but puts no bound on how long a client may take to send a request head or body: 300
connections holding half a request line stayed open indefinitely. `SyncHttpToolsProtocol`
arms one timer per connection from these limits; what it answers without the app
(a malformed request, a timeout, a refusal) uses the same envelope as the app does.

The open-file limit: at the limit itself accept() fails with EMFILE. uvloop (libuv)
then accepts and closes the pending connections at once (the client sees a reset, no
answer) and asyncio stops accepting for a second; neither crashes or spins (measured:
100 connections against a 64-fd process cost 6 ms of CPU in 6 s). To answer instead, a
connection accepted within `fd_reserve` of the soft limit gets a 503 envelope with
`Retry-After` and is closed; the reserve keeps descriptors for the database, Redis and
logs. The check reads the new socket's descriptor number: POSIX hands out the lowest
free number, so a high one means at least that many are open (one getrlimit, ~1 us).
"""

from __future__ import annotations

import functools
import logging
import resource
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus

from starlette.types import Receive, Scope, Send

from mechamental.config import get_settings
from mechamental.errors import envelope

log = logging.getLogger("mechamental.request")
REFUSED_HEAD_SECONDS = 1.0  # a refused connection waits this long for its request head
_WARN_EVERY_SECONDS = 10.0
_last_warning = 0.0


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """Per-connection limits of the HTTP server (from `Settings`)."""

    head_timeout: float
    body_timeout: float
    fd_reserve: int


@functools.cache
def limits() -> EdgeLimits:
    """This process's limits, read once from the environment's settings (as `serve` does)."""
    settings = get_settings()
    return EdgeLimits(
        head_timeout=settings.request_head_timeout_seconds,
        body_timeout=settings.request_body_timeout_seconds,
        fd_reserve=settings.fd_reserve,
    )


def near_fd_limit(fd: int, reserve: int) -> bool:
    """Whether a connection on descriptor `fd` leaves fewer than `reserve` free descriptors."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return False
    near = fd >= soft - reserve
    if near:
        _warn_refusing(soft)
    return near


def _warn_refusing(soft: int) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        log.warning("near the open-file limit (%d): refusing new connections with 503", soft)


def _error_parts(status: int, error: str, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = envelope(status, error, message, {})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"x-request-id", uuid.uuid4().hex.encode()),
    ]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    return headers, body


def raw_error(status: int, error: str, message: str, extra: list[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP/1.1 error response (envelope body, connection closing), as bytes."""
    headers, body = _error_parts(status, error, message)
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()]
    lines += [name + b": " + value + b"\r\n" for name, value in [*extra, *headers]]
    log.info("request", extra={"status": status, "request_id": headers[3][1].decode()})
    return b"".join([*lines, b"\r\n", body])


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app of a connection accepted too close to the open-file limit: 503."""
    headers, body = _error_parts(
        503, "SERVICE_UNAVAILABLE", "The server is at its connection limit; retry shortly"
    )
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
