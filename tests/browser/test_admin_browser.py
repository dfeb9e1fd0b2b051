"""The admins' pages in a real browser: a user's five failed sign-ins lock the account, and the
admin finds the lock on the users page and, filtering the audit trail, its ``user.lock`` entry."""

from __future__ import annotations

from nongxin.core.console.signin import MAX_FAILURES, set_password
from nongxin.core.db import UnitOfWork


def test_an_admin_filters_the_audit_trail_and_finds_the_lock_after_five_failed_sign_ins(
        page, sign_in, shot, nongxin_app):
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        set_password(unit, "jinan.cm", "the right password 1", now=runtime.clock.now())
        unit.commit()
    for _ in range(MAX_FAILURES):
        page.goto("/console/signin")
        page.fill("#f-username", "jinan.cm")
        page.fill("#f-password", "a wrong password")
        page.click("button[type=submit]")
        page.wait_for_load_state()
    assert "账户已锁定至" in page.inner_text("[role=alert]")

    sign_in(page, "jinan.admin", next_path="/console/institutions")
    assert "济南农商银行" in page.inner_text("#tree") and "临沂" not in page.inner_text("#tree")
    shot(page, "admin-institutions")

    page.click("nav.menu >> text=用户")
    page.wait_for_url("**/console/users")
    assert "已锁定至" in page.inner_text('tr[data-user="jinan.cm"]')
    shot(page, "admin-users")

    page.click("nav.menu >> text=审计")
    page.wait_for_url("**/console/audit")
    page.fill("#f-action", "user.lock")
    page.fill("#f-target", "user:jinan.cm")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_url("**/console/audit?**")
    rows = page.locator("#entries tbody tr")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-action") == "user.lock"
    assert "user:jinan.cm" in rows.first.inner_text() and "system" in rows.first.inner_text()
    assert page.input_value("#f-action") == "user.lock"  # the filter stays filled in
    shot(page, "admin-audit")
