"""The business day close on a large book: seconds per 1M loans, SQLite and PostgreSQL.

Loads ``--loans`` (default 200,000) active loans with 12 monthly-ish installments each (2.4M rows)
set-wise (executemany on SQLite, ``COPY`` on PostgreSQL; never the ORM) across four county banks:
loans disbursed over the past year, past installments paid except one loan in twenty that has an
overdue one, and about one loan in thirty with an installment due on the day. The night before is
closed first, untimed (and PostgreSQL vacuumed, as autovacuum would between two nights), so the
timed close finds the book as a nightly run does; then the day is closed for every county bank
(``credit.day_close.close_bank_day``) and the seconds are scaled to 1M loans. SQLite always;
PostgreSQL too when ``NONGXIN_BENCH_DATABASE_URL`` is set (its database is emptied first).

    python benchmarks/ledger_close.py [--loans 200000]

``close_day_seconds_per_million(url, loans=200_000) -> float`` is what ``benchmarks/ledger.py``
imports for its ``close_day_seconds_per_million`` key. A benchmark, not a test. Goal: <= 60 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa

from nongxin.core.clock import Clock
from nongxin.core.config import Settings
from nongxin.core.credit.day_close import close_bank_day
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.models import Institution
from nongxin.core.migrate import recreate
from nongxin.core.runtime import bootstrap

DAY = date(2026, 6, 15)
BANKS = ("BENCH1", "BENCH2", "BENCH3", "BENCH4")
TERM = 12
PRINCIPAL_FEN, INTEREST_FEN = 100_000, 4_350  # per installment: 1,000.00 yuan and 43.50 yuan
LOAN_COLUMNS = ("id", "loan_no", "institution_id", "county_bank_id", "borrower_kind", "borrower_id_number",
                "borrower_name", "product_code", "principal", "outstanding", "status", "disbursed_on",
                "maturity_on", "created_at", "term_months", "repayment_method", "annual_rate", "penalty_markup",
                "account", "schedule_version", "overdue_principal", "overdue_interest", "penalty_base",
                "compound_base", "penalty_paid", "compound_paid", "overdue_since", "overdue_days", "closed_through")
ROW_COLUMNS = ("loan_id", "version", "seq", "start_on", "due_on", "principal", "interest", "paid_principal",
               "paid_interest", "status", "paid_on")


def _book(n: int, bank_ids: list[int]) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Each loan's row and its installments, as plain values (fen, millionths, dates)."""
    now = datetime(2026, 6, 14)
    for i in range(1, n + 1):
        start = DAY - timedelta(days=1 + (i * 7919) % 360)
        if i % 30 == 0:  # an installment falls due on the day
            start = DAY - timedelta(days=30 * (1 + i % 11))
        overdue = i % 20 == 0
        rows: list[tuple[Any, ...]] = []
        overdue_since, left = None, TERM * PRINCIPAL_FEN
        dues = [start + timedelta(days=30 * k) for k in range(1, TERM + 1)]
        past = [d for d in dues if d < DAY]
        for k, due in enumerate(dues, start=1):
            if due < DAY and not (overdue and due == past[-1]):
                rows.append((i, 1, k, due - timedelta(days=30), due, PRINCIPAL_FEN, INTEREST_FEN, PRINCIPAL_FEN,
                             INTEREST_FEN, "paid", due))
                left -= PRINCIPAL_FEN
            else:
                status = "overdue" if due < DAY else "pending"
                overdue_since = overdue_since or (due if due < DAY else None)
                rows.append((i, 1, k, due - timedelta(days=30), due, PRINCIPAL_FEN, INTEREST_FEN, 0, 0, status, None))
        days = (DAY - overdue_since).days if overdue_since else 0
        bank = bank_ids[(i // 3) % len(bank_ids)]
        loan = (i, f"BENCH-L-{i:08d}", bank, bank, "resident_id",
                f"37010219800101{i % 10000:04d}", "借款人", "XIN_E_DAI", TERM * PRINCIPAL_FEN, left, "active", start,
                dues[-1], now, TERM, "equal_principal", 43_500, 500_000, "",
                1, PRINCIPAL_FEN if overdue_since else 0, INTEREST_FEN if overdue_since else 0,
                PRINCIPAL_FEN * days, INTEREST_FEN * days, 0, 0, overdue_since, days, DAY - timedelta(days=2))
        yield loan, rows


def _institutions(conn: sa.Connection) -> list[int]:
    table = Institution.__table__
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    conn.execute(sa.insert(table).values(id=1, code="BENCH", name="省联社", level="province", parent_id=None,
                                         path="/1/", created_at=now))
    for n, code in enumerate(BANKS, start=2):
        conn.execute(sa.insert(table).values(id=n, code=code, name=f"农商银行{n}", level="county", parent_id=1,
                                             path=f"/1/{n}/", created_at=now))
    return list(range(2, 2 + len(BANKS)))


def load(url: str, loans: int) -> None:
    """An empty database at head with ``loans`` loans and their installments, closed through DAY - 2."""
    recreate(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        bank_ids = _institutions(conn)
    raw: Any = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY loans ({', '.join(LOAN_COLUMNS)}) FROM STDIN") as copy_loans:
                for loan, _rows in _book(loans, bank_ids):
                    copy_loans.write_row(loan)
            with cursor.copy(f"COPY installments ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy_rows:
                for _loan, rows in _book(loans, bank_ids):
                    for row in rows:
                        copy_rows.write_row(row)
            cursor.execute("SELECT setval('loans_id_seq', (SELECT max(id) FROM loans))")
            raw.commit()
        else:
            def iso(values: tuple[Any, ...]) -> tuple[Any, ...]:
                return tuple(v.isoformat(" ") if isinstance(v, datetime) else v.isoformat() if isinstance(v, date)
                             else v for v in values)

            loan_sql = f"INSERT INTO loans ({', '.join(LOAN_COLUMNS)}) VALUES ({', '.join('?' * len(LOAN_COLUMNS))})"
            row_sql = (f"INSERT INTO installments ({', '.join(ROW_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(ROW_COLUMNS))})")
            cursor.execute("BEGIN")
            batch_loans: list[tuple[Any, ...]] = []
            batch_rows: list[tuple[Any, ...]] = []
            for loan, rows in _book(loans, bank_ids):
                batch_loans.append(iso(loan))
                batch_rows.extend(iso(r) for r in rows)
                if len(batch_loans) >= 20_000:
                    cursor.executemany(loan_sql, batch_loans)
                    cursor.executemany(row_sql, batch_rows)
                    batch_loans, batch_rows = [], []
            cursor.executemany(loan_sql, batch_loans)
            cursor.executemany(row_sql, batch_rows)
            cursor.execute("COMMIT")
            cursor.execute("ANALYZE")
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE loans"))
            conn.execute(sa.text("VACUUM ANALYZE installments"))
    engine.dispose()


def close_day_seconds_per_million(url: str, loans: int = 200_000, *, echo: bool = True) -> float:
    """Load ``loans`` loans into ``url`` (emptied), close DAY for every county bank, and return the
    close's seconds scaled to 1M loans."""
    load(url, loans)
    settings = Settings(database_url=url, environment="testing", secret_key="bench-secret-" + "x" * 32,
                        audit_key="bench-audit-key-" + "y" * 32)
    runtime = bootstrap(settings, discover=False, clock=Clock().as_of(DAY))
    with UnitOfWork(runtime.sessions, write=False) as unit:
        banks = list(unit.session.execute(sa.select(Institution).where(Institution.code.in_(BANKS))
                                          .order_by(Institution.code)).scalars())
        unit.session.expunge_all()
    for bank in banks:  # the night before, untimed: the timed close finds the book as a nightly run does
        close_bank_day(runtime.sessions, bank, DAY - timedelta(days=1), actor="bench")
    if runtime.engine.dialect.name == "postgresql":  # what autovacuum does between two nights
        with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE loans"))
            conn.execute(sa.text("VACUUM ANALYZE installments"))
    started = time.perf_counter()
    closed = [close_bank_day(runtime.sessions, bank, DAY, actor="bench") for bank in banks]
    seconds = time.perf_counter() - started
    runtime.engine.dispose()
    total = sum(c.loans for c in closed)
    assert total == loans, (total, loans)
    per_million = seconds * 1_000_000 / loans
    if echo:
        for c in closed:
            print(f"  {c.line()}")
        print(f"{runtime.engine.dialect.name}: closed {loans} loans in {seconds:.2f} s = "
              f"{per_million:.1f} s per 1M loans (goal <= 60)")
    return per_million


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=200_000)
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        figures["sqlite"] = close_day_seconds_per_million(f"sqlite:///{Path(folder) / 'close.db'}", args.loans)
    url = os.environ.get("NONGXIN_BENCH_DATABASE_URL")
    if url:
        figures["postgresql"] = close_day_seconds_per_million(url, args.loans)
    print(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
