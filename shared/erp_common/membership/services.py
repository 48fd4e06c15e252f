"""Membership services: members, tiers, the points ledger, the order consumers and the two jobs.

Every change of a member's points locks the member row first (``SELECT ... FOR UPDATE``), so the
balance check and the ledger row it guards are one step: the balance never goes below zero.
Points earned on an order come from the ``order.paid`` and ``order.returned`` events alone (this
domain reads no sales table): each event updates the order's points account
(``member_order_points``), and the account's figures decide what is owed, so a repeated, late or
out-of-order event changes nothing that is already right. The platform records every event a
consumer processed in the same transaction (``processed_events``).
"""
from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import uow
from ..config import get_settings
from ..context import Caller, Context
from ..db import ZERO
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..events import Envelope
from ..jobs.api import JobRunOut, run_job
from ..paging import paginate
from ..schemas import Page
from . import models as m
from .contact import digest
from .events import MemberRegistered, MemberTierChanged, MemberUpdated, PointsChanged
from .models import Member, MemberTier, OrderPoints, PointsEntry, member_id_from_code
from .schemas import (
    MemberGetIn,
    MemberListIn,
    MemberOut,
    MemberRegisterIn,
    MemberUpdateIn,
    PointsAdjustIn,
    PointsEntryOut,
    PointsListIn,
    TierOut,
    TiersIn,
    TiersOut,
)

log = logging.getLogger(__name__)
TIER_SETTERS = frozenset({"manager", "marketing"})  # and admin
DEFAULT_TIER = "normal"  # a member's tier while no tier table is set


# --- members -----------------------------------------------------------------------------

def _out(member: Member) -> MemberOut:
    return MemberOut(id=member.id, code=member.code, name=member.name, phone=member.phone, email=member.email,
                     tier=member.tier, lifetime_spend=member.lifetime_spend, points_balance=member.points_balance,
                     is_active=member.is_active, created_by=member.created_by, created_at=member.created_at,
                     updated_at=member.updated_at)


def _member_id(ref: int | str) -> int | None:
    if isinstance(ref, int):
        return ref
    return int(ref) if ref.isascii() and ref.isdigit() else member_id_from_code(ref)


def load_member(session: Session, ref: int | str, *, lock: bool = False, field: str = "member") -> Member:
    """The member with this id or code (404 naming ``field``); locked for update if asked."""
    member_id = _member_id(ref)
    member = None
    if member_id is not None and member_id <= 2_147_483_647:
        query = select(Member).where(Member.id == member_id)
        member = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if member is None:
        raise NotFound(f"member {ref} does not exist", code="unknown_member",
                       details=[{"field": field, "message": "no such member"}])
    return member


def _check_free(session: Session, field: str, value: str | None, member_id: int | None = None) -> None:
    """409 naming the field if another member has this phone or email (never echoing the value)."""
    if not value:
        return
    column = Member.phone_digest if field == "phone" else Member.email_digest
    owner = session.scalar(select(Member.id).where(column == digest(value)))
    if owner is not None and owner != member_id:
        raise Conflict(f"this {field} belongs to another member", code="already_taken",
                       details=[{"field": field, "message": "already taken"}])


def _entry_tier(session: Session, spend: Decimal) -> str:
    """The tier a lifetime spend earns: the one with the highest threshold reached."""
    code = session.scalar(select(MemberTier.code).where(MemberTier.threshold <= spend)
                          .order_by(MemberTier.threshold.desc()).limit(1))
    return code or DEFAULT_TIER


