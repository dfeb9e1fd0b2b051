"""``tasks.escalate``: an overdue task goes to the branch head, then (after its colour's deadline
days again, on the working calendar, holidays counted as holidays) to the risk department; each
rise is recorded once and told once to the ``nongxin_on_warning`` plugins enabled at the task's
institution (kind "escalation"); running twice on the same day changes nothing."""

from __future__ import annotations

from datetime import date
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.models import TaskEvent, WarningTask
from nongxin.core.early_warning.tasks import Escalation, escalate
from nongxin.core.institutions.models import Institution, User
from nongxin.core.testing import open_test_loan, open_test_warning
from nongxin.sdk import PluginInfo, PluginKind, hookimpl

TOLD: list[Any] = []


@hookimpl
def nongxin_on_warning(event: Any, ctx: Any) -> None:
    TOLD.append((event.kind, event.institution_code, dict(event.details)))


LISTENER = ModuleType("warning_listener")
LISTENER.PLUGIN = PluginInfo(name="warning_listener", version="1.0.0", kind=PluginKind.INTEGRATION)  # type: ignore[attr-defined]
LISTENER.nongxin_on_warning = nongxin_on_warning  # type: ignore[attr-defined]


@hookimpl(tryfirst=True)
def _loud(event: Any, ctx: Any) -> None:
    raise ConnectionError("pager gateway down")


LOUD = ModuleType("warning_loud")
LOUD.PLUGIN = PluginInfo(name="warning_loud", version="1.0.0", kind=PluginKind.INTEGRATION)  # type: ignore[attr-defined]
LOUD.nongxin_on_warning = _loud  # type: ignore[attr-defined]

DUE = date(2025, 9, 30)  # the Tuesday before National Day: 1-8 October 2025 off, Saturday 11 October worked


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [LOUD, LISTENER]


@pytest.fixture(autouse=True)
def _clear() -> None:
    TOLD.clear()


def _run(app: Any, on: date, bank: str = "JNRCB") -> list[Escalation]:
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        inst = unit.session.execute(sa.select(Institution).where(Institution.code == bank)).scalar_one()
        done = escalate(unit, runtime, inst, on)
        unit.commit()
    return done


def _task(app: Any, task_id: int) -> tuple[int, str | None, list[tuple[str, int]]]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        s = unit.session
        task = s.get(WarningTask, task_id)
        assert task is not None
        who = s.get(User, task.escalated_to).username if task.escalated_to else None  # type: ignore[union-attr]
        events = [(k, lv) for k, lv in s.execute(sa.select(TaskEvent.kind, TaskEvent.level).where(
            TaskEvent.task_id == task_id).order_by(TaskEvent.id)).all()]
        return task.escalation_level, who, events


def test_levels_count_working_days_across_national_day_and_run_once(nongxin_app: Any, nongxin_demo: Any,
                                                                     nongxin_enable: Any,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions, write=False) as unit:
        calendar = runtime.calendar.get(unit.session)
        # ten working days after 30 September 2025 is 21 October (weekends only would say 14 October)
        assert calendar.add_workdays(DUE, 10).day == date(2025, 10, 21)
    nongxin_enable("warning_listener", "JNRCB")
    nongxin_enable("warning_loud", "JNRCB")  # fails on every call: logged, never undoes an escalation
    loan = open_test_loan(nongxin_app)
    _, task = open_test_warning(nongxin_app, loan, colour="yellow", first_seen=date(2025, 9, 16), due_on=DUE)
    _, red = open_test_warning(nongxin_app, loan, colour="red", rule_code="PROV-PL-001",
                               first_seen=date(2025, 9, 25), due_on=date(2025, 10, 20))

    assert _run(nongxin_app, DUE) == []  # due today: not yet overdue
    assert _task(nongxin_app, task)[0] == 0

    done = _run(nongxin_app, date(2025, 10, 1))
    assert [(e.task_id, e.level, e.level_name, e.escalated_to) for e in done] == [
        (task, 1, "branch_head", "jinan.approver")]
    assert _task(nongxin_app, task) == (1, "jinan.approver", [("opened", 0), ("escalated", 1)])
    assert TOLD == [("escalation", "JNRCB-LX", {"task_id": task, "warning_id": done[0].warning_id, "loan_no": loan,
                                                "level": 1, "level_name": "branch_head",
                                                "escalated_to": "jinan.approver"})]
    assert "warning_loud" in caplog.text and "pager gateway down" in caplog.text  # skipped and logged

    assert _run(nongxin_app, date(2025, 10, 1)) == []  # idempotent: the same day again changes nothing
    assert _run(nongxin_app, date(2025, 10, 15)) == []  # still within the ten working days of the holiday
    assert _task(nongxin_app, task) == (1, "jinan.approver", [("opened", 0), ("escalated", 1)])
    assert len(TOLD) == 1

    done = _run(nongxin_app, date(2025, 10, 22))
    assert sorted((e.task_id, e.level, e.escalated_to) for e in done) == sorted([
        (task, 2, "jinan.postloan"), (red, 1, "jinan.approver")])
    assert _task(nongxin_app, task) == (2, "jinan.postloan", [("opened", 0), ("escalated", 1), ("escalated", 2)])
    assert [(e.task_id, e.level) for e in _run(nongxin_app, date(2025, 12, 31))] == [(red, 2)]
    assert _task(nongxin_app, task)[0] == 2  # the risk department is the last level
    assert len(TOLD) == 4


def test_a_task_skipping_a_level_jumps_straight_to_the_risk_department(nongxin_app: Any, nongxin_demo: Any) -> None:
    loan = open_test_loan(nongxin_app)
    _, task = open_test_warning(nongxin_app, loan, colour="red", first_seen=date(2025, 9, 1), due_on=date(2025, 9, 4))
    done = _run(nongxin_app, date(2025, 11, 3))
    assert [(e.level, e.escalated_to) for e in done] == [(2, "jinan.postloan")]
    assert _task(nongxin_app, task)[2] == [("opened", 0), ("escalated", 2)]


def test_only_the_banks_own_tasks_and_not_where_the_plugin_is_disabled(nongxin_app: Any, nongxin_demo: Any) -> None:
    jn = open_test_loan(nongxin_app)
    ly = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    _, jn_task = open_test_warning(nongxin_app, jn, first_seen=date(2025, 9, 16), due_on=DUE)
    _, ly_task = open_test_warning(nongxin_app, ly, first_seen=date(2025, 9, 16), due_on=DUE, assigned_to="linyi.cm")
    done = _run(nongxin_app, date(2025, 10, 9), bank="LYRCB")
    assert [(e.task_id, e.level) for e in done] == [(ly_task, 1)]
    assert _task(nongxin_app, jn_task)[0] == 0
    assert TOLD == []  # the listener is not enabled at Linyi (nor anywhere here)
