"""The business day close (日终) of one county bank for one business date, set-wise in SQL.

The promise: ``close_bank_day`` closes every serviced loan of one county bank for one date in ONE
transaction that also writes the ``DayClose`` row, so a crash rolls the whole (bank, date) back and
a re-run redoes it; a (bank, date) already in ``day_closes`` is skipped. Every statement works on
the whole bank at once (SQLAlchemy Core UPDATE / UPDATE ... FROM / INSERT ... SELECT): the number
of statements does not grow with the number of loans, and no loan passes through the ORM.

Closing date D, in order (the semantics of ``Loan`` and ``Installment`` in ``models``):

1. current-version installments due on D: ``pending`` -> ``due``;
2. current-version installments due on or before D and not fully paid -> ``overdue``;
3. each loan with overdue rows: ``overdue_principal`` / ``overdue_interest`` = the unpaid parts of
   its overdue rows, ``overdue_since`` = their earliest due date, ``overdue_days`` = D + 1 -
   ``overdue_since``, and the products (积数) ``penalty_base`` / ``compound_base`` grow by each
   overdue row's unpaid principal / interest in fen times the days since the loan's last close
   (one day in the nightly rhythm; on a loan's first close, the days since the row fell due);
4. every other serviced loan: no overdue balance; all of them get ``closed_through = D``, the
   per-(loan, date) guard every UPDATE above checks (``closed_through < D`` or NULL);
5. the bank's credit lines (active or frozen) whose ``end_on`` is before D + 1 expire;
6. the day's ``LoanSnapshot`` rows, with ``penalty_due`` / ``compound_due`` exactly
   ``domain.interest.penalty_owed`` in fen: PostgreSQL computes it in NUMERIC and rounds half up
   with integer division; SQLite (whose integers overflow into floats) calls a deterministic Python
   function registered on the connection that does the same in exact integers. No float is ever
   near money;
7. the ``DayClose`` row with its counts, and one audit entry naming the expired lines.

The province's business date (``books_date``): the day after the last date every county bank has
closed (the minimum over banks of each bank's last closed date, plus one); None when nothing was
ever closed, and the clock then keeps today's date in China. ``Books`` is the
cached reader ``bootstrap`` wires into ``Clock(books=...)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from nongxin.core.audit.services import record
from nongxin.core.credit.models import (
    LINE_TRANSITIONS,
    SERVICED_STATUSES,
    CreditLine,
    CreditLineStatus,
    DayClose,
    Installment,
    InstallmentStatus,
    Loan,
    LoanSnapshot,
)
from nongxin.core.db import UnitOfWork, as_utc
from nongxin.core.errors import Conflict
from nongxin.core.institutions.models import Institution, Level

__all__ = ["BankClose", "Books", "books_date", "close_bank_day", "penalty_fen", "STEPS"]

LOANS = Loan.__table__
ROWS = Installment.__table__
LINES = CreditLine.__table__
CLOSES = DayClose.__table__
SNAPSHOTS = LoanSnapshot.__table__
INSTITUTIONS = Institution.__table__

EPOCH = date(1970, 1, 1)
#: PostgreSQL advisory-lock class of the day close (two-key form: this, the bank's id).
DAY_CLOSE_LOCK = 0x6E78_0003
#: penalty fen = round_half_up(base x rate_millionths x (1e6 + markup_millionths) / DIVISOR)
DIVISOR = 360 * 10**12
#: What ``close_bank_day`` reports to its progress callback, in order.
STEPS = ("due", "overdue", "balances", "lines", "snapshots", "recorded")
_LINE_EXPIRES_FROM = tuple(s for s, moves in LINE_TRANSITIONS.items() if CreditLineStatus.EXPIRED in moves)


@dataclass(frozen=True)
class BankClose:
    """What one (county bank, business date) close did; ``skipped`` when it was done already."""

    bank: str
    business_date: date
    loans: int = 0
    due: int = 0  # installments that fell due on the date
    newly_overdue: int = 0  # installments moved to overdue by this close
    overdue_loans: int = 0  # loans with an overdue balance after it
    expired_lines: int = 0
    seconds: float = 0.0
    skipped: bool = False

    def counts(self) -> dict[str, int]:
        return {"loans": self.loans, "due": self.due, "newly_overdue": self.newly_overdue,
                "overdue_loans": self.overdue_loans, "expired_lines": self.expired_lines}

    def line(self) -> str:
        """The log line: bank, date and counts, or that it was closed before."""
        if self.skipped:
            return f"{self.bank} {self.business_date}: closed already, skipped"
        return (f"{self.bank} {self.business_date}: {self.loans} loans, {self.due} due, "
                f"{self.newly_overdue} newly overdue, {self.overdue_loans} overdue loans, "
                f"{self.expired_lines} expired lines in {self.seconds:.2f} s")


def penalty_fen(base_fen_days: int, rate_millionths: int, markup_millionths: int) -> int:
    """``domain.interest.penalty_owed`` (before payments) in whole fen, exact integer arithmetic:
    round half up of base x rate x (1 + markup) / 360 with the base in fen-days."""
    numerator = int(base_fen_days) * int(rate_millionths) * (10**6 + int(markup_millionths))
    if numerator < 0:
        return -((-2 * numerator + DIVISOR) // (2 * DIVISOR))
    return (2 * numerator + DIVISOR) // (2 * DIVISOR)


def _fen(column: Any) -> Any:
    """A money or rate column as the raw integer it is stored as (no Decimal conversion)."""
    return sa.type_coerce(column, sa.BigInteger)


def _day_number(column: Any, dialect: str) -> Any:
    """Days since 1970-01-01 of a DATE column, an exact integer on both databases."""
    if dialect == "postgresql":
        return sa.type_coerce(column - sa.literal(EPOCH, sa.Date), sa.Integer)
    return sa.cast(sa.func.strftime("%s", column), sa.BigInteger) / 86400


def _penalty_sql(base: Any, dialect: str) -> Any:
    """``penalty_fen(base, loans.annual_rate, loans.penalty_markup)`` as SQL, exact."""
    rate, markup = _fen(LOANS.c.annual_rate), _fen(LOANS.c.penalty_markup)
    if dialect == "postgresql":
        numerator = sa.cast(base, sa.Numeric) * sa.cast(rate, sa.Numeric) * (sa.cast(markup, sa.Numeric) + 10**6)
        rounded: Any = sa.cast(sa.func.div(numerator * 2 + DIVISOR, 2 * DIVISOR), sa.BigInteger)
    else:
        rounded = sa.func.nongxin_penalty_fen(base, rate, markup)
    return sa.case((base == 0, 0), else_=rounded)  # most loans were never overdue


def _register_sqlite_functions(session: Session) -> None:
    raw: Any = session.connection().connection.dbapi_connection
    raw.create_function("nongxin_penalty_fen", 3, penalty_fen, deterministic=True)


def close_bank_day(sessions: sessionmaker[Session], bank: Institution, day: date, *, actor: str,
                   progress: Callable[[str], None] | None = None) -> BankClose:
    """Close ``day`` for county bank ``bank`` in one transaction (see the module docstring).
    Returns what it did; a (bank, date) closed before is skipped. Closing a date before the bank's
    last closed date is a Conflict (the books never go back)."""
    started = time.perf_counter()
    step = progress or (lambda _name: None)
    with UnitOfWork(sessions) as unit:
        session = unit.session
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(DAY_CLOSE_LOCK, bank.id)))
        last = session.execute(sa.select(sa.func.max(CLOSES.c.business_date))
                               .where(CLOSES.c.county_bank_id == bank.id)).scalar()
        if last is not None and last >= day:
            done = session.execute(sa.select(CLOSES.c.loans).where(CLOSES.c.county_bank_id == bank.id,
                                                                   CLOSES.c.business_date == day)).first()
            if done is None:
                raise Conflict(f"{bank.code} is closed through {last}; {day} cannot be closed after it",
                               fields={"to": [f"before {bank.code}'s last closed date {last}"]})
            return BankClose(bank.code, day, loans=done[0], skipped=True)
        if dialect == "sqlite":
            _register_sqlite_functions(session)
        counts = _close(session, bank, day, dialect, step)
        expired = _expire_lines(session, bank, day)
        step("lines")
        _snapshot(session, bank, day, dialect)
        step("snapshots")
        result = BankClose(bank.code, day, loans=counts["loans"], due=counts["due"],
                           newly_overdue=counts["newly_overdue"], overdue_loans=counts["overdue_loans"],
                           expired_lines=len(expired), seconds=time.perf_counter() - started)
        session.execute(sa.insert(CLOSES).values(county_bank_id=bank.id, business_date=day, loans=result.loans,
                                                 counts=result.counts(), seconds=result.seconds))
        record(session, actor=actor, action="day.close", target=f"day_close:{bank.code}:{day.isoformat()}",
               institution_code=bank.code, after={**result.counts(), "expired": expired})
        unit.commit()
        step("recorded")
    return result


def _bank_loans(bank: Institution, day: date) -> list[Any]:
    """The loans this close still has to do: the bank's serviced loans not yet closed through ``day``."""
    return [LOANS.c.county_bank_id == bank.id, LOANS.c.status.in_(SERVICED_STATUSES),
            sa.or_(LOANS.c.closed_through.is_(None), LOANS.c.closed_through < day)]


