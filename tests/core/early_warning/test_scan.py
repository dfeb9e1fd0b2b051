"""The nightly scan: warnings new, updated and reopened, idempotent per business date; tasks with
working-day deadlines; pledge warnings from the collateral stage; county rule packs per bank; an
unusable rule book fails closed; ``nongxin_on_warning`` only after the commit."""

from __future__ import annotations

from datetime import date, timedelta
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import scan
from nongxin.core.early_warning.frames import post_loan_frame
from nongxin.core.early_warning.models import TaskEvent, Warning, WarningStatus, WarningTask
from nongxin.core.errors import NotFound
from nongxin.core.institutions.models import Institution
from nongxin.core.testing import make_overdue, open_test_item, open_test_line, open_test_loan
from nongxin.sdk import PluginInfo, PluginKind, hookimpl
from nongxin.sdk.rules import Rule

SEEN: dict[str, Any] = {}


def _module(name: str, kind: PluginKind, **hooks: Any) -> ModuleType:
    mod = ModuleType(name)
    mod.PLUGIN = PluginInfo(name=name, version="1.0.0", kind=kind)  # type: ignore[attr-defined]
    mod.__dict__.update(hooks)
    return mod


@hookimpl
def county_rules(ctx: Any) -> Any:
    return [Rule(code="JN-PL-001", name="大额余额", stage="post_loan", expression="outstanding > 10000",
                 outcome="yellow", level="county", owner="JNRCB",
                 reason="余额超过1万元")]


@hookimpl
def failing_rules(ctx: Any) -> Any:
    raise RuntimeError("rules server down")


@hookimpl
def heard(event: Any, ctx: Any) -> None:
    with SEEN["engine"].connect() as conn:  # another connection: sees only what is committed
        committed = conn.execute(sa.text("SELECT count(*) FROM warnings WHERE loan_no = :n"),
                                 {"n": event.subject_id}).scalar_one()
    SEEN.setdefault("events", []).append((event, committed))


@hookimpl
def loud(event: Any, ctx: Any) -> None:
    raise RuntimeError("SMS gateway down")


COUNTY = _module("jn_post_loan_rules", PluginKind.RULES, nongxin_rules=county_rules)
FAILING = _module("failing_post_loan_rules", PluginKind.RULES, nongxin_rules=failing_rules)
LISTENER = _module("warning_listener", PluginKind.CONNECTOR, nongxin_on_warning=heard)
LOUD = _module("warning_loud", PluginKind.CONNECTOR, nongxin_on_warning=loud)


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [COUNTY, FAILING, LOUD, LISTENER]


@pytest.fixture
def seen(nongxin_app: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setitem(SEEN, "engine", nongxin_app.extensions["nongxin"].engine)
    monkeypatch.setitem(SEEN, "events", [])
    return SEEN


def _rows(app: Any) -> dict[str, Any]:
    """Everything the scan writes, to compare two runs."""
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        s = unit.session
        return {
            "warnings": sorted((w.subject_kind, w.subject_id, w.rule_code, w.colour, w.status.value, w.first_seen,
                                w.last_seen, w.reopened) for w in s.execute(sa.select(Warning)).scalars()),
            "tasks": sorted((t.warning_id, t.assigned_to, t.due_on, t.colour) for t in s.execute(
                sa.select(WarningTask)).scalars()),
            "events": s.execute(sa.select(sa.func.count()).select_from(TaskEvent)).scalar_one(),
        }


def _warnings(app: Any, loan_no: str) -> dict[str, Warning]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        found = unit.session.execute(sa.select(Warning).where(Warning.loan_no == loan_no)).scalars().all()
        unit.session.expunge_all()
        return {w.rule_code: w for w in found}


def test_the_frame_carries_every_post_loan_fact(nongxin_app: Any, nongxin_demo: Any) -> None:
    from nongxin.sdk.facts import POST_LOAN

    runtime = nongxin_app.extensions["nongxin"]
    loan_no = open_test_loan(nongxin_app, amount="12000.00")
    make_overdue(nongxin_app, loan_no, days=40, principal="1000.00", interest="40.00")
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions, write=False) as unit:
        bank = unit.session.execute(sa.select(Institution).where(Institution.code == "JNRCB")).scalar_one()
        frame = post_loan_frame(unit.session, runtime.engine, bank, today, today)
        assert set(POST_LOAN) <= set(frame.columns)
        row = frame[frame["loan_no"] == loan_no].iloc[0]
        assert row["overdue_amount"] == 104000 and row["outstanding"] == 1200000  # fen
        assert row["customer_kind"] == "individual" and row["five_tier"] == "normal" and not row["restructured"]
        assert row["branch"] == "JNRCB-LX" and row["collateral_value"] == 0 and row["manager_id"] > 0
        with pytest.raises(NotFound) as caught:
            post_loan_frame(unit.session, runtime.engine, bank, today - timedelta(days=3), today)
        assert (today - timedelta(days=3)).isoformat() in str(caught.value)


