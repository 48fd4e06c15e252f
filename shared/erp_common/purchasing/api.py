"""Purchasing's public face: its events; for planning, the preferred suppliers of SKUs, what open POs
still bring, and draft POs."""
from __future__ import annotations

from .events import PoApproved, PoLineRef, PoReceived, SupplierCreated
from .schemas import PoOut
from .services import DraftLine, PreferredSupplier, create_draft_po, open_quantities, preferred_suppliers

__all__ = ["SupplierCreated", "PoApproved", "PoLineRef", "PoReceived", "PoOut", "DraftLine", "PreferredSupplier",
           "create_draft_po", "open_quantities", "preferred_suppliers"]
