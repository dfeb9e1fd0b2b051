"""The business day close (日终): due and overdue marking, overdue days, the penalty and compound
products exact against ``domain.interest.penalty_owed``, line expiry, snapshots, idempotency,
catching up in order, resuming after a crash, the books' date, set-wise statements, the CLI."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.credit.day_close import BankClose, books_date, close_bank_day, penalty_fen
from nongxin.core.credit.domain.interest import penalty_owed
from nongxin.core.credit.models import (
    CreditLine,
    CreditLineStatus,
    DayClose,
    Installment,
    InstallmentStatus,
    Loan,
    LoanSnapshot,
)
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, ValidationFailed
from nongxin.core.institutions import services as institutions
from nongxin.core.jobs.close_day import run
from nongxin.core.testing import open_test_loan

D = Decimal
FIRST_DUE = date(2026, 2, 15)  # the first installment of a loan disbursed on 2026-01-15
DEMO = 1  # the demo books one loan at JNRCB (from core banking: no schedule)


def rt(app: Any) -> Any:
    return app.extensions["nongxin"]


def close(app: Any, day: date, bank: str = "JNRCB") -> BankClose:
    with UnitOfWork(rt(app).sessions, write=False) as unit:
        inst = institutions.get_by_code(unit.session, bank)
        unit.session.expunge_all()
    assert inst is not None
    return close_bank_day(rt(app).sessions, inst, day, actor="test")


def loan(app: Any, loan_no: str) -> Loan:
    with UnitOfWork(rt(app).sessions, write=False) as unit:
        row = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        unit.session.expunge_all()
        return row


def rows(app: Any, loan_no: str) -> list[Installment]:
    with UnitOfWork(rt(app).sessions, write=False) as unit:
        found = list(unit.session.execute(sa.select(Installment).join(Loan, Loan.id == Installment.loan_id)
                                          .where(Loan.loan_no == loan_no).order_by(Installment.seq)).scalars())
        unit.session.expunge_all()
        return found


def execute(app: Any, stmt: Any) -> None:
    with rt(app).engine.begin() as conn:
        conn.execute(stmt)


def snapshot(app: Any, loan_no: str, day: date) -> LoanSnapshot | None:
    with UnitOfWork(rt(app).sessions, write=False) as unit:
        found = unit.session.execute(sa.select(LoanSnapshot).join(Loan, Loan.id == LoanSnapshot.loan_id).where(
            Loan.loan_no == loan_no, LoanSnapshot.business_date == day)).scalar_one_or_none()
        unit.session.expunge_all()
        return found


def fen(amount: Decimal) -> int:
    return int(amount * 100)


def test_due_installments_go_overdue_and_the_products_grow_a_day_per_close(nongxin_app: Any, nongxin_demo: Any) -> None:
    unpaid = open_test_loan(nongxin_app)
    paid = open_test_loan(nongxin_app)
    part = open_test_loan(nongxin_app)
    first = rows(nongxin_app, paid)[0]
    execute(nongxin_app, sa.update(Installment).where(Installment.id == first.id).values(
        paid_principal=first.principal, paid_interest=first.interest, status=InstallmentStatus.PAID, paid_on=FIRST_DUE))
    half = rows(nongxin_app, part)[0]
    execute(nongxin_app, sa.update(Installment).where(Installment.id == half.id).values(
        paid_principal=D("500.00"), paid_interest=half.interest))

    before = close(nongxin_app, FIRST_DUE - timedelta(days=1))
    assert (before.loans, before.due, before.newly_overdue, before.overdue_loans) == (3 + DEMO, 0, 0, 0)
    assert rows(nongxin_app, unpaid)[0].status == InstallmentStatus.PENDING

    on = close(nongxin_app, FIRST_DUE)
    assert (on.loans, on.due, on.newly_overdue, on.overdue_loans) == (3 + DEMO, 2, 2, 2)
    assert [r.status for r in rows(nongxin_app, paid)[:2]] == [InstallmentStatus.PAID, InstallmentStatus.PENDING]
    row = rows(nongxin_app, unpaid)[0]
    assert row.status == InstallmentStatus.OVERDUE and rows(nongxin_app, unpaid)[1].status == InstallmentStatus.PENDING
    got = loan(nongxin_app, unpaid)
    assert (got.overdue_principal, got.overdue_interest, got.overdue_since, got.overdue_days) == (
        row.principal, row.interest, FIRST_DUE, 1)
    assert (got.penalty_base, got.compound_base, got.closed_through) == (
        fen(row.principal), fen(row.interest), FIRST_DUE)
    halved = loan(nongxin_app, part)
    assert (halved.overdue_principal, halved.overdue_interest) == (half.principal - D("500.00"), D("0"))
    clean = loan(nongxin_app, paid)
    assert (clean.overdue_principal, clean.overdue_since, clean.overdue_days, clean.penalty_base) == (
        D("0"), None, 0, 0)

    for _ in range(9):
        close(nongxin_app, loan(nongxin_app, unpaid).closed_through + timedelta(days=1))  # type: ignore[operator]
    day = FIRST_DUE + timedelta(days=9)
    got = loan(nongxin_app, unpaid)
    assert (got.overdue_days, got.penalty_base, got.compound_base) == (
        10, 10 * fen(row.principal), 10 * fen(row.interest))
    shot = snapshot(nongxin_app, unpaid, day)
    assert shot is not None and shot.overdue_days == 10 and shot.outstanding == got.outstanding
    assert shot.penalty_due == penalty_owed(got.penalty_base, got.annual_rate, got.penalty_markup) > 0
    assert shot.compound_due == penalty_owed(got.compound_base, got.annual_rate, got.penalty_markup) > 0
    assert snapshot(nongxin_app, paid, day) is not None  # every serviced loan has its row


def test_a_first_close_after_the_due_date_counts_every_day_since(nongxin_app: Any, nongxin_demo: Any) -> None:
    daily = open_test_loan(nongxin_app)
    late = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    day = FIRST_DUE
    while day <= date(2026, 3, 1):
        close(nongxin_app, day)
        day += timedelta(days=1)
    close(nongxin_app, date(2026, 3, 1), bank="LYRCB")  # nothing closed before at this bank
    a, b = loan(nongxin_app, daily), loan(nongxin_app, late)
    assert a.overdue_days == b.overdue_days == 15
    assert (a.penalty_base, a.compound_base) == (b.penalty_base, b.compound_base) != (0, 0)


def test_a_rewritten_schedule_is_closed_on_its_own_rows(nongxin_app: Any, nongxin_demo: Any) -> None:
    from nongxin.core.credit.domain.schedules import schedule
    from nongxin.core.credit.ledger import write_schedule

    number = open_test_loan(nongxin_app)
    close(nongxin_app, FIRST_DUE - timedelta(days=1))
    with UnitOfWork(rt(nongxin_app).sessions) as unit:  # version 2, its first row due before the books' date
        row = unit.session.execute(sa.select(Loan).where(Loan.loan_no == number)).scalar_one()
        periods = schedule(row.outstanding, row.annual_rate, 12, "equal_installment", date(2026, 1, 10))
        write_schedule(unit, row, periods, version=2, reason="reschedule", business_date=FIRST_DUE, actor="test")
        unit.commit()
    assert close(nongxin_app, FIRST_DUE).newly_overdue == 1
    got = loan(nongxin_app, number)
    assert (got.overdue_since, got.overdue_days, got.schedule_version) == (date(2026, 2, 10), 6, 2)
    with UnitOfWork(rt(nongxin_app).sessions, write=False) as unit:
        statuses = dict(unit.session.execute(sa.select(Installment.version, Installment.status).where(
            Installment.seq == 1, Installment.loan_id == got.id)).all())
    assert statuses == {1: InstallmentStatus.PENDING, 2: InstallmentStatus.OVERDUE}  # version 1 is history


PENALTY_CASES = [  # (annual rate, markup, base fen-days, paid)
    ("0.036", "0.5", 10000, "0"),  # 1.5 fen exactly: rounds half up to 2
    ("0.036", "0.5", 3333, "0"),
    ("0.0435", "0.3", 1, "0"),
    ("0.0435", "0.5", 123456789, "12.34"),
    ("0.24", "0.5", 10**15 + 7, "0"),
    ("0.0435", "0.5", 2**62 + 12345, "0"),  # base x rate x (1 + markup) in millionths overflows BIGINT
    ("0.0001", "0.3", 2**63 - 1, "1.00"),
]


def test_penalty_and_compound_due_are_penalty_owed_to_the_fen(nongxin_app: Any, nongxin_demo: Any) -> None:
    cases = []
    for rate, markup, base, paid in PENALTY_CASES:
        number = open_test_loan(nongxin_app, annual_rate=rate, penalty_markup=markup)
        compound = base // 3
        execute(nongxin_app, sa.update(Loan).where(Loan.loan_no == number).values(
            penalty_base=base, compound_base=compound, penalty_paid=D(paid), compound_paid=D(paid)))
        cases.append((number, D(rate), D(markup), base, compound, D(paid)))
    close(nongxin_app, date(2026, 1, 20))  # nothing overdue: the products stay as set
    for number, rate, markup, base, compound, paid in cases:
        shot = snapshot(nongxin_app, number, date(2026, 1, 20))
        assert shot is not None
        assert shot.penalty_due == penalty_owed(base, rate, markup, paid), (rate, markup, base)
        assert shot.compound_due == penalty_owed(compound, rate, markup, paid), (rate, markup, compound)


def test_penalty_fen_is_penalty_owed() -> None:
    pick = random.Random(11)
    for _ in range(2000):
        base = pick.choice([pick.randrange(0, 10**6), pick.randrange(0, 2**63)])
        rate, markup = pick.randrange(1, 360000), pick.randrange(300000, 500001)
        expected = penalty_owed(base, D(rate).scaleb(-6), D(markup).scaleb(-6))
        assert D(penalty_fen(base, rate, markup)).scaleb(-2) == expected


def test_lines_past_their_end_expire(nongxin_app: Any, nongxin_demo: Any) -> None:
    customer = loan(nongxin_app, open_test_loan(nongxin_app)).customer_id
    with UnitOfWork(rt(nongxin_app).sessions) as unit:
        bank = institutions.get_by_code(unit.session, "JNRCB")
        assert bank is not None and customer is not None
        for n, (end, status) in enumerate([(date(2026, 3, 1), CreditLineStatus.ACTIVE),
                                           (date(2026, 3, 1), CreditLineStatus.FROZEN),
                                           (date(2026, 3, 2), CreditLineStatus.ACTIVE),
                                           (date(2026, 2, 1), CreditLineStatus.CLOSED)]):
            unit.session.add(CreditLine(number=f"JNRCB-C2026-00000{n}", county_bank_id=bank.id,
                                        institution_id=bank.id, customer_id=customer, amount=D("10000"),
                                        annual_rate=D("0.0435"), products=[], start_on=date(2026, 1, 1),
                                        end_on=end, revolving=True, status=status))
        unit.commit()
    assert close(nongxin_app, date(2026, 2, 28)).expired_lines == 0
    assert close(nongxin_app, date(2026, 3, 1)).expired_lines == 2
    with UnitOfWork(rt(nongxin_app).sessions, write=False) as unit:
        statuses = unit.session.execute(sa.select(CreditLine.status).order_by(CreditLine.number)).scalars().all()
    assert statuses == [CreditLineStatus.EXPIRED, CreditLineStatus.EXPIRED, CreditLineStatus.ACTIVE,
                        CreditLineStatus.CLOSED]


def test_closing_a_date_twice_changes_nothing(nongxin_app: Any, nongxin_demo: Any) -> None:
    number = open_test_loan(nongxin_app)
    close(nongxin_app, FIRST_DUE)
    after = loan(nongxin_app, number)
    again = close(nongxin_app, FIRST_DUE)
    assert again.skipped and again.loans == 1 + DEMO and "skipped" in again.line()
    same = loan(nongxin_app, number)
    assert (same.penalty_base, same.overdue_days, same.closed_through) == (after.penalty_base, 1, FIRST_DUE)
    with UnitOfWork(rt(nongxin_app).sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(LoanSnapshot)).scalar() == 1 + DEMO
    with pytest.raises(Conflict, match="closed through 2026-02-15"):
        close(nongxin_app, FIRST_DUE - timedelta(days=1))


def test_the_job_catches_up_in_order_and_the_books_advance(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = rt(nongxin_app)
    assert books_date(runtime.engine.connect()) is None  # nothing closed: today's behaviour
    number = open_test_loan(nongxin_app)
    done = run(runtime.as_of(date(2026, 2, 13)), to=FIRST_DUE + timedelta(days=1), progress=False)
    banks = sorted({c.bank for c in done})
    assert [(c.business_date, c.bank) for c in done] == [
        (date(2026, 2, 13) + timedelta(days=n), b) for n in range(4) for b in banks]
    assert runtime.clock.business_date() == FIRST_DUE + timedelta(days=2)
    assert loan(nongxin_app, number).overdue_days == 2
    assert run(runtime, to=FIRST_DUE + timedelta(days=2), progress=False)[0].business_date == date(2026, 2, 17)
    with pytest.raises(ValidationFailed, match="before the books' date 2026-02-18"):
        run(runtime, to=FIRST_DUE, progress=False)


@pytest.fixture
def crash_at(nongxin_app: Any) -> Iterator[dict[str, Any]]:
    """While ``target["bank"]`` is set, that bank's snapshot INSERT fails (a crash mid-close)."""
    target: dict[str, Any] = {"bank": None}
    engine = rt(nongxin_app).engine

    def fail(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        values = list(params.values()) if isinstance(params, dict) else list(params or ())
        snapshot = statement.startswith("INSERT INTO loan_snapshots")
        if target["bank"] is not None and snapshot and target["bank"] in values:
            raise RuntimeError("simulated crash")

    sa.event.listen(engine, "before_cursor_execute", fail)
    yield target
    sa.event.remove(engine, "before_cursor_execute", fail)


def test_a_crashed_close_resumes_where_it_stopped(nongxin_app: Any, nongxin_demo: Any, crash_at: Any) -> None:
    runtime = rt(nongxin_app)
    jinan = open_test_loan(nongxin_app)
    linyi = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    with UnitOfWork(runtime.sessions, write=False) as unit:
        crash_at["bank"] = institutions.get_by_code(unit.session, "LYRCB").id  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(runtime.as_of(FIRST_DUE), to=FIRST_DUE + timedelta(days=1), progress=False)
    assert loan(nongxin_app, jinan).closed_through == FIRST_DUE
    untouched = loan(nongxin_app, linyi)  # the whole (LYRCB, date) rolled back
    assert (untouched.closed_through, untouched.penalty_base) == (None, 0)
    assert rows(nongxin_app, linyi)[0].status == InstallmentStatus.PENDING
    assert runtime.clock.business_date() == FIRST_DUE  # LYRCB holds the province at its unfinished date

    crash_at["bank"] = None
    done = run(runtime, to=FIRST_DUE + timedelta(days=1), progress=False)
    assert [(c.bank, c.business_date, c.skipped) for c in done if c.bank in ("JNRCB", "LYRCB")] == [
        ("JNRCB", FIRST_DUE, True), ("LYRCB", FIRST_DUE, False),
        ("JNRCB", FIRST_DUE + timedelta(days=1), False), ("LYRCB", FIRST_DUE + timedelta(days=1), False)]
    a, b = loan(nongxin_app, jinan), loan(nongxin_app, linyi)
    assert (a.overdue_days, a.penalty_base) == (b.overdue_days, b.penalty_base) == (2, 2 * fen(a.overdue_principal))


def test_a_second_run_is_a_no_op(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = rt(nongxin_app)
    open_test_loan(nongxin_app)
    first = run(runtime.as_of(FIRST_DUE), to=FIRST_DUE, progress=False)
    assert first and not any(c.skipped for c in first)
    again = run(runtime.as_of(FIRST_DUE), to=FIRST_DUE, progress=False)
    assert again and all(c.skipped for c in again)
    with UnitOfWork(runtime.sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(DayClose)).scalar() == len(first)


def test_statements_do_not_grow_with_the_number_of_loans(nongxin_app: Any, nongxin_demo: Any) -> None:
    engine = rt(nongxin_app).engine
    counted: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        counted.append(statement)

    def statements(day: date) -> int:
        counted.clear()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            close(nongxin_app, day)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    for _ in range(10):
        open_test_loan(nongxin_app, term_months=3)
    few = statements(FIRST_DUE)
    seq = iter(range(10**6))
    for _ in range(90):
        open_test_loan(nongxin_app, term_months=3, id_number=None, name=f"借款人{next(seq)}")
    many = statements(FIRST_DUE + timedelta(days=31))  # the second installments fall due
    assert close(nongxin_app, FIRST_DUE + timedelta(days=32)).loans == 100 + DEMO
    assert many == few < 30


def test_close_day_cli(nongxin_settings: Any, nongxin_app: Any, nongxin_demo: Any) -> None:
    open_test_loan(nongxin_app)
    close(nongxin_app, FIRST_DUE)  # the books are at 2026-02-16 now
    out = CliRunner().invoke(main, ["close-day", "--to", "2026-02-17", "--quiet"], obj=Console(nongxin_settings),
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "JNRCB 2026-02-16: 2 loans, 0 due, 0 newly overdue, 1 overdue loans, 0 expired lines in" in out.output
    assert "JNRCB 2026-02-17" in out.output and "books now at 2026-02-18" in out.output
    once = CliRunner().invoke(main, ["close-day"], obj=Console(nongxin_settings), catch_exceptions=False)
    assert once.exit_code == 0 and "JNRCB 2026-02-18" in once.output and "books now at 2026-02-19" in once.output
    back = CliRunner().invoke(main, ["close-day", "--to", "2026-02-01"], obj=Console(nongxin_settings),
                              catch_exceptions=False)
    assert back.exit_code == 2 and "before the books' date 2026-02-19" in back.output
    assert "Traceback" not in back.output
    ahead = CliRunner().invoke(main, ["close-day", "--to", "2999-01-01"], obj=Console(nongxin_settings),
                               catch_exceptions=False)
    assert ahead.exit_code == 2 and "has not begun yet" in ahead.output and "Traceback" not in ahead.output


def test_asking_the_books_never_creates_a_database(tmp_path: Any) -> None:
    from nongxin.core.credit.day_close import Books
    from nongxin.core.db import make_engine

    path = tmp_path / "none.db"
    books = Books(make_engine(f"sqlite:///{path}"))
    assert books() is None and not path.exists()
