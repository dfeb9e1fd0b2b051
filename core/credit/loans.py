"""Loans on the books: finding one the caller may see.

The promise: a user sees a loan only inside their own subtree (another county bank's loan is 404,
not 403).
"""

from __future__ import annotations

import sqlalchemy as sa

from nongxin.core.auth import Principal
from nongxin.core.credit.models import Loan
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NotFound
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require


def visible_loan(uow: UnitOfWork, principal: Principal, loan_no: str, action: Action, *, lock: bool = False) -> Loan:
    """The loan if the caller's subtree holds the institution that lent it; else 404. ``lock``
    takes the row for the rest of the transaction, so repayments and the day close never
    interleave on one loan."""
    stmt = sa.select(Loan).where(Loan.loan_no == loan_no)
    if lock:
        stmt = stmt.with_for_update()
    loan = uow.session.execute(stmt).scalar_one_or_none()
    where = uow.session.get(Institution, loan.institution_id) if loan is not None else None
    if loan is None or where is None or not principal.can_see(where):
        raise NotFound(f"loan {loan_no} not found", fields={"loan": ["not found"]})
    require(principal, action)
    return loan