def _changed(session: Session, stmt: Any) -> int:
    """Run a Core UPDATE; the number of rows it changed."""
    result = session.execute(stmt)
    return int(getattr(result, "rowcount"))


def _close(session: Session, bank: Institution, day: date, dialect: str,
           step: Callable[[str], None]) -> dict[str, int]:
    todo = _bank_loans(bank, day)
    current = sa.exists().where(LOANS.c.id == ROWS.c.loan_id, LOANS.c.schedule_version == ROWS.c.version, *todo)
    due = _changed(session, sa.update(ROWS).where(ROWS.c.due_on == day, ROWS.c.status == InstallmentStatus.PENDING,
                                                  current).values(status=InstallmentStatus.DUE))
    step("due")
    # In the nightly rhythm only rows due on the day can newly go overdue. A loan's first close, a
    # gap since its last close, or a rewritten schedule (version > 1) may leave earlier rows
    # pending: those loans' rows are looked at through their loan, so no statement scans the
    # province's past installments.
    unsettled = sa.or_(LOANS.c.closed_through.is_(None), LOANS.c.closed_through < day - timedelta(days=1),
                       LOANS.c.schedule_version > 1)
    unpaid = sa.or_(_fen(ROWS.c.paid_principal) < _fen(ROWS.c.principal),
                    _fen(ROWS.c.paid_interest) < _fen(ROWS.c.interest))
    waiting = ROWS.c.status.in_((InstallmentStatus.PENDING, InstallmentStatus.DUE))
    overdue = _changed(session, sa.update(ROWS).where(ROWS.c.due_on == day, waiting, unpaid, current).values(
        status=InstallmentStatus.OVERDUE))
    overdue += _changed(session, sa.update(ROWS).where(
        ROWS.c.loan_id.in_(sa.select(LOANS.c.id).where(*todo, unsettled)), ROWS.c.due_on < day, waiting, unpaid,
        current).values(status=InstallmentStatus.OVERDUE))
    step("overdue")

    today = (day - EPOCH).days
    due_n = _day_number(ROWS.c.due_on, dialect)
    since_last = _day_number(LOANS.c.closed_through, dialect) + 1
    first_day = sa.case((LOANS.c.closed_through.is_(None), due_n), (due_n > since_last, due_n), else_=since_last)
    days = today + 1 - first_day  # days of [first_day, day] this close accrues
    left_principal = _fen(ROWS.c.principal) - _fen(ROWS.c.paid_principal)
    left_interest = _fen(ROWS.c.interest) - _fen(ROWS.c.paid_interest)
    # The loans that can have overdue rows: overdue before (repayments keep overdue_since), just
    # made overdue on the day, or unsettled.
    went_overdue = sa.select(ROWS.c.loan_id).where(ROWS.c.due_on == day, ROWS.c.status == InstallmentStatus.OVERDUE)
    candidate = sa.or_(LOANS.c.overdue_since.is_not(None), unsettled, LOANS.c.id.in_(went_overdue))
    agg = (sa.select(ROWS.c.loan_id.label("loan_id"), sa.func.sum(left_principal).label("principal"),
                     sa.func.sum(left_interest).label("interest"), sa.func.min(ROWS.c.due_on).label("since"),
                     sa.func.sum(left_principal * days).label("penalty"),
                     sa.func.sum(left_interest * days).label("compound"))
           .select_from(LOANS.join(ROWS, sa.and_(ROWS.c.loan_id == LOANS.c.id,
                                                 ROWS.c.version == LOANS.c.schedule_version)))
           .where(*todo, candidate, ROWS.c.status == InstallmentStatus.OVERDUE)
           .group_by(ROWS.c.loan_id).subquery("agg"))
    overdue_loans = _changed(session, sa.update(LOANS).where(LOANS.c.id == agg.c.loan_id, *todo).values(
        overdue_principal=agg.c.principal, overdue_interest=agg.c.interest, overdue_since=agg.c.since,
        overdue_days=today + 1 - _day_number(agg.c.since, dialect),
        penalty_base=LOANS.c.penalty_base + agg.c.penalty, compound_base=LOANS.c.compound_base + agg.c.compound,
        closed_through=day))
    current_loans = _changed(session, sa.update(LOANS).where(*todo).values(
        overdue_principal=0, overdue_interest=0, overdue_since=None, overdue_days=0, closed_through=day))
    step("balances")
    return {"loans": overdue_loans + current_loans, "due": due, "newly_overdue": overdue,
            "overdue_loans": overdue_loans}


