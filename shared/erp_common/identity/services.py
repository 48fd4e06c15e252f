"""Identity services: sign in, and the administration of users and their roles."""
from __future__ import annotations

import logging

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import auth, metrics, uow
from ..cache import get_cache
from ..config import get_settings
from ..context import Caller, Context
from ..db import transaction
from ..errors import Conflict, NotFound, TooManyRequests, Unauthorized
from ..paging import paginate
from ..schemas import Page
from .events import UserCreated, UserUpdated
from .models import User, UserRole
from .schemas import LoginIn, TokenOut, UserCreateIn, UserIdIn, UserListIn, UserOut, UserUpdateIn

log = logging.getLogger(__name__)


def _attempts_key(username: str) -> str:
    return f"login:failures:{username.lower()}"


# One answer for every refused sign-in (unknown user, wrong password, disabled user), so that
# the answer tells nothing about the account: a disabled user's right password confirms nothing.
def _invalid_credentials() -> Unauthorized:
    metrics.LOGIN_FAILURES.labels("invalid_credentials").inc()
    return Unauthorized("invalid username or password", code="invalid_credentials")


def login(caller: Caller, data: LoginIn) -> TokenOut:
    """Exchange a username and password for an access token.

    At most ``ERP_LOGIN_MAX_FAILURES`` (5) sign-ins of one username are checked without a
    success in between; further attempts are refused with 429 and Retry-After, without
    checking the password, until ``ERP_LOGIN_LOCK_SECONDS`` (300) after the first.
    """
    settings, cache = get_settings(), get_cache()
    key = _attempts_key(data.username)
    # Counted atomically before the password is checked, and refused past the limit: a burst of
    # parallel guesses gets the limit of checks, no more. (Counting failures after the ~0.2 s
    # check let every guess of a burst read the same count: 20 of 50 were checked.)
    attempt = cache.incr(key, settings.login_lock_seconds)
    if attempt > settings.login_max_failures:
        if attempt == settings.login_max_failures + 1:
            log.warning("sign-in for %r locked after %d attempts", data.username, settings.login_max_failures)
        _locked(cache.ttl(key) or settings.login_lock_seconds)
    # And per address, across usernames (one password tried on many accounts), with room for a shop's
    # tills behind one router: ERP_LOGIN_ADDRESS_FACTOR times a username's attempts in the same window.
    if caller.client_address:
        address_key = f"login:address:{caller.client_address}"
        limit = settings.login_max_failures * settings.login_address_factor
        if cache.incr(address_key, settings.login_lock_seconds) > limit:
            _locked(cache.ttl(address_key) or settings.login_lock_seconds, whose="this address", field="client")
    # The slow hash check runs outside any unit of work: it holds no connection, and on SQLite
    # no write lock that every other writer would queue behind.
    def read(ctx: Context) -> tuple[int | None, str | None]:
        user = ctx.session.scalars(select(User).where(User.username == data.username)).one_or_none()
        return (user.id, user.password_hash) if user else (None, None)

    user_id, checked_hash = uow.run(read, caller, readonly=True)
    ok = auth.verify_password(checked_hash, data.password)
    if not ok or user_id is None:
        raise _invalid_credentials()

    def sign_in(ctx: Context) -> TokenOut:
        user = ctx.session.get(User, user_id)
        # Disabled, deleted or given a new password while the hash was being checked: refused alike.
        if user is None or not user.is_active or user.password_hash != checked_hash:
            raise _invalid_credentials()
        if auth.needs_rehash(user.password_hash):
            user.password_hash = auth.hash_password(data.password)
        user.last_login_at = ctx.now
        issued = auth.issue_token(user.id, user.username, user.roles, user.token_version)
        return TokenOut(access_token=issued.token, expires_in=issued.expires_in, expires_at=issued.expires_at,
                        user=UserOut.model_validate(user))

    token = uow.run(sign_in, caller)
    cache.delete(key)  # a success starts the count again
    return token


def _locked(retry_after: int, *, whose: str = "this user", field: str = "username") -> None:
    metrics.LOGIN_FAILURES.labels("locked").inc()
    raise TooManyRequests(
        f"too many sign-ins for {whose}: try again in {retry_after} seconds",
        code="login_locked",
        headers={"Retry-After": str(retry_after)},
        details=[{"field": field, "message": f"too many sign-ins for {whose}", "retry_after": retry_after}],
    )


def me(ctx: Context) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(_get(ctx.session, ctx.user.user_id))


