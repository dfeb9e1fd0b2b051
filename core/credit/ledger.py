"""Putting a loan on the books, and reading what a credit line has lent: the ledger's two
primitives the drawdown, the day close, the repayments and the demo share.

The promise: a loan is written whole or not at all, in the caller's transaction: the loan row with
its terms, version 1 of its repayment schedule (from the pure ``domain.schedules``), the schedule
version row and the disbursement transaction, and an audit entry. Nothing here checks a credit
line or a permission: the callers (``drawdowns``, ``services.book_loan``) do, under their locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.credit.applications import next_number
from nongxin.core.credit.domain.schedules import Period, schedule
from nongxin.core.credit.models import (
    CreditLine,
    Installment,
    InstallmentStatus,
    Loan,
    LoanScheduleVersion,
    LoanStatus,
    LoanTransaction,
)
from nongxin.core.customers.models import Customer
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.models import Institution

__all__ = ["LoanTerms", "Borrower", "open_loan", "write_schedule", "line_used"]


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """What a loan is drawn on: the product, the amount and the contract's rate and method."""

    product_code: str
    amount: Decimal
    annual_rate: Decimal
    term_months: int
    repayment_method: str
    start_on: date  # the disbursement's business date
    penalty_markup: Decimal = Decimal("0.5")
    settlement_day: int = 20
    account: str = ""


@dataclass(frozen=True, slots=True)
class Borrower:
    kind: str  # the identity kind: resident_id | uscc
    id_number: str
    name: str
    customer_id: int | None = None

    @classmethod
    def of(cls, customer: Customer) -> Borrower:
        return cls(customer.kind.id_kind, customer.id_number, customer.name, customer.id)


def open_loan(uow: UnitOfWork, *, bank: Institution, institution: Institution, borrower: Borrower, terms: LoanTerms,
              actor: str, line: CreditLine | None = None, manager_id: int | None = None,
              loan_no: str | None = None) -> Loan:
    """Write an active loan with schedule version 1 and its disbursement; return it (flushed)."""
    periods = schedule(terms.amount, terms.annual_rate, terms.term_months, terms.repayment_method, terms.start_on,
                       settlement_day=terms.settlement_day)
    loan = Loan(loan_no=loan_no or next_number(uow, bank, terms.start_on.year, "L"), institution_id=institution.id,
                county_bank_id=bank.id, borrower_kind=borrower.kind, borrower_id_number=borrower.id_number,
                borrower_name=borrower.name, customer_id=borrower.customer_id, product_code=terms.product_code,
                principal=terms.amount, outstanding=terms.amount, status=LoanStatus.ACTIVE,
                disbursed_on=terms.start_on, maturity_on=periods[-1].due_on, credit_line_id=line.id if line else None,
                manager_id=manager_id, term_months=terms.term_months, repayment_method=terms.repayment_method,
                annual_rate=terms.annual_rate, penalty_markup=terms.penalty_markup, account=terms.account,
                schedule_version=1)
    uow.session.add(loan)
    uow.flush()
    write_schedule(uow, loan, periods, version=1, reason="disbursement", business_date=terms.start_on, actor=actor)
    uow.session.add(LoanTransaction(loan_id=loan.id, kind="disbursement", value_date=terms.start_on,
                                    amount=terms.amount, principal=terms.amount, created_by=actor,
                                    detail={"account": terms.account}))
    uow.flush()
    record(uow.session, actor=actor, action="loan.disburse", target=f"loan:{loan.loan_no}", institution_code=bank.code,
           after={"principal": str(terms.amount), "product": terms.product_code, "rate": str(terms.annual_rate),
                  "term_months": terms.term_months, "method": terms.repayment_method,
                  "line": line.number if line else None})
    return loan


def write_schedule(uow: UnitOfWork, loan: Loan, periods: tuple[Period, ...], *, version: int, reason: str,
                   business_date: date, actor: str) -> None:
    """Add version ``version`` of ``loan``'s schedule (rows pending) and point the loan at it.
    Earlier versions are left as they were: a schedule is never edited in place."""
    uow.session.add(LoanScheduleVersion(loan_id=loan.id, version=version, reason=reason, business_date=business_date,
                                        created_by=actor))
    uow.session.add_all(Installment(loan_id=loan.id, version=version, seq=p.seq, start_on=p.start_on, due_on=p.due_on,
                                    principal=p.principal, interest=p.interest, status=InstallmentStatus.PENDING)
                        for p in periods)
    loan.schedule_version = version
    uow.flush()


def line_used(session: sa.orm.Session, line: CreditLine) -> Decimal:
    """What the line has lent: a revolving line, the outstanding principal of its open loans (repaid
    principal may be drawn again); a one-off line, all principal ever drawn on it. Computed from the
    ledger every time, under the caller's lock, so it cannot drift."""
    column = Loan.outstanding if line.revolving else Loan.principal
    used = session.execute(sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(
        Loan.credit_line_id == line.id)).scalar_one()
    return Decimal(used)
