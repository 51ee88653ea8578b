"""The synchronous client: workspaces, the resuming event stream and presence.

Only I/O lives here (httpx.Client, threads, time.sleep); what requests look like and what
answers mean is `_core`, and every decision of the live stream and presence is `_live`,
shared with the async client.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
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


class MechaMental:
    """Client of one org: `MechaMental(base_url, org_id, token=...)`; token may be a callable."""

    def __init__(
        self,
        base_url: str,
        org_id: str,
        *,
        token: Token,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.credentials = Credentials(token)
        self.requests = Requests(org_id)
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def __enter__(self) -> MechaMental:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def token(self, *, fresh: bool = False) -> str:
        """The credential (asked again of the callable with `fresh`)."""
        return self.credentials.get(fresh=fresh)

    def _send(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            response = self.http.request(
                call.method,
                call.path,
                params=call.params,
                json=call.json,
                headers=self.credentials.headers(call, attempt),
            )
            if not self.credentials.retry(response, attempt):
                return response
            attempt += 1

    def list(
        self,
        *,
        is_active: bool | None = None,
        tag: str | None = None,
        region: str | None = None,
        q: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Workspace]:
        """Every workspace matching the filters, page after page."""
        cursor: str | None = None
        while True:
            call = self.requests.list_page(
                cursor=cursor, limit=page_size, is_active=is_active, tag=tag, region=region, q=q
            )
            items, cursor = self.requests.page(self._send(call))
            yield from items
            if cursor is None:
                return

    def create(self, body: Mapping[str, Any], *, idempotency_key: str | None = None) -> Workspace:
        """Create a workspace (an Idempotency-Key is generated when none is given)."""
        return self.requests.workspace(self._send(self.requests.create(body, idempotency_key)))

    def get(self, workspace_id: str) -> Workspace:
        """Read a workspace (its ETag is remembered for update/delete)."""
        return self.requests.workspace(self._send(self.requests.get(workspace_id)))

    def update(
        self, workspace_id: str, patch: Mapping[str, Any], *, if_match: str | None = None
    ) -> Workspace:
        """Change a workspace; 412 (changed since the last read) raises ConflictError."""
        call = self.requests.update(workspace_id, patch, if_match)
        return self.requests.workspace(self._send(call))

    def delete(self, workspace_id: str, *, if_match: str | None = None) -> None:
        """Delete a workspace; 412 raises ConflictError."""
        call = self.requests.delete(workspace_id, if_match)
        self.requests.deleted(workspace_id, self._send(call))

    def sync(
        self,
        workspace_id: str,
        *,
        last_event_id: str | None = None,
        timeout: int = 3600,
        max_attempts: int | None = None,
        on_status: Callable[[Status], None] | None = None,
    ) -> EventStream:
        """The workspace's events, resuming by itself after any drop, end or restart.

        `for event in client.sync(ws)` (or `with client.sync(ws) as stream`, which closes
        the connection on exit). `sync.connected`, heartbeats and the stream's own endings
        are not yielded; a `sync.reset` becomes a `Reset` with the workspace read again.
        It stops after `workspace.deleted`; `max_attempts` failed connections in a row
        raise `GaveUp` (a ConnectionError).
        """
        state = StreamState(
            workspace_id,
            path=self.requests.stream(workspace_id),
            credentials=self.credentials,
            last_event_id=last_event_id,
            timeout=timeout,
            max_attempts=max_attempts,
        )
        return EventStream(self, state, on_status)

    def view(self, workspace_id: str, resource_type: str, resource_id: str) -> None:
        """Announce what this user is looking at (and that they are present)."""
        raise_for(self._send(self.requests.view(workspace_id, resource_type, resource_id)))

    def members(self, workspace_id: str) -> Members:
        """Who is present now (the service's presence list)."""
        return members(self._send(self.requests.members(workspace_id)))

    def join(self, workspace_id: str) -> None:
        """Announce presence once (`presence()` keeps it up)."""
        raise_for(self._send(self.requests.presence(workspace_id, "join")))

    def leave(self, workspace_id: str) -> None:
        """Announce leaving."""
        raise_for(self._send(self.requests.presence(workspace_id, "leave")))

    @contextlib.contextmanager
    def presence(self, workspace_id: str, *, ttl_seconds: float = 60.0) -> Iterator[None]:
        """Join, re-join well inside the server's `PRESENCE_TTL_SECONDS`, leave on exit."""
        timing = PresenceTiming(ttl_seconds)
        self.join(workspace_id)
        stop = threading.Event()

        def refresh() -> None:
            wait = timing.refresh_seconds
            while not stop.wait(wait):
                try:
                    self.join(workspace_id)
                    wait = timing.refresh_seconds
                except (httpx.TransportError, MechaMentalError):
                    wait = timing.retry_seconds

        worker = threading.Thread(target=refresh, name=f"presence-{workspace_id}", daemon=True)
        worker.start()
        try:
            yield
        finally:
            stop.set()
            worker.join()
            self.leave(workspace_id)


class EventStream(StreamHandle):
    """One workspace's events over as many connections as it takes (see `MechaMental.sync`)."""

    def __init__(
        self,
        client: MechaMental,
        state: StreamState,
        on_status: Callable[[Status], None] | None,
    ) -> None:
        super().__init__(state, on_status)
        self.client = client
        self._events = self._run()

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> Event | Reset:
        return next(self._events)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop (closes the open connection)."""
        self._events.close()
        self._stopped()

    def _run(self) -> Generator[Event | Reset, None, None]:
        state = self.state
        while state.status != Status.CLOSED:
            plan = state.connect()
            self._tell()
            delay: float | None = None
            try:
                with self.client.http.stream(
                    "GET", plan.path, params=plan.params, headers=plan.headers, timeout=plan.timeout
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        delay = state.refused(response)
                    else:
                        state.opened()
                        self._tell()
                        for line in response.iter_lines():
                            step = state.feed(line)
                            if isinstance(step, Deliver):
                                yield step.event
                                if step.last:
                                    break
                            elif isinstance(step, Reconnect):
                                delay = state.ended()
                                break
                            elif step is not None:  # Refetch
                                workspace = self.client.get(state.workspace_id)
                                state.reset_to(step)
                                yield Reset(workspace, step.id, step.reason)
                        else:  # the connection ended without saying why: a drop
                            delay = state.failed()
            except httpx.TransportError:  # refused, dropped, or silent past the watchdog
                delay = state.failed()
            self._tell()
            if delay is not None:
                time.sleep(delay)
