"""The synchronous client: workspaces, the resuming event stream and presence."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from mechamental_client._core import (
    AuthenticationError,
    Call,
    Requests,
    Token,
    Workspace,
    raise_for,
)
from mechamental_client._sse import Event, Reset, backoff, frames, parse_event

RESUMABLE = {"sync.timeout", "sync.unauthorized"}


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
        self._token = token
        self._current: str | None = None
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
        """The credential (asked again of the callback with `fresh`)."""
        if isinstance(self._token, str):
            return self._token
        if fresh or self._current is None:
            self._current = self._token()
        return self._current

    def _send(self, call: Call) -> httpx.Response:
        for attempt in (0, 1):
            headers = {**call.headers, "Authorization": f"Bearer {self.token(fresh=attempt > 0)}"}
            response = self.http.request(
                call.method, call.path, params=call.params, json=call.json, headers=headers
            )
            if response.status_code != 401 or isinstance(self._token, str):
                return response
        return response

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
        on_status: Callable[[str], None] | None = None,
    ) -> Iterator[Event | Reset]:
        """The workspace's events, forever, resuming by itself after any drop or end.

        `sync.connected`, heartbeats and the stream's own endings are not yielded; a
        `sync.reset` becomes a `Reset` with the workspace read again. It stops after
        `workspace.deleted`, or after `max_attempts` failed connections in a row.
        """
        base = f"{self.requests.base()}/{workspace_id}/sync/stream"
        failures = 0
        fresh = False
        while True:
            status = on_status or (lambda _s: None)
            status("connecting" if last_event_id is None else "reconnecting")
            params = {"timeout": str(timeout)}
            if last_event_id is not None:
                params["last_event_id"] = last_event_id
            headers = {"Authorization": f"Bearer {self.token(fresh=fresh)}"}
            fresh = False
            try:
                with self.http.stream(
                    "GET", base, params=params, headers=headers, timeout=httpx.Timeout(30, read=90)
                ) as response:
                    if response.status_code == 401 and not isinstance(self._token, str):
                        fresh = True
                        failures += 1
                        response.read()
                        if max_attempts is not None and failures >= max_attempts:
                            raise_for(response)
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise_for(response)
                    status("live")
                    for frame in frames(response.iter_lines()):
                        failures = 0
                        if frame.event == "sync.connected":
                            continue
                        if frame.event in RESUMABLE:
                            fresh = frame.event == "sync.unauthorized"
                            break
                        if frame.event == "sync.reset":
                            if frame.id:
                                last_event_id = frame.id
                            yield Reset(self.get(workspace_id), frame.id)
                            continue
                        if frame.id:
                            last_event_id = frame.id
                        event = parse_event(frame)
                        yield event
                        if event.type == "workspace.deleted":
                            status("closed")
                            return
                    else:
                        pass
                if fresh or failures == 0:
                    continue
            except (httpx.TransportError, AuthenticationError) as error:
                if isinstance(error, AuthenticationError) and isinstance(self._token, str):
                    raise
                fresh = isinstance(error, AuthenticationError)
            failures += 1
            if max_attempts is not None and failures >= max_attempts:
                raise ConnectionError(f"stream of {workspace_id} failed {failures} times")
            time.sleep(backoff(failures - 1))

    def _presence(self, workspace_id: str, action: str) -> None:
        path = f"{self.requests.base()}/{workspace_id}/sync/presence/{action}"
        raise_for(self._send(Call("POST", path)))

    def view(self, workspace_id: str, resource_type: str, resource_id: str) -> None:
        """Announce what this user is looking at."""
        path = f"{self.requests.base()}/{workspace_id}/sync/presence/viewing"
        params = {"resource_type": resource_type, "resource_id": resource_id}
        raise_for(self._send(Call("POST", path, params=params)))

    def members(self, workspace_id: str) -> Any:
        """Who is present now (the service's presence list)."""
        path = f"{self.requests.base()}/{workspace_id}/sync/presence"
        response = self._send(Call("GET", path))
        raise_for(response)
        return response.json()

    @contextlib.contextmanager
    def presence(self, workspace_id: str, *, refresh_every: float = 10.0) -> Iterator[None]:
        """Join, re-join every `refresh_every` seconds (inside the TTL), leave on exit."""
        self._presence(workspace_id, "join")
        stop = threading.Event()

        def refresh() -> None:
            while not stop.wait(refresh_every):
                with contextlib.suppress(Exception):
                    self._presence(workspace_id, "join")

        worker = threading.Thread(target=refresh, daemon=True)
        worker.start()
        try:
            yield
        finally:
            stop.set()
            worker.join()
            self._presence(workspace_id, "leave")
