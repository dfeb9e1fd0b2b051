"""Loans on the books: finding one the caller may see, listing them, and what showing one tells.

The promise: a user sees a loan only inside their own subtree (another county bank's loan is 404,
not 403, and never listed); money goes out as decimal strings, the borrower's identity number
masked unless the caller's role sees it whole; penalty and compound interest owed are computed by
``domain.interest.penalty_owed`` from the loan's fen-day products, the same formula the repayments
and the day close use.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.auth import Principal
from nongxin.core.credit.domain.interest import penalty_owed
from nongxin.core.credit.models import (
    CreditLine,
    Installment,
    Loan,
    LoanScheduleVersion,
    LoanStatus,
    LoanTransaction,
)
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.models import Institution, User
from nongxin.core.permissions import Action, may, require
from nongxin.core.scoping import PAGE, in_subtree, page, visible_row
from nongxin.sdk.identity import mask_identity


def visible_loan(uow: UnitOfWork, principal: Principal, loan_no: str, action: Action, *, lock: bool = False) -> Loan:
    """The loan if the caller's subtree holds the institution that lent it; else 404. ``lock``
    takes the row for the rest of the transaction, so repayments and the day close never
    interleave on one loan."""
    return visible_row(uow, principal, sa.select(Loan).where(Loan.loan_no == loan_no), action,
                       what=f"loan {loan_no}", field="loan", lock=lock)


# -- reading (the API and the CLI render these) -------------------------------------------------



@dataclass(frozen=True)
class LoanFilters:
    status: LoanStatus | None = None
    overdue: bool | None = None  # True: overdue_days > 0; False: not overdue
    customer_id: int | None = None
    limit: int = PAGE
    offset: int = 0


def list_loans(uow: UnitOfWork, principal: Principal, filters: LoanFilters = LoanFilters()) -> list[Loan]:
    """Loans lent in the caller's subtree, newest first."""
    require(principal, Action.LOAN_READ)
    stmt = in_subtree(sa.select(Loan), Loan.institution_id, principal.institution_path)
    if filters.status is not None:
        stmt = stmt.where(Loan.status == filters.status)
    if filters.overdue is True:
        stmt = stmt.where(Loan.overdue_days > 0)
    elif filters.overdue is False:
        stmt = stmt.where(Loan.overdue_days == 0)
    if filters.customer_id is not None:
        stmt = stmt.where(Loan.customer_id == filters.customer_id)
    stmt = page(stmt.order_by(Loan.created_at.desc(), Loan.id.desc()), filters.limit, filters.offset)
    return list(uow.session.execute(stmt).scalars())


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def summary(uow: UnitOfWork, principal: Principal, loan: Loan) -> dict[str, Any]:
    """A loan's terms and balances, JSON-ready: money and rates as decimal strings, the borrower's
    identity number masked unless the caller's role sees it whole."""
    session = uow.session
    where = session.get(Institution, loan.institution_id)
    bank = session.get(Institution, loan.county_bank_id)
    line = session.get(CreditLine, loan.credit_line_id) if loan.credit_line_id is not None else None
    manager = session.get(User, loan.manager_id) if loan.manager_id is not None else None
    number = loan.borrower_id_number if may(principal, Action.CUSTOMER_FULL_ID) else mask_identity(
        loan.borrower_id_number)
    penalty = penalty_owed(loan.penalty_base, loan.annual_rate, loan.penalty_markup, loan.penalty_paid)
    compound = penalty_owed(loan.compound_base, loan.annual_rate, loan.penalty_markup, loan.compound_paid)
    return {
        "loan_no": loan.loan_no, "status": loan.status.value,
        "county_bank": bank.code if bank else "", "institution": where.code if where else "",
        "borrower": {"customer": loan.customer_id, "kind": loan.borrower_kind, "name": loan.borrower_name,
                     "id_number": number},
        "credit_line": None if line is None else {"id": line.id, "number": line.number},
        "manager": manager.username if manager else None,
        "product": loan.product_code, "principal": _money(loan.principal), "outstanding": _money(loan.outstanding),
        "annual_rate": format(loan.annual_rate, "f"), "penalty_markup": format(loan.penalty_markup, "f"),
        "repayment_method": loan.repayment_method, "term_months": loan.term_months, "account": loan.account,
        "disbursed_on": loan.disbursed_on, "maturity_on": loan.maturity_on, "closed_on": loan.closed_on,
        "overdue_principal": _money(loan.overdue_principal), "overdue_interest": _money(loan.overdue_interest),
        "penalty_owed": _money(penalty), "compound_owed": _money(compound),
        "overdue_since": loan.overdue_since, "overdue_days": loan.overdue_days,
        "closed_through": loan.closed_through, "schedule_version": loan.schedule_version,
    }


def details(uow: UnitOfWork, principal: Principal, loan: Loan) -> dict[str, Any]:
    """``summary`` plus the current schedule, the transactions and the schedule versions."""
    session = uow.session
    rows = session.execute(sa.select(Installment).where(
        Installment.loan_id == loan.id, Installment.version == loan.schedule_version)
        .order_by(Installment.seq)).scalars()
    moves = session.execute(sa.select(LoanTransaction).where(LoanTransaction.loan_id == loan.id)
                            .order_by(LoanTransaction.id)).scalars()
    versions = session.execute(sa.select(LoanScheduleVersion).where(LoanScheduleVersion.loan_id == loan.id)
                               .order_by(LoanScheduleVersion.version)).scalars()
    return {
        **summary(uow, principal, loan),
        "schedule": [{"seq": r.seq, "start_on": r.start_on, "due_on": r.due_on, "principal": _money(r.principal),
                      "interest": _money(r.interest), "total": _money(r.principal + r.interest),
                      "paid_principal": _money(r.paid_principal), "paid_interest": _money(r.paid_interest),
                      "status": r.status.value, "paid_on": r.paid_on} for r in rows],
        "transactions": [{"id": t.id, "kind": t.kind, "value_date": t.value_date, "amount": _money(t.amount),
                          "penalty": _money(t.penalty), "compound": _money(t.compound),
                          "interest": _money(t.interest), "principal": _money(t.principal),
                          "created_by": t.created_by, "created_at": t.created_at} for t in moves],
        "schedule_versions": [{"version": v.version, "reason": v.reason, "business_date": v.business_date,
                               "created_by": v.created_by, "created_at": v.created_at} for v in versions],
    }
