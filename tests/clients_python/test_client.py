"""The Python clients' workspace operations against a real `mechamental serve` (the live
stream is test_live.py, presence and `mechamental watch` test_presence_watch.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mechamental_client import (
    AsyncMechaMental,
    ConflictError,
    MechaMental,
    NotFoundError,
    ValidationError,
)

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from tests.conftest import create_tenant
from tests.sync.procs import lone_server

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
WAIT = 60.0  # a bound on waiting for events, never a measurement


async def _tenant(database_url: str) -> tuple[str, str]:
    db = Database(database_url)
    try:
        tenant = await create_tenant(db, "pyclient")
        async with db.transaction() as conn:
            issued = await tokens.create_token(
                conn, org_id=tenant.org_id, user_id="py-user", role=Role.ADMIN
            )
    finally:
        await db.dispose()
    return tenant.org_id, issued.secret


async def test_crud_pages_idempotency_conflicts_and_errors(
    database_url: str, tmp_path: Path
) -> None:
    org, token = await _tenant(database_url)
    async with lone_server(database_url, tmp_path) as server:
        async with AsyncMechaMental(server.url, org, token=token) as client:
            made = [await client.create({"name": f"ws-{i}", "tags": ["t"]}) for i in range(5)]
            listed = [w.workspace_id async for w in client.list(page_size=2)]
            assert sorted(listed) == sorted(w.workspace_id for w in made)
            assert [w.name async for w in client.list(q="ws-3")] == ["ws-3"]
            again = await client.create({"name": "once"}, idempotency_key="k-1")
            twice = await client.create({"name": "once"}, idempotency_key="k-1")
            assert again.workspace_id == twice.workspace_id
            first = await client.get(made[0].workspace_id)
            assert first.etag
            changed = await client.update(first.workspace_id, {"name": "renamed"})
            assert changed.name == "renamed"
            with pytest.raises(ConflictError) as conflict:
                await client.update(first.workspace_id, {"name": "x"}, if_match=first.etag)
            assert conflict.value.status == 412 and conflict.value.request_id
            with pytest.raises(ValidationError) as invalid:
                await client.create({"name": ""})
            assert invalid.value.status == 422 and invalid.value.errors
            await client.delete(first.workspace_id)
            with pytest.raises(NotFoundError) as missing:
                await client.get(first.workspace_id)
            assert missing.value.code and missing.value.status == 404
        with MechaMental(server.url, org, token=token) as sync_client:
            assert len(list(sync_client.list(page_size=2))) == 5
