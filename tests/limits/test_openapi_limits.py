"""The OpenAPI document states the limits: 429 (with its headers) on every `/v1` operation,
and the quota's 403 on the workspace create."""

from __future__ import annotations

import httpx

METHODS = {"get", "put", "post", "delete", "patch"}


async def test_every_v1_operation_documents_429_and_the_create_its_quota(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    operations = [
        (method, path, op)
        for path, item in doc["paths"].items()
        if path.startswith("/v1/")
        for method, op in item.items()
        if method in METHODS
    ]
    assert operations
    for method, path, op in operations:
        limited = op["responses"].get("429")
        assert limited is not None, (method, path)
        assert limited["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(limited["headers"])
    create = doc["paths"]["/v1/orgs/{org_id}/workspaces"]["post"]["responses"]["403"]
    assert "QUOTA_EXCEEDED" in create["description"]
