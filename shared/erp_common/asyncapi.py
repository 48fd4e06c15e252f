"""The event catalogue as an AsyncAPI 3.0 document, generated from the registry of typed events.

Each event type is a channel (its NATS subject) carrying one message: the envelope
``{"id", "type", "occurred_at", "data", "version"}`` whose ``data`` is the event's schema. The
domain that declares an event sends it; every declared consumer (an operation with that
``topic``) receives it. Served by the local gateway at ``/docs/asyncapi.json`` beside ``/docs``.
"""
from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from . import domains
from .events import EVENT_TYPES, DomainEvent
from .operations import REGISTRY

_REF = "#/components/schemas/{model}"


def _domain(cls: type[DomainEvent]) -> str:
    parts = cls.__module__.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "erp_common" else cls.__module__


def _message_name(cls: type[DomainEvent]) -> str:
    return f"{cls.__name__}V{cls.event_version}"


def document(title: str = "ERP events") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event type of every domain, and who sends and receives it."""
    domains.load()
    classes = sorted(EVENT_TYPES.values(), key=lambda c: (c.event_type, c.event_version))
    _, defs = models_json_schema([(c, "serialization") for c in classes], ref_template=_REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for cls in classes:
        name, channel = _message_name(cls), cls.event_type
        schemas[f"{name}Envelope"] = {
            "type": "object",
            "required": ["id", "type", "occurred_at", "data", "version"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "type": {"const": cls.event_type},
                "occurred_at": {"type": "string", "format": "date-time"},
                "data": {"$ref": _REF.format(model=cls.__name__)},
                "version": {"const": cls.event_version},
            },
        }
        messages[name] = {
            "name": name,
            "title": f"{cls.event_type} v{cls.event_version}",
            "summary": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else cls.event_type,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}Envelope"},
        }
        entry = channels.setdefault(channel, {"address": channel, "messages": {}, "description":
                                              f"NATS subject {channel}; declared by the {_domain(cls)} domain"})
        entry["messages"][name] = {"$ref": f"#/components/messages/{name}"}
        operations.setdefault(f"{_domain(cls)}.send.{channel}", {
            "action": "send", "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"the {_domain(cls)} domain publishes {channel} after the commit that caused it",
            "messages": [], "x-erp-domain": _domain(cls)})
        operations[f"{_domain(cls)}.send.{channel}"]["messages"].append(
            {"$ref": f"#/channels/{channel}/messages/{name}"})
    for op in sorted(REGISTRY.values(), key=lambda o: o.name):
        if op.topic and op.topic in channels:
            operations[op.name] = {
                "action": "receive", "channel": {"$ref": f"#/channels/{op.topic}"},
                "summary": f"{op.name}: {op.summary} (processes each event once)",
                "messages": [{"$ref": f"#/channels/{op.topic}/messages/{m}"} for m in channels[op.topic]["messages"]],
                "x-erp-domain": op.domain, "x-openfaas-function": op.name,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": "1.0.0",
                 "description": "Every event the ERP publishes: subject, payload and subscribers. Events are "
                                "written to an outbox in the transaction that caused them and published to "
                                "NATS after commit; consumers load them by id and process each once."},
        "defaultContentType": "application/json",
        "servers": {"nats": {"host": "nats:4222", "protocol": "nats",
                             "description": "NATS_URL (the OpenFaaS NATS connector delivers to functions)"}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
