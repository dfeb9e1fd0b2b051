"""Writing and verifying the hash-chained audit trail.

Each entry carries the hash of the one before it, so an edited or deleted row breaks the chain at
a place `verify` can name. ``prev_hash`` is unique: two writers racing for the same predecessor
cannot both commit, so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.models import AuditEntry
from nongxin.core.db import as_utc, utcnow

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, institution_code: str | None, action: str,
            target: str, before: Any, after: Any) -> str:
    body = json.dumps(
        [prev_hash, as_utc(at).isoformat(), actor, institution_code, action, target, before, after],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    # Round-trip through JSON so what we hash is exactly what the database gives back.
    return None if value is None else json.loads(json.dumps(value, ensure_ascii=False, default=str))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    institution_code: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction, so it commits or rolls back with the change."""
    last = session.execute(
        sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev = last or GENESIS
    at = utcnow().replace(microsecond=0)
    before, after = _jsonable(before), _jsonable(after)
    entry = AuditEntry(
        at=at, actor=actor, institution_code=institution_code, action=action, target=target,
        before=before, after=after, prev_hash=prev,
        hash=_digest(prev, at, actor, institution_code, action, target, before, after),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Problem:
    entry_id: int
    message: str


@dataclass(frozen=True)
class Anchor:
    """The chain's length and newest hash, written down outside the database (a daily report, a
    ticket). The chain alone cannot show that its newest entries were deleted; an anchor can."""

    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> "Anchor":
        position, sep, digest = text.partition(":")
        if not sep or not position.isdigit() or len(digest) != 64:
            raise ValueError(f"an anchor looks like 123:<64 hex digits>, got {text!r}")
        return cls(int(position), digest.lower())


def head(session: Session) -> Anchor | None:
    count = session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one()
    last = session.execute(sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    return Anchor(count, last) if last else None


def verify(session: Session, anchor: Anchor | None = None) -> list[Problem]:
    """Walk the chain from the start and name every entry that was changed or whose predecessor
    is gone; with an anchor, also check that the chain still reaches it unchanged."""
    problems: list[Problem] = []
    expected_prev = GENESIS
    position = 0
    anchored = anchor is None
    for entry in _entries(session):
        position += 1
        if anchor is not None and position == anchor.position:
            anchored = entry.hash == anchor.hash
            if not anchored:
                problems.append(Problem(entry.id, f"entry {entry.id} at position {position} does not match "
                                                  "the anchor: the chain was rewritten or shortened"))
                anchored = True
        if entry.prev_hash != expected_prev:
            problems.append(Problem(entry.id, f"entry {entry.id}: the entry before it was deleted "
                                              "or changed (chain broken)"))
        recomputed = _digest(entry.prev_hash, entry.at, entry.actor, entry.institution_code,
                             entry.action, entry.target, entry.before, entry.after)
        if recomputed != entry.hash:
            problems.append(Problem(entry.id, f"entry {entry.id} ({entry.action} {entry.target}) "
                                              "was changed after it was written"))
        expected_prev = entry.hash
    if not anchored:
        problems.append(Problem(0, f"the chain has {position} entries but the anchor was taken at "
                                   f"{anchor.position}: its newest entries were deleted"))  # type: ignore[union-attr]
    return problems


def _entries(session: Session) -> Iterator[AuditEntry]:
    yield from session.execute(
        sa.select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    ).scalars()

