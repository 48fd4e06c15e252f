"""Where the declared operations come from: importing each domain's ``operations`` module."""
from __future__ import annotations

import importlib
import threading

from .http import REGISTRY, Operation

DOMAINS = ("identity", "jobs", "catalog", "inventory", "sales")
_lock = threading.Lock()
_loaded = False


def load_operations() -> dict[str, Operation]:
    global _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                for domain in DOMAINS:
                    try:
                        importlib.import_module(f"erp_common.{domain}.operations")
                    except ModuleNotFoundError as exc:
                        if exc.name != f"erp_common.{domain}.operations":
                            raise  # a domain with tables but no functions yet has no operations module
                _loaded = True
    return REGISTRY


def load_models() -> None:
    """Import every table definition (for migrations and the schema check)."""
    from . import events, idempotency  # noqa: F401

    for domain in DOMAINS:
        importlib.import_module(f"erp_common.{domain}.models")
