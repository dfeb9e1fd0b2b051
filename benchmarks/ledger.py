"""Benchmark of the loan ledger: schedules per second, the day close, and the columnar export.

* ``schedules_per_second``: ``domain.schedules.schedule`` for each repayment method (12-month
  loans of varied amounts and rates; median of ``--repeats`` runs).
* ``export_seconds_per_million`` and ``read_sql_seconds_per_million``: on a fresh demo database
  holding ``--loans`` loans (200,000 by default) and one closed business date of snapshots, loaded
  set-wise with Core executemany: ``ledger_table`` (ADBC into Arrow, int64 fen) against
  ``pandas.read_sql`` of the same query in the same run; medians, scaled to a million loans.
* ``close_day_seconds_per_million``: ``close_day_seconds_per_million(url, loans=...)`` from
  ``benchmarks/ledger_close.py`` (the day close's own benchmark); null with a note when absent.

SQLite always; PostgreSQL too when ``NONGXIN_BENCH_DATABASE_URL`` names a database (it is emptied).

    python benchmarks/ledger.py [--loans 200000] [--repeats 3]

Writes ``benchmarks/results/ledger.json``. Not a test: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import sqlalchemy as sa

from nongxin.core import demo
from nongxin.core.app import create_app
from nongxin.core.config import Settings
from nongxin.core.credit.domain.schedules import schedule
from nongxin.core.db import UnitOfWork
from nongxin.core.jobs import ledger
from nongxin.core.migrate import recreate
from nongxin.sdk.types import REPAYMENT_METHODS

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "ledger.json"
AS_OF = date(2026, 6, 30)
BATCH = 20_000


def median_seconds(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def schedules_per_second(repeats: int, count: int = 2_000) -> dict[str, float]:
    rng = random.Random(11)
    terms = [(Decimal(rng.randrange(100_000, 50_000_000)) / 100, Decimal(rng.randrange(30_000, 90_000)) / 1_000_000)
             for _ in range(count)]
    out = {}
    for method in REPAYMENT_METHODS:
        def run() -> None:
            for principal, rate in terms:
                schedule(principal, rate, 12, method, date(2026, 1, 31))
        seconds, _ = median_seconds(run, repeats)
        out[method] = round(count / seconds, 1)
    return out


def seeded_app(url: str) -> Any:
    recreate(url)
    settings = Settings(database_url=url, environment="testing", secret_key="bench-secret-" + "x" * 32,
                        audit_key="bench-audit-key-" + "y" * 32)
    app = create_app(settings)
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        demo.seed(unit)
    return app


def load_ledger(engine: sa.Engine, loans: int) -> None:
    """``loans`` active loans across the demo's branches, customer managers and customers, and a
    closed ``AS_OF`` (a DayClose per county bank, a snapshot per loan), inserted set-wise."""
    rng = random.Random(7)
    with engine.connect() as conn:
        branches = conn.execute(sa.text(
            "SELECT i.id, b.id, b.code FROM institutions i JOIN institutions b ON b.id = i.parent_id "
            "WHERE i.level = 'branch' AND b.level = 'county'")).all()
        managers = [row[0] for row in conn.execute(sa.text("SELECT id FROM users WHERE role = 'customer_manager'"))]
        customers: dict[int, list[int]] = {}
        for cid, bank in conn.execute(sa.text("SELECT id, county_bank_id FROM customers")):
            customers.setdefault(bank, []).append(cid)
        first = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) + 1 FROM loans")).scalar_one()
    methods = list(REPAYMENT_METHODS)
    loan_t = sa.table("loans", *map(sa.column, (
        "id", "loan_no", "institution_id", "county_bank_id", "borrower_kind", "borrower_id_number", "borrower_name",
        "product_code", "principal", "outstanding", "status", "disbursed_on", "maturity_on", "created_at",
        "customer_id", "manager_id", "term_months", "repayment_method", "annual_rate", "overdue_principal",
        "overdue_interest", "overdue_days")))
    snap_t = sa.table("loan_snapshots", *map(sa.column, (
        "business_date", "loan_id", "county_bank_id", "status", "outstanding", "overdue_principal",
        "overdue_interest", "penalty_due", "compound_due", "overdue_days")))
    now = datetime(2026, 6, 30, tzinfo=timezone.utc)
    with engine.begin() as conn:
        for start in range(0, loans, BATCH):
            loan_rows, snap_rows = [], []
            for k in range(start, min(loans, start + BATCH)):
                branch, bank, code = branches[k % len(branches)]
                principal = rng.randrange(1_000_000, 100_000_000)  # fen
                overdue = rng.random() < 0.05
                loan_rows.append({
                    "id": first + k, "loan_no": f"{code}-L2026-{k:07d}", "institution_id": branch,
                    "county_bank_id": bank, "borrower_kind": "resident_id", "borrower_id_number": f"B{k:017d}",
                    "borrower_name": "借款人", "product_code": "XIN_E_DAI", "principal": principal,
                    "outstanding": principal, "status": "active", "disbursed_on": date(2026, 1, 1 + k % 28),
                    "maturity_on": date(2027, 1, 1 + k % 28), "created_at": now,
                    "customer_id": rng.choice(customers[bank]) if customers.get(bank) else None,
                    "manager_id": managers[k % len(managers)], "term_months": 12,
                    "repayment_method": methods[k % len(methods)], "annual_rate": rng.randrange(30_000, 90_000),
                    "overdue_principal": 0, "overdue_interest": 0, "overdue_days": 0})
                snap_rows.append({
                    "business_date": AS_OF, "loan_id": first + k, "county_bank_id": bank, "status": "active",
                    "outstanding": principal - rng.randrange(0, principal // 2),
                    "overdue_principal": rng.randrange(1, 100_000) if overdue else 0,
                    "overdue_interest": rng.randrange(1, 10_000) if overdue else 0,
                    "penalty_due": rng.randrange(1, 1_000) if overdue else 0,
                    "compound_due": rng.randrange(1, 100) if overdue else 0,
                    "overdue_days": rng.randrange(1, 90) if overdue else 0})
            conn.execute(sa.insert(loan_t), loan_rows)
            conn.execute(sa.insert(snap_t), snap_rows)
        banks = sorted({bank for _, bank, _ in branches})
        conn.execute(sa.insert(sa.table("day_closes", *map(sa.column, (
            "county_bank_id", "business_date", "loans", "counts", "seconds", "finished_at")))),
            [{"county_bank_id": bank, "business_date": AS_OF, "loans": 0, "counts": "{}", "seconds": 0.0,
              "finished_at": now} for bank in banks])


def export_figures(url: str, loans: int, repeats: int) -> dict[str, Any]:
    app = seeded_app(url)
    engine = app.extensions["nongxin"].engine
    started = time.perf_counter()
    load_ledger(engine, loans)
    load_seconds = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    export, table = median_seconds(lambda: ledger.ledger_table(engine, AS_OF), repeats)
    assert table.num_rows == loans, f"exported {table.num_rows} rows, expected {loans}"
    banks = {row[0]: row[1] for row in engine.connect().execute(sa.text(
        "SELECT id, code FROM institutions WHERE level = 'county'"))}
    sql = ledger.snapshot_sql(engine, AS_OF, banks)

    def read_sql() -> pd.DataFrame:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn)

    via_pandas, frame = median_seconds(read_sql, repeats)
    assert len(frame) == table.num_rows
    engine.dispose()
    per_million = 1_000_000 / table.num_rows
    return {"rows": table.num_rows, "columns": table.num_columns, "load_seconds": round(load_seconds, 1),
            "export_seconds": round(export, 3), "read_sql_seconds": round(via_pandas, 3),
            "export_seconds_per_million": round(export * per_million, 2),
            "read_sql_seconds_per_million": round(via_pandas * per_million, 2),
            "speedup": round(via_pandas / export, 1),
            "read_sql_float_columns": sorted(c for c in frame.columns if frame[c].dtype.kind == "f")}


def close_day(url: str, loans: int) -> tuple[float | None, str | None]:
    sys.path.insert(0, str(HERE))
    try:
        from ledger_close import close_day_seconds_per_million  # type: ignore[import-not-found]
    except ImportError as exc:
        return None, f"benchmarks/ledger_close.py not available yet ({exc}); merged with the day close"
    finally:
        sys.path.remove(str(HERE))
    return round(float(close_day_seconds_per_million(url, loans=loans)), 2), None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-close-day", action="store_true")
    args = parser.parse_args(argv)
    databases = {"sqlite": None, "postgresql": os.environ.get("NONGXIN_BENCH_DATABASE_URL") or None}
    result: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                              "pyarrow": ledger.pa.__version__, "pandas": pd.__version__, "loans": args.loans,
                              "repeats": args.repeats, "load_average_at_start": os.getloadavg()[0],
                              "schedules_per_second": schedules_per_second(args.repeats)}
    print("schedules per second:", result["schedules_per_second"], flush=True)
    exports, closes, notes = {}, {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for name, url in databases.items():
            if url is None:
                if name == "sqlite":
                    url = f"sqlite:///{folder}/ledger.db"
                else:
                    continue
            exports[name] = export_figures(url, args.loans, args.repeats)
            print(f"{name}: export", exports[name], flush=True)
            if args.skip_close_day:
                closes[name], notes[name] = None, "skipped (--skip-close-day)"
            else:
                target = f"sqlite:///{folder}/close.db" if name == "sqlite" else url
                closes[name], notes[name] = close_day(target, args.loans)
            print(f"{name}: close-day seconds per million", closes[name], notes[name] or "", flush=True)
    result["close_day_seconds_per_million"] = closes
    if any(notes.values()):
        result["close_day_note"] = {k: v for k, v in notes.items() if v}
    result["export_seconds_per_million"] = {k: v["export_seconds_per_million"] for k, v in exports.items()}
    result["read_sql_seconds_per_million"] = {k: v["read_sql_seconds_per_million"] for k, v in exports.items()}
    result["export_detail"] = exports
    result["load_average_at_end"] = os.getloadavg()[0]  # the machine is shared: figures are noisy under load
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
