"""Schema building blocks shared by every domain: strict inputs, money, quantities, pages.

Money and quantities are ``Decimal``: inputs accept JSON numbers or strings ("99.00"), refuse
NaN/Infinity and more than 4 decimal places; outputs are strings (money with at least two
decimals, "99.00"; quantities without trailing zeros, "2" or "2.5"). Times are UTC ISO-8601.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

T = TypeVar("T")


class Input(BaseModel):
    """Base of every operation input: unknown fields are refused, naming them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


CENT = Decimal("0.01")  # amounts (a line's amount, a total, a refund) are rounded to the cent
UNIT_PLACES = Decimal("0.0001")  # prices, unit costs and quantities keep four places


def round_amount(value: Decimal) -> Decimal:
    """An amount of money to the cent, half up (0.005 -> 0.01): the one rounding rule for amounts."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal) -> str:
    if value == value.quantize(Decimal("0.01")):
        return str(value.quantize(Decimal("0.01")))
    return str(value.normalize())


def format_quantity(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0E-4") else text


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def iso_utc(value: datetime) -> str:
    """A time as UTC ISO-8601 with ``Z``: the one way times are written (responses and events)."""
    return _utc(value).isoformat().replace("+00:00", "Z")


_DecimalIn = Field(max_digits=18, decimal_places=4, allow_inf_nan=False)
Money = Annotated[Decimal, _DecimalIn, PlainSerializer(format_money, return_type=str, when_used="json")]
Quantity = Annotated[Decimal, _DecimalIn, PlainSerializer(format_quantity, return_type=str, when_used="json")]
PositiveMoney = Annotated[Money, Field(gt=0)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]
PositiveQuantity = Annotated[Quantity, Field(gt=0)]
UtcDateTime = Annotated[datetime, AfterValidator(_utc), PlainSerializer(iso_utc, return_type=str, when_used="json")]


# A row id: a positive 32-bit integer (MySQL INT), so no client value can overflow a column.
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]


class PageQuery(Input):
    page: int = Field(1, ge=1, le=1_000_000, description="page number, from 1")
    page_size: int = Field(20, ge=1, le=200, description="rows per page, at most 200")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
