"""Automatic valuation through ``nongxin_value_collateral``: a valuer that fails, overruns or
answers nonsense writes nothing and the reason is reported; a valuer disabled at the item's
institution never runs; batch revaluation values exactly the due items, once."""

from __future__ import annotations

import dataclasses
import time
from datetime import date, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.collateral.models import CollateralItem, CollateralValuation
from nongxin.core.collateral.revalue import HOOK, auto_value, revalue_due
from nongxin.core.config import Settings
from nongxin.core.db import UnitOfWork
from nongxin.core.testing import open_test_item
from nongxin.sdk import PluginInfo, PluginKind, Valuation, hookimpl

D = Decimal
#: What the test valuer does next: ok, raise, sleep, not_valuation, float, zero, future, method, none.
MODE = {"mode": "ok"}
CALLS: list[str] = []


@hookimpl
def _value(collateral: Any, ctx: Any) -> Any:
    CALLS.append(collateral.collateral_id)
    mode, day = MODE["mode"], ctx.business_date
    if mode == "raise":
        raise ConnectionError("index service unreachable")
    if mode == "sleep":
        time.sleep(1.5)
    if mode == "not_valuation":
        return 123456.78
    if mode == "float":
        return Valuation(123456.78, "index", "x", day)  # type: ignore[arg-type]
    if mode == "zero":
        return Valuation(D("0.00"), "index", "x", day)
    if mode == "future":
        return Valuation(D("400000.00"), "index", "x", day + timedelta(days=1))
    if mode == "method":
        return Valuation(D("400000.00"), "face_value", "x", day)
    if mode == "none":
        return None
    return Valuation(D("400000.00"), "index", "x", day)


FLAKY = ModuleType("flaky_valuer")
FLAKY.PLUGIN = PluginInfo(name="flaky_valuer", version="0.1.0", kind=PluginKind.VALUATION)  # type: ignore[attr-defined]
FLAKY.nongxin_value_collateral = _value  # type: ignore[attr-defined]


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [FLAKY]


@pytest.fixture
def nongxin_settings(nongxin_settings: Settings) -> Settings:
    return dataclasses.replace(nongxin_settings, valuation_timeout_seconds=1)


@pytest.fixture(autouse=True)
def _reset() -> None:
    MODE["mode"] = "ok"
    CALLS.clear()


def _valuations(app: Any, item_id: int) -> list[CollateralValuation]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        rows = unit.session.execute(sa.select(CollateralValuation).where(CollateralValuation.item_id == item_id)
                                    .order_by(CollateralValuation.id)).scalars().all()
        unit.session.expunge_all()
        return list(rows)


def _auto(app: Any, item_id: int) -> Any:
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        item = unit.session.get(CollateralItem, item_id)
        outcome = auto_value(unit, runtime, item, runtime.clock.business_date(), "tester")
        unit.commit()
    return outcome


def test_the_valuation_timeout_is_its_own_setting(nongxin_app: Any) -> None:
    assert Settings.from_env({"NONGXIN_VALUATION_TIMEOUT_SECONDS": "3"}).valuation_timeout_seconds == 3
    timeouts = nongxin_app.extensions["nongxin"].plugins.host.timeouts
    assert timeouts[HOOK] == 1.0 and timeouts["nongxin_bureau_query"] == 10.0


def test_an_answer_is_written_as_a_plugin_valuation_and_audited(nongxin_app: Any, nongxin_enable: Any) -> None:
    nongxin_enable("flaky_valuer", "JNRCB")
    item = open_test_item(nongxin_app, value="500000.00", valued_on=date(2025, 1, 2))
    outcome = _auto(nongxin_app, item)
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    assert outcome.valued and outcome.plugin == "flaky_valuer" and outcome.value == D("400000.00")
    latest = _valuations(nongxin_app, item)[-1]
    assert (latest.id, latest.value, latest.method, latest.valuer_kind, latest.valuer, latest.valued_on) == (
        outcome.valuation_id, D("400000.00"), "index", "plugin", "flaky_valuer", today)
    assert latest.recorded_by == "tester"
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "collateral.value", AuditEntry.actor == "tester")).scalar_one() == 1