def test_new_updated_reopened_and_idempotent(nongxin_app: Any, nongxin_demo: Any, seen: dict[str, Any]) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    late = open_test_loan(nongxin_app)
    clean = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, late, days=40)
    first = scan.scan(runtime)
    jn = next(b for b in first.banks if b.county_bank == "JNRCB")
    assert not first.failed and jn.new == 1 and jn.tasks_opened == 1 and jn.loans >= 2
    w = _warnings(nongxin_app, late)["PROV-PL-002"]
    assert (w.colour, w.status, w.first_seen, w.last_seen, w.rule_version) == ("orange", WarningStatus.OPEN,
                                                                               today, today, 1)
    assert w.facts == {"overdue_days": 40} and _warnings(nongxin_app, clean) == {}
    before = _rows(nongxin_app)
    events = len(seen["events"])
    again = scan.scan(runtime)
    assert _rows(nongxin_app) == before and len(seen["events"]) == events  # idempotent
    rerun = next(b for b in again.banks if b.county_bank == "JNRCB")
    assert (rerun.hits, rerun.new, rerun.updated, rerun.reopened, rerun.tasks_opened) == (1, 0, 0, 0, 0)

    tomorrow = runtime.as_of(today + timedelta(days=1))
    updated = scan.scan(tomorrow, institution="JNRCB")
    assert updated.banks[0].updated == 1 and updated.banks[0].new == 0
    assert _warnings(nongxin_app, late)["PROV-PL-002"].last_seen == today + timedelta(days=1)

    with UnitOfWork(runtime.sessions) as unit:  # the task closed the warning on the second day
        unit.session.execute(sa.update(Warning).values(status=WarningStatus.CLOSED,
                                                        closed_on=today + timedelta(days=1)))
        unit.commit()
    same_day = scan.scan(tomorrow, institution="JNRCB")
    assert same_day.banks[0].reopened == 0 and _warnings(nongxin_app, late)["PROV-PL-002"].status is WarningStatus.CLOSED
    later = scan.scan(runtime.as_of(today + timedelta(days=2)), institution="JNRCB")
    assert later.banks[0].reopened == 1 and later.banks[0].tasks_opened == 1
    w = _warnings(nongxin_app, late)["PROV-PL-002"]
    assert (w.status, w.reopened, w.first_seen, w.last_seen) == (WarningStatus.OPEN, 1, today,
                                                                 today + timedelta(days=2))
    with UnitOfWork(runtime.sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(Warning).where(
            Warning.loan_no == late)).scalar_one() == 1  # one row per (loan, rule), for ever
        tasks = unit.session.execute(sa.select(WarningTask).where(WarningTask.warning_id == w.id)).scalars().all()
        assert len(tasks) == 2
        opened = unit.session.execute(sa.select(TaskEvent).where(TaskEvent.kind == "opened")).scalars().all()
        assert len(opened) == 2 and {e.actor for e in opened} == {scan.ACTOR}
        audit = unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "early_warning.scan",
                                                                 AuditEntry.target == "institution:JNRCB")).scalars().all()
        assert len(audit) == 5 and audit[0].after["new"] == 1


def test_tasks_go_to_the_manager_due_in_working_days_across_national_day(nongxin_app: Any,
                                                                          nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"].as_of(date(2026, 9, 29))
    red = open_test_loan(nongxin_app)
    yellow = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, red, days=100)
    make_overdue(nongxin_app, yellow, days=5)
    report = scan.scan(runtime, institution="JNRCB")
    assert report.banks[0].tasks_opened == 2 and not report.deadline_estimated
    with UnitOfWork(runtime.sessions, write=False) as unit:
        manager = unit.session.execute(sa.text("SELECT id FROM users WHERE username = 'jinan.cm'")).scalar_one()
        due = {t.colour: (t.due_on, t.assigned_to, t.due_estimated) for t in unit.session.execute(
            sa.select(WarningTask)).scalars()}
    # 2026: 1-7 October off (National Day + Mid-Autumn), Saturday 10 October worked
    assert due["red"] == (date(2026, 10, 9), manager, False)  # 9-30, 10-8, 10-9 (not 10-2)
    assert due["yellow"][0] == date(2026, 10, 19)  # ..., 10-10 (a Saturday), 10-12 ... 10-16, 10-19


