"""Repayments (还款): money coming in on a loan, allocated, recorded, and the loan's books moved.

The promise of ``repay``:

* the caller must see the loan (another county bank's is 404) and hold ``loan.repay`` (403);
* a retried request under the same ``Idempotency-Key`` returns the first repayment and moves no
  money; the same key with another amount, date or loan is 409. The key is looked up after the
  loan's row lock, so two concurrent retries cannot both pay;
* the loan must be serviced (active or rescheduled): a closed loan is 409 "loan X is closed";
* ``paid_on`` is on or before the business date, on or after the disbursement, and after the last
  date the day close processed for the loan (that day's books are closed: 422);
* the amount (a positive Decimal of whole fen) is split by ``domain.allocation`` in the product's
  order; more than the payoff figure is 422 naming the payoff;
* installments record what they received (``paid_*``, ``status`` paid, ``paid_on``); the loan's
  ``outstanding``, ``overdue_principal``/``overdue_interest``, ``overdue_since``/``overdue_days``
  are kept to the invariants the day close shares (``Loan``'s docstring); penalty and compound
  paid go to ``penalty_paid``/``compound_paid`` (the fen-day bases are the day close's alone);
* a prepayment writes the next schedule version (reason ``prepayment``; earlier versions stay as
  they were) per the product's policy; a repayment of the payoff closes the loan
  (``LOAN_TRANSITIONS``; a move not allowed is 409, never a silent no-op);
* one ``LoanTransaction`` (kind ``repayment``, the allocation in its columns and ``detail``) and
  one audit entry, all in the caller's transaction: whole or nothing.

Product settings (allocation order, prepayment policy) come from the spec of the loan's product as
offered today at the institution that lent it. When no enabled plugin offers the product any more,
or its spec names an order or policy the core does not know, the defaults apply
(``sdk.ALLOCATION_ORDER``, ``shorten_term``) and the transaction's ``detail`` says so: money that
comes in is never refused because a plugin was switched off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit.applications import product_at
from nongxin.core.credit.domain.allocation import AboveThePayoff, Allocation, Owed, Unpaid, allocate, checked_order
from nongxin.core.credit.domain.interest import penalty_owed
from nongxin.core.credit.domain.schedules import Period, fen, remaining_schedule
from nongxin.core.credit.idempotency import digest, remember, replay
from nongxin.core.credit.ledger import write_schedule
from nongxin.core.credit.loans import visible_loan
from nongxin.core.credit.models import (
    LOAN_TRANSITIONS,
    SERVICED_STATUSES,
    Installment,
    InstallmentStatus,
    Loan,
    LoanStatus,
    LoanTransaction,
)
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, invalid
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action
from nongxin.core.runtime import Runtime
from nongxin.sdk.types import ALLOCATION_ORDER, PREPAYMENT_POLICIES

__all__ = ["SCOPE", "Repaid", "ProductTerms", "repay", "balances", "product_terms", "current_rows"]

log = logging.getLogger(__name__)

#: The idempotency scope of repayments.
SCOPE = "repayment"
DEFAULT_POLICY = "shorten_term"
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Repaid:
    """A repayment's outcome: the loan as it is now, the transaction, and whether this request was
    a replay of an earlier one under the same key (nothing was written then)."""

    loan: Loan
    transaction: LoanTransaction
    replayed: bool


@dataclass(frozen=True, slots=True)
class ProductTerms:
    """The product settings a repayment follows, and whether they are the defaults."""

    order: tuple[str, ...] = ALLOCATION_ORDER
    prepayment: str = DEFAULT_POLICY
    defaults: bool = True  # the product is no longer offered (or its settings are unknown)


def repay(uow: UnitOfWork, principal: Principal, runtime: Runtime, loan_no: str, amount: Decimal, paid_on: date,
          key: str) -> Repaid:
    """Take a repayment of ``amount`` on ``paid_on`` (see the module's promise)."""
    loan = visible_loan(uow, principal, loan_no, Action.LOAN_REPAY, lock=True)
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount != fen(amount):
        raise invalid("amount", "must be a positive amount of yuan with at most two decimals")
    request = digest({"loan": loan_no, "amount": str(fen(amount)), "paid_on": paid_on.isoformat()})
    known = replay(uow, loan.county_bank_id, SCOPE, key, request)
    if known is not None:
        return Repaid(loan, uow.session.get_one(LoanTransaction, int(known)), True)
    _check_repayable(loan, paid_on, runtime.clock.business_date())
    terms = product_terms(uow.session, runtime, loan)
    rows = current_rows(uow.session, loan)
    owed, future = _owed(loan, rows, paid_on)
    try:
        allocation = allocate(amount, owed, terms.order)
    except AboveThePayoff as exc:
        raise invalid("amount", f"{amount} is more than the payoff of {exc.payoff} on {paid_on}: "
                                f"{exc.payoff} repays the loan in full") from None
    version = _apply(uow, principal, loan, rows, future, allocation, terms, paid_on)
    txn = LoanTransaction(loan_id=loan.id, kind="repayment", value_date=paid_on, amount=amount,
                          penalty=allocation.parts["penalty"], compound=allocation.parts["compound"],
                          interest=allocation.interest, principal=allocation.principal, created_by=principal.username,
                          detail=_detail(allocation, terms, version, loan))
    uow.session.add(txn)
    uow.flush()
    remember(uow, loan.county_bank_id, SCOPE, key, request, str(txn.id))
    bank = uow.session.get_one(Institution, loan.county_bank_id)
    record(uow.session, actor=principal.username, action="loan.repay", target=f"loan:{loan.loan_no}",
           institution_code=bank.code,
           after={"transaction": txn.id, "amount": str(amount), "paid_on": paid_on.isoformat(),
                  "allocation": txn.detail["allocation"], "status": loan.status.value, **balances(loan)})
    return Repaid(loan, txn, False)


def _check_repayable(loan: Loan, paid_on: date, business_date: date) -> None:
    if loan.status not in SERVICED_STATUSES:
        if loan.status is LoanStatus.CLOSED:
            raise Conflict(f"loan {loan.loan_no} is closed", code="loan_closed")
        raise Conflict(f"loan {loan.loan_no} is {loan.status.value}: repayments are taken only on "
                       f"{' or '.join(s.value for s in SERVICED_STATUSES)} loans", code="loan_not_serviced")
    if paid_on > business_date:
        raise invalid("paid_on", f"{paid_on} is after the business date {business_date}")
    if loan.disbursed_on is not None and paid_on < loan.disbursed_on:
        raise invalid("paid_on", f"{paid_on} is before the loan was disbursed on {loan.disbursed_on}")
    if loan.closed_through is not None and paid_on <= loan.closed_through:
        raise invalid("paid_on", f"{paid_on} is closed: the day close has processed this loan through "
                                 f"{loan.closed_through}; repay on a later date")


def product_terms(session: sa.orm.Session, runtime: Runtime, loan: Loan) -> ProductTerms:
    """The allocation order and prepayment policy of the loan's product where it was lent, or the
    defaults (see the module's docstring)."""
    where = session.get_one(Institution, loan.institution_id)
    spec = product_at(session, runtime.plugins, where, loan.product_code)
    if spec is None:
        return ProductTerms()
    try:
        order = checked_order(spec.allocation_order)
    except ValueError as exc:
        log.warning("product %s: %s; the default allocation order applies", spec.code, exc)
        return ProductTerms()
    if spec.prepayment not in PREPAYMENT_POLICIES:
        log.warning("product %s: unknown prepayment policy %r; %s applies", spec.code, spec.prepayment,
                    DEFAULT_POLICY)
        return ProductTerms()
    return ProductTerms(order, spec.prepayment, defaults=False)


def current_rows(session: sa.orm.Session, loan: Loan) -> list[Installment]:
    """The rows of the loan's current schedule version, by period."""
    return list(session.execute(sa.select(Installment).where(
        Installment.loan_id == loan.id, Installment.version == loan.schedule_version)
        .order_by(Installment.seq)).scalars())


def _owed(loan: Loan, rows: list[Installment], paid_on: date) -> tuple[Owed, list[Installment]]:
    """What the loan owes on ``paid_on`` (``domain.allocation``'s buckets), and the future rows."""
    def unpaid(r: Installment) -> Unpaid:
        return Unpaid(r.seq, r.due_on, r.principal - r.paid_principal, r.interest - r.paid_interest)

    overdue = [r for r in rows if r.status is InstallmentStatus.OVERDUE]
    current = [r for r in rows if r.status is InstallmentStatus.DUE
               or (r.status is InstallmentStatus.PENDING and r.due_on <= paid_on)]
    future = [r for r in rows if r.status is InstallmentStatus.PENDING and r.due_on > paid_on]
    owed = Owed(penalty=penalty_owed(loan.penalty_base, loan.annual_rate, loan.penalty_markup, loan.penalty_paid),
                compound=penalty_owed(loan.compound_base, loan.annual_rate, loan.penalty_markup, loan.compound_paid),
                overdue=tuple(unpaid(r) for r in overdue), current=tuple(unpaid(r) for r in current),
                future_principal=sum((r.principal - r.paid_principal for r in future), ZERO),
                accrual_days=max(0, (paid_on - future[0].start_on).days) if future else 0,
                annual_rate=loan.annual_rate)
    return owed, future


def _apply(uow: UnitOfWork, principal: Principal, loan: Loan, rows: list[Installment], future: list[Installment],
           allocation: Allocation, terms: ProductTerms, paid_on: date) -> int:
    """Move the books by ``allocation``; the schedule version in force afterwards."""
    by_seq = {r.seq: r for r in rows}
    for paid in allocation.installments:
        row = by_seq[paid.seq]
        row.paid_principal += paid.principal
        row.paid_interest += paid.interest
        if row.paid_principal == row.principal and row.paid_interest == row.interest:
            row.status, row.paid_on = InstallmentStatus.PAID, paid_on
    loan.penalty_paid += allocation.parts["penalty"]
    loan.compound_paid += allocation.parts["compound"]
    loan.outstanding -= allocation.principal
    _overdue_figures(loan, rows)
    if allocation.prepaid_principal > 0:
        _reschedule(uow, principal, loan, rows, future, allocation, terms, paid_on)
    if allocation.closes:
        if LoanStatus.CLOSED not in LOAN_TRANSITIONS[loan.status]:
            raise Conflict(f"loan {loan.loan_no} is {loan.status.value} and cannot be closed", code="loan_transition")
        loan.status, loan.closed_on = LoanStatus.CLOSED, paid_on
    uow.flush()
    return loan.schedule_version


def _overdue_figures(loan: Loan, rows: list[Installment]) -> None:
    """The overdue balances and age from the current version's overdue rows (the day close's rule)."""
    overdue = [r for r in rows if r.status is InstallmentStatus.OVERDUE]
    loan.overdue_principal = sum((r.principal - r.paid_principal for r in overdue), ZERO)
    loan.overdue_interest = sum((r.interest - r.paid_interest for r in overdue), ZERO)
    loan.overdue_since = min((r.due_on for r in overdue), default=None)
    if loan.overdue_since is None:
        loan.overdue_days = 0
    elif loan.closed_through is not None:
        loan.overdue_days = max(0, (loan.closed_through - loan.overdue_since).days + 1)


def _reschedule(uow: UnitOfWork, principal: Principal, loan: Loan, rows: list[Installment], future: list[Installment],
                allocation: Allocation, terms: ProductTerms, paid_on: date) -> None:
    """Write the next version: the rows already due carried over as they are (with what they
    received), the future rows recomputed on the balance left after the prepayment."""
    ahead = tuple(Period(r.seq, r.start_on, r.due_on, r.principal, r.interest) for r in future)
    balance = sum((p.principal for p in ahead), ZERO) - allocation.prepaid_principal
    recomputed = remaining_schedule(balance, loan.annual_rate, loan.repayment_method, ahead, policy=terms.prepayment)
    left = {r.seq for r in future}
    carried = [r for r in rows if r.seq not in left]
    periods = (*(Period(r.seq, r.start_on, r.due_on, r.principal, r.interest) for r in carried), *recomputed)
    write_schedule(uow, loan, periods, version=loan.schedule_version + 1, reason="prepayment", business_date=paid_on,
                   actor=principal.username)
    if recomputed:
        loan.maturity_on = recomputed[-1].due_on
    new = {r.seq: r for r in current_rows(uow.session, loan)}
    for old in carried:
        row = new[old.seq]
        row.paid_principal, row.paid_interest = old.paid_principal, old.paid_interest
        row.status, row.paid_on = old.status, old.paid_on


def _detail(allocation: Allocation, terms: ProductTerms, version: int, loan: Loan) -> dict[str, Any]:
    return {"allocation": {name: str(value) for name, value in allocation.parts.items()},
            "order": list(allocation.order),
            "installments": [{"seq": p.seq, "principal": str(p.principal), "interest": str(p.interest)}
                             for p in allocation.installments],
            "payoff": str(allocation.payoff),
            "prepayment": terms.prepayment if allocation.prepaid_principal > 0 else None,
            "product_defaults": terms.defaults,
            "schedule_version": version,
            "closed": loan.status is LoanStatus.CLOSED}


def balances(loan: Loan) -> dict[str, Any]:
    """The loan's balances after a repayment, as the API and the CLI show them (Decimal yuan)."""
    return {"outstanding": loan.outstanding, "overdue_principal": loan.overdue_principal,
            "overdue_interest": loan.overdue_interest,
            "penalty_due": penalty_owed(loan.penalty_base, loan.annual_rate, loan.penalty_markup, loan.penalty_paid),
            "compound_due": penalty_owed(loan.compound_base, loan.annual_rate, loan.penalty_markup,
                                         loan.compound_paid),
            "overdue_days": loan.overdue_days, "schedule_version": loan.schedule_version,
            "maturity_on": loan.maturity_on, "closed_on": loan.closed_on}
