"""Membership's public face: members as pricing sees them, redeeming points, and its events."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .events import MemberRegistered, MemberTierChanged, MemberUpdated, PointsChanged
from .models import Member
from .services import give_back_points, load_member, redeem_points, tier_discount

__all__ = ["MemberPricing", "member_pricing", "existing_members", "redeem_points", "give_back_points",
           "MemberRegistered",
           "MemberTierChanged", "MemberUpdated", "PointsChanged"]


@dataclass(frozen=True)
class MemberPricing:
    """What pricing needs of a member: the tier (and its discount rate) and the points balance."""

    id: int
    tier: str
    discount_rate: Decimal
    points_balance: int
    is_active: bool


def member_pricing(session: Session, member_id: int) -> MemberPricing:
    """The member as pricing sees it; 404 ``unknown_member`` naming ``customer_id``."""
    member = load_member(session, member_id, field="customer_id")
    return MemberPricing(member.id, member.tier, tier_discount(session, member.tier), member.points_balance,
                         member.is_active)


def existing_members(session: Session, ids: list[int]) -> set[int]:
    """Which of these member ids exist."""
    return set(session.scalars(select(Member.id).where(Member.id.in_(sorted(set(ids))))))
