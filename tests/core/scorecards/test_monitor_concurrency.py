"""Concurrent writers of the stability monitor through a real server (waitress), on whichever
database the suite runs on: runs of one bank wait for each other (one warning per subject, never a
500), and concurrent closes of one model warning close it once (one 200, the others 409)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.audit.models import AuditEntry
from nongxin.core.scorecards.models import ModelWarning, ScorecardStability
from tests.core.scorecards.test_monitor import SHIFTED, decisions, nongxin_plugins, rt  # noqa: F401

CLIENTS = 4


def test_concurrent_runs_and_closes(rt: Any, nongxin_app: Any, nongxin_demo: Any, nongxin_uow: Any) -> None:  # noqa: F811
    decisions(nongxin_app, SHIFTED)
    runs = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        ("jinan.params" if i % 2 else "province.params", "POST", "/api/scorecards/stability/run",
         {"institution": "JNRCB"}, {}) for i in range(CLIENTS)])
    assert sorted(status for status, _ in runs) == [200] * CLIENTS, runs
    s = nongxin_uow.session
    warned = list(s.execute(sa.select(ModelWarning)).scalars())
    assert sorted(w.subject for w in warned) == ["age", "score"]
    assert s.execute(sa.select(sa.func.count()).select_from(ScorecardStability)).scalar_one() == 3
    age = next(w.id for w in warned if w.subject == "age")
    closes = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        ("jinan.params" if i % 2 else "jinan.admin", "POST", f"/api/model-warnings/{age}/close", {"note": "已复核"}, {})
        for i in range(CLIENTS)])
    assert sorted(status for status, _ in closes) == [200] + [409] * (CLIENTS - 1), closes
    assert all(b["error"] == "model_warning_closed" for st, b in closes if st == 409)
    nongxin_uow.rollback()  # a fresh snapshot, after the closes
    assert s.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.target == f"model_warning:{age}", AuditEntry.action == "model_warning.close")).scalar_one() == 1
