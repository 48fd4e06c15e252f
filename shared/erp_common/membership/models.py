"""Membership tables: members, tiers, the points ledger and each order's points account.

A member's code is not stored: it is ``M`` + the id (at least 8 digits, ``M00000012``), unique by
construction. Phones and emails are stored normalised (``contact.py``) beside a SHA-256 digest of
each, and the unique keys are on the digests: a refused duplicate's database message (which the
HTTP layer logs) then carries no phone number or address in the clear.

The points balance is the sum of the ledger; ``members.points_balance`` keeps that sum, written
in the same transaction as each ledger row (the member row locked), so it is read without a sum.
A positive entry (earn, adjust up) keeps what is left of it in ``remaining``; a negative one
(redeem, reverse, expire, adjust down) consumes the oldest remaining points first, so expiry
takes exactly the points that are still unspent when they grow old.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Money, UTCDateTime

EARN, REDEEM, REVERSE, EXPIRE, ADJUST, GIVE_BACK = "earn", "redeem", "reverse", "expire", "adjust", "give_back"
KINDS = (EARN, REDEEM, REVERSE, EXPIRE, ADJUST, GIVE_BACK)
CODE = re.compile(r"M(\d{8,})")


class MemberTier(Base):
    """A tier: members whose lifetime spend reaches ``threshold`` get ``discount_rate`` off tier prices."""

    __tablename__ = "member_tiers"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    threshold: Mapped[Decimal] = mapped_column(Money())
    discount_rate: Mapped[Decimal] = mapped_column(Money())  # 0.05 = 5% off
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    phone_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    email_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tier: Mapped[str] = mapped_column(String(20))
    lifetime_spend: Mapped[Decimal] = mapped_column(Money())
    points_balance: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("phone_digest", name="uq_members_phone", info={"field": "phone"}),
        UniqueConstraint("email_digest", name="uq_members_email", info={"field": "email"}),
        Index("ix_members_name", "name"),
    )

    @property
    def code(self) -> str:
        return member_code(self.id)


def member_code(member_id: int) -> str:
    return f"M{member_id:08d}"


def member_id_from_code(code: str) -> int | None:
    match = CODE.fullmatch(code.upper())
    return int(match.group(1)) if match else None


class PointsEntry(Base):
    """One movement of a member's points. ``origin`` names what caused it (``order:12``,
    ``refund:5``, ``adjust:<key>``): a (member, kind, origin) is written once."""

    __tablename__ = "points_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    points: Mapped[int] = mapped_column(Integer)  # signed
    remaining: Mapped[int] = mapped_column(Integer)  # a positive entry's unspent points; 0 otherwise
    balance_after: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(255), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("member_id", "kind", "origin", name="uq_points_origin", info={"field": "origin"}),
        Index("ix_points_member", "member_id", "id"),
        Index("ix_points_expiring", "expires_at", "remaining"),
    )


class OrderPoints(Base):
    """What an order has done to its member's points and spend so far.

    ``order.paid`` sets ``paid``; each ``order.returned`` raises ``refunded`` to the order's
    cumulative refunded amount. The points and spend owed follow from those two figures alone,
    so the events may arrive in any order, late or twice: each brings the account to the same end.
    """

    __tablename__ = "member_order_points"

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(Integer, index=True)
    paid: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    refunded: Mapped[Decimal] = mapped_column(Money())
    points_earned: Mapped[int] = mapped_column(Integer)
    points_reversed: Mapped[int] = mapped_column(Integer)
    spend_counted: Mapped[Decimal] = mapped_column(Money())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
