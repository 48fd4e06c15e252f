"""Purchasing inputs and outputs: suppliers."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..schemas import Input, Output, PageQuery, UtcDateTime

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]


class SupplierCreateIn(Input):
    code: Code = Field(description="the supplier's code, unique (letters, digits, _ . -)")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    contact_name: Annotated[str, Field(max_length=100)] = ""
    phone: Annotated[str, Field(max_length=32)] = ""
    email: Annotated[str, Field(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] = ""
    address: Annotated[str, Field(max_length=255)] = ""
    payment_terms: Annotated[str, Field(max_length=32)] = Field("", description='e.g. "NET30" or "COD"')


class SupplierOut(Output):
    id: int
    code: str
    name: str
    contact_name: str
    phone: str
    email: str
    address: str
    payment_terms: str
    is_active: bool
    created_by: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class SupplierListIn(PageQuery):
    q: Annotated[str, Field(max_length=100)] | None = Field(None, description="part of the code or name")
    is_active: bool | None = None