def test_a_county_rule_pack_counts_at_its_own_bank_only(nongxin_app: Any, nongxin_demo: Any,
                                                        nongxin_enable: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    jinan = open_test_loan(nongxin_app, amount="50000.00")
    linyi = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="50000.00", name="李临沂")
    nongxin_enable("jn_post_loan_rules", "JNRCB")
    report = scan.scan(runtime)
    assert not report.failed
    assert set(_warnings(nongxin_app, jinan)) == {"JN-PL-001"}
    assert _warnings(nongxin_app, jinan)["JN-PL-001"].facts == {"outstanding": "50000.00"}
    assert _warnings(nongxin_app, linyi) == {}


def test_an_unusable_rule_book_fails_closed_at_its_bank_only(nongxin_app: Any, nongxin_demo: Any,
                                                             nongxin_enable: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    jinan = open_test_loan(nongxin_app)
    linyi = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", name="李临沂")
    make_overdue(nongxin_app, jinan, days=40)
    make_overdue(nongxin_app, linyi, days=40)
    scan.scan(runtime, institution="JNRCB")
    with UnitOfWork(runtime.sessions) as unit:
        unit.session.execute(sa.update(Warning).values(status=WarningStatus.CLOSED, closed_on=date(2000, 1, 1)))
        unit.commit()
    nongxin_enable("failing_post_loan_rules", "JNRCB")
    report = scan.scan(runtime)
    assert report.failed
    jn = next(b for b in report.banks if b.county_bank == "JNRCB")
    assert "rules server down" in jn.failures[0] and jn.new == jn.reopened == 0
    assert _warnings(nongxin_app, jinan)["PROV-PL-002"].status is WarningStatus.CLOSED  # nothing reopened
    assert set(_warnings(nongxin_app, linyi)) == {"PROV-PL-002"}  # the other bank went on


def test_collateral_hits_become_pledge_warnings(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    line = open_test_line(nongxin_app, amount="900000.00")
    open_test_item(nongxin_app, kind="deposit", value="100000.00", line_id=line,
                   valued_on=runtime.clock.business_date() - timedelta(days=400),
                   valid_until=runtime.clock.business_date() + timedelta(days=10))
    report = scan.scan(runtime, institution="JNRCB")
    assert report.banks[0].positions == 1 and report.banks[0].new == 1
    with UnitOfWork(runtime.sessions, write=False) as unit:
        w = unit.session.execute(sa.select(Warning).where(Warning.subject_kind == "pledge")).scalar_one()
        task = unit.session.execute(sa.select(WarningTask).where(WarningTask.warning_id == w.id)).scalar_one()
        manager = unit.session.execute(sa.text("SELECT id FROM users WHERE username = 'jinan.cm'")).scalar_one()
    assert (w.rule_code, w.colour, w.stage, w.loan_no) == ("PROV-COL-002", "orange", "collateral", None)
    assert w.line_number and w.facts["valuation_age_days"] == 400 and task.assigned_to == manager


def test_on_warning_after_commit_where_enabled_and_a_raising_plugin_is_skipped(
        nongxin_app: Any, nongxin_demo: Any, nongxin_enable: Any, seen: dict[str, Any]) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    jinan = open_test_loan(nongxin_app)
    linyi = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", name="李临沂")
    make_overdue(nongxin_app, jinan, days=100)
    make_overdue(nongxin_app, linyi, days=100)
    nongxin_enable("warning_loud", "JNRCB")
    nongxin_enable("warning_listener", "JNRCB")
    report = scan.scan(runtime)
    assert not report.failed
    assert [(e.kind, e.subject_id, e.institution_code, committed) for e, committed in seen["events"]] == [
        ("warning", jinan, "JNRCB-LX", 1)]  # Linyi has the listener disabled; sent once committed
    event = seen["events"][0][0]
    assert event.details["grade"] == "red" and event.details["rules"] == ["PROV-PL-001"]


def test_two_scans_of_one_bank_at_once_wait_for_each_other(nongxin_app: Any, nongxin_demo: Any) -> None:
    import threading

    runtime = nongxin_app.extensions["nongxin"]
    for _ in range(3):
        make_overdue(nongxin_app, open_test_loan(nongxin_app), days=40)
    reports: list[Any] = []
    threads = [threading.Thread(target=lambda: reports.append(scan.scan(runtime, institution="JNRCB")))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.banks[0].failures for r in reports] == [[], []]
    assert sorted(r.banks[0].new for r in reports) == [0, 3]  # the second saw the first's warnings
    assert len(_rows(nongxin_app)["tasks"]) == 3


def test_the_frame_joins_collateral_class_court_lists_and_restructuring(nongxin_app: Any, nongxin_demo: Any) -> None:
    from nongxin.core.credit.models import Loan
    from nongxin.core.early_warning.models import LoanClass, WatchlistEntry
    from tests.core.collateral.test_scan import draw

    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    line = open_test_line(nongxin_app, amount="900000.00")
    open_test_item(nongxin_app, kind="deposit", value="100000.00", line_id=line)
    open_test_item(nongxin_app, kind="deposit", value="50000.00", line_id=line)
    draw(nongxin_app, line, "30000.00")
    plain = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, plain, days=3, restructured_on=today - timedelta(days=30))
    with UnitOfWork(runtime.sessions) as unit:
        s = unit.session
        bank = s.execute(sa.select(Institution).where(Institution.code == "JNRCB")).scalar_one()
        secured = s.execute(sa.select(Loan).where(Loan.credit_line_id == line)).scalar_one()
        other = s.execute(sa.select(Loan).where(Loan.loan_no == plain)).scalar_one()
        s.add(LoanClass(loan_id=other.id, county_bank_id=bank.id, institution_id=other.institution_id,
                        tier="substandard", floor="substandard", since=today, as_of=today))
        s.add(WatchlistEntry(county_bank_id=None, kind="dishonest_debtor", id_number=other.borrower_id_number,
                             listed_on=today - timedelta(days=1), source="test", loaded_by="test"))
        s.add(WatchlistEntry(county_bank_id=bank.id, kind="enforcement", id_number=other.borrower_id_number,
                             listed_on=today + timedelta(days=1), source="test", loaded_by="test"))  # not yet
        unit.commit()
        secured_no = secured.loan_no
        frame = post_loan_frame(s, runtime.engine, bank, today, today).set_index("loan_no")
    assert frame.loc[secured_no, "collateral_value"] == 15000000  # both deposits, fen
    assert not frame.loc[secured_no, "court_dishonest_debtor"] and frame.loc[secured_no, "five_tier"] == "normal"
    row = frame.loc[plain]
    assert row["collateral_value"] == 0 and row["five_tier"] == "substandard" and row["restructured"]
    assert row["court_dishonest_debtor"] and not row["court_enforcement"] and not row["court_consumption_restriction"]


def test_a_closed_date_is_scanned_from_its_snapshot(nongxin_app: Any, nongxin_demo: Any) -> None:
    from nongxin.core.jobs.close_day import run

    runtime = nongxin_app.extensions["nongxin"]
    closed = runtime.clock.business_date()
    loan_no = open_test_loan(nongxin_app, start_on=closed)
    run(runtime, to=closed, progress=False)
    assert runtime.clock.business_date() == closed + timedelta(days=1)
    make_overdue(nongxin_app, loan_no, days=40)  # on the live books, after the close
    report = scan.scan(runtime, as_of=closed, institution="JNRCB")
    assert report.banks[0].loans >= 1 and report.banks[0].hits == 0 and not report.failed  # the snapshot: clean
    assert scan.scan(runtime, institution="JNRCB").banks[0].new == 1  # the live books of the new date


def test_bureau_facts_join_as_integer_fen_never_float_and_unknown_where_no_report(nongxin_app: Any,
                                                                                   nongxin_demo: Any) -> None:
    from nongxin.core.bureau.models import BureauReportCache
    from nongxin.core.credit.models import Loan
    from nongxin.plugins.bureau_sim import simulate_report
    from nongxin.sdk.bureau import BureauSubject, to_dict
    from nongxin.sdk.facts import POST_LOAN
    from nongxin.sdk.rules import FieldType

    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with_report, without = open_test_loan(nongxin_app), open_test_loan(nongxin_app)
    with UnitOfWork(runtime.sessions) as unit:
        s = unit.session
        bank = s.execute(sa.select(Institution).where(Institution.code == "JNRCB")).scalar_one()
        number = s.execute(sa.select(Loan.borrower_id_number).where(Loan.loan_no == with_report)).scalar_one()
        report = simulate_report(BureauSubject("resident_id", number, "李借款"), today)
        s.add(BureauReportCache(county_bank_id=bank.id, id_number=number, report_id=report.report_id,
                                provider=report.provider, report=to_dict(report)))
        unit.commit()
        frame = post_loan_frame(s, runtime.engine, bank, today, today).set_index("loan_no")
    bureau = [name for name in POST_LOAN if name.startswith("bureau_")]
    for name in bureau:
        assert frame[name].dtype.kind != "f", f"{name} read as float"
        assert pd.isna(frame.loc[without, name]), name  # no report: unknown
    money = [n for n in bureau if POST_LOAN[n].type is FieldType.DECIMAL and n != "bureau_card_utilization"]
    assert all(not pd.isna(frame.loc[with_report, n]) for n in money)
