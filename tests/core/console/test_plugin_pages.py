"""Product managers' console pages: plugins with switches and breakers, settings forms generated
from the plugin's schema, the products offered, and "try it"; scoped and refused as the API is."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.console.product_pages import SAMPLE_FACTS
from nongxin.core.db import UnitOfWork
from nongxin.core.plugin_state.models import PluginSwitch

PLUGIN = "provincial_products"
#: What the try form holds before anyone types: the sample's clean credit report.
DEFAULTS = {f"fact-{name}": default for name, _, default in SAMPLE_FACTS if default}


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _api_state(client: Any, code: str) -> dict[str, Any]:
    listed = client.get(f"/api/plugins?institution={code}").get_json()
    return next(p for p in listed["plugins"] if p["name"] == PLUGIN)


def _audit(app: Any, action: str) -> list[AuditEntry]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return list(unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _own_settings(app: Any, code: str) -> Any:
    from nongxin.core.institutions import services as institutions

    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        inst = institutions.get_by_code(unit.session, code)
        return unit.session.execute(sa.select(PluginSwitch.settings).where(
            PluginSwitch.plugin == PLUGIN, PluginSwitch.institution_id == inst.id)).scalar_one_or_none()


def test_the_plugins_page_shows_state_source_breaker_and_switches(nongxin_console):
    resp = nongxin_console("jinan.pm").get("/console/plugins")
    page = _text(resp)
    assert resp.status_code == 200
    assert f'id="plugin-{PLUGIN}"' in page and "默认（插件声明）" in page and "贷款产品" in page
    assert 'data-action="off"' in page and "设置" in page
    assert re.search(r'<option value="JNRCB-LX"', page)  # the chooser holds the subtree
    assert 'value="LYRCB"' not in page


def test_a_switch_through_the_page_does_what_the_api_does_and_is_audited(nongxin_console, nongxin_client,
                                                                         nongxin_app):
    pm = nongxin_console("jinan.pm")
    resp = pm.post(f"/console/plugins/{PLUGIN}/switch", data={"institution": "JNRCB", "to": "off"})
    assert resp.status_code == 303 and "done=off" in resp.headers["Location"]
    state = _api_state(nongxin_client, "JNRCB")
    assert (state["enabled"], state["source"]) == (False, "set at JNRCB")
    assert _api_state(nongxin_client, "JNRCB-LX")["enabled"] is False  # the subtree follows
    [entry] = _audit(nongxin_app, "plugin.disable")
    assert entry.actor == "jinan.pm" and entry.institution_code == "JNRCB" and entry.target == f"plugin:{PLUGIN}"
    branch = _text(pm.get("/console/plugins?institution=JNRCB-LX"))
    assert "继承自" in branch and "(JNRCB)" in branch.replace("（", "(").replace("）", ")")
    assert "XIN_E_DAI" not in _text(pm.get("/console/products?institution=JNRCB-LX"))
    resp = pm.post(f"/console/plugins/{PLUGIN}/switch", data={"institution": "JNRCB", "to": "inherit"})
    assert resp.status_code == 303
    assert _api_state(nongxin_client, "JNRCB")["source"] == "default"
    assert "XIN_E_DAI" in _text(pm.get("/console/products?institution=JNRCB-LX"))


def test_a_customer_manager_sees_the_plugins_but_may_not_switch(nongxin_console, nongxin_client, db_snapshot):
    cm = nongxin_console("jinan.cm")
    page = _text(cm.get("/console/plugins"))
    assert f"plugin-{PLUGIN}" in page and 'data-action="off"' not in page and "设置</a>" not in page
    before = db_snapshot()
    for path, data in [(f"/console/plugins/{PLUGIN}/switch", {"institution": "JNRCB-LX", "to": "off"}),
                       (f"/console/plugins/{PLUGIN}/reset", {"institution": "JNRCB-LX"}),
                       (f"/console/plugins/{PLUGIN}/settings?institution=JNRCB-LX", {"s-spread_bp": "10"})]:
        resp = cm.post(path, data=data)
        assert resp.status_code == 403, path
        assert "plugin." in _text(resp)
    assert cm.get("/console/products/XIN_E_DAI/try?institution=JNRCB-LX").status_code == 403
    assert db_snapshot() == before
    assert _api_state(nongxin_client, "JNRCB-LX")["enabled"] is True


def test_another_banks_institution_is_the_404_page_on_every_page(nongxin_console, db_snapshot):
    pm = nongxin_console("jinan.pm")
    for path in ["/console/plugins?institution=LYRCB", f"/console/plugins/{PLUGIN}/settings?institution=LYRCB",
                 "/console/products?institution=LYRCB", "/console/products/XIN_E_DAI/try?institution=LYRCB"]:
        resp = pm.get(path)
        assert resp.status_code == 404, path
        assert "未找到" in _text(resp)
    before = db_snapshot()
    assert pm.post(f"/console/plugins/{PLUGIN}/switch", data={"institution": "LYRCB", "to": "off"}).status_code == 404
    assert db_snapshot() == before


def test_bad_parameters_are_the_400_page_naming_them(nongxin_console):
    pm = nongxin_console("jinan.pm")
    resp = pm.get("/console/plugins?institution=%3Cscript%3E")
    assert resp.status_code == 400 and "institution" in _text(resp) and "<script>" not in _text(resp)
    resp = pm.post(f"/console/plugins/{PLUGIN}/switch", data={"institution": "JNRCB", "to": "maybe"})
    assert resp.status_code == 400 and "to" in _text(resp)


def test_the_settings_form_is_generated_from_the_schema(nongxin_console):
    page = _text(nongxin_console("jinan.pm").get(f"/console/plugins/{PLUGIN}/settings?institution=JNRCB"))
    assert 'name="s-spread_bp"' in page and 'type="number"' in page and 'value="135"' in page
    assert 'name="s-xin_e_dai_ceiling"' in page and 'inputmode="decimal"' in page
    assert "取值范围 0 ~ 2000" in page and "basis points over the LPR" in page
    assert 'formaction="/console/products/XIN_E_DAI/try?institution=JNRCB"' in page  # try before saving


def test_the_settings_form_sends_its_values_to_try_without_saving(nongxin_console, db_snapshot):
    pm = nongxin_console("jinan.pm")
    before = db_snapshot()
    resp = pm.post("/console/products/XIN_E_DAI/try?institution=JNRCB",
                   data={"s-spread_bp": "200", "s-xin_e_dai_ceiling": "300000"})
    page = _text(resp)
    assert resp.status_code == 200 and "试算结果" not in page
    assert 'name="s-spread_bp" type="number" value="200"' in page and 'name="amount"' in page
    assert db_snapshot() == before


def test_settings_errors_are_shown_beside_their_fields_and_nothing_is_saved(nongxin_console, nongxin_client,
                                                                            db_snapshot):
    pm = nongxin_console("jinan.pm")
    before = db_snapshot()
    resp = pm.post(f"/console/plugins/{PLUGIN}/settings?institution=JNRCB",
                   data={"s-spread_bp": "99999", "s-xin_e_dai_ceiling": "many"})
    page = _text(resp)
    assert resp.status_code == 422
    beside = re.search(r'name="s-spread_bp".*?</div>', page, re.S).group(0)
    assert 'id="e-s-spread_bp"' in beside and "须在 0 到 2000 之间" in beside
    assert 'value="99999"' in beside  # shown as typed
    beside = re.search(r'name="s-xin_e_dai_ceiling".*?</div>', page, re.S).group(0)
    assert "不是有效的数字" in beside
    assert db_snapshot() == before
    assert nongxin_client.get(f"/api/plugins/{PLUGIN}/settings?institution=JNRCB").get_json()["settings"][
        "spread_bp"] == 135


def test_saving_settings_keeps_only_what_was_changed_and_is_audited(nongxin_console, nongxin_client, nongxin_app):
    pm = nongxin_console("jinan.pm")
    resp = pm.post(f"/console/plugins/{PLUGIN}/settings?institution=JNRCB",
                   data={"s-spread_bp": "150", "s-xin_e_dai_ceiling": "300000"})
    assert resp.status_code == 303 and "done=saved" in resp.headers["Location"]
    assert _own_settings(nongxin_app, "JNRCB") == {"spread_bp": 150}  # the unchanged ceiling still inherits
    got = nongxin_client.get(f"/api/plugins/{PLUGIN}/settings?institution=JNRCB-LX").get_json()
    assert got["settings"]["spread_bp"] == 150
    [entry] = _audit(nongxin_app, "plugin.settings")
    assert entry.actor == "jinan.pm"
    assert "设置已保存" in _text(pm.get(resp.headers["Location"]))


def test_the_products_page_lists_what_the_api_lists(nongxin_console, nongxin_client):
    page = _text(nongxin_console("jinan.pm").get("/console/products?institution=JNRCB-LX"))
    api = nongxin_client.get("/api/products?institution=JNRCB-LX").get_json()["products"]
    assert api and all(f'id="product-{p["code"]}"' in page for p in api)
    assert "300,000.00" in page and "1,000.00" in page and "等额本息" in page and "试算" in page
    assert "试算" not in _text(nongxin_console("jinan.cm").get("/console/products"))


def test_a_try_shows_limit_rate_hits_and_score_and_writes_nothing(nongxin_console, db_snapshot):
    pm = nongxin_console("jinan.pm")
    form = _text(pm.get("/console/products/XIN_E_DAI/try?institution=JNRCB-LX"))
    assert 'name="amount"' in form and 'name="fact-annual_income"' in form and 'name="s-spread_bp"' in form
    before = db_snapshot()
    resp = pm.post("/console/products/XIN_E_DAI/try?institution=JNRCB-LX",
                   data={**DEFAULTS, "amount": "30000", "term_months": "12"})
    page = _text(resp)
    assert resp.status_code == 200, page
    assert "试算结果" in page and "自动通过" in page and 'id="r-approved">30,000.00' in page
    assert 'id="r-limit">192,000.00' in page  # twice the income, times grade C's 0.8
    assert 'id="r-rate">4.35%' in page and 'id="r-score">595（C' in page and "规则命中" in page
    assert db_snapshot() == before


def test_a_try_with_draft_settings_uses_them_without_saving(nongxin_console, nongxin_app, db_snapshot):
    pm = nongxin_console("jinan.pm")
    before = db_snapshot()
    resp = pm.post("/console/products/XIN_E_DAI/try?institution=JNRCB-LX",
                   data={**DEFAULTS, "amount": "30000", "term_months": "12",
                         "s-spread_bp": "235", "s-xin_e_dai_ceiling": "300000"})
    page = _text(resp)
    assert resp.status_code == 200 and "5.35%" in page and "spread_bp=235" in page
    assert 'name="s-spread_bp" type="number" value="235"' in page  # the draft stays in the form
    assert db_snapshot() == before and _own_settings(nongxin_app, "JNRCB-LX") is None
    resp = pm.post("/console/products/XIN_E_DAI/try?institution=JNRCB-LX",
                   data={"amount": "30000", "term_months": "12", "s-spread_bp": "-5"})
    assert resp.status_code == 422
    assert 'id="e-s-spread_bp"' in _text(resp)


def test_a_try_with_a_sample_outside_the_terms_shows_each_error_beside_its_field(nongxin_console):
    resp = nongxin_console("jinan.pm").post("/console/products/XIN_E_DAI/try?institution=JNRCB-LX",
                                            data={"amount": "5", "term_months": "99", "fact-age": "old"})
    page = _text(resp)
    assert resp.status_code == 422
    assert 'id="e-fact-age"' in page
    resp = nongxin_console("jinan.pm").post("/console/products/XIN_E_DAI/try?institution=JNRCB-LX",
                                            data={"amount": "5", "term_months": "99"})
    page = _text(resp)
    assert resp.status_code == 422 and 'id="e-amount"' in page and 'id="e-term_months"' in page


def test_a_parameter_admin_may_try_but_sees_no_settings(nongxin_console):
    pr = nongxin_console("jinan.params")
    form = _text(pr.get("/console/products/XIN_E_DAI/try?institution=JNRCB"))
    assert 'name="amount"' in form and 's-spread_bp' not in form
    resp = pr.post("/console/products/XIN_E_DAI/try?institution=JNRCB",
                   data={"amount": "30000", "term_months": "12", "s-spread_bp": "999"})
    assert resp.status_code == 200 and "未保存的设置" not in _text(resp)


def test_no_plugins_or_products_say_what_to_do_next(nongxin_console, nongxin_app, monkeypatch):
    host = nongxin_app.extensions["nongxin"].plugins.host
    monkeypatch.setattr(host, "loaded", {})
    monkeypatch.setattr(host, "failed", {})
    pm = nongxin_console("jinan.pm")
    assert "Writing a county plugin" in _text(pm.get("/console/plugins"))
    page = _text(pm.get("/console/products"))
    assert "没有开办的产品" in page and "Writing a county plugin" in page
