"""Sales inputs and outputs.

``order-create`` takes one body in either of two spellings (they can be mixed):

* the clean one: ``{"customer_id": 7, "warehouse_id": 1, "lines": [{"sku": "SKU001", "qty": 2}]}``
* the seed's: ``{"customer_id": 1, "details": [{"sku_id": "SKU001", "qty_ordered": 2, "unit_price": 100.00}]}``

``lines`` may be spelt ``details``; in a line ``sku`` may be spelt ``sku_id`` or ``sku_code``
and ``qty`` may be spelt ``quantity`` or ``qty_ordered``. A SKU is named by its id (a JSON
number) or its code (a JSON string: ``"sku_id": "SKU001"`` is the code SKU001). ``unit_price``
is optional: prices always come from the catalog, and a ``unit_price`` that differs from the
catalog price is refused (409), never used. ``customer_id`` (alias ``member_id``) is the member
buying, if any; ``warehouse_id`` defaults to the default warehouse. ``coupon`` (a code the member
claimed) and ``points`` (to redeem) are optional; the order is priced by the promotion domain's
engine, exactly as ``price-quote`` prices the same cart.
"""
from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, Field

from ..catalog.api import SkuRef
from ..promotion.api import AdjustmentOut
from ..schemas import (
    Code,
    Id,
    Input,
    Int,
    Line,
    Money,
    Output,
    PageQuery,
    PositiveMoney,
    PositiveQuantity,
    Quantity,
    Text,
    UtcDateTime,
)
from .models import STATUSES

Status = Literal[STATUSES]  # type: ignore[valid-type]


class OrderLineIn(Input):
    sku: SkuRef = Field(validation_alias=AliasChoices("sku", "sku_id", "sku_code"),
                        description="SKU id (number) or code (string); also spelt sku_id or sku_code")
    qty: PositiveQuantity = Field(validation_alias=AliasChoices("qty", "quantity", "qty_ordered"),
                                  description="also spelt quantity or qty_ordered")
    unit_price: Money | None = Field(None, description="optional: must equal the catalog price if given")


class OrderCreateIn(Input):
    customer_id: Id | None = Field(
        None, validation_alias=AliasChoices("customer_id", "member_id"), description="the member buying, if any")
    warehouse_id: Id | None = Field(None, description="default: the default warehouse")
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=100)] = Field(
        validation_alias=AliasChoices("lines", "details"), description="also spelt details")
    note: Annotated[Text, Field(max_length=255)] = ""
    coupon: Annotated[Code, Field(min_length=1, max_length=20)] | None = Field(
        None, description="a coupon code the member has claimed")
    points: Annotated[Int, Field(ge=0, le=100_000_000)] = Field(0, description="the member's points to redeem")


def _json_list(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else ([] if value is None else value)


class OrderLineOut(Output):
    line_no: int
    sku_id: int
    sku_code: str
    unit_price: Money
    quantity: Quantity
    list_amount: Money
    discount_amount: Money
    amount: Money
    promotions: Annotated[list[AdjustmentOut], BeforeValidator(_json_list)] = Field(
        [], description="each discount on the line (promotion, coupon, points) with its amount and reason")
    qty_shipped: Quantity
    qty_returned: Quantity
    qty_released: Quantity


class PaymentOut(Output):
    id: int
    amount: Money
    method: str
    reference: str
    created_by: str
    created_at: UtcDateTime


class MovementOut(Output):
    """A shipment or a refund."""

    id: int
    amount: Money | None = None
    reason: str | None = None
    lines: list[dict]
    created_by: str
    created_at: UtcDateTime


class OrderSummaryOut(Output):
    id: int
    number: str
    customer_id: int | None
    warehouse_id: int
    status: str
    total_amount: Money
    paid_amount: Money
    refunded_amount: Money
    created_by: str
    created_at: UtcDateTime


class OrderOut(OrderSummaryOut):
    discount_amount: Money
    coupon_code: str | None
    points_redeemed: int
    amount_due: Money
    note: str
    updated_at: UtcDateTime
    paid_at: UtcDateTime | None
    cancelled_at: UtcDateTime | None
    cancel_reason: str | None
    lines: list[OrderLineOut]
    payments: list[PaymentOut] = []
    shipments: list[MovementOut] = []
    refunds: list[MovementOut] = []


class OrderRefIn(Input):
    order: Id | Annotated[Line, Field(min_length=1, max_length=32)] = Field(
        description="the order id or number (SO...), in the path or the body")


class OrderListIn(PageQuery):
    status: Status | None = None
    customer_id: Id | None = None
    date_from: UtcDateTime | None = Field(None, description="created at or after")
    date_to: UtcDateTime | None = Field(None, description="created before")


class OrderPayIn(OrderRefIn):
    amount: PositiveMoney = Field(description="must equal the amount due")
    method: Literal["cash", "card", "wechat", "alipay", "transfer", "other"] = "cash"
    reference: Annotated[Line, Field(max_length=100)] = ""


class LineQtyIn(Input):
    line_no: Id | None = Field(None, description="the order line (or name the SKU)")
    sku: SkuRef | None = Field(None, description="the SKU id or code (or name the line)")
    qty: PositiveQuantity | None = Field(None, validation_alias=AliasChoices("qty", "quantity"))


class OrderShipIn(OrderRefIn):
    lines: Annotated[list[LineQtyIn], Field(max_length=100)] | None = Field(
        None, description="what to ship; default: everything not shipped yet")


class OrderCancelIn(OrderRefIn):
    reason: Annotated[Line, Field(max_length=255)] = ""


class OrderReturnIn(OrderRefIn):
    lines: Annotated[list[LineQtyIn], Field(min_length=1, max_length=100)] | None = Field(
        None, description="what comes back; default: everything shipped and not returned yet")
    reason: Annotated[Line, Field(max_length=255)] = ""


class UnpaidCancelOut(Output):
    cancelled: list[str]
    errors: list[dict]