@pytest.mark.parametrize("mode, status, reason", [
    ("raise", "failed", "ConnectionError: index service unreachable"),
    ("sleep", "failed", "timed out after 1 s"),
    ("not_valuation", "failed", "returned float, not a Valuation"),
    ("float", "failed", "answered a value of type float"),
    ("zero", "failed", "must be a positive amount"),
    ("future", "failed", "after the business date"),
    ("method", "failed", "answered method 'face_value', which a real_estate does not allow"),
    ("none", "no_answer", "no valuer plugin enabled at JNRCB-LX valued this real_estate"),
])
def test_a_failing_or_silent_valuer_writes_nothing_and_says_why(
        nongxin_app: Any, nongxin_enable: Any, caplog: pytest.LogCaptureFixture, mode: str, status: str,
        reason: str) -> None:
    nongxin_enable("flaky_valuer", "JNRCB")
    item = open_test_item(nongxin_app)
    before = _valuations(nongxin_app, item)
    MODE["mode"] = mode
    outcome = _auto(nongxin_app, item)
    assert (outcome.status, outcome.valuation_id) == (status, None)
    assert reason in outcome.reason
    assert [v.id for v in _valuations(nongxin_app, item)] == [v.id for v in before]
    assert reason in caplog.text
    MODE["mode"] = "ok"  # the core stayed up: the next call values
    if mode != "sleep":  # (the breaker is still closed: one failure is below the threshold)
        assert _auto(nongxin_app, item).valued


def test_a_deposit_valued_above_its_balance_is_refused(nongxin_app: Any, nongxin_enable: Any) -> None:
    nongxin_enable("flaky_valuer", "JNRCB")
    MODE["mode"] = "method"  # face_value 400,000 for a deposit whose balance is 200,000
    item = open_test_item(nongxin_app, kind="deposit", value="200000.00")
    outcome = _auto(nongxin_app, item)
    assert outcome.status == "failed" and "above the deposit's balance" in outcome.reason
    assert len(_valuations(nongxin_app, item)) == 1


def test_a_valuer_not_enabled_at_the_items_institution_never_runs(nongxin_app: Any, nongxin_enable: Any) -> None:
    nongxin_enable("flaky_valuer", "LYRCB")
    item = open_test_item(nongxin_app, place="JNRCB-LX")
    outcome = _auto(nongxin_app, item)
    assert outcome.status == "no_answer" and CALLS == []
    assert len(_valuations(nongxin_app, item)) == 1


def test_batch_revaluation_values_exactly_the_due_items_once(nongxin_app: Any, nongxin_enable: Any) -> None:
    nongxin_enable("collateral_sim", "JNRCB")
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    due = {open_test_item(nongxin_app, value="1000000.00", valued_on=ago(365), valid_until=ago(0)): D("970000.00"),
           open_test_item(nongxin_app, kind="vehicle", value="200000.00", valued_on=ago(181)): D("170000.00"),
           open_test_item(nongxin_app, kind="deposit", value="200000.00", valued_on=ago(400)): D("200000.00")}
    not_due = [open_test_item(nongxin_app, valued_on=ago(364)), open_test_item(nongxin_app, kind="vehicle",
                                                                               valued_on=ago(179)),
               open_test_item(nongxin_app, place="LYRCB", valued_on=ago(500))]  # not enabled there: no_answer
    guarantee = open_test_item(nongxin_app, kind="guarantee_person", value="100000.00", valued_on=ago(366))
    seen: list[tuple[int, int]] = []
    report = revalue_due(runtime, today, institution="JNRCB", progress=lambda done, total: seen.append((done, total)))
    for item, value in due.items():
        latest = _valuations(nongxin_app, item)[-1]
        assert (latest.value, latest.valued_on, latest.valuer_kind, latest.valuer) == (value, today, "plugin",
                                                                                        "collateral_sim")
    for item in not_due:
        assert len(_valuations(nongxin_app, item)) == 1
    assert [p.item_id for p in report.problems if p.item_id in (guarantee, *not_due)] == [guarantee]
    assert report.due == report.valued + report.no_answer + report.failed >= 4
    assert report.valued >= 3 and not report.ok
    assert seen[0] == (0, report.due) and seen[-1] == (report.due, report.due) and len(seen) == report.due + 1
    again = revalue_due(runtime, today, institution="JNRCB")
    assert again.valued == 0 and again.due == report.no_answer + report.failed
    assert all(len(_valuations(nongxin_app, item)) == 2 for item in due)


def test_batch_revaluation_reads_the_interval_set_wise(nongxin_app: Any, nongxin_enable: Any) -> None:
    """One query per county bank and kind, however many items are due: never one per item."""
    from sqlalchemy import event

    from nongxin.core.collateral.revalue import due_items
    from nongxin.core.institutions import services as institutions

    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    ids = [open_test_item(nongxin_app, kind="vehicle", valued_on=today - timedelta(days=200)) for _ in range(6)]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    engine = runtime.engine
    with UnitOfWork(runtime.sessions, write=False) as unit:
        bank = institutions.get_by_code(unit.session, "JNRCB")
        event.listen(engine, "before_cursor_execute", seen)
        try:
            found = due_items(unit.session, bank, "vehicle", today)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert set(ids) <= set(found)
    assert sum("collateral_items" in s for s in statements) == 1