def _get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist", details=[{"field": "user_id", "message": "no such user"}])
    return user


def create_user(ctx: Context, data: UserCreateIn) -> UserOut:
    """Create a user with a password and one or more roles."""
    exists = ctx.session.scalar(select(User.id).where(User.username == data.username))
    if exists is not None:
        raise Conflict(
            f"the username {data.username!r} is taken",
            code="username_taken",
            details=[{"field": "username", "message": "already taken"}],
        )
    now = ctx.now
    user = User(
        username=data.username,
        password_hash=auth.hash_password(data.password),
        full_name=data.full_name,
        email=data.email,
        is_active=True,
        token_version=1,
        created_at=now,
        updated_at=now,
        role_rows=[UserRole(role=r) for r in data.roles],
    )
    ctx.session.add(user)
    ctx.session.flush()
    ctx.emit(UserCreated(user_id=user.id, username=user.username, roles=user.roles, by=ctx.actor))
    return UserOut.model_validate(user)


def get_user(ctx: Context, data: UserIdIn) -> UserOut:
    """One user by id."""
    return UserOut.model_validate(_get(ctx.session, data.user_id))


def list_users(ctx: Context, data: UserListIn) -> Page[UserOut]:
    """Users, filtered by a search text, a role or whether they are active."""
    query = select(User)
    if data.q:
        like = f"%{data.q}%"
        query = query.where(or_(User.username.like(like), User.full_name.like(like)))
    if data.role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == data.role)))
    if data.is_active is not None:
        query = query.where(User.is_active.is_(data.is_active))
    return paginate(ctx.session, query, data, UserOut.model_validate, User.id)


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(User).join(UserRole).where(UserRole.role == "admin", User.is_active.is_(True))
    ) or 0


def update_user(ctx: Context, data: UserUpdateIn) -> UserOut:
    """Change a user's name, email, roles, active flag or password.

    Changing roles, disabling or resetting the password revokes the user's tokens. The last
    active administrator cannot be disabled or lose the admin role.
    """
    user = _get(ctx.session, data.user_id)
    revoke = False
    changes = data.model_fields_set - {"user_id"}
    if "full_name" in changes and data.full_name is not None:
        user.full_name = data.full_name
    if "email" in changes:
        user.email = data.email
    loses_admin = (
        user.is_active
        and "admin" in user.roles
        and ((data.roles is not None and "admin" not in data.roles) or data.is_active is False)
    )
    if loses_admin and _active_admins(ctx.session) <= 1:
        raise Conflict(
            "this is the last active administrator: it cannot be disabled or lose the admin role",
            code="last_admin",
            details=[{"field": "roles" if data.roles is not None else "is_active", "message": "last active admin"}],
        )
    if data.roles is not None and sorted(data.roles) != user.roles:
        user.role_rows = [UserRole(role=r) for r in data.roles]
        revoke = True
    if data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        revoke = True
    if data.password is not None:
        user.password_hash = auth.hash_password(data.password)
        revoke = True
    if revoke:
        user.token_version += 1
    user.updated_at = ctx.now
    ctx.session.flush()
    ctx.session.refresh(user)
    ctx.on_commit(lambda: auth.forget_user_state(data.user_id))
    ctx.emit(UserUpdated(user_id=user.id, fields=sorted(changes), by=ctx.actor))
    return UserOut.model_validate(user)


def load_user_state(user_id: int) -> auth.UserState | None:
    """The platform's view of a user for every authenticated request (cached by auth)."""
    with transaction(readonly=True) as session:
        user = session.get(User, user_id)
        if user is None:
            return None
        return auth.UserState(user.id, user.username, user.is_active, user.token_version, frozenset(user.roles))


def ensure_admin(username: str, password: str) -> bool:
    """Create the first administrator if there is no user at all; True if one was created."""

    def work(ctx: Context) -> bool:
        if ctx.session.scalar(select(func.count()).select_from(User)):
            return False
        user = User(username=username, password_hash=auth.hash_password(password), full_name="Administrator",
                    is_active=True, token_version=1, created_at=ctx.now, updated_at=ctx.now,
                    role_rows=[UserRole(role="admin")])
        ctx.session.add(user)
        ctx.session.flush()
        ctx.emit(UserCreated(user_id=user.id, username=username, roles=["admin"], by=ctx.actor))
        return True

    return uow.run(work, uow.system_caller("create-admin"))


auth.set_user_state_loader(load_user_state)
