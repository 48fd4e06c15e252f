"""Passwords, access tokens and roles.

Passwords are hashed with argon2id. Access tokens are JWTs (HS256 by default) carrying ``sub``
(the user id), ``username``, ``roles``, ``ver`` (the user's token version) and ``exp``. A token
is honoured only while the user is active and its ``ver`` still matches: disabling a user,
changing their roles or resetting their password bumps the version, so old tokens stop working
at once. The current state of a user is read through a short-lived cache. A signed token whose
claims do not have the types issued here (``exp`` a number, ``sub`` the user id in digits,
``ver`` an integer, ``roles`` a list of strings) or that lives longer than any token issued
here is refused with 401 like any other invalid token.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .cache import get_cache
from .config import get_settings
from .context import Principal
from .errors import Unauthorized

log = logging.getLogger(__name__)

ROLES: tuple[str, ...] = (
    "admin",
    "manager",
    "merchandiser",
    "warehouse",
    "purchaser",
    "planner",
    "cashier",
    "marketing",
    "accountant",
)

# Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's
# RFC 9106 default of 64 MiB: each check allocates that much, and it set a function's peak memory.
# Hashes made with other parameters still verify, and are rehashed at the next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both answers take as long (made
    on first use, not at import: a function that never checks a password never pays for it)."""
    return _hasher.hash(uuid.uuid4().hex)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    expires_in: int


def issue_token(user_id: int, username: str, roles: list[str], token_version: int) -> IssuedToken:
    settings = get_settings()
    now = datetime.now(timezone.utc)
    expires_at = now + timedelta(minutes=settings.jwt_expire_minutes)
    claims = {
        "sub": str(user_id),
        "username": username,
        "roles": sorted(roles),
        "ver": token_version,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.jwt_secret_key, algorithm=settings.jwt_algorithm)
    return IssuedToken(token, expires_at.replace(microsecond=0), settings.jwt_expire_minutes * 60)


CLOCK_SKEW = 60  # seconds another replica's clock may run ahead of this one's


def decode_token(token: str) -> dict:
    """The claims of a valid, unexpired token; 401 otherwise.

    Verifying the signature (and PyJWT's checks of the encoding) is the dearest step of every
    request, and a client sends the same token for up to ``JWT_EXPIRE_MINUTES``: so the claims of a
    token already verified with the current secret and algorithm are kept (a bounded LRU) and only
    its expiry is checked again. The revocation check (``authenticate``) is not cached here.
    """
    settings = get_settings()
    claims = _verified_claims(token, settings.jwt_secret_key, settings.jwt_algorithm)
    now = time.time()
    if now >= claims["exp"]:
        raise Unauthorized("the access token has expired: sign in again", code="token_expired")
    if claims["exp"] > now + settings.jwt_expire_minutes * 60 + CLOCK_SKEW:  # (no exp - now: it may be 10**400)
        # Longer-lived than any token this system issues: not one of ours, or from before the
        # lifetime was shortened; either way not to be honoured for years.
        raise Unauthorized("the access token is not valid", code="invalid_token")
    return claims


@functools.lru_cache(maxsize=4096)
def _verified_claims(token: str, secret: str, algorithm: str) -> dict:
    # An exception is not cached: a bad token is checked (and refused) every time it is sent.
    try:
        claims = jwt.decode(token, secret, algorithms=[algorithm], options={"require": ["exp", "sub", "ver"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired: sign in again", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("the access token is not valid", code="invalid_token") from None
    if not _claims_well_typed(claims):
        raise Unauthorized("the access token is not valid", code="invalid_token")
    return claims


_MAX_USER_ID = 2**63 - 1  # a BIGINT; a larger "sub" would fail in the database, not be looked up


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _claims_well_typed(claims: dict) -> bool:
    """The claims have the types this module issues them with.

    A signature proves who wrote a token, not that it is well formed: a token signed with the
    right key by anything else (another service sharing the key, a test, a leaked key) must be
    refused with 401, never reach the code below with a string where a number belongs. PyJWT
    converts ``exp`` with ``int()``, so it lets ``"1700000000"`` (a string) and ``true`` through.
    """
    sub, ver, roles = claims.get("sub"), claims.get("ver"), claims.get("roles")
    return (
        _is_number(claims.get("exp"))
        # "sub" is the user id in ASCII digits: int() would also take " 7", "+7", "7_0" or "٧".
        and isinstance(sub, str) and 0 < len(sub) <= 19 and sub.isascii() and sub.isdigit()
        and 0 < int(sub) <= _MAX_USER_ID
        and isinstance(ver, int) and not isinstance(ver, bool)
        and isinstance(roles, list) and all(isinstance(role, str) for role in roles)
        and isinstance(claims.get("username", ""), str)
        and all(_is_number(claims[name]) for name in ("iat", "nbf") if name in claims)
    )


# --- the current state of a user, for every authenticated request ------------------------

@dataclass(frozen=True)
class UserState:
    user_id: int
    username: str
    active: bool
    token_version: int
    roles: frozenset[str]


UserStateLoader = Callable[[int], "UserState | None"]
_loader: UserStateLoader | None = None
STATE_TTL = 60


def set_user_state_loader(loader: UserStateLoader) -> None:
    """The identity domain tells the platform how to read a user's current state."""
    global _loader
    _loader = loader


def _state_key(user_id: int) -> str:
    return f"auth:user:{user_id}"


def forget_user_state(user_id: int) -> None:
    """Drop the cached state after a change (call after the change is committed)."""
    get_cache().delete(_state_key(user_id))


def _user_state(user_id: int) -> UserState | None:
    cache = get_cache()
    # A miss, or Redis failing (the cache then misses): the database answers. Never a stale
    # in-process copy instead, which another process's revocation could not reach.
    cached = cache.get(_state_key(user_id))
    if cached is not None:
        try:
            raw = json.loads(cached)
            if raw is None:
                return None
            return UserState(raw["user_id"], raw["username"], raw["active"], raw["ver"], frozenset(raw["roles"]))
        except (ValueError, TypeError, KeyError):  # not what this module writes: read the database
            log.warning("unreadable cached state of user %s: reading the database", user_id)
    if _loader is None:
        raise RuntimeError("no user state loader: import erp_common.identity")
    state = _loader(user_id)
    payload = None
    if state is not None:
        payload = {
            "user_id": state.user_id,
            "username": state.username,
            "active": state.active,
            "ver": state.token_version,
            "roles": sorted(state.roles),
        }
    cache.set(_state_key(user_id), json.dumps(payload), STATE_TTL)
    return state


def authenticate(authorization: str | None) -> Principal:
    """Turn an ``Authorization: Bearer <token>`` header into the principal it stands for."""
    if not authorization:
        raise Unauthorized("missing Authorization header: send 'Bearer <access token>'", code="missing_token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <access token>'", code="invalid_token")
    claims = decode_token(token.strip())
    state = _user_state(int(claims["sub"]))  # digits: checked with the other claims
    if state is None or not state.active:
        raise Unauthorized("this user is disabled or no longer exists", code="user_disabled")
    if claims.get("ver") != state.token_version:
        raise Unauthorized("the access token was revoked: sign in again", code="token_revoked")
    return Principal(state.user_id, state.username, state.roles)
