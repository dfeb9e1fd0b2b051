"""Shared helpers of the core's tests."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import sqlalchemy as sa


def snapshot(app: Any) -> dict[str, Any]:
    """Row count of every table, and the newest audit entry: equal snapshots mean nothing written."""
    from nongxin.core.models import Base

    with app.extensions["nongxin"].engine.connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in Base.metadata.sorted_tables}
        head = conn.execute(sa.text("SELECT max(id) FROM audit_log")).scalar_one()
    return {"counts": counts, "audit_head": head}


@pytest.fixture
def db_snapshot(nongxin_app: Any) -> Callable[[], dict[str, Any]]:
    """``db_snapshot()`` before and after a refused request: they must be equal."""
    return lambda: snapshot(nongxin_app)
