"""The asynchronous client: the same operations as `MechaMental`, on httpx.AsyncClient."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from mechamental_client._core import Call, Requests, Token, Workspace


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
        self._token = token
        self._current: str | None = None
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
        """The credential (asked again of the callback with `fresh`)."""
        if isinstance(self._token, str):
            return self._token
        if fresh or self._current is None:
            self._current = self._token()
        return self._current

    async def _send(self, call: Call) -> httpx.Response:
        for attempt in (0, 1):
            headers = {**call.headers, "Authorization": f"Bearer {self.token(fresh=attempt > 0)}"}
            response = await self.http.request(
                call.method, call.path, params=call.params, json=call.json, headers=headers
            )
            if response.status_code != 401 or isinstance(self._token, str):
                return response
        return response

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
