"""Query parameters validated as one pydantic model, documented as ordinary parameters.

FastAPI validates each declared query parameter separately, with typing introspection on
every request (~20 us per parameter here). The list endpoint takes seven; validating them
as one model keeps the same 422 body (loc ["query", name]) at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def query_model(model: type[M]) -> tuple[Callable[[Request], Awaitable[M]], dict[str, Any]]:
    """A dependency parsing `model` from the query string, and the OpenAPI `parameters` for it."""

    async def dependency(request: Request) -> M:
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            for error in errors:
                error["loc"] = ("query", *error["loc"])
            raise RequestValidationError(errors) from None

    schema = model.model_json_schema()
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", ()),
            "schema": {k: v for k, v in prop.items() if k != "description"},
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema["properties"].items()
    ]
    # FastAPI documents 422 only for parameters it parses itself; these can be 422 too.
    invalid = {
        "description": "Validation Error",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    }
    return dependency, {"parameters": parameters, "responses": {"422": invalid}}
