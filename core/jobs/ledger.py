"""The columnar ledger: one row per loan as of a business date, in Arrow, money in integer fen.

The promise: ``ledger_table(engine, as_of)`` is what the nightly scan (and ``nongxin ledger
export``) reads: every loan of the chosen county banks with its balances as int64 fen, its annual
rate as int64 millionths, its overdue days, status, product, repayment method, county bank,
branch (the lending institution's code), customer manager (username) and customer key. No money
value ever passes through a float: the rows travel from the database to Arrow through ADBC (on
PostgreSQL the driver reads the query with ``COPY ... TO STDOUT (FORMAT binary)``; on SQLite the
driver's C reader), never through ``pandas.read_sql`` or ORM rows. County bank, branch and manager
travel as ids and are labelled in Arrow from small lookups (no per-row join in SQL).

Which rows "as of" a date means, per county bank:

* the bank has closed ``as_of`` (a ``DayClose`` row, written with the day's ``LoanSnapshot`` rows in
  one transaction): the snapshot rows of that date, joined with the loans' static columns;
* else, ``as_of`` is the current business date (``business_date``, the date the books are at, not
  yet closed): the live ``loans`` table, serviced loans (active, rescheduled) only, with penalty and
  compound interest owed computed from the fen-day products exactly as ``domain.interest.penalty_owed``;
* else it is an error (``NotFound``, code ``no_snapshot``) naming the banks and their last closed date.

Which source each bank came from is recorded in the table's schema metadata (``nongxin.sources``),
with ``nongxin.as_of``; Parquet keeps both.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nongxin.core.credit.domain.interest import penalty_owed
from nongxin.core.credit.models import DayClose, Loan, SERVICED_STATUSES
from nongxin.core.db import to_fen
from nongxin.core.errors import ConfigurationError, NotFound
from nongxin.core.institutions.models import Institution, Level

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LEDGER_SCHEMA", "MONEY_COLUMNS", "ledger_table", "ledger_frame", "fetch_arrow", "snapshot_sql"]

#: Money columns, all int64 fen (1 yuan = 100 fen); never float.
MONEY_COLUMNS = ("principal_fen", "outstanding_fen", "overdue_principal_fen", "overdue_interest_fen",
                 "penalty_due_fen", "compound_due_fen")

#: The ledger's columns, in order. Keys only for the customer (``customer_id``): no names or
#: identity numbers leave the database through the export.
LEDGER_SCHEMA = pa.schema([
    pa.field("loan_id", pa.int64(), nullable=False),
    pa.field("loan_no", pa.string(), nullable=False),
    pa.field("county_bank", pa.string(), nullable=False),
    pa.field("branch", pa.string(), nullable=False),
    pa.field("manager", pa.string()),
    pa.field("customer_id", pa.int64()),
    pa.field("product", pa.string(), nullable=False),
    pa.field("repayment_method", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    *(pa.field(name, pa.int64(), nullable=False) for name in MONEY_COLUMNS),
    pa.field("annual_rate_millionths", pa.int64(), nullable=False),
    pa.field("overdue_days", pa.int64(), nullable=False),
    pa.field("disbursed_on", pa.date32()),
    pa.field("maturity_on", pa.date32()),
])

_LIVE_EXTRA = ("penalty_base", "compound_base", "penalty_markup", "penalty_paid", "compound_paid")
#: Columns SQLite's reader might see as all-NULL in its first batch and type wrongly: read as ''.
_SQLITE_BLANKABLE = ("disbursed_on", "maturity_on")
#: Columns read as ids and labelled in Arrow from a small lookup (no per-row join in SQL):
#: column -> the lookup's query (id, label).
_LABELLED = {"county_bank": "SELECT id, code FROM institutions", "branch": "SELECT id, code FROM institutions",
             "manager": "SELECT id, username FROM users"}


def ledger_table(engine: Engine, as_of: date, *, county_banks: list[str] | None = None,
                 business_date: date | None = None) -> pa.Table:
    """The ledger as of ``as_of`` for ``county_banks`` (codes; default: every county bank that has
    loans), sorted by loan id. ``business_date`` is the current, not yet closed date (the clock's):
    a bank that has not closed ``as_of`` is read live only when ``as_of`` is that date."""
    banks = _banks(engine, county_banks)
    sources = _sources(engine, as_of, banks, business_date)
    parts = []
    snapshot_ids = [bank_id for bank_id, source in sources.items() if source == "snapshot"]
    live_ids = [bank_id for bank_id, source in sources.items() if source == "live"]
    labels = _labels(engine) if sources else {}
    if snapshot_ids:
        parts.append(_finish(fetch_arrow(engine, snapshot_sql(engine, as_of, snapshot_ids)), engine, labels))
    if live_ids:
        parts.append(_finish(_with_penalties(fetch_arrow(engine, _live_sql(engine, live_ids))), engine, labels))
    table = pa.concat_tables(parts) if parts else LEDGER_SCHEMA.empty_table()
    if len(parts) > 1:
        table = table.sort_by("loan_id")
    metadata = {"nongxin.as_of": as_of.isoformat(),
                "nongxin.sources": json.dumps({banks[i]: s for i, s in sorted(sources.items())})}
    return table.replace_schema_metadata(metadata)


def ledger_frame(engine: Engine, as_of: date, **kwargs: Any) -> "pd.DataFrame":
    """``ledger_table`` as a pandas frame with Arrow-backed dtypes: money stays int64 (a plain
    ``to_pandas`` would turn a nullable integer column into float64)."""
    import pandas as pd

    return ledger_table(engine, as_of, **kwargs).to_pandas(types_mapper=pd.ArrowDtype)


def fetch_arrow(engine: Engine, sql: str) -> pa.Table:
    """Run ``sql`` on the engine's database through ADBC and return the result as Arrow."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        import adbc_driver_postgresql.dbapi as adbc_pg

        uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with adbc_pg.connect(uri) as conn, conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetch_arrow_table()
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigurationError("the columnar ledger reads a SQLite database file, not an in-memory one")
        return _read_sqlite_elsewhere(url.database, sql)
    raise ConfigurationError(f"the columnar ledger does not support {url.get_backend_name()} databases")


# -- SQLite: ADBC's reader runs in a process of its own ---------------------------------------------
#
# ADBC links its own copy of SQLite. Two copies in one process cannot see each other's locks (POSIX
# locks are per process, and closing any descriptor of a file drops all of the process's locks on
# it): measured here, an ADBC connection closing believed it was the last one and deleted the WAL
# under our pooled connections (later commits lost, "disk I/O error"), and a pool connection opening
# while ADBC read truncated the shared-memory file under it (SIGBUS). So on SQLite the read happens
# in a child process forked for it, where SQLite's ordinary multi-process locking applies (a child
# inherits no POSIX locks, and what it closes never drops the parent's); the table comes back as an
# Arrow IPC file. Fork, not spawn or forkserver: those re-import the caller's main script.


def _read_sqlite_elsewhere(database: str, sql: str) -> pa.Table:
    import importlib
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    importlib.import_module("adbc_driver_sqlite.dbapi")  # loaded here once: the forked child only queries

    with tempfile.TemporaryDirectory(prefix="nongxin-ledger-") as folder:
        out = os.path.join(folder, "ledger.arrow")
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as child:
            child.submit(_read_sqlite, str(Path(database).resolve()), sql, out).result()
        with pa.OSFile(out, "rb") as source:
            return pa.ipc.open_file(source).read_all()


def _read_sqlite(database: str, sql: str, out: str) -> None:
    """In the reader process: run ``sql`` read-only and write the result to ``out`` (Arrow IPC)."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    with adbc_sqlite.connect(Path(database).as_uri() + "?mode=ro") as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    with pa.OSFile(out, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _banks(engine: Engine, codes: list[str] | None) -> dict[int, str]:
    """County bank id -> code: the named ones (an unknown code is 404), else those with loans."""
    stmt = sa.select(Institution.id, Institution.code).where(Institution.level == Level.COUNTY)
    if codes is not None:
        stmt = stmt.where(Institution.code.in_(codes))
    else:
        stmt = stmt.where(sa.exists().where(Loan.county_bank_id == Institution.id))
    with engine.connect() as conn:
        found = {row.id: row.code for row in conn.execute(stmt.order_by(Institution.code))}
    missing = sorted(set(codes or ()) - set(found.values()))
    if missing:
        raise NotFound(f"no county bank {', '.join(missing)}", code="no_county_bank",
                       fields={"county_bank": [f"{code}: no such county bank" for code in missing]})
    return found


def _sources(engine: Engine, as_of: date, banks: dict[int, str], business_date: date | None) -> dict[int, str]:
    """Bank id -> "snapshot" or "live"; NotFound naming the banks that have neither."""
    if not banks:
        return {}
    with engine.connect() as conn:
        closed = set(conn.execute(sa.select(DayClose.county_bank_id).where(
            DayClose.business_date == as_of, DayClose.county_bank_id.in_(list(banks)))).scalars())
        open_ids = [i for i in banks if i not in closed]
        if open_ids and as_of != business_date:
            last = {row[0]: row[1] for row in conn.execute(sa.select(
                DayClose.county_bank_id, sa.func.max(DayClose.business_date)).where(
                DayClose.county_bank_id.in_(open_ids)).group_by(DayClose.county_bank_id))}
            gaps = [f"{banks[i]} (last closed: {last[i].isoformat() if i in last else 'never'})" for i in open_ids]
            current = f"the current business date is {business_date.isoformat()}" if business_date else \
                "no current business date was given"
            raise NotFound(f"no ledger snapshot for {as_of.isoformat()} at {', '.join(gaps)}; the day close has "
                           f"not closed that date and {current}", code="no_snapshot",
                           fields={"as_of": [f"{as_of.isoformat()}: no snapshot"]})
    return {i: "snapshot" if i in closed else "live" for i in banks}


def _common(engine: Engine) -> list[str]:
    return ["l.id AS loan_id", "l.loan_no AS loan_no", "l.county_bank_id AS county_bank",
            "l.institution_id AS branch", "l.manager_id AS manager", "l.customer_id AS customer_id",
            "l.product_code AS product", "l.repayment_method AS repayment_method"]


def _dates(engine: Engine) -> list[str]:
    return [_blank(engine, "l.disbursed_on", "disbursed_on"), _blank(engine, "l.maturity_on", "maturity_on")]


def snapshot_sql(engine: Engine, as_of: date, bank_ids: Iterable[int]) -> str:
    """The query the export runs for closed banks (county bank, branch and manager as ids)."""
    columns = [*_common(engine), "s.status AS status", "l.principal AS principal_fen",
               "s.outstanding AS outstanding_fen", "s.overdue_principal AS overdue_principal_fen",
               "s.overdue_interest AS overdue_interest_fen", "s.penalty_due AS penalty_due_fen",
               "s.compound_due AS compound_due_fen", "l.annual_rate AS annual_rate_millionths",
               "s.overdue_days AS overdue_days", *_dates(engine)]
    return (f"SELECT {', '.join(columns)} FROM loan_snapshots s JOIN loans l ON l.id = s.loan_id "
            f"WHERE s.business_date = '{as_of.isoformat()}' AND s.county_bank_id IN ({_ids(bank_ids)}) "
            "ORDER BY s.loan_id")


def _live_sql(engine: Engine, bank_ids: Iterable[int]) -> str:
    statuses = ", ".join(f"'{status.value}'" for status in SERVICED_STATUSES)
    columns = [*_common(engine), "l.status AS status", "l.principal AS principal_fen",
               "l.outstanding AS outstanding_fen", "l.overdue_principal AS overdue_principal_fen",
               "l.overdue_interest AS overdue_interest_fen", "0 AS penalty_due_fen", "0 AS compound_due_fen",
               "l.annual_rate AS annual_rate_millionths", "l.overdue_days AS overdue_days", *_dates(engine),
               *(f"l.{name} AS {name}" for name in _LIVE_EXTRA)]
    return (f"SELECT {', '.join(columns)} FROM loans l "
            f"WHERE l.county_bank_id IN ({_ids(bank_ids)}) AND l.status IN ({statuses}) ORDER BY l.id")


def _ids(bank_ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in bank_ids)


def _blank(engine: Engine, expression: str, name: str) -> str:
    """On SQLite, a nullable text column is read as '' (its reader types a column from its first
    batch, and an all-NULL batch would be typed as integers); ``_finish`` turns '' back to null."""
    if engine.dialect.name == "sqlite":
        return f"COALESCE({expression}, '') AS {name}"
    return f"{expression} AS {name}"


def _with_penalties(table: pa.Table) -> pa.Table:
    """Fill penalty and compound interest owed on live rows: the fen-day product x the daily
    penalty rate, rounded once (``penalty_owed``), less what was paid. Python ints, only for the
    loans with a product; the rest owe nothing beyond what they paid (a negative never arises)."""
    import numpy as np

    rate = table.column("annual_rate_millionths").to_numpy()
    markup = table.column("penalty_markup").to_numpy()
    due = {}
    for kind in ("penalty", "compound"):
        base = table.column(f"{kind}_base").to_numpy()
        owed = np.zeros(len(table), dtype=np.int64)
        for row in np.nonzero(base)[0]:
            owed[row] = to_fen(penalty_owed(int(base[row]), Decimal(int(rate[row])).scaleb(-6),
                                            Decimal(int(markup[row])).scaleb(-6)))
        due[kind] = owed - table.column(f"{kind}_paid").to_numpy().astype(np.int64)
    table = table.set_column(table.schema.get_field_index("penalty_due_fen"), "penalty_due_fen",
                             pa.array(due["penalty"], pa.int64()))
    table = table.set_column(table.schema.get_field_index("compound_due_fen"), "compound_due_fen",
                             pa.array(due["compound"], pa.int64()))
    return table.drop_columns(list(_LIVE_EXTRA))


def _labels(engine: Engine) -> dict[str, tuple[pa.Array, pa.Array]]:
    """Each labelled column's lookup: (ids, labels), a few thousand rows at most."""
    with engine.connect() as conn:
        found = {sql: conn.execute(sa.text(sql)).all() for sql in set(_LABELLED.values())}
    return {column: (pa.array([row[0] for row in found[sql]], pa.int64()),
                     pa.array([row[1] for row in found[sql]], pa.string())) for column, sql in _LABELLED.items()}


def _finish(table: pa.Table, engine: Engine, labels: dict[str, tuple[pa.Array, pa.Array]]) -> pa.Table:
    """Label the id columns, cast to ``LEDGER_SCHEMA`` (int32 -> int64, SQLite's date text ->
    date32; '' -> null)."""
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return LEDGER_SCHEMA.empty_table()
    for name, (ids, names) in labels.items():
        index = table.schema.get_field_index(name)
        positions = pc.index_in(table.column(index).cast(pa.int64()), value_set=ids)
        table = table.set_column(index, name, pc.take(names, positions))
    if engine.dialect.name == "sqlite":
        for name in _SQLITE_BLANKABLE:
            index = table.schema.get_field_index(name)
            column = table.column(index).cast(pa.string())
            table = table.set_column(index, name, pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()),
                                                             column))
    return table.cast(LEDGER_SCHEMA)
