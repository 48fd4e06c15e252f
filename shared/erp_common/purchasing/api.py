"""Purchasing's public face: its events, the preferred supplier of SKUs, open POs, draft POs."""
from __future__ import annotations

from .events import PoApproved, PoLineRef, PoReceived, SupplierCreated

__all__ = ["SupplierCreated", "PoApproved", "PoLineRef", "PoReceived"]
