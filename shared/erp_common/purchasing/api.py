"""Purchasing's public face: its events (purchase orders and receipts will add their API here)."""
from __future__ import annotations

from .events import SupplierCreated

__all__ = ["SupplierCreated"]
