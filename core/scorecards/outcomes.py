"""Which decided applications turned bad: the target a challenger's KS and a fitted card need.

The definition (one query over all the applications asked about, never a loop over rows):

* an application's loans are the loans drawn under the credit line it granted
  (``CreditLine.application_id`` -> ``Loan.credit_line_id``), disbursed on or before ``as_of``;
* **bad** (1) when any of those loans, by ``as_of``, was classed non-performing (substandard,
  doubtful or loss: its current ``LoanClass`` tier or approved manual tier, entered on or before
  ``as_of``, or any ``LoanClassChange`` into one of those tiers dated on or before ``as_of``), or
  was ever 90 or more days overdue (a ``LoanSnapshot`` of a closed day on or before ``as_of``, or
  the live loan row). A loan that went bad early is bad however recent it is;
* **good** (0) when a loan was drawn at least ``min_months`` months before ``as_of`` (the first
  drawdown) and none is bad;
* **unknown** otherwise (no line, no loan drawn, or the first drawdown less than ``min_months``
  months before ``as_of``): left out of ``known`` and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.credit.models import CreditLine, Loan, LoanSnapshot
from nongxin.core.early_warning.classify_domain import add_months
from nongxin.core.early_warning.domain import NON_PERFORMING
from nongxin.core.early_warning.models import LoanClass, LoanClassChange

__all__ = ["BAD_OVERDUE_DAYS", "DEFAULT_MIN_MONTHS", "Outcomes", "outcomes"]

BAD_OVERDUE_DAYS = 90
DEFAULT_MIN_MONTHS = 6


@dataclass
class Outcomes:
    """``known``: application id -> 1 (bad) or 0 (good); ``unknown``: how many were asked about and
    are neither (no loan drawn, or drawn too recently)."""

    known: dict[int, int] = field(default_factory=dict)
    unknown: int = 0

    @property
    def bads(self) -> int:
        return sum(self.known.values())

    @property
    def goods(self) -> int:
        return len(self.known) - self.bads


def _bad_loans(as_of: date) -> sa.CompoundSelect[Any]:
    """Ids of loans bad by ``as_of`` (classed non-performing, or 90+ days overdue)."""
    npl = sorted(NON_PERFORMING)
    classed = sa.select(LoanClass.loan_id).where(
        sa.or_(LoanClass.tier.in_(npl), LoanClass.manual_tier.in_(npl)), LoanClass.since <= as_of)
    changed = sa.select(LoanClassChange.loan_id).where(LoanClassChange.to_tier.in_(npl),
                                                       LoanClassChange.business_date <= as_of)
    snapshot = sa.select(LoanSnapshot.loan_id).where(LoanSnapshot.overdue_days >= BAD_OVERDUE_DAYS,
                                                     LoanSnapshot.business_date <= as_of)
    live = sa.select(Loan.id).where(Loan.overdue_days >= BAD_OVERDUE_DAYS)
    return sa.union(classed, changed, snapshot, live)


def outcomes(session: Session, application_ids: Iterable[int], as_of: date,
             min_months: int = DEFAULT_MIN_MONTHS) -> Outcomes:
    """The outcome of each application of ``application_ids`` as of ``as_of`` (see the module)."""
    ids = sorted(set(application_ids))
    if not ids:
        return Outcomes()
    bad = _bad_loans(as_of).subquery()
    seasoned_by = add_months(as_of, -min_months)
    found: dict[int, int] = {}
    for start in range(0, len(ids), 5000):  # bounded IN lists
        chunk = ids[start:start + 5000]
        stmt = (sa.select(CreditLine.application_id,
                          sa.func.min(Loan.disbursed_on),
                          sa.func.max(sa.case((Loan.id.in_(sa.select(bad.c[0])), 1), else_=0)))
                .join(Loan, Loan.credit_line_id == CreditLine.id)
                .where(CreditLine.application_id.in_(chunk), Loan.disbursed_on.is_not(None),
                       Loan.disbursed_on <= as_of)
                .group_by(CreditLine.application_id))
        for app_id, first_drawn, is_bad in session.execute(stmt).all():
            if is_bad:
                found[app_id] = 1
            elif first_drawn <= seasoned_by:
                found[app_id] = 0
    return Outcomes(found, len(ids) - len(found))
