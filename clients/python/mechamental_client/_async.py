"""The asynchronous client: the same operations and live API as `MechaMental`, on
httpx.AsyncClient and asyncio.

Only I/O lives here; requests and answers are `_core`, every decision of the live stream
and presence is `_live` (shared with the sync client, so the two behave the same).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any

import httpx

from mechamental_client._core import (
    Call,
    Credentials,
    MechaMentalError,
    Members,
    Requests,
    Token,
    Workspace,
    members,
    raise_for,
)
from mechamental_client._live import (
    Deliver,
    PresenceTiming,
    Reconnect,
    Status,
    StreamHandle,
    StreamState,
)
from mechamental_client._sse import Event, Reset


class AsyncMechaMental:
    """Async client of one org; `token` may be a callable asked again after a 401."""

    def __init__(
        self,
        base_url: str,
        org_id: str,
        *,
        token: Token,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.credentials = Credentials(token)
        self.requests = Requests(org_id)
        self.http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def __aenter__(self) -> AsyncMechaMental:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def token(self, *, fresh: bool = False) -> str:
        """The credential (asked again of the callable with `fresh`)."""
        return self.credentials.get(fresh=fresh)

    async def _send(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            response = await self.http.request(
                call.method,
                call.path,
                params=call.params,
                json=call.json,
                headers=self.credentials.headers(call, attempt),
            )
            if not self.credentials.retry(response, attempt):
                return response
            attempt += 1

    async def list(
        self,
        *,
        is_active: bool | None = None,
        tag: str | None = None,
        region: str | None = None,
        q: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Workspace]:
        """Every workspace matching the filters, page after page."""
        cursor: str | None = None
        while True:
            call = self.requests.list_page(
                cursor=cursor, limit=page_size, is_active=is_active, tag=tag, region=region, q=q
            )
            items, cursor = self.requests.page(await self._send(call))
            for item in items:
                yield item
            if cursor is None:
                return

    async def create(
        self, body: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Workspace:
        """Create a workspace (an Idempotency-Key is generated when none is given)."""
        call = self.requests.create(body, idempotency_key)
        return self.requests.workspace(await self._send(call))

    async def get(self, workspace_id: str) -> Workspace:
        """Read a workspace (its ETag is remembered for update/delete)."""
        return self.requests.workspace(await self._send(self.requests.get(workspace_id)))

    async def update(
        self, workspace_id: str, patch: Mapping[str, Any], *, if_match: str | None = None
    ) -> Workspace:
        """Change a workspace; 412 raises ConflictError."""
        call = self.requests.update(workspace_id, patch, if_match)
        return self.requests.workspace(await self._send(call))

    async def delete(self, workspace_id: str, *, if_match: str | None = None) -> None:
        """Delete a workspace; 412 raises ConflictError."""
        call = self.requests.delete(workspace_id, if_match)
        self.requests.deleted(workspace_id, await self._send(call))

    def sync(
        self,
        workspace_id: str,
        *,
        last_event_id: str | None = None,
        timeout: int = 3600,
        max_attempts: int | None = None,
        on_status: Callable[[Status], None] | None = None,
    ) -> AsyncEventStream:
        """The workspace's events, as `MechaMental.sync`: `async for event in client.sync(ws)`
        (or `async with client.sync(ws) as stream`, which closes the connection on exit)."""
        state = StreamState(
            workspace_id,
            path=self.requests.stream(workspace_id),
            credentials=self.credentials,
            last_event_id=last_event_id,
            timeout=timeout,
            max_attempts=max_attempts,
        )
        return AsyncEventStream(self, state, on_status)

    async def view(self, workspace_id: str, resource_type: str, resource_id: str) -> None:
        """Announce what this user is looking at (and that they are present)."""
        call = self.requests.view(workspace_id, resource_type, resource_id)
        raise_for(await self._send(call))

    async def members(self, workspace_id: str) -> Members:
        """Who is present now (the service's presence list)."""
        return members(await self._send(self.requests.members(workspace_id)))

    async def join(self, workspace_id: str) -> None:
        """Announce presence once (`presence()` keeps it up)."""
        raise_for(await self._send(self.requests.presence(workspace_id, "join")))

    async def leave(self, workspace_id: str) -> None:
        """Announce leaving."""
        raise_for(await self._send(self.requests.presence(workspace_id, "leave")))

    @contextlib.asynccontextmanager
    async def presence(
        self, workspace_id: str, *, ttl_seconds: float = 60.0
    ) -> AsyncIterator[None]:
        """Join, re-join well inside the server's `PRESENCE_TTL_SECONDS`, leave on exit."""
        timing = PresenceTiming(ttl_seconds)
        await self.join(workspace_id)

        async def refresh() -> None:
            wait = timing.refresh_seconds
            while True:
                await asyncio.sleep(wait)
                try:
                    await self.join(workspace_id)
                    wait = timing.refresh_seconds
                except (httpx.TransportError, MechaMentalError):
                    wait = timing.retry_seconds

        refresher = asyncio.create_task(refresh(), name=f"presence-{workspace_id}")
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            await self.leave(workspace_id)


class AsyncEventStream(StreamHandle):
    """One workspace's events over as many connections as it takes (see `sync`)."""

    def __init__(
        self,
        client: AsyncMechaMental,
        state: StreamState,
        on_status: Callable[[Status], None] | None,
    ) -> None:
        super().__init__(state, on_status)
        self.client = client
        self._events = self._run()

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Event | Reset:
        return await anext(self._events)

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop (closes the open connection)."""
        await self._events.aclose()
        self._stopped()

    async def _run(self) -> AsyncGenerator[Event | Reset, None]:
        state = self.state
        while state.status != Status.CLOSED:
            plan = state.connect()
            self._tell()
            delay: float | None = None
            try:
                async with self.client.http.stream(
                    "GET", plan.path, params=plan.params, headers=plan.headers, timeout=plan.timeout
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        delay = state.refused(response)
                    else:
                        state.opened()
                        self._tell()
                        async for line in response.aiter_lines():
                            step = state.feed(line)
                            if isinstance(step, Deliver):
                                yield step.event
                                if step.last:
                                    break
                            elif isinstance(step, Reconnect):
                                delay = state.ended()
                                break
                            elif step is not None:  # Refetch
                                workspace = await self.client.get(state.workspace_id)
                                state.reset_to(step)
                                yield Reset(workspace, step.id, step.reason)
                        else:  # the connection ended without saying why: a drop
                            delay = state.failed()
            except httpx.TransportError:  # refused, dropped, or silent past the watchdog
                delay = state.failed()
            self._tell()
            if delay is not None:
                await asyncio.sleep(delay)
