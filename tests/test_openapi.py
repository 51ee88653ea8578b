"""The OpenAPI document describes exactly the reference's workspace operations and their errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import ENVELOPE_KEYS, LIST_FIELDS, WORKSPACE_FIELDS

COLLECTION = "/v1/orgs/{org_id}/workspaces"
ITEM = "/v1/orgs/{org_id}/workspaces/{workspace_id}"
# Sync (a separate reference page) lives below one workspace; nothing else may appear.
SYNC_PREFIX = ITEM + "/sync/"
# API keys (beyond the reference): managed by owners and admins.
KEYS = "/v1/orgs/{org_id}/api-keys"
KEY = KEYS + "/{key_id}"
KEY_OPERATIONS = {
    ("get", KEYS): ("List API Keys", "200", "ApiKeyList"),
    ("post", KEYS): ("Create API Key", "201", "ApiKeyCreated"),
    ("get", KEY): ("Get API Key", "200", "ApiKeyRead"),
    ("delete", KEY): ("Revoke API Key", "204", None),
}
# Webhooks (beyond the reference): managed by owners and admins.
HOOKS = "/v1/orgs/{org_id}/webhooks"
HOOK = HOOKS + "/{webhook_id}"
WEBHOOK_OPERATIONS = {
    ("get", HOOKS): ("List Webhooks", "200", "WebhookList"),
    ("post", HOOKS): ("Create Webhook", "201", "WebhookCreated"),
    ("get", HOOK): ("Get Webhook", "200", "WebhookRead"),
    ("put", HOOK): ("Replace Webhook", "200", "WebhookRead"),
    ("delete", HOOK): ("Delete Webhook", "204", None),
    ("post", HOOK + "/rotate-secret"): ("Rotate Secret", "200", "SecretRotated"),
    ("post", HOOK + "/test"): ("Send Test Event", "202", "DeliveryRead"),
    ("get", HOOK + "/deliveries"): ("List Deliveries", "200", "DeliveryList"),
    ("post", HOOK + "/deliveries/{delivery_id}/retry"): ("Retry Delivery", "202", "DeliveryRead"),
}
WEBHOOK_PATHS = {path for _, path in WEBHOOK_OPERATIONS}

OPERATIONS = {
    ("get", COLLECTION): ("List Workspaces", "200", "WorkspaceList"),
    ("post", COLLECTION): ("Create Workspace", "201", "WorkspaceRead"),
    ("get", ITEM): ("Get Workspace", "200", "WorkspaceRead"),
    ("put", ITEM): ("Update Workspace", "200", "WorkspaceRead"),
    ("delete", ITEM): ("Delete Workspace", "200", "MessageResponse"),
}
EXTRA_ERRORS = {
    ("post", COLLECTION): {"413"},
    ("put", ITEM): {"412", "413"},
    ("delete", ITEM): {"412"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


@pytest.fixture
async def doc(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _ref(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


def _content_schema(response: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def test_only_the_documented_paths(doc: dict[str, Any]) -> None:
    paths = set(doc["paths"])
    probes = {"/healthz", "/livez", "/readyz", "/metrics"}
    assert {*probes, COLLECTION, ITEM, KEYS, KEY} <= paths
    others = paths - {*probes, COLLECTION, ITEM, KEYS, KEY} - WEBHOOK_PATHS
    assert all(p.startswith(SYNC_PREFIX) for p in others), others
    operations = {
        (method, path)
        for path in (COLLECTION, ITEM, KEYS, KEY)
        for method in doc["paths"][path]
        if method in HTTP_METHODS
    }
    assert operations == set(OPERATIONS) | set(KEY_OPERATIONS)
    hook_operations = {
        (method, path)
        for path in WEBHOOK_PATHS
        for method in doc["paths"][path]
        if method in HTTP_METHODS
    }
    assert hook_operations == set(WEBHOOK_OPERATIONS)
    for health in probes:
        assert {m for m in doc["paths"][health] if m in HTTP_METHODS} == {"get"}


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_operation_shapes_and_errors(doc: dict[str, Any], method: str, path: str) -> None:
    summary, success, model = OPERATIONS[(method, path)]
    op = doc["paths"][path][method]
    assert op["summary"] == summary
    responses = op["responses"]
    assert _ref(_content_schema(responses[success])) == model
    assert "200" not in responses or success == "200"  # POST documents 201, not 200
    for code in ("401", "403", "404", "500", *EXTRA_ERRORS.get((method, path), ())):
        assert code in responses, (method, path, code)
        assert _ref(_content_schema(responses[code])) == "ErrorBody"
        assert responses[code]["description"]
    assert "422" in responses, (method, path)
    assert _ref(_content_schema(responses["422"])) == "HTTPValidationError"
    params = {(p["in"], p["name"]): p for p in op.get("parameters", [])}
    assert ("path", "org_id") in params and params[("path", "org_id")]["required"] is True
    if path == ITEM:
        assert ("path", "workspace_id") in params
    assert ("header", "authorization") in params
    assert params[("header", "authorization")]["required"] is False


@pytest.mark.parametrize(("method", "path"), list(KEY_OPERATIONS))
def test_key_operations_and_errors(doc: dict[str, Any], method: str, path: str) -> None:
    summary, success, model = KEY_OPERATIONS[(method, path)]
    op = doc["paths"][path][method]
    assert op["summary"] == summary
    responses = op["responses"]
    if model is None:
        assert "content" not in responses[success]  # 204: no body
    else:
        assert _ref(_content_schema(responses[success])) == model
    assert set(responses) & {"200", "201", "204"} == {success}
    extra = {"413"} if method == "post" else set()
    for code in ("401", "403", "404", "500", *extra):
        assert _ref(_content_schema(responses[code])) == "ErrorBody", (method, path, code)
        assert responses[code]["description"]
    assert _ref(_content_schema(responses["422"])) == "HTTPValidationError"
    params = {(p["in"], p["name"]): p for p in op.get("parameters", [])}
    assert params[("path", "org_id")]["required"] is True
    assert params[("header", "authorization")]["required"] is False
    if path == KEY:
        key_id = params[("path", "key_id")]["schema"]
        assert (key_id["minLength"], key_id["maxLength"]) == (1, 64)
    if (method, path) == ("get", KEYS):
        query = {name for (where, name) in params if where == "query"}
        assert query == {"limit", "cursor"}
        limit = params[("query", "limit")]["schema"]
        assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 200, 50)


@pytest.mark.parametrize(("method", "path"), list(WEBHOOK_OPERATIONS))
def test_webhook_operations_and_errors(doc: dict[str, Any], method: str, path: str) -> None:
    summary, success, model = WEBHOOK_OPERATIONS[(method, path)]
    op = doc["paths"][path][method]
    assert op["summary"] == summary and op["tags"] == ["Webhooks"]
    responses = op["responses"]
    if model is None:
        assert "content" not in responses[success]
    else:
        assert _ref(_content_schema(responses[success])) == model
    assert set(responses) & {"200", "201", "202", "204"} == {success}
    for code in ("401", "403", "404", "500"):
        assert _ref(_content_schema(responses[code])) == "ErrorBody", (method, path, code)
    assert _ref(_content_schema(responses["422"])) == "HTTPValidationError"
    params = {(p["in"], p["name"]): p for p in op.get("parameters", [])}
    assert params[("path", "org_id")]["required"] is True
    assert params[("header", "authorization")]["required"] is False


def test_key_models(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    fields = {"id", "name", "role", "user_id", "created_at", "expires_at", "last_used_at"}
    assert set(schemas["ApiKeyRead"]["properties"]) == fields
    assert set(schemas["ApiKeyCreated"]["properties"]) == fields | {"secret"}
    assert "secret" not in schemas["ApiKeyList"]["properties"]["api_keys"]["items"]["$ref"].lower()
    assert set(schemas["ApiKeyList"]["properties"]) == {
        "total", "has_more", "next_cursor", "api_keys",
    }  # fmt: skip
    create = schemas["ApiKeyCreate"]
    assert set(create["properties"]) == {"name", "role", "user_id", "expires_at"}
    assert create.get("additionalProperties") is False
    body = doc["paths"][KEYS]["post"]["requestBody"]
    assert _ref(_content_schema(body)) == "ApiKeyCreate" and body["required"]


def test_list_query_parameters(doc: dict[str, Any]) -> None:
    params = {
        p["name"]: p for p in doc["paths"][COLLECTION]["get"]["parameters"] if p["in"] == "query"
    }
    assert {"organization_id", "limit", "cursor"} <= set(params)
    assert set(params) - {"organization_id", "limit", "cursor"} <= {
        "is_active",
        "tag",
        "region",
        "q",
    }
    limit = params["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 200, 50)
    assert limit["type"] == "integer"
    assert all(p["required"] is False for p in params.values())


def test_conditional_and_idempotency_headers(doc: dict[str, Any]) -> None:
    def headers(method: str, path: str) -> set[str]:
        return {
            p["name"].lower()
            for p in doc["paths"][path][method]["parameters"]
            if p["in"] == "header"
        }

    assert "idempotency-key" in headers("post", COLLECTION)
    assert "if-match" in headers("put", ITEM)
    assert "if-match" in headers("delete", ITEM)
    assert "if-none-match" in headers("get", ITEM)


def test_models(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    read = schemas["WorkspaceRead"]
    assert set(read["properties"]) == WORKSPACE_FIELDS
    assert set(read["required"]) >= WORKSPACE_FIELDS - {"bucket_error"}
    assert read["properties"]["created_at"]["format"] == "date-time"
    assert set(schemas["WorkspaceList"]["properties"]) == LIST_FIELDS
    assert set(schemas["ErrorBody"]["properties"]) == ENVELOPE_KEYS
    assert set(schemas["MessageResponse"]["properties"]) == {"message"}
    status = schemas["BucketStatus"]["enum"]
    assert "pending" in status
    create = schemas["WorkspaceCreate"]
    assert set(create["properties"]) == {
        "organization_id", "name", "description", "subscription_plan_id", "is_active", "tags",
        "region",
    }  # fmt: skip
    assert create["required"] == ["name"]
    assert create.get("additionalProperties") is False
    update = schemas["WorkspaceUpdate"]
    assert set(update["properties"]) == {
        "name", "description", "subscription_plan_id", "is_active", "tags", "region",
    }  # fmt: skip
    assert not update.get("required")
    assert update.get("additionalProperties") is False
    post_body = doc["paths"][COLLECTION]["post"]["requestBody"]
    assert _ref(_content_schema(post_body)) == "WorkspaceCreate" and post_body["required"]
    put_body = doc["paths"][ITEM]["put"]["requestBody"]
    assert _ref(_content_schema(put_body)) == "WorkspaceUpdate"


async def test_docs_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
