"""Membership's events. They name members by id only: never a phone or an email."""
from __future__ import annotations

from ..events import DomainEvent
from ..schemas import Id


class MemberRegistered(DomainEvent):
    event_type = "member.registered"

    member_id: Id
    code: str
    tier: str
    by: str


class MemberUpdated(DomainEvent):
    event_type = "member.updated"

    member_id: Id
    changed: list[str]  # the names of the fields changed, not their values
    by: str


class MemberTierChanged(DomainEvent):
    event_type = "member.tier_changed"

    member_id: Id
    old_tier: str
    new_tier: str


class PointsChanged(DomainEvent):
    event_type = "member.points_changed"

    member_id: Id
    kind: str
    points: int
    balance: int
    origin: str
