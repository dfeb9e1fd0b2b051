"""Credit lines (授信): granted from an approved application, drawn on (用信), frozen, unfrozen,
closed; expired by the day close.

The promise: a user sees a line only inside their own subtree (another county bank's line is 404,
not 403), and every change of a line's state is audited.
"""

from __future__ import annotations

import sqlalchemy as sa

from nongxin.core.auth import Principal
from nongxin.core.credit.models import CreditLine
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NotFound
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require


def visible_line(uow: UnitOfWork, principal: Principal, line_id: int, action: Action, *,
                 lock: bool = False) -> CreditLine:
    """The line if the caller's subtree holds the institution that granted it; else 404.
    ``lock`` takes the row for the rest of the transaction (PostgreSQL ``FOR UPDATE``; SQLite's
    writers are serialized already): drawdowns on one line queue behind each other, so a line
    is never over-drawn."""
    stmt = sa.select(CreditLine).where(CreditLine.id == line_id)
    if lock:
        stmt = stmt.with_for_update()
    line = uow.session.execute(stmt).scalar_one_or_none()
    where = uow.session.get(Institution, line.institution_id) if line is not None else None
    if line is None or where is None or not principal.can_see(where):
        raise NotFound(f"credit line {line_id} not found", fields={"credit_line": ["not found"]})
    require(principal, action)
    return line
