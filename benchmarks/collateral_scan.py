"""The collateral shortfall scan on a large book: positions per second building the frame
(``core.collateral.positions.positions``) and evaluating the province's collateral rules over it
(``CompiledRuleSet.evaluate_frame``), SQLite and PostgreSQL.

Loads ``--positions`` (default 100,000) active pledges set-wise (Core executemany, never the ORM)
across four county banks: one line in two per position, one loan per line, nine items in ten
pledged once at rank 1 and one in ten also at rank 2 to the next line, one valuation per item (one in
twelve expired), some pledges still pending registration. SQLite always; PostgreSQL too when
``NONGXIN_BENCH_DATABASE_URL`` is set (its database is emptied first). Writes
``benchmarks/results/collateral_scan.json``. A benchmark, not a test.

    python benchmarks/collateral_scan.py [--positions 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from nongxin.core.collateral.positions import positions
from nongxin.core.config import Settings
from nongxin.core.db import Base, UnitOfWork
from nongxin.core.institutions.models import Institution
from nongxin.core.migrate import recreate
from nongxin.core.models import *  # noqa: F401,F403  (every table in the metadata)
from nongxin.core.runtime import bootstrap
from nongxin.core.clock import Clock
from nongxin.sdk.facts import COLLATERAL
from nongxin.sdk.rules import Rule, compile_rule_set
from nongxin.plugins.province_rules import RULES

DAY = date(2026, 6, 15)
BANKS = ("BENCH1", "BENCH2", "BENCH3", "BENCH4")
BATCH = 20_000


def _insert(conn: sa.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    for a in range(0, len(rows), BATCH):
        conn.execute(sa.insert(Base.metadata.tables[table]), rows[a:a + BATCH])


def load(url: str, n: int) -> None:
    recreate(url)
    engine = sa.create_engine(url)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    lines = max(n // 2, 2)
    items = n * 9 // 10
    seconds = n - items
    customers = max(lines // 10, 1)
    rnd = np.random.default_rng(20261123)
    with engine.begin() as conn:
        _insert(conn, "institutions", [dict(id=1, code="BENCH", name="省联社", level="province", parent_id=None,
                                            path="/1/", created_at=now)] +
                [dict(id=k, code=code, name=f"农商银行{k}", level="county", parent_id=1, path=f"/1/{k}/", created_at=now)
                 for k, code in enumerate(BANKS, start=2)])
        _insert(conn, "users", [dict(id=1, username="bench.cm", display_name="bench", role="customer_manager",
                                     institution_id=2)])
        bank_of = lambda i: 2 + i % len(BANKS)  # noqa: E731
        _insert(conn, "customers", [dict(id=c, county_bank_id=bank_of(c), grid_id=bank_of(c), manager_id=1,
                                         kind="individual", id_number=f"370102198001{c:06d}"[:18], name="客户",
                                         created_by="bench") for c in range(1, customers + 1)])
        # a line's customer c has c % 4 == line % 4, so the line and its customer share a bank
        cust = lambda line: (line % customers) or customers  # noqa: E731
        _insert(conn, "credit_lines", [dict(id=k, number=f"B-C-{k:08d}", county_bank_id=bank_of(cust(k)),
                                            institution_id=bank_of(cust(k)), customer_id=cust(k),
                                            amount=Decimal("900000.00"), annual_rate=Decimal("0.0435"),
                                            products=["XIN_E_DAI"], start_on=DAY - timedelta(days=300),
                                            end_on=DAY + timedelta(days=700), status="active")
                                       for k in range(1, lines + 1)])
        out = rnd.integers(0, 40_000_000, lines)
        _insert(conn, "loans", [dict(id=k, loan_no=f"B-L-{k:08d}", institution_id=bank_of(cust(k)),
                                     county_bank_id=bank_of(cust(k)), borrower_kind="resident_id",
                                     borrower_id_number="370102198001010000", borrower_name="借款人",
                                     product_code="XIN_E_DAI", principal=Decimal(int(out[k - 1])) / 100 + 1,
                                     outstanding=Decimal(int(out[k - 1])) / 100, status="active", credit_line_id=k)
                                for k in range(1, lines + 1)])
        values = rnd.integers(1_000_000, 80_000_000, items)
        line_of = lambda i: (i % lines) + 1  # noqa: E731
        _insert(conn, "collateral_items", [dict(id=i, number=f"B-K-{i:08d}", county_bank_id=bank_of(cust(line_of(i))),
                                                institution_id=bank_of(cust(line_of(i))), owner_id=cust(line_of(i)),
                                                kind="real_estate" if i % 3 else "deposit", identifier=f"ID{i}",
                                                declared_value=Decimal(int(values[i - 1])) / 100, data={},
                                                registered_by="bench") for i in range(1, items + 1)])
        _insert(conn, "collateral_valuations", [dict(item_id=i, value=Decimal(int(values[i - 1])) / 100,
                                                     method="market", valuer_kind="internal", valuer="bench",
                                                     valued_on=DAY - timedelta(days=int(i % 400)),
                                                     valid_until=DAY - timedelta(days=int(i % 400)) + timedelta(
                                                         days=365), recorded_by="bench")
                                                for i in range(1, items + 1)])
        pledges = [dict(item_id=i, credit_line_id=line_of(i), rank=1, status="pledged",
                        registration=("pending" if i % 17 == 0 else "registered") if i % 3 else "not_required",
                        pledged_on=DAY - timedelta(days=int(i % 90)), pledged_by="bench") for i in range(1, items + 1)]
        pledges += [dict(item_id=i, credit_line_id=line_of(i + 1), rank=2, status="pledged",
                         registration="registered" if i % 3 else "not_required", pledged_on=DAY, pledged_by="bench")
                    for i in range(1, seconds + 1)]
        _insert(conn, "collateral_pledges", pledges)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


def measure(url: str, n: int) -> dict[str, Any]:
    started = time.perf_counter()
    load(url, n)
    load_seconds = time.perf_counter() - started
    settings = Settings(database_url=url, environment="testing", secret_key="bench-secret-" + "x" * 32,
                        audit_key="bench-audit-key-" + "y" * 32)
    runtime = bootstrap(settings, discover=False, clock=Clock().as_of(DAY))
    rules = [Rule(code=code, name=name, expression=expr, stage=stage, outcome=outcome, level="province",
                  owner="BENCH", reason=reason) for stage, code, name, expr, outcome, reason in RULES
             if stage == "collateral"]
    compiled = compile_rule_set(rules, COLLATERAL)
    with UnitOfWork(runtime.sessions, write=False) as unit:
        banks = list(unit.session.execute(sa.select(Institution).where(Institution.code.in_(BANKS))).scalars())
        started = time.perf_counter()
        frames = [positions(unit.session, [bank], DAY) for bank in banks]
        frame_seconds = time.perf_counter() - started
        started = time.perf_counter()
        hits = sum(len(compiled.evaluate_frame(f.reset_index(drop=True)).hits) for f in frames)
        rule_seconds = time.perf_counter() - started
    runtime.engine.dispose()
    total = sum(len(f) for f in frames)
    assert total == n, (total, n)
    found = {"positions": n, "load_seconds": round(load_seconds, 2), "frame_seconds": round(frame_seconds, 3),
             "frame_positions_per_second": round(n / frame_seconds), "rules": len(rules),
             "rules_seconds": round(rule_seconds, 4), "rules_positions_per_second": round(n / rule_seconds),
             "hits": hits, "in_shortfall": int(sum((f["shortfall_fen"] > 0).sum() for f in frames))}
    print(runtime.engine.dialect.name, found)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                               "pandas": pd.__version__, "numpy": np.__version__, "day": DAY.isoformat()}
    with tempfile.TemporaryDirectory() as folder:
        figures["sqlite"] = measure(f"sqlite:///{Path(folder) / 'scan.db'}", args.positions)
    url = os.environ.get("NONGXIN_BENCH_DATABASE_URL")
    if url:
        figures["postgresql"] = measure(url, args.positions)
    out = Path(__file__).parent / "results" / "collateral_scan.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
