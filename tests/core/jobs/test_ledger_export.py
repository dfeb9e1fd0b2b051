"""The columnar ledger: one row per loan as of a business date, money as int64 fen end to end.

The day close (which writes ``DayClose`` and ``LoanSnapshot`` rows) is built in parallel, so these
tests arrange a closed past date with Core inserts of exactly those rows; an end-to-end test through
``close-day`` follows the merge.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.clikit import Console
from nongxin.core.cli import main
from nongxin.core.credit.domain.interest import penalty_owed
from nongxin.core.credit.models import DayClose, Loan, LoanSnapshot
from nongxin.core.db import from_fen
from nongxin.core.errors import NotFound
from nongxin.core.jobs.ledger import LEDGER_SCHEMA, MONEY_COLUMNS, ledger_frame, ledger_table
from nongxin.core.testing import open_test_loan

CLOSED = date(2026, 2, 15)
BEYOND_DOUBLE = 2**53 + 1  # fen: the first integer a float64 cannot hold


@pytest.fixture
def books(nongxin_app: Any, nongxin_demo: Any) -> dict[str, Any]:
    """Three loans at two county banks, and a closed 2026-02-15 whose snapshots differ from the
    live balances (so a test can tell which one it read)."""
    engine = nongxin_app.extensions["nongxin"].engine
    big = open_test_loan(nongxin_app, amount="9999999999.99", method="bullet", term_months=12)
    small = open_test_loan(nongxin_app, amount="12000.00", annual_rate="0.0521", method="equal_principal")
    linyi = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="30000.00")
    with engine.begin() as conn:
        loans = {row.loan_no: row for row in conn.execute(sa.select(Loan.id, Loan.loan_no, Loan.county_bank_id))}
        banks = {row.county_bank_id for row in loans.values()}
        conn.execute(sa.insert(DayClose), [{"county_bank_id": bank, "business_date": CLOSED, "loans": 1,
                                            "counts": {}, "seconds": 0.0} for bank in banks])
        conn.execute(sa.insert(LoanSnapshot), [
            {"business_date": CLOSED, "loan_id": loans[big].id, "county_bank_id": loans[big].county_bank_id,
             "status": "active", "outstanding": from_fen(BEYOND_DOUBLE), "overdue_principal": Decimal("0.01"),
             "overdue_interest": Decimal("123.45"), "penalty_due": Decimal("6.78"),
             "compound_due": Decimal("0.09"), "overdue_days": 31},
            {"business_date": CLOSED, "loan_id": loans[small].id, "county_bank_id": loans[small].county_bank_id,
             "status": "active", "outstanding": Decimal("11000.00"), "overdue_principal": Decimal("0"),
             "overdue_interest": Decimal("0"), "penalty_due": Decimal("0"), "compound_due": Decimal("0"),
             "overdue_days": 0},
            {"business_date": CLOSED, "loan_id": loans[linyi].id, "county_bank_id": loans[linyi].county_bank_id,
             "status": "active", "outstanding": Decimal("29000.00"), "overdue_principal": Decimal("0"),
             "overdue_interest": Decimal("0"), "penalty_due": Decimal("0"), "compound_due": Decimal("0"),
             "overdue_days": 0},
        ])
    return {"engine": engine, "big": big, "small": small, "linyi": linyi}


def test_a_closed_date_reads_the_snapshots_as_int64_fen(books: dict[str, Any]) -> None:
    table = ledger_table(books["engine"], CLOSED)
    assert table.schema.equals(LEDGER_SCHEMA)  # the whole schema: money int64, never float or decimal
    assert not [f.name for f in table.schema if pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)]
    rows = {row["loan_no"]: row for row in table.to_pylist()}
    assert list(rows) == [books["big"], books["small"], books["linyi"]]  # sorted by loan id
    big = rows[books["big"]]
    assert big["principal_fen"] == 999_999_999_999  # 9,999,999,999.99 yuan, exactly
    assert big["outstanding_fen"] == BEYOND_DOUBLE  # beyond a double's integers, still exact
    assert (big["overdue_principal_fen"], big["overdue_interest_fen"], big["penalty_due_fen"],
            big["compound_due_fen"], big["overdue_days"]) == (1, 12345, 678, 9, 31)
    assert (big["county_bank"], big["branch"], big["manager"], big["product"], big["repayment_method"],
            big["status"], big["annual_rate_millionths"]) == (
        "JNRCB", "JNRCB-LX", "jinan.cm", "XIN_E_DAI", "bullet", "active", 43_500)
    assert big["customer_id"] is not None and big["disbursed_on"] == date(2026, 1, 15)
    assert big["maturity_on"] == date(2027, 1, 15)
    small = rows[books["small"]]
    assert (small["outstanding_fen"], small["annual_rate_millionths"], small["repayment_method"]) == (
        1_100_000, 52_100, "equal_principal")
    assert rows[books["linyi"]]["county_bank"] == "LYRCB" and rows[books["linyi"]]["manager"] == "linyi.cm"
    assert table.schema.metadata[b"nongxin.sources"] == b'{"JNRCB": "snapshot", "LYRCB": "snapshot"}'


def test_the_county_bank_filter(books: dict[str, Any]) -> None:
    linyi = ledger_table(books["engine"], CLOSED, county_banks=["LYRCB"])
    assert linyi.column("loan_no").to_pylist() == [books["linyi"]]
    with pytest.raises(NotFound) as caught:
        ledger_table(books["engine"], CLOSED, county_banks=["LYRCB", "NOPE"])
    assert caught.value.code == "no_county_bank" and "NOPE" in caught.value.message


def test_a_date_neither_closed_nor_current_is_an_error(books: dict[str, Any]) -> None:
    with pytest.raises(NotFound) as caught:
        ledger_table(books["engine"], date(2026, 2, 16), business_date=date(2026, 2, 17))
    assert caught.value.code == "no_snapshot"
    assert "JNRCB (last closed: 2026-02-15)" in caught.value.message and "2026-02-17" in caught.value.message


def test_the_current_business_date_reads_the_live_books_with_exact_penalties(books: dict[str, Any]) -> None:
    engine = books["engine"]
    base = 10**15 + 7  # fen-days: an overdue principal of ten trillion fen for a hundred days, and change
    with engine.begin() as conn:
        conn.execute(sa.update(Loan).where(Loan.loan_no == books["big"]).values(
            overdue_principal=Decimal("500.00"), penalty_base=base, compound_base=3, penalty_paid=Decimal("1.00"),
            overdue_days=12))
        # a loan booked without a manager or a maturity: nulls, not '' or 0, on both databases
        conn.execute(sa.update(Loan).where(Loan.loan_no == books["small"]).values(manager_id=None, maturity_on=None))
    table = ledger_table(engine, date(2026, 2, 16), county_banks=["JNRCB"], business_date=date(2026, 2, 16))
    assert table.schema.equals(LEDGER_SCHEMA)
    rows = {row["loan_no"]: row for row in table.to_pylist()}
    assert {books["big"], books["small"]} <= set(rows) and books["linyi"] not in rows  # with the demo's loans
    big = rows[books["big"]]
    owed = penalty_owed(base, Decimal("0.0435"), Decimal("0.5"), Decimal("1.00"))
    assert big["penalty_due_fen"] == int(owed * 100)
    assert big["compound_due_fen"] == int(penalty_owed(3, Decimal("0.0435"), Decimal("0.5")) * 100)
    assert (big["outstanding_fen"], big["overdue_principal_fen"], big["overdue_days"]) == (
        999_999_999_999, 50_000, 12)
    assert rows[books["small"]]["penalty_due_fen"] == 0
    assert (rows[books["small"]]["manager"], rows[books["small"]]["maturity_on"]) == (None, None)
    assert rows[books["small"]]["disbursed_on"] == date(2026, 1, 15)
    assert table.schema.metadata[b"nongxin.sources"] == b'{"JNRCB": "live"}'
    # a closed date is read from its snapshots even when it is also the current date
    closed = ledger_table(engine, CLOSED, county_banks=["JNRCB"], business_date=CLOSED)
    assert closed.column("outstanding_fen").to_pylist() == [BEYOND_DOUBLE, 1_100_000]
    assert closed.schema.metadata[b"nongxin.sources"] == b'{"JNRCB": "snapshot"}'


def test_parquet_and_pandas_keep_int64_fen(books: dict[str, Any], tmp_path: Path) -> None:
    table = ledger_table(books["engine"], CLOSED)
    pq.write_table(table, tmp_path / "ledger.parquet")
    back = pq.read_table(tmp_path / "ledger.parquet")
    assert back.equals(table) and back.schema.metadata[b"nongxin.as_of"] == b"2026-02-15"
    frame = ledger_frame(books["engine"], CLOSED)
    assert all(str(frame[name].dtype) == "int64[pyarrow]" for name in MONEY_COLUMNS)
    assert int(frame["outstanding_fen"].max()) == BEYOND_DOUBLE


def test_the_export_command(books: dict[str, Any], nongxin_settings: Any, tmp_path: Path) -> None:
    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["ledger", "export", *args], obj=Console(nongxin_settings))

    out = tmp_path / "ledger.parquet"
    done = run("--as-of", "2026-02-15", "--out", str(out), "--county-bank", "JNRCB")
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"2 rows as of 2026-02-15 written to {out} in ") and done.output.endswith(" s\n")
    assert pq.read_table(out).column("principal_fen").to_pylist() == [999_999_999_999, 1_200_000]

    bad_date = run("--as-of", "2026-02-30", "--out", str(out))
    assert bad_date.exit_code == 2 and "Invalid value for '--as-of'" in bad_date.output
    missing = run("--as-of", "2020-01-01", "--out", str(out))
    assert missing.exit_code == 2 and "no ledger snapshot for 2020-01-01" in missing.output
    unwritable = run("--as-of", "2026-02-15", "--out", str(tmp_path / "no" / "such" / "dir" / "x.parquet"))
    assert unwritable.exit_code == 2 and "out: cannot write" in unwritable.output
    for result in (bad_date, missing, unwritable):
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception,
                                                                                            SystemExit)