def _expire_lines(session: Session, bank: Institution, day: date) -> list[str]:
    """Expire the bank's lines past their end; the numbers of those expired, for the audit entry."""
    where = [LINES.c.county_bank_id == bank.id, LINES.c.status.in_(_LINE_EXPIRES_FROM),
             LINES.c.end_on < day + timedelta(days=1)]
    numbers = list(session.execute(sa.select(LINES.c.number).where(*where).order_by(LINES.c.number)).scalars())
    if numbers:
        session.execute(sa.update(LINES).where(*where).values(status=CreditLineStatus.EXPIRED,
                                                              updated_at=sa.func.current_timestamp()))
    return numbers


def _snapshot(session: Session, bank: Institution, day: date, dialect: str) -> None:
    rows = sa.select(sa.literal(day, sa.Date), LOANS.c.id, LOANS.c.county_bank_id, LOANS.c.status,
                     LOANS.c.outstanding, LOANS.c.overdue_principal, LOANS.c.overdue_interest,
                     _penalty_sql(LOANS.c.penalty_base, dialect) - _fen(LOANS.c.penalty_paid),
                     _penalty_sql(LOANS.c.compound_base, dialect) - _fen(LOANS.c.compound_paid),
                     LOANS.c.overdue_days).where(
        LOANS.c.county_bank_id == bank.id, LOANS.c.status.in_(SERVICED_STATUSES), LOANS.c.closed_through == day)
    session.execute(sa.insert(SNAPSHOTS).from_select(
        ["business_date", "loan_id", "county_bank_id", "status", "outstanding", "overdue_principal",
         "overdue_interest", "penalty_due", "compound_due", "overdue_days"], rows))


