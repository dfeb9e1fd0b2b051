"""The dashboard and the post-loan pages in a real browser: the charts are drawn by the vendored
ECharts with no request leaving 127.0.0.1, and a post-loan checker closes a task through the form."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from nongxin.core.credit.models import Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.models import NplRatio
from nongxin.core.institutions import services as institutions
from nongxin.core.testing import manual_review_application, open_test_loan, open_test_warning

CHARTS = ("by-bank", "trend", "overdue", "npl", "decisions")


def _figures(app: Any) -> tuple[int, int]:
    """Warnings at two county banks, an NPL row and two decisions; the (warning, task) to close."""
    runtime = app.extensions["nongxin"]
    today = runtime.clock.business_date()
    jn, ly = open_test_loan(app, place="JNRCB-LX"), open_test_loan(app, place="LYRCB-LS", manager="linyi.cm")
    made = open_test_warning(app, jn, rule_code="PL-A", colour="yellow")
    open_test_warning(app, jn, rule_code="PL-B", colour="red", first_seen=today - timedelta(days=4),
                      due_on=today - timedelta(days=1))
    open_test_warning(app, ly, rule_code="PL-C", colour="orange", assigned_to="linyi.cm")
    filed = [manual_review_application(app, place="JNRCB-LX") for _ in range(2)]
    with UnitOfWork(runtime.sessions) as unit:
        bank = institutions.get_by_code(unit.session, "JNRCB")
        unit.session.add(NplRatio(business_date=today, institution_id=bank.id, county_bank_id=bank.id, loans=3,
                                  outstanding=Decimal("300000.00"), npl_outstanding=Decimal("12000.00"), by_tier={}))
        for app_id, outcome, category in zip(filed, ("approved", "rejected"), (None, "multi_lending")):
            unit.session.add(Decision(application_id=app_id, outcome=outcome, refusal_category=category,
                                      business_date=today, decided_by="test", record={}))
        unit.commit()
    return made


def test_the_dashboard_draws_its_charts_from_this_server_only(nongxin_app, page, sign_in, shot):
    _figures(nongxin_app)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, "jinan.admin", next_path="/console/dashboard")
    page.wait_for_function(f"document.querySelectorAll('[data-drawn=yes]').length === {len(CHARTS)}")
    for name in CHARTS:
        drawn = page.evaluate(
            """(id) => { const c = document.querySelector('#chart-' + id + ' canvas');
                if (!c || !c.width || !c.height) return 0;
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; }""", name)
        assert drawn > 500, f"chart {name} drew {drawn} pixels"
    assert any(u.endswith("/console/static/vendor/echarts/echarts.min.js") for u in requests)
    assert requests and all(urlsplit(u).hostname == "127.0.0.1" for u in requests if not u.startswith("data:"))
    assert "不良贷款率" in page.inner_text("#npl") and "4.00%" in page.inner_text("#npl")
    shot(page, "dashboard-dashboard")


def test_a_post_loan_checker_closes_a_task_through_the_form(nongxin_app, page, sign_in, shot):
    warning_id, task_id = _figures(nongxin_app)
    sign_in(page, "jinan.postloan", next_path="/console/warnings")
    assert page.locator("tr.overdue").count() == 1
    shot(page, "dashboard-warnings-list")
    page.click(f"a[href='/console/warnings/{warning_id}']")
    form = page.locator(f"form[action='/console/tasks/{task_id}/close']")
    form.locator("textarea[name=findings]").fill("走访核实：借款人经营正常，逾期系资金周转")
    form.locator("select[name=disposal]").select_option("monitor")
    form.locator("textarea[name=evidence]").fill("DOC-2026-001\nPHOTO-01.jpg")
    shot(page, "dashboard-warning-detail")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**/console/warnings/{warning_id}?done=closed")
    assert "任务已关闭" in page.inner_text("[role=status]")
    assert "持续监控" in page.inner_text(f"#task-{task_id}") and "PHOTO-01.jpg" in page.inner_text(f"#task-{task_id}")
