"""OpenAPI 3.1 documents built from the operation declarations (for /docs)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from .http import BODY_METHODS
from .operations import CONNECTOR, PUBLIC, SIGNED_IN, Operation

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}
_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_REF = "#/components/schemas/{model}"


def _schema(tp: Any, mode: str, components: dict[str, Any]) -> dict[str, Any]:
    if isinstance(tp, type) and hasattr(tp, "model_json_schema"):
        _, defs = models_json_schema([(tp, mode)], ref_template=_REF)
        components.update(defs.get("$defs", {}))
        return {"$ref": _REF.format(model=tp.__name__)} if tp.__name__ in components else tp.model_json_schema(
            mode=mode, ref_template=_REF
        )
    schema = TypeAdapter(tp).json_schema(mode=mode, ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    return schema


def _parameters(op: Operation, components: dict[str, Any], in_body: bool) -> list[dict[str, Any]]:
    params = []
    path_names = set(op.path_regex.groupindex) if op.path_regex is not None else set()
    if op.input is None:
        return params
    schema = op.input.model_json_schema(mode="validation", ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if name in path_names:
            params.append({"name": name, "in": "path", "required": True, "schema": prop})
        elif not in_body:
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": prop,
                    "description": prop.get("description", ""),
                }
            )
    return params


def _success(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    if op.content_type != "application/json":
        return {op.content_type: {"schema": {"type": "string"}}}
    if op.output is None:
        return {"application/json": {"schema": {"type": "object"}}}
    return {"application/json": {"schema": _schema(op.output, "serialization", components)}}


def document(entries: Iterable[tuple[str, Operation]], title: str = "ERP functions") -> dict[str, Any]:
    """An OpenAPI document for (URL prefix, operation) pairs, e.g. ("/function/user-login", op)."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for prefix, op in entries:
        url = prefix + (op.path or "")
        item = paths.setdefault(url, {})
        for method in op.methods:
            in_body = method in BODY_METHODS
            spec: dict[str, Any] = {
                "operationId": f"{op.name}-{method.lower()}" if len(op.methods) > 1 else op.name,
                "summary": op.summary,
                "description": op.description + _access_note(op),
                "tags": [op.service],
                "parameters": _parameters(op, components, in_body),
                "responses": {
                    str(op.status): {"description": "success", "content": _success(op, components)},
                    **({"202": {"description": "accepted: handed on, its progress read where the body says",
                                "content": {"application/json": {"schema": _schema(op.accepted, "serialization",
                                                                                   components)}}}}
                       if op.accepted is not None else {}),
                    "400": {"description": "malformed request", **_ERR},
                    "401": {"description": "not signed in, or the token is invalid", **_ERR},
                    "403": {"description": "the role is not allowed", **_ERR},
                    "404": {"description": "not found", **_ERR},
                    "409": {"description": "conflicts with the current state", **_ERR},
                    "422": {"description": "invalid input; details name each field", **_ERR},
                    # Any function may answer these two: a client must be able to tell them apart.
                    "429": {"description": "too many requests (sign-in throttling, rate limits)", **_ERR},
                    "503": {"description": "busy or stopping (database_busy, shutting_down): retry after "
                                           "Retry-After", **_ERR},
                },
            }
            if op.roles not in (PUBLIC, CONNECTOR):
                spec["security"] = [{"bearer": []}]
            if op.idempotent:
                spec["parameters"].append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 100},
                        "description": "a retry with the same key returns the first response",
                    }
                )
            if in_body and op.input is not None:
                spec["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _body_schema(op, components)}},
                }
            item[method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "0.1.0"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _body_schema(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    """The input schema, less the fields that come from the path (``/function/user-update/{user_id}``)."""
    path_names = set(op.path_regex.groupindex) if op.path_regex is not None else set()
    if not path_names:
        return _schema(op.input, "validation", components)
    schema = op.input.model_json_schema(mode="validation", ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in path_names}
    schema["required"] = [k for k in schema.get("required", []) if k not in path_names]
    return schema


def _access_note(op: Operation) -> str:
    if op.roles == PUBLIC:
        return "\n\nAccess: anyone."
    if op.roles == SIGNED_IN:
        return "\n\nAccess: any signed-in user."
    if op.roles == CONNECTOR:
        extra = f" on schedule `{op.schedule}`" if op.schedule else f" on topic `{op.topic}`"
        return f"\n\nAccess: invoked by the connector{extra}; safe to call again."
    return f"\n\nAccess: roles {op.roles_text} (admin always)."