def register_member(ctx: Context, data: MemberRegisterIn) -> MemberOut:
    """Register a member with a name and a phone and/or an email, each unique once normalised."""
    if data.phone is None and data.email is None:
        raise ValidationFailed.field("phone", "give a phone or an email (or both)")
    _check_free(ctx.session, "phone", data.phone)
    _check_free(ctx.session, "email", data.email)
    member = Member(name=data.name, phone=data.phone, phone_digest=digest(data.phone) if data.phone else None,
                    email=data.email, email_digest=digest(data.email) if data.email else None,
                    tier=_entry_tier(ctx.session, ZERO), lifetime_spend=ZERO, points_balance=0, is_active=True,
                    created_by=ctx.actor, created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(member)
    ctx.session.flush()
    ctx.emit(MemberRegistered(member_id=member.id, code=member.code, tier=member.tier, by=ctx.actor))
    return _out(member)


def get_member(ctx: Context, data: MemberGetIn) -> MemberOut:
    """One member by id or code (in the path), or by ``phone`` or ``email`` (in the query)."""
    given = [name for name in ("member", "phone", "email") if getattr(data, name) is not None]
    if len(given) != 1:
        raise ValidationFailed.field("member", "name the member by one of: id or code (path), phone, email")
    if data.member is not None:
        return _out(load_member(ctx.session, data.member))
    field = given[0]
    column = Member.phone_digest if field == "phone" else Member.email_digest
    member = ctx.session.scalars(select(Member).where(column == digest(getattr(data, field)))).one_or_none()
    if member is None:
        raise NotFound(f"no member has this {field}", code="unknown_member",
                       details=[{"field": field, "message": "no such member"}])
    return _out(member)


def list_members(ctx: Context, data: MemberListIn) -> Page[MemberOut]:
    """Members, newest first, by part of the name, tier and active or not."""
    query = select(Member)
    if data.q:
        query = query.where(Member.name.like(f"%{data.q}%"))
    if data.tier:
        query = query.where(Member.tier == data.tier)
    if data.is_active is not None:
        query = query.where(Member.is_active.is_(data.is_active))
    return paginate(ctx.session, query, data, _out, Member.id.desc())


def update_member(ctx: Context, data: MemberUpdateIn) -> MemberOut:
    """Change a member's name, phone, email (``""`` removes one; one must remain) or active flag."""
    member = load_member(ctx.session, data.member, lock=True)
    changed = []
    if data.name is not None and data.name != member.name:
        member.name = data.name
        changed.append("name")
    for field in ("phone", "email"):
        value = getattr(data, field)
        if value is None or (value or None) == getattr(member, field):
            continue
        _check_free(ctx.session, field, value, member.id)
        setattr(member, field, value or None)
        setattr(member, f"{field}_digest", digest(value) if value else None)
        changed.append(field)
    if member.phone is None and member.email is None:
        raise ValidationFailed.field("phone", "a member keeps a phone or an email")
    if data.is_active is not None and data.is_active != member.is_active:
        member.is_active = data.is_active
        changed.append("is_active")
    if changed:
        member.updated_at = ctx.now
        ctx.session.flush()
        ctx.emit(MemberUpdated(member_id=member.id, changed=changed, by=ctx.actor))
    return _out(member)


# --- tiers -------------------------------------------------------------------------------

def _tiers(session: Session) -> TiersOut:
    rows = session.scalars(select(MemberTier).order_by(MemberTier.threshold)).all()
    return TiersOut(tiers=[TierOut.model_validate(t) for t in rows])


def member_tiers(ctx: Context, data: TiersIn) -> TiersOut:
    """Read the tier table (GET), or replace it (PUT, marketing or manager): one tier must start at 0.

    Members move to their new tiers when ``job-member-tiers`` next runs (or when they next pay).
    """
    if data.tiers is None:
        return _tiers(ctx.session)
    if not ctx.user.has_any(TIER_SETTERS):
        raise Forbidden("setting the tiers needs the marketing or manager role")
    seen_codes: set[str] = set()
    seen_thresholds: set[Decimal] = set()
    for i, tier in enumerate(data.tiers):
        if tier.code in seen_codes:
            raise ValidationFailed.field(f"tiers[{i}].code", "this tier is listed twice")
        if tier.threshold in seen_thresholds:
            raise ValidationFailed.field(f"tiers[{i}].threshold", "two tiers have this threshold")
        seen_codes.add(tier.code)
        seen_thresholds.add(tier.threshold)
    if ZERO not in seen_thresholds:
        raise ValidationFailed.field("tiers", "one tier must have threshold 0 (where every member starts)")
    session = ctx.session
    for row in session.scalars(select(MemberTier).with_for_update()).all():
        session.delete(row)
    session.flush()
    session.add_all(MemberTier(**t.model_dump(), updated_by=ctx.actor, updated_at=ctx.now) for t in data.tiers)
    session.flush()
    return _tiers(session)


def _retier(ctx: Context, member: Member) -> None:
    tier = _entry_tier(ctx.session, member.lifetime_spend)
    if tier != member.tier:
        old, member.tier, member.updated_at = member.tier, tier, ctx.now
        ctx.emit(MemberTierChanged(member_id=member.id, old_tier=old, new_tier=tier))


# --- the points ledger -------------------------------------------------------------------

def post_points(ctx: Context, member: Member, kind: str, points: int, origin: str, note: str = "",
                *, field: str = "points", consume: bool = True) -> PointsEntry | None:
    """Write one ledger entry for a member locked by the caller; None if ``points`` is 0.

    A positive entry expires ``ERP_POINTS_EXPIRE_DAYS`` after it is written; a negative one takes
    the oldest remaining points first and is refused (409 ``insufficient_points`` naming
    ``field``) beyond the balance. A (member, kind, origin) already written is returned as it is.
    """
    if points == 0:
        return None
    existing = ctx.session.scalars(select(PointsEntry).where(
        PointsEntry.member_id == member.id, PointsEntry.kind == kind, PointsEntry.origin == origin)).one_or_none()
    if existing is not None:
        return existing
    remaining, expires_at = 0, None
    if points > 0:
        remaining, expires_at = points, ctx.now + timedelta(days=get_settings().points_expire_days)
    else:
        if -points > member.points_balance:
            raise Conflict(f"the member has {member.points_balance} points, not {-points}", code="insufficient_points",
                           details=[{"field": field, "balance": member.points_balance, "requested": -points}])
        if consume:
            _consume(ctx.session, member.id, -points)
    member.points_balance += points
    member.updated_at = ctx.now
    entry = PointsEntry(member_id=member.id, kind=kind, points=points, remaining=remaining,
                        balance_after=member.points_balance, origin=origin[:64], note=note[:255],
                        expires_at=expires_at, created_by=ctx.actor, created_at=ctx.now)
    ctx.session.add(entry)
    ctx.session.flush()
    ctx.emit(PointsChanged(member_id=member.id, kind=kind, points=points, balance=member.points_balance,
                           origin=entry.origin))
    return entry


def _consume(session: Session, member_id: int, points: int) -> None:
    """Take ``points`` from the member's oldest positive entries (the member row is locked)."""
    entries = session.scalars(select(PointsEntry).where(PointsEntry.member_id == member_id, PointsEntry.remaining > 0)
                              .order_by(PointsEntry.expires_at, PointsEntry.id)).all()
    for entry in entries:
        taken = min(points, entry.remaining)
        entry.remaining -= taken
        points -= taken
        if points == 0:
            return


def list_points(ctx: Context, data: PointsListIn) -> Page[PointsEntryOut]:
    """A member's points ledger, newest first."""
    member = load_member(ctx.session, data.member)
    query = select(PointsEntry).where(PointsEntry.member_id == member.id)
    return paginate(ctx.session, query, data, PointsEntryOut.model_validate, PointsEntry.id.desc())


def adjust_points(ctx: Context, data: PointsAdjustIn) -> PointsEntryOut:
    """Add or take points by hand, with a reason (never below a zero balance)."""
    if data.points == 0:
        raise ValidationFailed.field("points", "must not be 0")
    member = load_member(ctx.session, data.member, lock=True)
    entry = post_points(ctx, member, m.ADJUST, data.points, f"adjust:{uuid.uuid4().hex}", data.reason)
    return PointsEntryOut.model_validate(entry)


# --- points from orders (event consumers) ------------------------------------------------

def _points_for(amount: Decimal) -> int:
    """Whole points earned on an amount paid: ``ERP_POINTS_PER_UNIT`` per 1.00, rounded down."""
    return int((max(amount, ZERO) * get_settings().points_per_unit).to_integral_value(rounding=ROUND_FLOOR))


def _order_account(ctx: Context, order_id: int, member: Member) -> OrderPoints:
    account = ctx.session.scalars(select(OrderPoints).where(OrderPoints.order_id == order_id)
                                  .with_for_update()).one_or_none()
    if account is None:
        account = OrderPoints(order_id=order_id, member_id=member.id, paid=None, refunded=ZERO, points_earned=0,
                              points_reversed=0, spend_counted=ZERO, updated_at=ctx.now)
        ctx.session.add(account)
    return account


def _settle(ctx: Context, member: Member, account: OrderPoints) -> None:
    """Bring the member's points and spend to what the order's paid and refunded amounts owe.

    Points earned are those of the amount paid; a refund reverses the difference between the
    points of the amount paid and those of the amount kept, which is the returned share of them.
    A reversal beyond the member's balance (points already spent) takes the balance to zero.
    """
    if account.paid is None:
        return  # the return came first: nothing was earned yet; the payment settles both
    kept = max(account.paid - account.refunded, ZERO)
    earned, reversed_ = _points_for(account.paid), _points_for(account.paid) - _points_for(kept)
    origin = f"order:{account.order_id}"
    if earned > account.points_earned:
        post_points(ctx, member, m.EARN, earned - account.points_earned, origin, "points for the amount paid")
        account.points_earned = earned
    if reversed_ > account.points_reversed:
        owed = reversed_ - account.points_reversed
        taken = min(owed, member.points_balance)
        note = "returned goods" + (f" ({owed - taken} points already spent)" if taken < owed else "")
        post_points(ctx, member, m.REVERSE, -taken, f"{origin}:{reversed_}", note)
        account.points_reversed = reversed_
    if kept != account.spend_counted:
        member.lifetime_spend += kept - account.spend_counted
        account.spend_counted = kept
        _retier(ctx, member)
    account.updated_at = ctx.now


def _member_of(ctx: Context, customer_id: int | None, envelope: Envelope) -> Member | None:
    if customer_id is None:
        return None
    member = ctx.session.scalars(select(Member).where(Member.id == customer_id).with_for_update()).one_or_none()
    if member is None:  # an order for a customer id that is no member: nothing to award, nothing to retry
        log.warning("%s: event %s names customer %s, who is no member", ctx.operation, envelope.id, customer_id)
    return member


def on_order_paid(ctx: Context, envelope: Envelope) -> None:
    """Points for a paid order, once per order (``order.paid``)."""
    event = envelope.event
    member = _member_of(ctx, event.customer_id, envelope)
    if member is None:
        return
    account = _order_account(ctx, event.order_id, member)
    if account.paid is None:
        account.paid = event.amount
    _settle(ctx, member, account)


def on_order_returned(ctx: Context, envelope: Envelope) -> None:
    """Reverse the returned share of an order's points (``order.returned``)."""
    event = envelope.event
    member = _member_of(ctx, event.customer_id, envelope)
    if member is None:
        return
    account = _order_account(ctx, event.order_id, member)
    # refunded_total is the order's cumulative refund: the largest one seen is the latest.
    total = event.refunded_total if event.refunded_total is not None else account.refunded + event.amount
    account.refunded = max(account.refunded, total)
    _settle(ctx, member, account)


def on_order_cancelled(ctx: Context, envelope: Envelope) -> None:
    """A paid order cancelled is refunded in full: its points go back as a return's would
    (``order.cancelled``; an unpaid order's cancel earned nothing and changes nothing)."""
    event = envelope.event
    if event.refunded_total is None or event.refunded_total <= 0:
        return
    member = _member_of(ctx, event.customer_id, envelope)
    if member is None:
        return
    account = _order_account(ctx, event.order_id, member)
    account.refunded = max(account.refunded, event.refunded_total)
    _settle(ctx, member, account)


# --- what pricing uses ---------------------------------------------------------------------

def redeem_points(ctx: Context, member_id: int, points: int, origin: str, field: str = "points") -> int:
    """Take ``points`` from a member for ``origin`` (an order); the balance left. 409 beyond it."""
    member = load_member(ctx.session, member_id, lock=True, field="customer_id")
    post_points(ctx, member, m.REDEEM, -points, origin, "redeemed at checkout", field=field)
    return member.points_balance


def give_back_points(ctx: Context, member_id: int, origin: str) -> int:
    """Give back what ``origin`` redeemed (a cancelled order), once; the points given back."""
    redeemed = ctx.session.scalar(select(PointsEntry.points).where(
        PointsEntry.member_id == member_id, PointsEntry.kind == m.REDEEM, PointsEntry.origin == origin))
    if not redeemed:
        return 0
    member = load_member(ctx.session, member_id, lock=True)
    post_points(ctx, member, m.GIVE_BACK, -redeemed, origin, "given back: order cancelled")
    return -redeemed


# --- the scheduled jobs ------------------------------------------------------------------

def _in_batches(caller: Caller, ids_of: Callable[[Context, int], list[int]],
                each: Callable[[Context, list[int]], int]) -> dict[str, Any]:
    """Run ``each`` over the ids ``ids_of`` finds, 200 at a time, each batch a unit of work."""
    done, after, errors = 0, 0, []
    while True:
        ids = uow.run(functools.partial(ids_of, after=after), caller, readonly=True)
        if not ids:
            break
        try:
            done += uow.run(functools.partial(each, ids=ids), caller)
        except Exception as exc:  # keep going: the next run tries these again
            log.exception("%s: batch from member %s failed", caller.operation, ids[0])
            errors.append({"from_member": ids[0], "error": f"{exc.__class__.__name__}: {exc}"[:500]})
        after = ids[-1]
    return {"processed": done, "errors": errors[:100]}


def recompute_tiers(caller: Caller) -> JobRunOut:
    """Put every member in the tier their lifetime spend reaches (after the tier table changed)."""

    def ids_of(ctx: Context, after: int) -> list[int]:
        return list(ctx.session.scalars(select(Member.id).where(Member.id > after).order_by(Member.id).limit(200)))

    def each(ctx: Context, ids: list[int]) -> int:
        members = ctx.session.scalars(select(Member).where(Member.id.in_(ids)).order_by(Member.id)
                                      .with_for_update()).all()
        moved = 0
        for member in members:
            before = member.tier
            _retier(ctx, member)
            moved += member.tier != before
        return moved

    return run_job(caller, lambda: _in_batches(caller, ids_of, each))


def expire_points(caller: Caller) -> JobRunOut:
    """Expire the points still unspent ``ERP_POINTS_EXPIRE_DAYS`` after they were earned."""

    def ids_of(ctx: Context, after: int) -> list[int]:
        return list(ctx.session.scalars(
            select(PointsEntry.member_id).where(PointsEntry.expires_at <= ctx.now, PointsEntry.remaining > 0,
                                                PointsEntry.member_id > after)
            .group_by(PointsEntry.member_id).order_by(PointsEntry.member_id).limit(200)))

    def each(ctx: Context, ids: list[int]) -> int:
        expired = 0
        for member_id in ids:
            member = load_member(ctx.session, member_id, lock=True)
            entries = ctx.session.scalars(select(PointsEntry).where(
                PointsEntry.member_id == member_id, PointsEntry.expires_at <= ctx.now,
                PointsEntry.remaining > 0)).all()
            points = sum(e.remaining for e in entries)
            if not points:
                continue  # spent meanwhile
            for entry in entries:
                entry.remaining = 0
            # taken from the entries that grew old (zeroed above), not the oldest first as a spend is
            post_points(ctx, member, m.EXPIRE, -points, f"expire:{max(e.id for e in entries)}",
                        f"{len(entries)} entries older than {get_settings().points_expire_days} days",
                        consume=False)
            expired += points
        return expired

    return run_job(caller, lambda: _in_batches(caller, ids_of, each))


def points_total(session: Session, member_id: int) -> int:
    """The sum of a member's ledger (what ``points_balance`` keeps)."""
    return int(session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                              .where(PointsEntry.member_id == member_id)))

