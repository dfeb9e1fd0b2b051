"""The ledger end to end, as the demo runs it: lines, drawdowns of every method, repayments on
their due dates and every day closed through the real services; then the books, the loans, the
day's snapshots and the columnar export must agree with each other and with the pure domain."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.credit.domain.interest import penalty_owed
from nongxin.core.credit.models import DayClose, Installment, InstallmentStatus, Loan, LoanSnapshot
from nongxin.core.demo import DEMO_BOOKS_DAYS, DEMO_DRAWDOWNS, demo_ledger
from nongxin.core.jobs.ledger import ledger_table
from nongxin.sdk.types import REPAYMENT_METHODS


def test_the_demo_books_close_every_day_and_the_export_agrees(nongxin_app: Any, nongxin_demo: Any,
                                                                nongxin_uow: Any) -> None:
    rt = nongxin_app.extensions["nongxin"]
    today = rt.clock.business_date()
    loans = demo_ledger(rt)
    assert {loan.method for loan in loans} == set(REPAYMENT_METHODS)
    late = {loan.loan_no for loan in loans if loan.overdue_days}
    assert len(late) == sum(1 for *_, pays in DEMO_DRAWDOWNS if not pays)
    assert rt.clock.business_date() == today  # the books are at today: every day before it closed
    session = nongxin_uow.session
    closes = session.execute(sa.select(sa.func.count()).select_from(DayClose)).scalar_one()
    banks = session.execute(sa.select(sa.func.count(sa.distinct(DayClose.county_bank_id)))).scalar_one()
    assert closes == banks * DEMO_BOOKS_DAYS

    yesterday = today - timedelta(days=1)
    table = ledger_table(rt.engine, yesterday, business_date=today).to_pylist()
    booked = {"JNRCB-2026-000001"}  # the seed's loan booked from core banking (no schedule)
    assert {row["loan_no"] for row in table} == {loan.loan_no for loan in loans} | booked
    table = [row for row in table if row["loan_no"] not in booked]
    for row in table:
        loan = session.execute(sa.select(Loan).where(Loan.loan_no == row["loan_no"])).scalar_one()
        snap = session.get(LoanSnapshot, (yesterday, loan.id))
        assert snap is not None
        assert row["outstanding_fen"] == int(loan.outstanding * 100) == int(snap.outstanding * 100)
        assert row["overdue_days"] == loan.overdue_days == snap.overdue_days
        assert Decimal(row["penalty_due_fen"]) / 100 == penalty_owed(loan.penalty_base, loan.annual_rate,
                                                                     loan.penalty_markup, loan.penalty_paid)
        unpaid = session.execute(sa.select(Installment).where(
            Installment.loan_id == loan.id, Installment.version == loan.schedule_version,
            Installment.status == InstallmentStatus.OVERDUE)).scalars().all()
        if loan.loan_no in late:
            assert unpaid and row["compound_due_fen"] > 0  # unpaid interest bears compound interest
            assert (row["penalty_due_fen"] > 0) == (loan.overdue_principal > 0)  # principal bears penalty
            assert loan.overdue_since == min(i.due_on for i in unpaid)
            assert loan.overdue_days == (today - loan.overdue_since).days
            assert loan.overdue_principal == sum(i.principal - i.paid_principal for i in unpaid)
        else:
            assert not unpaid and row["penalty_due_fen"] == 0 and loan.overdue_principal == 0
    paid = session.execute(sa.select(sa.func.count()).select_from(Installment).where(
        Installment.status == InstallmentStatus.PAID)).scalar_one()
    assert paid >= 3  # the good payers' first installments, repaid on their due dates
