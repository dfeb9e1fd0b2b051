"""Which decided applications turned bad: a loan classed non-performing or 90+ days overdue is bad,
a clean seasoned loan good, an undrawn line or a too recent loan unknown."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from nongxin.core.credit.models import CreditLine, Loan
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.classification import classify
from nongxin.core.early_warning.models import LoanClass
from nongxin.core.scorecards.outcomes import outcomes
from nongxin.core.testing import file_application, make_overdue, open_test_line, open_test_loan
from nongxin.sdk.identity import make_resident_id


def applied(app: Any, n: int) -> int:
    return file_application(app, id_number=make_resident_id("370102", date(1980, 1, 1) + timedelta(days=n), 901),
                            status="approved")


def lend(app: Any, app_id: int, *, drawn_days_ago: int | None, loans: int = 1, place: str = "JNRCB-LX",
         manager: str = "jinan.cm") -> list[str]:
    """A line granted by ``app_id`` and ``loans`` loans drawn under it that many days ago."""
    rt = app.extensions["nongxin"]
    today = rt.clock.business_date()
    line_id = open_test_line(app, place=place, manager=manager)
    numbers = [] if drawn_days_ago is None else [
        open_test_loan(app, start_on=today - timedelta(days=drawn_days_ago), place=place, manager=manager)
        for _ in range(loans)]
    with UnitOfWork(rt.sessions) as unit:
        unit.session.get(CreditLine, line_id).application_id = app_id
        for number in numbers:
            loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == number)).scalar_one()
            loan.credit_line_id = line_id
        unit.commit()
    return numbers


def judge(app: Any, ids: list[int], **kw: Any) -> Any:
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions, write=False) as unit:
        return outcomes(unit.session, ids, rt.clock.business_date(), **kw)


def test_bad_good_and_unknown(nongxin_app, nongxin_demo):
    overdue, clean, undrawn, recent, one_bad_of_two, never_lined = (applied(nongxin_app, n) for n in range(6))
    make_overdue(nongxin_app, lend(nongxin_app, overdue, drawn_days_ago=400)[0], days=95)
    lend(nongxin_app, clean, drawn_days_ago=400)
    lend(nongxin_app, undrawn, drawn_days_ago=None)
    lend(nongxin_app, recent, drawn_days_ago=60)
    make_overdue(nongxin_app, lend(nongxin_app, one_bad_of_two, drawn_days_ago=400, loans=2)[1], days=120)
    found = judge(nongxin_app, [overdue, clean, undrawn, recent, one_bad_of_two, never_lined])
    assert found.known == {overdue: 1, clean: 0, one_bad_of_two: 1}
    assert (found.bads, found.goods, found.unknown) == (2, 1, 3)


def test_89_days_overdue_is_not_bad_and_a_recent_bad_loan_is_bad(nongxin_app, nongxin_demo):
    late, early_default = applied(nongxin_app, 10), applied(nongxin_app, 11)
    make_overdue(nongxin_app, lend(nongxin_app, late, drawn_days_ago=400)[0], days=89)
    make_overdue(nongxin_app, lend(nongxin_app, early_default, drawn_days_ago=100)[0], days=91)
    assert judge(nongxin_app, [late, early_default]).known == {late: 0, early_default: 1}


def test_a_loan_classed_non_performing_stays_bad_after_its_arrears_are_paid(nongxin_app, nongxin_demo):
    app_id = applied(nongxin_app, 20)
    [loan_no] = lend(nongxin_app, app_id, drawn_days_ago=400)
    make_overdue(nongxin_app, loan_no, days=100)
    classify(nongxin_app.extensions["nongxin"])
    make_overdue(nongxin_app, loan_no, days=0)  # arrears cleared: only the class says it went bad
    rt = nongxin_app.extensions["nongxin"]
    with UnitOfWork(rt.sessions, write=False) as unit:
        loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        assert loan.overdue_days == 0
        assert unit.session.get(LoanClass, loan.id).tier in ("substandard", "doubtful", "loss")
    assert judge(nongxin_app, [app_id]).known == {app_id: 1}


def test_the_seasoning_is_a_setting(nongxin_app, nongxin_demo):
    app_id = applied(nongxin_app, 30)
    lend(nongxin_app, app_id, drawn_days_ago=60)
    assert judge(nongxin_app, [app_id]).known == {}
    assert judge(nongxin_app, [app_id], min_months=1).known == {app_id: 0}
    assert judge(nongxin_app, []).unknown == 0
