"""Rate limits per user and per client address, by class of function: sign-in, writes, reads.

Each request counts once against its user (when signed in) and once against its client address,
in fixed windows (``ERP_RATE_WINDOW_SECONDS``, 60) kept in the cache: Redis when ``REDIS_URL`` is
set, so every replica counts together (one round trip for both counters), else the process's
memory. Past a limit the answer is 429 ``rate_limited`` with ``Retry-After`` (the seconds left in
the window), naming what was limited. Functions the connectors call (jobs, event consumers) are
not limited here: their callers are the platform.

The client address is the last entry of ``X-Forwarded-For`` (the one the nearest proxy added: the
OpenFaaS gateway, an ingress, or the local gateway), so a client cannot choose it by sending its
own header. Limits are set with ``ERP_RATE_LIMITS`` such as
``sign-in=30,write=600,read=1800,address-factor=20`` (per window; the per-address limit of a
class is its per-user limit times the factor, as a shop's tills share one address); 0 turns a
class off.
"""
from __future__ import annotations

import time

from .cache import get_cache
from .config import get_settings
from .errors import TooManyRequests
from .operations import CONNECTOR, PUBLIC, Operation

SIGN_IN, WRITE, READ = "sign-in", "write", "read"


def function_class(op: Operation) -> str | None:
    """The class an operation counts in, or None when it is not limited (connector-called)."""
    if op.roles == CONNECTOR or op.topic or op.schedule:
        return None
    if op.roles == PUBLIC:
        return SIGN_IN
    return READ if op.readonly else WRITE


def client_address(forwarded_for: str | None, remote_addr: str | None) -> str:
    if forwarded_for:
        return forwarded_for.rsplit(",", 1)[-1].strip() or (remote_addr or "unknown")
    return remote_addr or "unknown"


def check(op: Operation, user_id: int | None, address: str, *, now: float | None = None) -> None:
    """Count this request; 429 if its user or its address is past the limit of its class."""
    kind = function_class(op)
    if kind is None:
        return
    limits = get_settings().rate_limits
    per_user = limits.per_user.get(kind, 0)
    if per_user <= 0:
        return
    now = time.time() if now is None else now
    window = int(now // limits.window)
    keys = [f"rate:{kind}:a:{address}:{window}"]
    if user_id is not None:
        keys.append(f"rate:{kind}:u:{user_id}:{window}")
    counts = get_cache().incr_many(keys, limits.window)
    over = []
    if counts[0] > limits.per_address(kind):
        over.append({"field": "client", "message": f"more than {limits.per_address(kind)} {kind} requests from "
                                                   f"this address in {limits.window} s"})
    if user_id is not None and counts[1] > per_user:
        over.append({"field": "user", "message": f"more than {per_user} {kind} requests in {limits.window} s"})
    if over:
        retry_after = max(1, int((window + 1) * limits.window - now + 0.999))
        raise TooManyRequests(f"too many {kind} requests: try again in {retry_after} s", code="rate_limited",
                              details=over, headers={"Retry-After": str(retry_after)})
