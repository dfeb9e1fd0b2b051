"""The ledger's primitives: a loan is opened whole (terms, schedule version 1, disbursement, audit),
numbered per bank and year; a credit line's usage is computed from the ledger; penalty interest from
its fen-day product."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.credit.domain.interest import checked_markup, penalty_owed
from nongxin.core.credit.ledger import line_used
from nongxin.core.credit.models import (
    CreditLine,
    CreditLineStatus,
    Installment,
    Loan,
    LoanScheduleVersion,
    LoanTransaction,
)
from nongxin.core.testing import open_test_loan

D = Decimal


def test_a_loan_is_opened_with_its_schedule_and_disbursement(nongxin_app: Any, nongxin_demo: Any,
                                                              nongxin_uow: Any) -> None:
    first = open_test_loan(nongxin_app, amount="10000.00", start_on=date(2026, 1, 15))
    second = open_test_loan(nongxin_app, amount="5000.00", method="bullet", term_months=6, start_on=date(2026, 2, 1))
    assert (first, second) == ("JNRCB-L2026-000001", "JNRCB-L2026-000002")
    session = nongxin_uow.session
    loan = session.execute(sa.select(Loan).where(Loan.loan_no == first)).scalar_one()
    assert (loan.principal, loan.outstanding, loan.status.value, loan.schedule_version) == (
        D("10000.00"), D("10000.00"), "active", 1)
    assert (loan.annual_rate, loan.penalty_markup, loan.maturity_on) == (D("0.0435"), D("0.5"), date(2027, 1, 15))
    rows = session.execute(sa.select(Installment).where(Installment.loan_id == loan.id)
                           .order_by(Installment.seq)).scalars().all()
    assert len(rows) == 12 and sum(r.principal for r in rows) == D("10000.00")
    assert {r.status.value for r in rows} == {"pending"} and rows[0].due_on == date(2026, 2, 15)
    assert session.execute(sa.select(LoanScheduleVersion.reason).where(
        LoanScheduleVersion.loan_id == loan.id)).scalars().all() == ["disbursement"]
    assert session.execute(sa.select(LoanTransaction.kind, LoanTransaction.amount).where(
        LoanTransaction.loan_id == loan.id)).all() == [("disbursement", D("10000.00"))]


def test_schedule_versions_and_transactions_are_append_only(nongxin_app: Any, nongxin_demo: Any) -> None:
    open_test_loan(nongxin_app)
    engine = nongxin_app.extensions["nongxin"].engine
    for table in ("loan_transactions", "loan_schedule_versions"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(f"UPDATE {table} SET created_by = 'mallory'"))


def test_a_lines_usage_comes_from_the_ledger(nongxin_app: Any, nongxin_demo: Any, nongxin_uow: Any) -> None:
    session = nongxin_uow.session
    loan_no = open_test_loan(nongxin_app, amount="3000.00")
    loan = session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
    line = CreditLine(number="JNRCB-C2026-000001", county_bank_id=loan.county_bank_id,
                      institution_id=loan.institution_id, customer_id=loan.customer_id, amount=D("10000.00"),
                      annual_rate=D("0.0435"), products=["XIN_E_DAI"], start_on=date(2026, 1, 1),
                      end_on=date(2027, 1, 1), revolving=True, status=CreditLineStatus.ACTIVE)
    session.add(line)
    session.flush()
    assert line_used(session, line) == D("0")
    loan.credit_line_id = line.id
    loan.outstanding = D("1000.50")
    session.flush()
    assert line_used(session, line) == D("1000.50")
    line.revolving = False
    assert line_used(session, line) == D("3000.00")


def test_penalty_is_the_fen_day_product_at_the_penalty_rate_rounded_once() -> None:
    # 10,000.00 overdue for 10 days at 4.35% x 1.5 / 360: 18.125 -> 18.13
    assert penalty_owed(1_000_000 * 10, D("0.0435"), D("0.5")) == D("18.13")
    assert penalty_owed(1_000_000 * 10, D("0.0435"), D("0.5"), paid=D("18.13")) == D("0.00")
    assert penalty_owed(0, D("0.0435"), D("0.3")) == D("0.00")
    assert checked_markup(D("0.3")) == D("0.3")
    for bad in (D("0.29"), D("0.51")):
        with pytest.raises(ValueError, match="0.3 to 0.5"):
            checked_markup(bad)
