"""Post-loan pages and the dashboard: scopes (a Linyi user never counts Jinan's warnings), roles,
the figures equal the rows made, and the forms do what the API does (tasks closed or reassigned,
audited; refused forms write nothing)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.auth import Principal
from nongxin.core.console import figures
from nongxin.core.credit.models import Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.models import NplRatio, TaskStatus, Warning, WarningStatus, WarningTask
from nongxin.core.errors import Forbidden
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import User
from nongxin.core.testing import manual_review_application, open_test_loan, open_test_warning


def _today(app: Any) -> Any:
    return app.extensions["nongxin"].clock.business_date()


def _who(app: Any, username: str) -> Principal:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        user = unit.session.execute(sa.select(User).where(User.username == username)).scalar_one()
        where = unit.session.get(institutions.Institution, user.institution_id)
        return Principal(user.username, user.role, user.id, where.code, where.path)


def _warnings(app: Any) -> dict[str, Any]:
    """Jinan: two yellow (one overdue task) and one red; Linyi: one orange."""
    today = _today(app)
    jn = open_test_loan(app, place="JNRCB-LX", manager="jinan.cm")
    jn2 = open_test_loan(app, place="JNRCB-ZQ", manager="jinan.cm")
    ly = open_test_loan(app, place="LYRCB-LS", manager="linyi.cm")
    made = {
        "jn_yellow_late": open_test_warning(app, jn, rule_code="PL-A", colour="yellow",
                                            first_seen=today - timedelta(days=12), due_on=today - timedelta(days=2)),
        "jn_yellow": open_test_warning(app, jn2, rule_code="PL-B", colour="yellow"),
        "jn_red": open_test_warning(app, jn, rule_code="PL-C", colour="red", first_seen=today - timedelta(days=3)),
        "ly_orange": open_test_warning(app, ly, rule_code="PL-D", colour="orange", assigned_to="linyi.cm"),
    }
    return made


def _chart(page: str, name: str) -> Any:
    found = re.search(rf'<script type="application/json" id="data-{name}">(.*?)</script>', page, re.S)
    return json.loads(found.group(1)) if found else None


# -- the figures (services) ------------------------------------------------------------------

def test_warning_figures_count_the_rows_made_and_only_the_callers_subtree(nongxin_app, nongxin_demo):
    _warnings(nongxin_app)
    today = _today(nongxin_app)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        province = figures.warnings_by_bank_and_colour(unit, _who(nongxin_app, "province.admin"))
        assert {b.code: b.counts for b in province} == {"JNRCB": {"yellow": 2, "red": 1}, "LYRCB": {"orange": 1}}
        linyi = figures.warnings_by_bank_and_colour(unit, _who(nongxin_app, "linyi.postloan"))
        assert [(b.code, b.counts) for b in linyi] == [("LYRCB", {"orange": 1})]
        branch = figures.warnings_by_bank_and_colour(unit, _who(nongxin_app, "jinan.cm"))  # 历下 only
        assert [(b.code, b.counts) for b in branch] == [("JNRCB", {"yellow": 1, "red": 1})]

        overdue = figures.overdue_tasks_by_bank(unit, _who(nongxin_app, "province.admin"), today)
        assert {b.code: b.counts for b in overdue} == {"JNRCB": {"open": 3, "overdue": 1},
                                                      "LYRCB": {"open": 1, "overdue": 0}}
        trend = dict(figures.warning_trend(unit, _who(nongxin_app, "jinan.postloan"), today))
        assert len(trend) == figures.TREND_DAYS and sum(trend.values()) == 3
        assert trend[today] == 1 and trend[today - timedelta(days=3)] == 1 and trend[today - timedelta(days=12)] == 1
        assert sum(dict(figures.warning_trend(unit, _who(nongxin_app, "linyi.postloan"), today)).values()) == 1


def test_closed_warnings_and_tasks_are_not_counted_open(nongxin_app, nongxin_demo):
    made = _warnings(nongxin_app)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        unit.session.get(Warning, made["jn_red"][0]).status = WarningStatus.CLOSED
        unit.session.get(WarningTask, made["jn_red"][1]).status = TaskStatus.CLOSED
        unit.commit()
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        jinan = _who(nongxin_app, "jinan.admin")
        assert [b.counts for b in figures.warnings_by_bank_and_colour(unit, jinan)] == [{"yellow": 2}]
        assert [b.counts for b in figures.overdue_tasks_by_bank(unit, jinan, _today(nongxin_app))] == \
            [{"open": 2, "overdue": 1}]


def _decision(app: Any, application_id: int, outcome: str, category: str | None, day: Any) -> None:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        unit.session.add(Decision(application_id=application_id, outcome=outcome, refusal_category=category,
                                  business_date=day, decided_by="test", record={}))
        unit.commit()


def test_decision_figures_count_outcomes_and_categories_of_the_last_30_days_in_the_subtree(nongxin_app, nongxin_demo):
    today = _today(nongxin_app)
    for place, outcome, category, age in [("JNRCB-LX", "approved", None, 0),
                                          ("JNRCB-LX", "rejected", "multi_lending", 1),
                                          ("JNRCB-ZQ", "rejected", "multi_lending", 29),
                                          ("JNRCB-LX", "rejected", "other", 30),  # too old
                                          ("LYRCB-LS", "rejected", "dishonest_debtor", 0)]:
        filer = "linyi.cm" if place.startswith("LY") else "jinan.cm"
        _decision(nongxin_app, manual_review_application(nongxin_app, place=place, filed_by=filer),
                  outcome, category, today - timedelta(days=age))
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert figures.decisions_by_outcome(unit, _who(nongxin_app, "jinan.params"), today) == [
            ("approved", None, 1), ("rejected", "multi_lending", 2)]
        assert figures.decisions_by_outcome(unit, _who(nongxin_app, "linyi.admin"), today) == [
            ("rejected", "dishonest_debtor", 1)]
        with pytest.raises(Forbidden):
            figures.decisions_by_outcome(unit, _who(nongxin_app, "jinan.pm"), today)


def _npl(app: Any, code: str, day: Any, loans: int, outstanding: str, npl: str) -> None:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        inst = institutions.get_by_code(unit.session, code)
        bank = institutions.county_bank_of(unit.session, inst)
        unit.session.add(NplRatio(business_date=day, institution_id=inst.id, county_bank_id=bank.id, loans=loans,
                                  outstanding=Decimal(outstanding), npl_outstanding=Decimal(npl), by_tier={}))
        unit.commit()


def test_npl_figures_are_the_latest_date_of_the_subtree(nongxin_app, nongxin_demo):
    today = _today(nongxin_app)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert figures.npl_latest(unit, _who(nongxin_app, "jinan.admin")) == (None, [])
    _npl(nongxin_app, "JNRCB", today - timedelta(days=1), 9, "900000.00", "90000.00")
    _npl(nongxin_app, "JNRCB", today, 10, "1000000.00", "25000.00")
    _npl(nongxin_app, "JNRCB-LX", today, 4, "400000.00", "25000.00")
    _npl(nongxin_app, "LYRCB", today, 5, "500000.00", "50000.00")
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        day, rows = figures.npl_latest(unit, _who(nongxin_app, "jinan.admin"))
        assert day == today
        assert [(r["institution"], r["ratio"], r["name"]) for r in rows] == [
            ("JNRCB", "0.025000", "济南农商银行"), ("JNRCB-LX", "0.062500", "历下支行")]
        with pytest.raises(Forbidden):
            figures.npl_latest(unit, _who(nongxin_app, "jinan.params"))


# -- the dashboard page ----------------------------------------------------------------------

def test_a_linyi_users_dashboard_never_counts_jinans_warnings(nongxin_app, nongxin_console):
    _warnings(nongxin_app)
    page = nongxin_console("linyi.postloan").get("/console/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    by_bank = _chart(html, "by-bank")
    assert by_bank["categories"] == ["临沂农商银行"]
    assert {s["name"]: s["data"] for s in by_bank["series"]} == {"黄色预警": [0], "橙色预警": [1], "红色预警": [0]}
    assert "济南" not in html and "JNRCB" not in html
    assert sum(_chart(html, "trend")["series"][0]["data"]) == 1


def test_the_dashboard_charts_and_tables_show_the_figures(nongxin_app, nongxin_console):
    _warnings(nongxin_app)
    _npl(nongxin_app, "JNRCB", _today(nongxin_app), 10, "1234567.80", "25000.00")
    html = nongxin_console("province.admin").get("/console/dashboard").get_data(as_text=True)
    assert _chart(html, "by-bank")["categories"] == ["济南农商银行", "临沂农商银行"]
    assert _chart(html, "overdue")["series"][1]["data"] == [1, 0]
    assert _chart(html, "npl")["series"][0]["data"] == ["2.03"]  # a decimal string, never a float
    assert "1,234,567.80" in html and "2.03%" in html
    assert 'src="/console/static/vendor/echarts/echarts.min.js"' in html
    # the decision chart: no decisions yet, so it says what to do instead of drawing nothing
    assert _chart(html, "decisions") is None and "没有审批决策" in html


@pytest.mark.parametrize("username, shown, hidden", [
    ("jinan.pm", ["stability"], ["warnings-by-bank", "npl", "decisions"]),  # scorecard.read only
    ("jinan.params", ["decisions", "stability"], ["warnings-by-bank", "npl"]),
    ("jinan.postloan", ["warnings-by-bank", "warning-trend", "tasks-overdue", "npl", "decisions"], ["stability"]),
    ("jinan.admin", ["warnings-by-bank", "npl", "decisions", "stability"], []),
])
def test_each_chart_only_for_roles_that_may_read_its_data(nongxin_console, username, shown, hidden):
    html = nongxin_console(username).get("/console/dashboard").get_data(as_text=True)
    for section in shown:
        assert f'id="{section}"' in html, section
    for section in hidden:
        assert f'id="{section}"' not in html, section


def test_the_menu_shows_the_warnings_page_only_to_warning_readers(nongxin_console):
    assert 'href="/console/warnings"' in nongxin_console("jinan.cm").get("/console/").get_data(as_text=True)
    home = nongxin_console("jinan.pm").get("/console/").get_data(as_text=True)
    assert 'href="/console/warnings"' not in home and 'href="/console/dashboard"' in home
    assert nongxin_console("jinan.pm").get("/console/warnings").status_code == 403


# -- the warnings pages ----------------------------------------------------------------------

def test_the_warnings_list_shows_the_subtree_with_tasks_deadlines_and_overdue_marks(nongxin_app, nongxin_console):
    made = _warnings(nongxin_app)
    html = nongxin_console("jinan.postloan").get("/console/warnings").get_data(as_text=True)
    assert html.count('<tr class="overdue">') == 1 and "已逾期" in html
    for key in ("jn_yellow_late", "jn_yellow", "jn_red"):
        assert f'/console/warnings/{made[key][0]}"' in html
    assert f'/console/warnings/{made["ly_orange"][0]}"' not in html
    red = nongxin_console("jinan.postloan").get("/console/warnings?colour=red").get_data(as_text=True)
    assert f'/console/warnings/{made["jn_red"][0]}"' in red and f'/console/warnings/{made["jn_yellow"][0]}"' not in red
    zq = nongxin_console("jinan.postloan").get("/console/warnings?institution=JNRCB-ZQ").get_data(as_text=True)
    assert f'/console/warnings/{made["jn_yellow"][0]}"' in zq and f'/console/warnings/{made["jn_red"][0]}"' not in zq


def test_an_escalated_task_says_who_must_act_now(nongxin_app, nongxin_console):
    loan = open_test_loan(nongxin_app, place="JNRCB-LX")
    warning_id, _ = open_test_warning(nongxin_app, loan, rule_code="PL-E", colour="orange", escalation_level=1)
    for path in ("/console/warnings", f"/console/warnings/{warning_id}"):
        assert "已升级：支行负责人" in nongxin_console("jinan.approver").get(path).get_data(as_text=True), path


@pytest.mark.parametrize("query, status, names", [
    ("colour=purple", 422, "colour"), ("status=maybe", 422, "status"), ("page=0", 422, "page"),
    ("page=x", 422, "page"), ("institution=LYRCB", 404, "institution"), ("institution=" + "J" * 65, 422, "institution"),
])
def test_bad_filters_are_a_page_naming_the_parameter(nongxin_console, query, status, names):
    resp = nongxin_console("jinan.postloan").get(f"/console/warnings?{query}")
    assert resp.status_code == status and names in resp.get_data(as_text=True)


def test_no_warnings_says_what_to_do_next(nongxin_console):
    html = nongxin_console("jinan.postloan").get("/console/warnings").get_data(as_text=True)
    assert "没有未关闭的预警" in html and "nongxin scan" in html


def test_another_banks_warning_is_the_404_page(nongxin_app, nongxin_console):
    made = _warnings(nongxin_app)
    assert nongxin_console("jinan.postloan").get(f"/console/warnings/{made['ly_orange'][0]}").status_code == 404
    assert nongxin_console("linyi.postloan").get(f"/console/warnings/{made['ly_orange'][0]}").status_code == 200


def _task(app: Any, task_id: int) -> WarningTask:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        task = unit.session.get(WarningTask, task_id)
        unit.session.expunge(task)
        return task


def _audited(app: Any, action: str, task_id: int) -> int:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return len(unit.session.execute(sa.select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.target == f"warning_task:{task_id}")).all())


def test_a_post_loan_checker_closes_a_task_through_the_form(nongxin_app, nongxin_console):
    made = _warnings(nongxin_app)
    warning_id, task_id = made["jn_yellow"]
    console = nongxin_console("jinan.postloan")
    page = console.get(f"/console/warnings/{warning_id}").get_data(as_text=True)
    assert f'action="/console/tasks/{task_id}/close"' in page and f'action="/console/tasks/{task_id}/reassign"' in page
    resp = console.post(f"/console/tasks/{task_id}/close",
                        data={"findings": "走访核实，借款人经营正常", "disposal": "monitor", "evidence": "DOC-1\n\nPHOTO-2"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/console/warnings/{warning_id}?done=closed")
    task = _task(nongxin_app, task_id)
    assert task.status == TaskStatus.CLOSED and task.closed_by == "jinan.postloan"
    assert task.evidence == ["DOC-1", "PHOTO-2"]
    assert _audited(nongxin_app, "warning.task.close", task_id) == 1
    shown = console.get(f"/console/warnings/{warning_id}?done=closed").get_data(as_text=True)
    assert "任务已关闭" in shown and "持续监控" in shown and 'action="/console/tasks/' not in shown


def test_a_refused_close_shows_the_reasons_beside_the_fields_and_writes_nothing(nongxin_app, nongxin_console):
    warning_id, task_id = _warnings(nongxin_app)["jn_yellow"]
    resp = nongxin_console("jinan.postloan").post(f"/console/tasks/{task_id}/close",
                                                  data={"findings": "  ", "disposal": "pray", "evidence": ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for field in ("findings", "disposal", "evidence"):
        assert re.search(rf'id="f-{field}[^"]*"[^>]*>.*?<small class="error"', html, re.S), field
    assert _task(nongxin_app, task_id).status == TaskStatus.OPEN
    assert _audited(nongxin_app, "warning.task.close", task_id) == 0


def test_a_customer_manager_closes_only_a_task_assigned_to_them(nongxin_app, nongxin_console):
    made = _warnings(nongxin_app)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        unit.session.get(WarningTask, made["jn_red"][1]).assigned_to = None
        unit.commit()
    resp = nongxin_console("jinan.cm").post(f"/console/tasks/{made['jn_red'][1]}/close",
                                            data={"findings": "核实", "disposal": "monitor", "evidence": "DOC-1"})
    assert resp.status_code == 403 and _task(nongxin_app, made["jn_red"][1]).status == TaskStatus.OPEN
    form = {"findings": "核实", "disposal": "monitor", "evidence": "DOC-1"}
    # 章丘支行's task is outside 历下's subtree, even though it is assigned to them
    outside = nongxin_console("jinan.cm").post(f"/console/tasks/{made['jn_yellow'][1]}/close", data=form)
    assert outside.status_code == 404
    resp = nongxin_console("jinan.cm").post(f"/console/tasks/{made['jn_yellow_late'][1]}/close", data=form)
    assert resp.status_code == 303


def test_closing_another_banks_task_is_the_404_page_and_roles_that_may_not_get_403(nongxin_app, nongxin_console):
    made = _warnings(nongxin_app)
    form = {"findings": "核实", "disposal": "monitor", "evidence": "DOC-1"}
    assert nongxin_console("jinan.postloan").post(f"/console/tasks/{made['ly_orange'][1]}/close",
                                                  data=form).status_code == 404
    refused = nongxin_console("jinan.admin").post(f"/console/tasks/{made['jn_yellow'][1]}/close", data=form)
    assert refused.status_code == 403 and "warning.task.close" in refused.get_data(as_text=True)
    assert _task(nongxin_app, made["ly_orange"][1]).status == _task(nongxin_app, made["jn_yellow"][1]).status \
        == TaskStatus.OPEN


def test_reassigning_through_the_form(nongxin_app, nongxin_console):
    warning_id, task_id = _warnings(nongxin_app)["jn_yellow_late"]
    console = nongxin_console("jinan.approver")
    bad = console.post(f"/console/tasks/{task_id}/reassign", data={"to": "linyi.cm", "note": ""})
    assert bad.status_code == 422 and re.search(r'id="f-to"[^>]*>.*?<small class="error"', bad.get_data(as_text=True),
                                                re.S)
    assert _audited(nongxin_app, "warning.task.reassign", task_id) == 0
    done = console.post(f"/console/tasks/{task_id}/reassign", data={"to": "jinan.postloan", "note": "请贷后岗跟进"})
    assert done.status_code == 303 and "done=reassigned" in done.headers["Location"]
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        who = unit.session.execute(sa.select(User.id).where(User.username == "jinan.postloan")).scalar_one()
    assert _task(nongxin_app, task_id).assigned_to == who
    assert _audited(nongxin_app, "warning.task.reassign", task_id) == 1
    assert nongxin_console("jinan.cm").get(f"/console/warnings/{warning_id}").status_code == 200
    assert 'reassign"' not in nongxin_console("jinan.cm").get(f"/console/warnings/{warning_id}").get_data(as_text=True)


def test_a_role_without_warning_read_gets_the_403_page(nongxin_console):
    resp = nongxin_console("jinan.params").get("/console/warnings/1")
    assert resp.status_code == 403 and "warning.read" in resp.get_data(as_text=True)
