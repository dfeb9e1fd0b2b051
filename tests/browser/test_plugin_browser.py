"""Product managers in a real browser: switching a plugin off at a county takes its products off
that county's list; a settings form shows the schema's error beside the field and saves nothing,
and "try it" shows what a draft setting would do."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import services as institutions
from nongxin.core.plugin_state.models import PluginSwitch

PLUGIN = "provincial_products"


def _switches(app: Any, code: str) -> list[Any]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        inst = institutions.get_by_code(unit.session, code)
        return list(unit.session.execute(sa.select(PluginSwitch.enabled, PluginSwitch.settings).where(
            PluginSwitch.plugin == PLUGIN, PluginSwitch.institution_id == inst.id)).all())


def test_a_product_manager_switches_a_plugin_off_and_its_products_leave_the_county(page, sign_in, shot, nongxin_app):
    sign_in(page, "jinan.pm", next_path="/console/products?institution=JNRCB")
    assert page.locator("#product-XIN_E_DAI").count() == 1
    shot(page, "products-list")
    page.goto("/console/plugins?institution=JNRCB")
    row = page.locator(f"#plugin-{PLUGIN}")
    assert "启用" in row.locator(".state").inner_text() and "默认" in row.locator(".source").inner_text()
    shot(page, "plugins-list")
    page.once("dialog", lambda dialog: dialog.accept())  # 停用 asks first
    row.locator("button[data-action=off]").click()
    page.wait_for_url("**done=off**")
    assert "已停用" in page.inner_text(".notice")
    row = page.locator(f"#plugin-{PLUGIN}")
    assert "停用" in row.locator(".state").inner_text() and "本机构设置" in row.locator(".source").inner_text()
    assert [tuple(r) for r in _switches(nongxin_app, "JNRCB")] == [(False, None)]
    page.goto("/console/products?institution=JNRCB")
    assert page.locator("#product-XIN_E_DAI").count() == 0


def test_a_settings_error_shows_beside_its_field_and_nothing_is_saved(page, sign_in, shot, nongxin_app):
    sign_in(page, "jinan.pm", next_path=f"/console/plugins/{PLUGIN}/settings?institution=JNRCB")
    page.fill("#f-s-spread_bp", "99999")
    page.click("form.card button[type=submit]")
    page.wait_for_load_state()
    error = page.locator(".field:has(#f-s-spread_bp) .error")
    assert "须在 0 到 2000 之间" in error.inner_text()
    assert page.locator("#f-s-spread_bp").get_attribute("aria-invalid") == "true"
    assert page.input_value("#f-s-spread_bp") == "99999"
    assert "未保存" in page.inner_text("[role=alert]")
    shot(page, "plugins-settings")
    assert _switches(nongxin_app, "JNRCB") == []
    # the draft tried instead, before saving: the rate it would give, and still nothing saved
    page.goto("/console/products/XIN_E_DAI/try?institution=JNRCB")
    page.fill("#f-amount", "30000")
    page.fill("#f-s-spread_bp", "235")
    page.click("form button.primary")
    page.wait_for_load_state()
    assert "自动通过" in page.inner_text(".result h2")
    assert page.inner_text("#r-rate").startswith("5.35%")
    shot(page, "products-try")
    assert _switches(nongxin_app, "JNRCB") == []
