"""Membership inputs and outputs: members, tiers, points.

A member is named by its id (a number), its code (``M00000012``), or, in ``member-get``, by
``phone`` or ``email`` (normalised before they are compared: any spelling of a phone finds it).
"""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from ..schemas import (
    Input,
    Int,
    Line,
    Money,
    Name,
    NonNegativeMoney,
    Output,
    PageQuery,
    UtcDateTime,
)
from .contact import normalise_email, normalise_phone

Phone = Annotated[Line, Field(max_length=32), AfterValidator(normalise_phone)]
Email = Annotated[Line, Field(max_length=254, pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"),
                  AfterValidator(normalise_email)]


def _id_as_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# An id (a JSON number or digits) or a code (M00000012): one type, so an error names the field alone.
MemberRef = Annotated[str, BeforeValidator(_id_as_text), Field(max_length=20, pattern=r"^([Mm]\d{8,}|\d{1,10})$")]
TierCode = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[a-z0-9_-]+$")]


class MemberRegisterIn(Input):
    name: Annotated[Name, Field(max_length=100)]
    phone: Phone | None = Field(None, description='any spelling: "+86 138 0013 8000", "13800138000"')
    email: Email | None = None


class MemberOut(Output):
    id: int
    code: str
    name: str
    phone: str | None
    email: str | None
    tier: str
    lifetime_spend: Money
    points_balance: int
    is_active: bool
    created_by: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class MemberGetIn(Input):
    member: MemberRef | None = Field(None, description="the member's id or code (M00000012), in the path")
    phone: Phone | None = None
    email: Email | None = None


class MemberListIn(PageQuery):
    q: Annotated[Line, Field(max_length=100)] | None = Field(None, description="part of the name")
    tier: TierCode | None = None
    is_active: bool | None = None


class MemberUpdateIn(Input):
    member: MemberRef = Field(description="the member's id or code, in the path")
    name: Annotated[Name, Field(max_length=100)] | None = None
    phone: Phone | Annotated[Line, Field(max_length=0)] | None = Field(None, description='"" removes it')
    email: Email | Annotated[Line, Field(max_length=0)] | None = Field(None, description='"" removes it')
    is_active: bool | None = None


class TierIn(Input):
    code: TierCode
    name: Annotated[Name, Field(max_length=50)]
    threshold: NonNegativeMoney = Field(description="lifetime spend from which a member is in this tier")
    discount_rate: Annotated[Money, Field(ge=0, lt=1)] = Field(description="0.05 is 5% off tier prices")


class TiersIn(Input):
    tiers: Annotated[list[TierIn], Field(min_length=1, max_length=20)] | None = Field(
        None, description="PUT: the whole tier table (one tier with threshold 0); GET reads it")


class TierOut(Output):
    code: str
    name: str
    threshold: Money
    discount_rate: Money


class TiersOut(Output):
    tiers: list[TierOut]


class PointsListIn(PageQuery):
    member: MemberRef = Field(description="the member's id or code, in the path")


class PointsEntryOut(Output):
    id: int
    kind: str
    points: int
    remaining: int
    balance_after: int
    origin: str
    note: str
    expires_at: UtcDateTime | None
    created_by: str
    created_at: UtcDateTime


class PointsAdjustIn(Input):
    member: MemberRef = Field(description="the member's id or code, in the path")
    points: Annotated[Int, Field(ge=-1_000_000, le=1_000_000)] = Field(description="added (or taken, if negative)")
    reason: Annotated[Line, Field(min_length=1, max_length=255)]
