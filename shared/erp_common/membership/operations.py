"""The membership functions (service ``member``), its event consumers and its jobs.

``cashier`` registers members; members' personal data (phones, emails) is read by staff who
serve them only: ``cashier``, ``marketing``, ``manager`` (and ``admin``). ``marketing`` and
``manager`` set the tiers; ``manager`` adjusts points by hand.
"""
from __future__ import annotations

from ..jobs.api import JobRunOut
from ..operations import CONNECTOR, operation
from ..schemas import Page
from . import services
from .schemas import (
    MemberGetIn,
    MemberListIn,
    MemberOut,
    MemberRegisterIn,
    MemberUpdateIn,
    PointsAdjustIn,
    PointsEntryOut,
    PointsListIn,
    TiersIn,
    TiersOut,
)

STAFF = ("admin", "manager", "cashier", "marketing")
REGISTRARS = ("admin", "manager", "cashier")
MEMBER_PATH = "/{member}"

operation(
    "member-register", service="member", summary="Register a member (phone and/or email, each unique)",
    input=MemberRegisterIn, output=MemberOut, roles=REGISTRARS, status=201, idempotent=True,
)(services.register_member)
operation(
    "member-get", service="member", summary="One member by id, code, phone or email", input=MemberGetIn,
    output=MemberOut, roles=STAFF, methods=("GET",), path=MEMBER_PATH,
)(services.get_member)
operation(
    "member-list", service="member", summary="List and search members", input=MemberListIn,
    output=Page[MemberOut], roles=STAFF, methods=("GET",),
)(services.list_members)
operation(
    "member-update", service="member", summary="Change a member's name, phone, email or active flag",
    input=MemberUpdateIn, output=MemberOut, roles=REGISTRARS + ("marketing",), methods=("PATCH", "POST"),
    path=MEMBER_PATH, idempotent=True,
)(services.update_member)
operation(
    "member-tiers", service="member", summary="Read (GET) or set (PUT) the tiers: threshold and discount rate",
    input=TiersIn, output=TiersOut, roles=STAFF, methods=("GET", "PUT"),
)(services.member_tiers)
operation(
    "member-points", service="member", summary="A member's points ledger", input=PointsListIn,
    output=Page[PointsEntryOut], roles=STAFF, methods=("GET",), path=MEMBER_PATH,
)(services.list_points)
operation(
    "member-points-adjust", service="member", summary="Add or take a member's points by hand, with a reason",
    input=PointsAdjustIn, output=PointsEntryOut, roles=("admin", "manager"), status=201, idempotent=True,
    path=MEMBER_PATH,
)(services.adjust_points)
operation(
    "member-on-order-paid", service="member", summary="Award a paid order's points, once per order",
    roles=CONNECTOR, topic="order.paid",
)(services.on_order_paid)
operation(
    "member-on-order-returned", service="member", summary="Reverse the returned share of an order's points",
    roles=CONNECTOR, topic="order.returned",
)(services.on_order_returned)
operation(
    "member-on-order-cancelled", service="member", summary="Take back a paid and cancelled order's points",
    roles=CONNECTOR, topic="order.cancelled",
)(services.on_order_cancelled)
operation(
    "job-member-tiers", service="job", summary="Put every member in the tier their lifetime spend reaches",
    output=JobRunOut, roles=CONNECTOR, schedule="17 * * * *", transactional=False,
)(services.recompute_tiers)
operation(
    "job-expire-points", service="job", summary="Expire points older than ERP_POINTS_EXPIRE_DAYS",
    output=JobRunOut, roles=CONNECTOR, schedule="7 3 * * *", transactional=False,
)(services.expire_points)
