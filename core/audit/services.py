"""Writing and verifying the audit trail, a keyed hash chain (see ``nongxin.core.audit.chain``).

Each entry carries the HMAC of its content and of the entry before it, so an edited, deleted or
forged row breaks the chain at a place `verify` can name. Appends lock the chain's head, so
concurrent writers wait for each other instead of forking the chain or failing.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit import chain
from nongxin.core.audit.chain import GENESIS, Anchor, Chain, Problem
from nongxin.core.audit.models import AuditEntry
from nongxin.core.auth import Principal
from nongxin.core.db import utcnow

__all__ = ["AUDIT_CHAIN", "GENESIS", "Anchor", "Problem", "chains", "entries", "head", "record", "verify",
           "verify_for"]

AUDIT_CHAIN = Chain(
    "audit_log", AuditEntry, lock_id=0x6E78_0001,
    body=lambda e: [chain.timestamp(e.at), e.actor, e.institution_code, e.action, e.target, e.before, e.after],
)


def _jsonable(value: Any) -> Any:
    # Round-trip through JSON so what we sign is exactly what the database gives back.
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
    entry = AuditEntry(at=utcnow().replace(microsecond=0), actor=actor, institution_code=institution_code,
                       action=action, target=target, before=_jsonable(before), after=_jsonable(after))
    return chain.append(session, AUDIT_CHAIN, entry)


def head(session: Session) -> Anchor | None:
    return chain.head(session, AUDIT_CHAIN)


def verify(session: Session, anchor: Anchor | None = None) -> list[Problem]:
    """Problems of the audit log; ``nongxin audit verify`` checks every chain (``chains()``)."""
    return chain.verify(session, AUDIT_CHAIN, anchor)


def chains() -> dict[str, Chain]:
    """Every tamper-evident table, by name: what ``nongxin audit head`` and ``verify`` walk."""
    from nongxin.core.bureau.models import QUERY_LOG_CHAIN

    return {AUDIT_CHAIN.name: AUDIT_CHAIN, QUERY_LOG_CHAIN.name: QUERY_LOG_CHAIN}


def about_subtree(top_path: str) -> sa.ColumnElement[bool]:
    """Entries about an institution under the one with materialized path ``top_path`` (an entry
    names its institution by code): the audit trail's scope."""
    from nongxin.core.institutions.models import Institution

    codes = sa.select(Institution.code).where(Institution.path.startswith(top_path, autoescape=True))
    return AuditEntry.institution_code.in_(codes)


def entries(session: Session, principal: Principal, *, limit: int = 100,
            action: str | None = None) -> list[AuditEntry]:
    """Newest first; entries about institutions in the caller's subtree (admins only)."""
    from nongxin.core.permissions import Action, require

    require(principal, Action.AUDIT_READ)
    stmt = sa.select(AuditEntry).where(about_subtree(principal.institution_path))
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return list(session.execute(stmt.order_by(AuditEntry.id.desc()).limit(min(limit, 1000))).scalars())


def verify_for(session: Session, principal: Principal) -> list[Problem]:
    """``verify`` for a caller: it reads every entry, so province admins only."""
    from nongxin.core.permissions import Action, require

    require(principal, Action.AUDIT_VERIFY)
    return verify(session)
