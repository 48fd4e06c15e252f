"""Purchasing inputs and outputs: suppliers, a SKU's suppliers, purchase orders and receipts.

A SKU is named by its id (a JSON number) or its code (a string), as on orders. Unit costs keep
four places; a line's amount is its quantity times its unit cost rounded to the cent, half up.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from ..catalog.api import SkuRef
from ..schemas import (
    Id,
    Input,
    Int,
    Line,
    Money,
    Name,
    NonNegativeMoney,
    Output,
    PageQuery,
    PositiveQuantity,
    Quantity,
    Text,
    UtcDateTime,
)
from .models import STATUSES

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
Email = Annotated[Line, Field(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Status = Literal[STATUSES]  # type: ignore[valid-type]
Percent = Annotated[Money, Field(ge=0, le=100)]


class SupplierCreateIn(Input):
    code: Code = Field(description="the supplier's code, unique (letters, digits, _ . -)")
    name: Annotated[Name, Field(max_length=100)]
    contact_name: Annotated[Line, Field(max_length=100)] = ""
    phone: Annotated[Line, Field(max_length=32)] = ""
    email: Email = ""
    address: Annotated[Line, Field(max_length=255)] = ""
    payment_terms: Annotated[Line, Field(max_length=32)] = Field("", description='e.g. "NET30" or "COD"')


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
    q: Annotated[Line, Field(max_length=100)] | None = Field(None, description="part of the code or name")
    is_active: bool | None = None


class SupplierRefIn(Input):
    supplier: Id | Code = Field(description="the supplier's id or code (digits are an id), in the path or the body")


class SupplierUpdateIn(SupplierRefIn):
    """The fields given change; the code does not."""

    name: Annotated[Name, Field(max_length=100)] | None = None
    contact_name: Annotated[Line, Field(max_length=100)] | None = None
    phone: Annotated[Line, Field(max_length=32)] | None = None
    email: Email | None = None
    address: Annotated[Line, Field(max_length=255)] | None = None
    payment_terms: Annotated[Line, Field(max_length=32)] | None = None
    is_active: bool | None = None


# --- a SKU's suppliers ---------------------------------------------------------------------

class SkuSupplierSetIn(Input):
    sku: SkuRef = Field(description="the SKU id (number) or code (string)")
    supplier_id: Id
    supplier_sku_code: Annotated[Line, Field(max_length=64)] = Field("", description="the supplier's own code")
    last_price: NonNegativeMoney | None = Field(None, description="the last unit price paid (receipts update it)")
    lead_time_days: Int = Field(0, ge=0, le=3650)
    is_preferred: bool = Field(False, description="true: this supplier becomes the SKU's only preferred one")
    remove: bool = Field(False, description="true: the supplier no longer supplies this SKU")


class SkuSupplierOut(Output):
    supplier_id: int
    supplier_code: str
    supplier_name: str
    supplier_sku_code: str
    last_price: Money | None
    lead_time_days: int
    is_preferred: bool
    updated_at: UtcDateTime


class SkuSuppliersOut(Output):
    sku_id: int
    sku_code: str
    suppliers: list[SkuSupplierOut]


# --- purchase orders -----------------------------------------------------------------------

class PoLineIn(Input):
    sku: SkuRef = Field(validation_alias=AliasChoices("sku", "sku_id", "sku_code"),
                        description="SKU id (number) or code (string)")
    qty: PositiveQuantity = Field(validation_alias=AliasChoices("qty", "quantity"))
    unit_cost: NonNegativeMoney = Field(description="the unit price agreed with the supplier (4 places)")
    expected_at: UtcDateTime | None = Field(None, description="when this line is due (default: the PO's date)")


PoLines = Annotated[list[PoLineIn], Field(min_length=1, max_length=200)]


class PoCreateIn(Input):
    supplier_id: Id
    warehouse_id: Id | None = Field(None, description="where the goods come in; default: the default warehouse")
    expected_at: UtcDateTime | None = Field(None, validation_alias=AliasChoices("expected_at", "expected_date"),
                                            description="when the goods are due (also spelt expected_date)")
    over_receipt_pct: Percent | None = Field(
        None, description="how much more than ordered a line may receive, in %; default ERP_PO_OVER_RECEIPT_PERCENT")
    note: Annotated[Text, Field(max_length=255)] = ""
    lines: PoLines


class PoRefIn(Input):
    po: Id | Annotated[Line, Field(min_length=1, max_length=32)] = Field(
        description="the PO id or number (PO...), in the path or the body")


class PoUpdateIn(PoRefIn):
    """A draft's fields given change; ``lines`` given replace all its lines."""

    supplier_id: Id | None = None
    warehouse_id: Id | None = None
    expected_at: UtcDateTime | None = Field(None, validation_alias=AliasChoices("expected_at", "expected_date"))
    over_receipt_pct: Percent | None = None
    note: Annotated[Text, Field(max_length=255)] | None = None
    lines: PoLines | None = None


class PoEndIn(PoRefIn):
    reason: Annotated[Line, Field(max_length=255)] = ""


class ReceiveLineIn(Input):
    line_no: Id | None = Field(None, description="the PO line (or name the SKU)")
    sku: SkuRef | None = Field(None, description="the SKU id or code (or name the line)")
    qty: PositiveQuantity = Field(validation_alias=AliasChoices("qty", "quantity"))


class PoReceiveIn(PoRefIn):
    lines: Annotated[list[ReceiveLineIn], Field(min_length=1, max_length=200)] | None = Field(
        None, description="what came in; default: everything still due")
    note: Annotated[Text, Field(max_length=255)] = ""


class PoListIn(PageQuery):
    status: Status | None = None
    supplier_id: Id | None = None
    sku: Annotated[Line, Field(min_length=1, max_length=64)] | None = Field(
        None, description="POs with a line of this SKU (digits: its id, else its code)")
    date_from: UtcDateTime | None = Field(None, description="created at or after")
    date_to: UtcDateTime | None = Field(None, description="created before")


class PoLineOut(Output):
    line_no: int
    sku_id: int
    sku_code: str
    quantity: Quantity
    unit_cost: Money
    amount: Money
    qty_received: Quantity
    expected_at: UtcDateTime | None


class ReceiptOut(Output):
    id: int
    lines: list[dict]
    note: str
    created_by: str
    created_at: UtcDateTime


class PoSummaryOut(Output):
    id: int
    number: str
    supplier_id: int
    warehouse_id: int
    status: str
    total_amount: Money
    expected_at: UtcDateTime | None
    created_by: str
    created_at: UtcDateTime


class PoOut(PoSummaryOut):
    over_receipt_pct: Money
    note: str
    updated_at: UtcDateTime
    approved_by: str | None
    approved_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    end_reason: str | None
    allowed_actions: list[str]
    lines: list[PoLineOut]
    receipts: list[ReceiptOut] = []
