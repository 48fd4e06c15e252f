"""Schema building blocks shared by every domain: strict inputs, money, quantities, pages.

Money and quantities are ``Decimal``: inputs accept JSON numbers or strings ("99.00"), refuse
NaN/Infinity and more than 4 decimal places; outputs are strings (money with at least two
decimals, "99.00"; quantities without trailing zeros, "2" or "2.5"). Times are UTC ISO-8601.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator

T = TypeVar("T")


# --- text ---------------------------------------------------------------------------------
# C0 and C1 control characters and DEL. A multi-line text (``Text``) may hold tab, LF and CR;
# nothing else may hold any: a NUL cuts strings short in C libraries and logs, an ESC or a
# bidirectional trick rewrites a terminal or a report.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What shows nothing on its own: format characters (zero-width spaces and joiners, U+200B-U+200F,
# U+2060, U+FEFF...), combining marks, separators, and the blank letters fonts draw as nothing.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"}
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def _control_message(value: str, pattern: re.Pattern[str]) -> str | None:
    found = pattern.search(value)
    return None if found is None else f"must not contain control characters (U+{ord(found.group()):04X})"


def _walk_strings(value: Any, multiline: bool) -> None:
    """Refuse a control character in any string of a value (lists and dicts included)."""
    if isinstance(value, str):
        message = _control_message(value, _CONTROL_MULTILINE if multiline else _CONTROL)
        if message:
            raise ValueError(message)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk_strings(key, False)
            _walk_strings(item, multiline)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _walk_strings(item, multiline)


def _one_line(value: str) -> str:
    message = _control_message(value, _CONTROL)
    if message:
        raise ValueError(message)
    return value


def _multiline(value: str) -> str:
    message = _control_message(value, _CONTROL_MULTILINE)
    if message:
        raise ValueError(message)
    return value


def is_invisible(value: str) -> bool:
    """True when nothing of the text would show: empty, blanks, zero-width or combining marks only."""
    return all(unicodedata.category(c) in _INVISIBLE_CATEGORIES or c in _BLANK_LETTERS for c in value)


def _visible(value: str) -> str:
    if is_invisible(value):
        raise ValueError("must contain a visible character (not only spaces, zero-width or combining characters)")
    return value


# One line of free text, possibly empty (a brand, a phone, a reason, a search): no control characters.
Line = Annotated[str, AfterValidator(_one_line)]
# Multi-line free text (a description, a note): tab, LF and CR allowed, no other control character.
Text = Annotated[str, AfterValidator(_multiline), Field(json_schema_extra={"x-multiline": True})]
# A name people read (an item, a category, a warehouse): one line, at least one visible character.
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_one_line), AfterValidator(_visible)]
# A code people type and match (a SKU, a warehouse, a supplier): ASCII letters, digits and . _ / -.
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]


class Input(BaseModel):
    """Base of every operation input: unknown fields are refused, naming them.

    Every string of an input, whatever its declared type, is refused if it holds a control
    character other than tab, LF and CR (a NUL in a field a future domain forgot to type is
    still refused); ``Line``, ``Name`` and ``Code`` refuse those three as well.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        _walk_strings(value, multiline=True)
        return value


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


# --- numbers ------------------------------------------------------------------------------
# A number is a JSON number, or a string of ASCII digits (query strings and paths have no other
# kind). Python and pydantic would also read true as 1, "1_000" as 1000 and Arabic-Indic or
# full-width digits ("١٢") as 12: none of those is a number a client meant to send.
_ASCII_INT = re.compile(r"-?[0-9]+")
_ASCII_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _strict_int(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    if isinstance(value, str):
        if not _ASCII_INT.fullmatch(value):
            raise ValueError("must be a whole number written with the digits 0-9")
    return value  # pydantic converts it: a union such as Id | str still takes "12" as the string


def _strict_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    if isinstance(value, str):
        if not _ASCII_DECIMAL.fullmatch(value):
            raise ValueError("must be a decimal number written with the digits 0-9 and a point, e.g. \"99.50\"")
    return value


# A whole number (a page, a count, a number of days...): no booleans, ASCII digits only.
Int = Annotated[int, BeforeValidator(_strict_int)]

_DecimalIn = Field(max_digits=18, decimal_places=4, allow_inf_nan=False)
_StrictDecimal = BeforeValidator(_strict_decimal)
_DecimalDoc = Field(json_schema_extra={"decimal_places": 4, "max_digits": 18})  # what _DecimalIn checks
# The constraints come before the strict check so that pydantic-core applies them itself (after
# it, they run as Python validators: 2.4x the cost of every Money field, outputs included); the
# strict check still runs first, as a before-validator wrapping the constrained decimal.
Money = Annotated[Decimal, _DecimalIn, _StrictDecimal, _DecimalDoc,
                  PlainSerializer(format_money, return_type=str, when_used="json")]
Quantity = Annotated[Decimal, _DecimalIn, _StrictDecimal, _DecimalDoc,
                     PlainSerializer(format_quantity, return_type=str, when_used="json")]
PositiveMoney = Annotated[Money, Field(gt=0)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]
PositiveQuantity = Annotated[Quantity, Field(gt=0)]
_NUMBER_TEXT = re.compile(r"[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?")


def _iso_text(value: Any) -> Any:
    # pydantic reads a number (or a string of digits) as seconds since 1970: "date_from=12" would
    # be 1970-01-01T00:00:12Z. A time is written as ISO-8601 text, or it is no time.
    if isinstance(value, (date, datetime)):
        return value
    if not isinstance(value, str) or _NUMBER_TEXT.fullmatch(value.strip()):
        raise ValueError("must be an ISO-8601 date or time such as 2026-12-01 or 2026-12-01T10:00:00Z")
    return value


UtcDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_utc),
                        PlainSerializer(iso_utc, return_type=str, when_used="json")]
# A calendar day, "2026-12-01".
Day = Annotated[date, BeforeValidator(_iso_text)]


# A row id: a positive 32-bit integer (MySQL INT), so no client value can overflow a column.
Id = Annotated[Int, Field(ge=1, le=2_147_483_647)]


class PageQuery(Input):
    page: Int = Field(1, ge=1, le=1_000_000, description="page number, from 1")
    page_size: Int = Field(20, ge=1, le=200, description="rows per page, at most 200")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
