"""Credit staff's pages in a real browser: another county's application is the 404 page; an
approver approves an application from their queue."""

from __future__ import annotations

from typing import Any

from nongxin.core.auth import Principal
from nongxin.core.credit.decision import decide
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import users
from nongxin.core.testing import ConsoleClient, file_application, manual_review_application


def _decided(nongxin_app: Any) -> int:
    """A JNRCB application decided by its customer manager, through the decision service."""
    app_id = file_application(nongxin_app, place="JNRCB-LX", id_number="11010519491231002X", filed_by="jinan.cm")
    rt = nongxin_app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        cm: Principal = users.principal_named(unit.session, "jinan.cm")
        assert decide(unit, cm, rt, app_id).decision is not None
    return app_id


def test_a_customer_manager_cannot_see_another_countys_application(page, sign_in, shot, nongxin_app):
    app_id = _decided(nongxin_app)
    sign_in(page, "jinan.cm", next_path=f"/console/applications/{app_id}")
    assert "自动决策" in page.inner_text("#decision") and page.locator("#facts tr").count() > 1
    shot(page, "credit-application")
    sign_in(page, "linyi.cm", next_path="/console/queue")
    answer = page.goto(f"/console/applications/{app_id}")
    assert answer is not None and answer.status == 404
    assert "404" in page.inner_text("h1") and "JNRCB" not in page.inner_text("main")


def test_an_approver_approves_an_application_from_their_queue(page, sign_in, shot, nongxin_app):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm", amount="80000")
    for who in ("jinan.cm", "jinan.reviewer"):  # investigation, then review (the only reviewer is drawn)
        done = ConsoleClient(nongxin_app, who).post(f"/console/applications/{app_id}/review",
                                                    data={"opinion": "agree", "comment": "同意"})
        assert done.status_code == 303, done.get_data(as_text=True)[:500]
    sign_in(page, "jinan.approver", next_path="/console/queue")
    row = page.locator(f"tr[data-application='{app_id}']")
    assert "审批 · jinan.approver" in row.inner_text() and "待我办理" in row.inner_text()
    shot(page, "credit-queue")
    row.locator("a").click()
    page.wait_for_url(f"**/console/applications/{app_id}")
    page.select_option("#f-opinion", "agree")
    page.fill("#f-amount", "60000")
    page.fill("#f-rate", "0.0435")
    page.fill("#f-comment", "经营稳定，同意授信")
    shot(page, "credit-approve")
    page.click("#step-form button[type=submit]")
    page.wait_for_url("**done=approved")
    assert page.inner_text("#status") == "已批准"
    assert "¥60,000.00" in page.inner_text("#approved-amount")
    assert "经营稳定，同意授信" in page.inner_text("#trail")
    shot(page, "credit-approved")
