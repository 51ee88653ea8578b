"""One HTTP attempt: a signed POST through a shared, guarded connection pool.

aiohttp's client, not httpx: measured on this machine (one core each, a local aiohttp
receiver, keep-alive), a POST costs 0.33-0.44 ms of CPU with aiohttp and 1.2-3.2 ms with
httpx 0.29 (plain `AsyncClient.post`, or ours), and the sender is most of a delivery's
cost (httpx was 54% of the worker's CPU). httpx stays for the JWKS fetch, where the rate
is one request in minutes.

No redirects, a total deadline (`WEBHOOK_TIMEOUT_SECONDS`, 10 s), at most `RESPONSE_CAP`
bytes of the answer read (then the connection is dropped, not drained). Unless private
addresses are allowed, the pool resolves through `GuardedResolver`, which refuses any
non-public answer, with no DNS cache, so every new connection goes to an address checked
just before; an IP-literal URL (aiohttp does not resolve those) is checked in `post`. The
URL keeps its hostname, so TLS SNI, certificate checks and per-origin pooling are what
they would be without the guard.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from mechamental.webhooks import addresses

RESPONSE_CAP = 4096  # bytes of a response read (the rest is dropped with the connection)
ERROR_CAP = 300
READ_CHUNK = 1024


class GuardedResolver(AbstractResolver):
    """Resolves a host and answers only if every address is public."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The checked addresses (RefusedAddress if any is not public)."""
        found = await addresses.checked_addresses(host, port)
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in found
        ]

    async def close(self) -> None:
        """Nothing held."""


@dataclass(eq=False)
class Client:
    """The process's one webhook pool (shared by every endpoint)."""

    session: aiohttp.ClientSession
    guarded: bool

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self.session.close()


def make_client(*, allow_private: bool, max_connections: int, timeout: float) -> Client:
    """The pool (call inside the running loop: aiohttp binds it)."""
    connector = aiohttp.TCPConnector(
        limit=max_connections,
        limit_per_host=0,  # per endpoint: the worker's WEBHOOK_ENDPOINT_CONCURRENCY
        use_dns_cache=False,  # check what the name resolves to at every connection
        resolver=None if allow_private else GuardedResolver(),
    )
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers={"user-agent": "MechaMental-Webhooks/1"},
        auto_decompress=False,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),  # receivers' cookies are not kept
        skip_auto_headers=("Accept-Encoding",),
    )
    return Client(session, guarded=not allow_private)


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


async def _check_literal(url: str) -> None:
    """An IP-literal host must be public (aiohttp connects to those without resolving)."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return  # a name: GuardedResolver checks it
    await addresses.checked_addresses(host, 0)


async def post(
    client: Client, url: str, body: bytes, headers: dict[str, str], *, deadline: float
) -> Result:
    """POST `body` to `url` once; never raises for the endpoint's failures."""
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(deadline):
            if client.guarded:
                await _check_literal(url)
            async with client.session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                read = 0
                snippet = b""
                while read < RESPONSE_CAP:
                    part = await response.content.read(READ_CHUNK)
                    if not part:
                        break
                    if read < ERROR_CAP:
                        snippet += part[: ERROR_CAP - read]
                    read += len(part)
                else:
                    response.close()  # more than the cap: drop the connection, not drain it
                if not 200 <= status < 300:
                    text = snippet.decode("utf-8", "replace").strip()
                    error = f"HTTP {status}" + (f": {text}" if text else "")
    except TimeoutError:
        error = f"timed out after {deadline:g} s"
    except addresses.RefusedAddress as exc:
        error = f"refused: {exc}"
    except aiohttp.ClientError as exc:
        cause = exc.__cause__
        if isinstance(cause, addresses.RefusedAddress):
            error = f"refused: {cause}"
        else:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration = int((time.perf_counter() - started) * 1000)
    return Result(status, duration, error[:ERROR_CAP] if error else None)
