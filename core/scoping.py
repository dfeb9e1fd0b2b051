"""Scope: the rows a caller may see, the one way every module asks.

The promise (product promise 3): a row that belongs to another county bank, or to any
institution outside the caller's subtree, is "not found" (404), exactly as a row that does not
exist; only then is the caller's role checked (403), so a caller never learns that another bank's
row exists. Listings never return such rows, and never more than ``MAX_PAGE`` at a time.

Each scoped model has an ``institution_id`` column: the institution the row was made at (an
application filed, a line granted, a loan lent, a collateral item registered).
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa

from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NotFound
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require

__all__ = ["MAX_PAGE", "PAGE", "in_subtree", "page", "visible_row"]

#: Default and largest page of a listing.
PAGE, MAX_PAGE = 50, 500

T = TypeVar("T")


def in_subtree(stmt: sa.Select[Any], institution_id: Any, top_path: str) -> sa.Select[Any]:
    """``stmt`` narrowed to rows whose ``institution_id`` column lies under the institution with
    materialized path ``top_path`` (usually ``principal.institution_path``): one indexed LIKE."""
    return (stmt.join(Institution, Institution.id == institution_id)
            .where(Institution.path.startswith(top_path, autoescape=True)))


def page(stmt: sa.Select[Any], limit: int, offset: int) -> sa.Select[Any]:
    """``stmt`` limited to one page: 1..``MAX_PAGE`` rows from ``offset`` (never negative)."""
    return stmt.limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))


def visible_row(uow: UnitOfWork, principal: Principal, stmt: sa.Select[tuple[T]], action: Action, *,
                what: str, field: str, lock: bool = False) -> T:
    """The one row ``stmt`` selects, if the caller's subtree holds its institution; else 404
    ("``what`` not found", naming ``field``). Then the role: 403 unless the caller may ``action``.
    ``lock`` takes the row for the rest of the transaction (PostgreSQL ``FOR UPDATE``; SQLite's
    writers are serialized already), so two writers of one row queue instead of interleaving."""
    if lock:
        stmt = stmt.with_for_update()
    row = uow.session.execute(stmt).scalar_one_or_none()
    where = uow.session.get(Institution, row.institution_id) if row is not None else None
    if row is None or where is None or not principal.can_see(where):
        raise NotFound(f"{what} not found", fields={field: ["not found"]})
    require(principal, action)
    return row
