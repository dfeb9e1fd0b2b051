"""Concurrent closes of one task through a real server (waitress) on whichever database the suite
runs on: exactly one 200, every other answer a 409 ``task_closed``, never a 500; one "closed" event
and one audit entry."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.audit.models import AuditEntry
from nongxin.core.early_warning.models import TaskEvent
from nongxin.core.testing import open_test_loan, open_test_warning

CLIENTS = 5
BODY = {"findings": "走访核实", "disposal": "monitor", "evidence": ["DOC-1"]}


def test_concurrent_closes_of_one_task_close_it_once(nongxin_app: Any, nongxin_demo: Any, nongxin_uow: Any) -> None:
    _, task = open_test_warning(nongxin_app, open_test_loan(nongxin_app))
    answers = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        ("jinan.cm" if i % 2 else "jinan.postloan", "POST", f"/api/tasks/{task}/close", BODY, {})
        for i in range(CLIENTS)])

    assert sorted(status for status, _ in answers) == [200] + [409] * (CLIENTS - 1), answers
    assert all(b["error"] == "task_closed" for s, b in answers if s == 409)
    s = nongxin_uow.session
    assert s.execute(sa.select(sa.func.count()).select_from(TaskEvent).where(
        TaskEvent.task_id == task, TaskEvent.kind == "closed")).scalar_one() == 1
    assert s.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.target == f"warning_task:{task}")).scalar_one() == 1
