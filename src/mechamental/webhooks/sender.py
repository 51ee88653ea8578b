"""One HTTP attempt: a signed POST through a shared, guarded connection pool.

httpx (async) with no redirects, a total deadline (`WEBHOOK_TIMEOUT_SECONDS`, 10 s) on
top of httpx's per-phase timeouts, and at most `RESPONSE_CAP` bytes of the answer read.
Unless private addresses are allowed, the pool connects through `GuardedBackend`, which
resolves the host itself, refuses any non-public answer and connects to the address it
checked: the URL keeps its hostname, so TLS SNI, certificate checks and the pool's
per-origin connections stay what they would be without the guard.
"""

from __future__ import annotations

import asyncio
import time
import typing
from dataclasses import dataclass

import httpcore
import httpx

from mechamental.webhooks import addresses

RESPONSE_CAP = 4096  # bytes of a response read (the rest is dropped with the connection)
ERROR_CAP = 300


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses, resolved and checked at connect time."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve `host`, check every address, connect to the first that answers."""
        found = await addresses.checked_addresses(host, port)
        error: Exception | None = None
        for address in found:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: endpoints are TCP URLs."""
        raise addresses.RefusedAddress("unix sockets are not webhook endpoints")

    async def sleep(self, seconds: float) -> None:
        """As the default backend."""
        await self._inner.sleep(seconds)


def make_client(*, allow_private: bool, max_connections: int, timeout: float) -> httpx.AsyncClient:
    """The process's one webhook client (its pool is shared by every endpoint)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=64)
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    if not allow_private:
        # httpx builds its pool without a way to pass a network backend: rebuild it with one.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        trust_env=False,
        headers={"user-agent": "MechaMental-Webhooks/1"},
    )


@dataclass(frozen=True, slots=True)
class Result:
    """What one attempt got: an HTTP status, or an error (network, timeout, refused)."""

    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        """A 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], *, deadline: float
) -> Result:
    """POST `body` to `url` once; never raises for the endpoint's failures."""
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(deadline):
            request = client.build_request("POST", url, content=body, headers=headers)
            response = await client.send(request, stream=True)
            try:
                status = response.status_code
                read = 0
                snippet = b""
                async for part in response.aiter_raw():
                    if read < ERROR_CAP:
                        snippet += part[: ERROR_CAP - read]
                    read += len(part)
                    if read >= RESPONSE_CAP:
                        break
                if not 200 <= status < 300:
                    text = snippet.decode("utf-8", "replace").strip()
                    error = f"HTTP {status}" + (f": {text}" if text else "")
            finally:
                await response.aclose()
    except TimeoutError:
        error = f"timed out after {deadline:g} s"
    except addresses.RefusedAddress as exc:
        error = f"refused: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration = int((time.perf_counter() - started) * 1000)
    return Result(status, duration, error[:ERROR_CAP] if error else None)
