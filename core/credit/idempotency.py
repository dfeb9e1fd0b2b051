"""Idempotency keys for money-moving writes (drawdowns, repayments).

The promise: a client that retries a write under the same ``Idempotency-Key`` gets the first
result back and never moves money twice; the same key with a different request is 409, never a
silent second write. Callers look the key up *after* taking the lock that serializes the write
(the credit line's, the loan's), so two concurrent requests under one key cannot both miss it;
the unique constraint on (county bank, scope, key) is the last line.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

import sqlalchemy as sa

from nongxin.core.credit.models import IdempotencyKey
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, invalid

__all__ = ["HEADER", "digest", "checked_key", "replay", "remember"]

HEADER = "Idempotency-Key"
MAX_LENGTH = 100


def checked_key(value: str | None) -> str:
    """The header's value, or a 422 naming the header: it is required, 1-100 visible ASCII characters."""
    if value is None or not value.strip():
        raise invalid(HEADER, "is required: send a unique key per request (a UUID), and the same key on retry")
    value = value.strip()
    if len(value) > MAX_LENGTH or not value.isascii() or not value.isprintable():
        raise invalid(HEADER, f"must be 1-{MAX_LENGTH} visible ASCII characters")
    return value


def digest(request: Mapping[str, Any]) -> str:
    """A stable hash of what was asked (the path's object and the body, canonical JSON)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(uow: UnitOfWork, county_bank_id: int, scope: str, key: str, request_hash: str) -> str | None:
    """The first result under this key, None when the key is new; 409 when it was used for
    another request."""
    row = uow.session.execute(sa.select(IdempotencyKey).where(
        IdempotencyKey.county_bank_id == county_bank_id, IdempotencyKey.scope == scope,
        IdempotencyKey.key == key)).scalar_one_or_none()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict(f"{HEADER} {key!r} was already used for a different {scope}; use a new key",
                       code="idempotency_key_reused")
    return row.result


def remember(uow: UnitOfWork, county_bank_id: int, scope: str, key: str, request_hash: str, result: str) -> None:
    """Record the result under the key, in the caller's transaction."""
    uow.session.add(IdempotencyKey(county_bank_id=county_bank_id, scope=scope, key=key,
                                   request_hash=request_hash, result=result))
    uow.flush()
