"""CORS for browsers on other origins: exact origins, per-route preflights, exposed headers.

Raw ASGI rather than Starlette's `CORSMiddleware`, for three things the service promises
and that one does not do: a preflight answers 204 with the route's own methods (Starlette
lists one global set and answers 200), an origin that is not listed gets no CORS headers
and no error (Starlette answers 400 in plain text), and the stream's headers, which the
fan-out sends itself, get the same treatment as every other response. A request without
an `Origin` header (servers, curl, same-origin pages) costs one scan of its headers.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What clients read from responses.
EXPOSED_HEADERS = (
    b"ETag, X-Request-ID, Idempotent-Replayed, Retry-After, RateLimit-Policy, RateLimit"
)
ALLOWED_HEADERS = (
    b"Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, "
    b"Last-Event-ID, X-Request-ID"
)
ANY_ORIGIN = "*"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class CORSMiddleware:
    """Adds CORS headers for listed origins and answers preflights on every route."""

    def __init__(
        self, app: ASGIApp, *, origins: Iterable[str], routes: list[BaseRoute], max_age: int
    ) -> None:
        self.app = app
        listed = set(origins)
        self.any_origin = ANY_ORIGIN in listed
        self.origins = {origin.encode() for origin in listed - {ANY_ORIGIN}}
        self.routes = routes  # the app's, read at preflight time
        self.max_age = str(max_age).encode()

    def _allow(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        """The headers every response to `origin` carries (none for an unlisted origin)."""
        if origin in self.origins:
            return [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-expose-headers", EXPOSED_HEADERS),
                (b"vary", b"Origin"),
            ]
        if self.any_origin:
            return [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-expose-headers", EXPOSED_HEADERS),
            ]
        return []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin: bytes | None = None
        preflight = False
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight = True
        if origin is None:
            await self.app(scope, receive, send)
            return
        allow = self._allow(origin)
        if preflight and scope["method"] == "OPTIONS":
            methods = self._methods(scope)
            if methods:
                await self._preflight(send, allow, methods)
                return
        if not allow:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A second Vary header adds to the first (RFC 9110 5.3): no merging needed.
                message["headers"] = [*message.get("headers", ()), *allow]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _methods(self, scope: Scope) -> list[str]:
        """The methods the app serves at this path (empty: no route, the app's 404).

        Asked of the routes themselves (`matches`, the router's own test), once per method:
        FastAPI nests included routers, and a preflight is rare (browsers cache it).
        """
        found = []
        for method in METHODS:
            probe = {**scope, "method": method}
            if any(route.matches(probe)[0] is Match.FULL for route in self.routes):
                found.append(method)
        return found

    async def _preflight(
        self, send: Send, allow: list[tuple[bytes, bytes]], methods: list[str]
    ) -> None:
        headers = [(b"allow", ", ".join([*methods, "OPTIONS"]).encode())]
        if allow:
            headers += [
                *allow,
                (b"access-control-allow-methods", ", ".join(methods).encode()),
                (b"access-control-allow-headers", ALLOWED_HEADERS),
                (b"access-control-max-age", self.max_age),
            ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
