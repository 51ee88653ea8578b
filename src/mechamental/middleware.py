"""Pure ASGI middleware: request ids, body limit, the 500 envelope and one log line per request.

It also sets the request's log context (`mechamental.logging.request_context`): every line
written while the request runs, in services or in tasks it starts, carries its id, route and caller.

Written as raw ASGI rather than `BaseHTTPMiddleware` so streaming responses (SSE) pass
straight through and the per-request cost stays a few microseconds.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mechamental import metrics
from mechamental.auth.principals import PRINCIPAL_SCOPE_KEY
from mechamental.errors import PayloadTooLarge, envelope
from mechamental.logging import RequestContext, request_context, route_template
from mechamental.ratelimit.limiter import HEADERS_SCOPE_KEY as RATE_LIMIT_HEADERS
from mechamental.sync.fanout.protocol import STREAM_WRITE_KEY

log = logging.getLogger("mechamental.request")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _BodyTooLarge(Exception):
    pass


class RequestMiddleware:
    """Adds X-Request-ID, enforces the body limit, turns crashes into a 500 envelope, logs."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        content_length = 0
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _VALID_ID.match(candidate):
                    request_id = candidate
            elif name == b"content-length":
                content_length = int(value) if value.isdigit() else 0
        request_id = request_id or uuid.uuid4().hex
        header = (b"x-request-id", request_id.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # RateLimit-Policy and RateLimit, left by the rate limiter (mechamental.ratelimit).
                limited = scope.get(RATE_LIMIT_HEADERS, ())
                message["headers"] = [*message.get("headers", ()), header, *limited]
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    # An HTTPException passes through FastAPI's body parsing untouched.
                    raise HTTPException(413)
            return message

        context = request_context.set(RequestContext(request_id, scope))
        try:
            if content_length > self.max_body:
                raise _BodyTooLarge()
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not status:
                await _send_error(
                    send_with_id,
                    PayloadTooLarge.status_code,
                    PayloadTooLarge.error,
                    f"The request body is larger than {self.max_body} bytes",
                )
        except Exception:
            # The id is also given here so that handlers without our filter (pytest) have it.
            log.exception("unhandled error", extra={"request_id": request_id})
            if not status:
                await _send_error(
                    send_with_id, 500, "INTERNAL_SERVER_ERROR", "An unexpected error occurred"
                )
        finally:
            metrics.observe_request(scope["method"], route_template(scope), status, started)
            _log_request(scope, status, started, request_id)
            request_context.reset(context)


async def _send_error(send: Send, status: int, error: str, message: str) -> None:
    body = envelope(status, error, message, {})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _log_request(scope: Scope, status: int, started: float, request_id: str) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    # The line's own fields, so that any handler (not only ours, with the context filter)
    # sees them; the filter leaves fields already set alone.
    principal: Any = scope.get(PRINCIPAL_SCOPE_KEY)
    extra = {
        "method": scope["method"],
        "route": route_template(scope) or scope["path"],  # never the query string
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "request_id": request_id,
        "org_id": principal.org_id if principal else None,
        "user_id": principal.user_id if principal else None,
    }
    if STREAM_WRITE_KEY in scope:  # an event stream: written directly or through ASGI
        extra["stream_write"] = scope[STREAM_WRITE_KEY]
    log.info("request", extra=extra)
