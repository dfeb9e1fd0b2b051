"""The ledger's ADBC reader links its own SQLite: reading through it must never cost this process
its writes (a read-write ADBC connection deleted the WAL under the pool: later commits were lost
and readers got "disk I/O error")."""

from __future__ import annotations

import os
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.credit.models import Loan
from nongxin.core.db import UnitOfWork
from nongxin.core.jobs.ledger import ledger_table
from nongxin.core.testing import make_overdue, open_test_loan


def test_writes_after_a_ledger_read_are_seen_by_new_connections(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite has a second library in the process")
    loan_no = open_test_loan(nongxin_app)
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions, write=False) as unit:  # a pooled connection, open before the read
        unit.session.execute(sa.select(sa.func.count()).select_from(Loan)).scalar_one()
    wal = f"{runtime.engine.url.database}-wal"
    assert os.path.exists(wal)
    for days in (5, 40):
        assert ledger_table(runtime.engine, today, business_date=today).num_rows >= 1
        assert os.path.exists(wal)  # never checkpointed and deleted by the reader
        make_overdue(nongxin_app, loan_no, days=days)
        fresh = sa.create_engine(runtime.engine.url)
        with fresh.connect() as conn:  # a connection opened now sees the commit
            assert conn.execute(sa.text("SELECT overdue_days FROM loans WHERE loan_no = :n"),
                                {"n": loan_no}).scalar_one() == days
        fresh.dispose()
        table = ledger_table(runtime.engine, today, business_date=today)
        assert dict(zip(table.column("loan_no").to_pylist(), table.column("overdue_days").to_pylist()))[loan_no] == days
