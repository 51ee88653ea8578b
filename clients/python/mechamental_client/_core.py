"""Request building and response parsing shared by the sync and async clients.

Both clients only move bytes; everything that decides what a request looks like or what an
answer means lives here, so the two can never disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

Token = str | Callable[[], str]
# Answers to a stream's open that say "try again later" rather than "never".
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Workspace:
    """A workspace as the service returns it (`raw` keeps every field)."""

    workspace_id: str
    name: str
    is_active: bool
    tags: list[str]
    region: str
    etag: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def parse(cls, body: Mapping[str, Any], etag: str | None) -> Workspace:
        """From a response body."""
        return cls(
            workspace_id=str(body["workspace_id"]),
            name=str(body["name"]),
            is_active=bool(body["is_active"]),
            tags=list(body.get("tags", [])),
            region=str(body.get("region", "")),
            etag=etag,
            raw=dict(body),
        )


class MechaMentalError(Exception):
    """An error answer of the service, from its envelope."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any],
        request_id: str | None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.request_id = request_id
        self.retry_after = retry_after  # seconds the server asked to wait (429, 503)


class ConflictError(MechaMentalError):
    """412: the workspace changed since the read whose ETag was sent."""


class NotFoundError(MechaMentalError):
    """404."""


class AuthenticationError(MechaMentalError):
    """401 even after asking the token callback again."""


class RateLimitError(MechaMentalError):
    """429: a rate limit or the stream cap; `retry_after` says when to try again."""


class ValidationError(MechaMentalError):
    """422; `errors` is FastAPI's detail list."""

    @property
    def errors(self) -> list[Any]:
        """The per-field errors."""
        found = self.details.get("errors", self.details.get("detail", []))
        return list(found) if isinstance(found, list) else []


_BY_STATUS: dict[int, type[MechaMentalError]] = {
    401: AuthenticationError,
    404: NotFoundError,
    412: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - (now or datetime.now(UTC))).total_seconds())


def raise_for(response: httpx.Response) -> None:
    """Raise the typed error of a non-2xx answer."""
    if response.status_code >= 400:
        raise error_for(response)


def error_for(response: httpx.Response) -> MechaMentalError:
    """The typed error of an error answer, from its envelope (or FastAPI's 422 body)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    details = body.get("details") or {}
    if not isinstance(details, dict):
        details = {"value": details}
    if "detail" in body and isinstance(body["detail"], list):
        details = {**details, "errors": body["detail"]}
    kind = _BY_STATUS.get(response.status_code, MechaMentalError)
    return kind(
        status=response.status_code,
        code=str(body.get("error", "HTTP_ERROR")),
        message=str(body.get("message", response.reason_phrase)),
        details=details,
        request_id=response.headers.get("x-request-id"),
        retry_after=retry_after_seconds(response),
    )


@dataclass(frozen=True, slots=True)
class Call:
    """One request to send."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Requests:
    """Builds the requests of one org and remembers ETags of the last reads."""

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id
        self.etags: dict[str, str] = {}

    def base(self) -> str:
        """The workspaces collection path."""
        return f"/v1/orgs/{self.org_id}/workspaces"

    def list_page(
        self,
        *,
        cursor: str | None,
        limit: int,
        is_active: bool | None,
        tag: str | None,
        region: str | None,
        q: str | None,
    ) -> Call:
        """One page of the list."""
        params: dict[str, str] = {"limit": str(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        if is_active is not None:
            params["is_active"] = "true" if is_active else "false"
        for name, value in (("tag", tag), ("region", region), ("q", q)):
            if value is not None:
                params[name] = value
        return Call("GET", self.base(), params=params)

    def create(self, body: Mapping[str, Any], idempotency_key: str | None) -> Call:
        """Create, with a key (generated when absent) so that a retry never doubles."""
        key = idempotency_key or str(uuid.uuid4())
        return Call("POST", self.base(), json=dict(body), headers={"Idempotency-Key": key})

    def get(self, workspace_id: str) -> Call:
        """Read one."""
        return Call("GET", f"{self.base()}/{workspace_id}")

    def _if_match(self, workspace_id: str, if_match: str | None) -> dict[str, str]:
        tag = if_match if if_match is not None else self.etags.get(workspace_id)
        return {"If-Match": tag} if tag else {}

    def update(self, workspace_id: str, patch: Mapping[str, Any], if_match: str | None) -> Call:
        """Change one, If-Match the last read by default."""
        headers = self._if_match(workspace_id, if_match)
        return Call("PUT", f"{self.base()}/{workspace_id}", json=dict(patch), headers=headers)

    def delete(self, workspace_id: str, if_match: str | None) -> Call:
        """Delete one, If-Match the last read by default."""
        headers = self._if_match(workspace_id, if_match)
        return Call("DELETE", f"{self.base()}/{workspace_id}", headers=headers)

    def stream(self, workspace_id: str) -> str:
        """The event stream's path."""
        return f"{self.base()}/{workspace_id}/sync/stream"

    def presence(self, workspace_id: str, action: str) -> Call:
        """Presence `join` or `leave`."""
        return Call("POST", f"{self.base()}/{workspace_id}/sync/presence/{action}")

    def view(self, workspace_id: str, resource_type: str, resource_id: str) -> Call:
        """Announce what the caller looks at."""
        params = {"resource_type": resource_type, "resource_id": resource_id}
        return Call("POST", f"{self.base()}/{workspace_id}/sync/presence/viewing", params=params)

    def members(self, workspace_id: str) -> Call:
        """Who is present."""
        return Call("GET", f"{self.base()}/{workspace_id}/sync/presence")

    def workspace(self, response: httpx.Response) -> Workspace:
        """Parse a workspace answer and remember its ETag."""
        raise_for(response)
        etag = response.headers.get("etag")
        found = Workspace.parse(response.json(), etag)
        if etag:
            self.etags[found.workspace_id] = etag
        return found

    def page(self, response: httpx.Response) -> tuple[list[Workspace], str | None]:
        """Parse a list page: its workspaces and the next cursor (None at the end)."""
        raise_for(response)
        body = response.json()
        items = [Workspace.parse(item, None) for item in body["workspaces"]]
        return items, body["next_cursor"] if body["has_more"] else None

    def deleted(self, workspace_id: str, response: httpx.Response) -> None:
        """Check a delete answer."""
        raise_for(response)
        self.etags.pop(workspace_id, None)


class Credentials:
    """The bearer credential: a fixed string, or a callable asked again when one is refused."""

    def __init__(self, token: Token) -> None:
        self._token = token
        self._current: str | None = None

    @property
    def refreshable(self) -> bool:
        """Whether a refused credential can be replaced."""
        return not isinstance(self._token, str)

    def get(self, *, fresh: bool = False) -> str:
        """The credential (asked again of the callable with `fresh`)."""
        if isinstance(self._token, str):
            return self._token
        if fresh or self._current is None:
            self._current = self._token()
        return self._current

    def headers(self, call: Call, attempt: int) -> dict[str, str]:
        """The headers of attempt `attempt` (0, then 1 after a 401) of `call`."""
        return {**call.headers, "Authorization": f"Bearer {self.get(fresh=attempt > 0)}"}

    def retry(self, response: httpx.Response, attempt: int) -> bool:
        """Whether to send again with a fresh credential."""
        return response.status_code == 401 and self.refreshable and attempt == 0


Members = list[dict[str, Any]]  # the presence list (`user_id`, `connections`, `viewing`, `since`)


def members(response: httpx.Response) -> Members:
    """The presence list's members."""
    raise_for(response)
    found = response.json().get("members", [])
    return [dict(m) for m in found] if isinstance(found, list) else []
