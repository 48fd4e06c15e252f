"""Membership's public face: members as pricing sees them, redeeming points, and its events."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..errors import NotFound
from .events import MemberRegistered, MemberTierChanged, MemberUpdated, PointsChanged
from .models import Member, MemberTier
from .services import give_back_points, redeem_points

__all__ = ["MemberPricing", "member_pricing", "existing_members", "redeem_points", "give_back_points",
           "MemberRegistered", "MemberTierChanged", "MemberUpdated", "PointsChanged"]

_PRICING = (select(Member.id, Member.tier, Member.points_balance, Member.is_active, MemberTier.discount_rate)
            .outerjoin(MemberTier, MemberTier.code == Member.tier).where(Member.id == bindparam("id")))


@dataclass(frozen=True)
class MemberPricing:
    """What pricing needs of a member: the tier (and its discount rate) and the points balance."""

    id: int
    tier: str
    discount_rate: Decimal
    points_balance: int
    is_active: bool


def member_pricing(session: Session, member_id: int) -> MemberPricing:
    """The member as pricing sees it, with its tier's rate in the same read; 404 ``unknown_member``
    naming ``customer_id``."""
    row = session.execute(_PRICING, {"id": member_id}).first()
    if row is None:
        raise NotFound(f"member {member_id} does not exist", code="unknown_member",
                       details=[{"field": "customer_id", "message": "no such member"}])
    return MemberPricing(row.id, row.tier, row.discount_rate if row.discount_rate is not None else Decimal(0),
                         row.points_balance, row.is_active)


def existing_members(session: Session, ids: list[int]) -> set[int]:
    """Which of these member ids exist."""
    return set(session.scalars(select(Member.id).where(Member.id.in_(sorted(set(ids))))))
