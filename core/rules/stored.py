"""Stored rules as the SDK's ``Rule``: what the rule books read from the database.

The promise: ``published(session, ancestry, stage, on, shadow=...)`` is every **published** rule
(never a draft, a pending, a rejected or a retired one, and never a monitoring model's condition)
owned along ``ancestry`` (institution codes, province first) in force on ``on``, as ``Rule``
objects whose ``origin`` names the stored row (``stored rule #ID``; ``stored_id`` reads it back).
The live book reads ``shadow=False``, the shadow book ``shadow=True``; several versions of one
code may come back, and ``effective_rules`` keeps the highest in force, exactly as for plugin packs.
"""

from __future__ import annotations

from datetime import date
from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.institutions.models import Institution
from nongxin.core.rules.models import RuleStatus, StoredRule
from nongxin.sdk.rules import Rule

__all__ = ["ORIGIN", "as_rule", "in_force", "published", "stored_id"]

#: ``Rule.origin`` of a stored rule: this prefix and the row's id.
ORIGIN = "stored rule #"


def as_rule(row: StoredRule, owner_code: str) -> Rule:
    """The SDK's rule of one stored row (raises ``RuleDefinitionError`` on an impossible row)."""
    return Rule(code=row.code, name=row.name, expression=row.expression, stage=row.stage, outcome=row.outcome,
                level=row.level, owner=owner_code, effective_from=row.effective_from,
                effective_to=row.effective_to, version=row.version, reason=row.reason or "",
                origin=f"{ORIGIN}{row.id}", category=row.category or "")


def stored_id(rule: Rule) -> int | None:
    """The stored row a rule came from, or None for a plugin's rule."""
    if rule.origin.startswith(ORIGIN) and rule.origin[len(ORIGIN):].isdigit():
        return int(rule.origin[len(ORIGIN):])
    return None


def in_force(on: date) -> sa.ColumnElement[bool]:
    """SQL: the stored rule's effective dates cover ``on``."""
    return sa.and_(sa.or_(StoredRule.effective_from.is_(None), StoredRule.effective_from <= on),
                   sa.or_(StoredRule.effective_to.is_(None), StoredRule.effective_to >= on))


def published(session: Session, ancestry: Sequence[str], stage: str, on: date, *, shadow: bool) -> list[Rule]:
    """Published rules of ``stage`` owned along ``ancestry`` in force on ``on`` (module docstring)."""
    rows = session.execute(
        sa.select(StoredRule, Institution.code).join(Institution, Institution.id == StoredRule.owner_id)
        .where(Institution.code.in_(list(ancestry)), StoredRule.status == RuleStatus.PUBLISHED,
               StoredRule.stage == stage, StoredRule.shadow.is_(shadow), StoredRule.model_id.is_(None), in_force(on))
        .order_by(StoredRule.id)).all()
    return [as_rule(row, owner) for row, owner in rows]