def books_date(conn: Connection | Session) -> date | None:
    """The province's business date: the day after the earliest of the county banks' last closed
    dates (a bank that closed only D-1 holds everyone at D); None when no day was ever closed.

    A county bank with no close at all holds the date at the province's first closed date when it
    existed before that first close finished (its first close crashed: it is redone from there); a
    bank created after closing began joins at the province's date. Two small queries."""
    per_bank = conn.execute(sa.select(CLOSES.c.county_bank_id, sa.func.min(CLOSES.c.business_date),
                                      sa.func.max(CLOSES.c.business_date), sa.func.min(CLOSES.c.finished_at))
                            .group_by(CLOSES.c.county_bank_id)).all()
    if not per_bank:
        return None
    first = min(_as_date(row[1]) for row in per_bank)
    began = min(as_utc(_as_datetime(row[3])) for row in per_bank)
    nexts = [_as_date(row[2]) + timedelta(days=1) for row in per_bank]
    closed = {row[0] for row in per_bank}
    banks = conn.execute(sa.select(INSTITUTIONS.c.id, INSTITUTIONS.c.created_at)
                         .where(INSTITUTIONS.c.level == Level.COUNTY)).all()
    if any(bank_id not in closed and as_utc(_as_datetime(created)) < began for bank_id, created in banks):
        nexts.append(first)
    return min(nexts)


def _as_date(value: Any) -> date:
    """SQLite loses a DATE column's type through an aggregate: it comes back as ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class Books:
    """``Clock(books=Books(engine))``: the stored business date, read with one small query and
    kept for ``ttl`` seconds (the decision's hot path reads the business date often); the day close
    calls ``refresh()`` after each date. A database that cannot answer (no SQLite file, no schema
    yet) reads as the last date known, else None; asking never creates a SQLite file."""

    def __init__(self, engine: Engine, ttl: float = 30.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._value: date | None = None
        self._read_at: float | None = None

    def __call__(self) -> date | None:
        now = time.monotonic()
        if self._read_at is not None and now - self._read_at < self.ttl:
            return self._value
        from nongxin.core.migrate import _missing_sqlite_file

        if _missing_sqlite_file(self.engine):  # never create an empty SQLite file by asking the date
            return self._value
        try:
            with self.engine.connect() as conn:
                self._value = books_date(conn)
        except sa.exc.DBAPIError:
            return self._value
        self._read_at = now
        return self._value

    def refresh(self) -> None:
        self._read_at = None
