"""Idempotency keys: a retried create/pay/receive returns the first response and does no work twice.

The key is claimed by inserting a row in the same transaction as the work and completed with
the response before commit. A concurrent retry blocks on the row's unique key until the first
transaction ends, then reads its stored response; if the first one failed (rolled back), the
retry simply does the work. A key reused with a different request is refused.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, UTCDateTime, utcnow
from .errors import BadRequest, ValidationFailed

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 100


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation: Mapped[str] = mapped_column(String(100))
    principal: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("operation", "principal", "key", name="uq_idempotency_key",
                                       info={"field": HEADER}),)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str


def validate_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters",
            details=[{"field": HEADER, "message": "1 to 100 printable characters"}],
        )
    return key


def request_hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def claim(
    session: Session, operation: str, principal: str, key: str, req_hash: str
) -> IdempotencyRecord | StoredResponse:
    """Claim the key for this transaction, or return the response stored by the first request."""
    record = IdempotencyRecord(
        operation=operation, principal=principal, key=key, request_hash=req_hash, created_at=utcnow()
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
        return record
    except IntegrityError:
        pass
    stored = session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.operation == operation,
            IdempotencyRecord.principal == principal,
            IdempotencyRecord.key == key,
        )
    ).one()
    if stored.request_hash != req_hash:
        raise ValidationFailed(
            f"this {HEADER} was already used for a different request",
            code="idempotency_key_reused",
            details=[{"field": HEADER, "message": "already used for a different request"}],
        )
    return StoredResponse(stored.status_code or 200, stored.response_body or "")


def complete(record: IdempotencyRecord, status_code: int, body: str) -> None:
    record.status_code = status_code
    record.response_body = body
