"""Product managers' pages: the plugins at an institution with their switches and breakers, and a
plugin's settings as a form generated from its schema (products and "try it": ``product_pages``).

Every page reads and writes through the services of ``/api/plugins`` (``PluginDirectory.listing``,
``switch``, ``reset_breaker``, ``read_settings``, ``set_settings``) with the signed-in user: another
county bank's institution is the 404 page, a role that may not is the 403 page, every change is
audited by the service, and a settings form the plugin's schema refuses is shown again with each
reason beside its field (422) and nothing saved.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from flask import redirect, request, url_for

from nongxin.core.console import settings_form
from nongxin.core.console.web import bp, error_page, field_errors, me, nav, page, render, unit
from nongxin.core.credit.products import offered
from nongxin.core.errors import BadRequest, ValidationFailed
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, may
from nongxin.core.plugin_state.services import PluginState, secret_keys
from nongxin.core.web import runtime
from nongxin.sdk.types import ProductSpec

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
KIND_LABELS = {"product": "贷款产品", "connector": "外部数据", "rules": "规则", "scorecard": "评分卡",
               "bureau": "征信", "valuation": "押品估值", "integration": "系统对接"}
HOOK_LABELS = {
    "nongxin_products": "产品", "nongxin_connectors": "数据源", "nongxin_rules": "规则",
    "nongxin_scorecards": "评分卡", "nongxin_assess_application": "审批意见", "nongxin_credit_limit": "额度",
    "nongxin_price": "定价", "nongxin_batch_terms": "批量授信条件", "nongxin_bureau_query": "征信查询",
    "nongxin_value_collateral": "押品估值", "nongxin_on_decision": "审批通知", "nongxin_on_credit_granted": "授信通知",
    "nongxin_on_warning": "预警通知", "nongxin_on_disbursed": "放款通知",
}
SWITCHES = {"on": True, "off": False, "inherit": None}
DONE = {"on": "已启用", "off": "已停用", "inherit": "已恢复为继承上级", "reset": "已重置熔断器", "saved": "设置已保存"}

nav("插件", "console.plugins", Action.PLUGIN_LIST, order=10, hint="各机构启用的插件、状态来源、熔断与设置")


def institution_arg(source: Any = None) -> str:
    """The ``institution`` parameter (default: the user's own); 400 naming it if malformed."""
    code = (source if source is not None else request.args).get("institution") or me().institution_code
    if not CODE_RE.match(code):
        raise BadRequest(f"参数 institution（机构代码）格式不对：{code[:40]!r}",
                         fields={"institution": ["not an institution code"]})
    return code


def chooser() -> list[tuple[str, str]]:
    """The institutions of the user's subtree, for the chooser: (code, "name（level）")."""
    return [(i.code, f"{'　' * max(i.path.count('/') - 2, 0)}{i.name}（{i.level.label}）")
            for i in institutions.read_subtree(unit().session, me())]


def where_from(state_source: str, here: Institution) -> str:
    """Where a plugin's state comes from, in words."""
    if state_source == "default":
        return "默认（插件声明）"
    if state_source == "not allowed here":
        return "不允许在此机构启用"
    code = state_source.removeprefix("set at ")
    if code == here.code:
        return "本机构设置"
    found = institutions.get_by_code(unit().session, code)
    return f"继承自 {found.name if found else code}（{code}）"


@bp.route("/plugins")
@page(Action.PLUGIN_LIST)
def plugins() -> Any:
    code = institution_arg()
    listing = runtime().plugins.listing(unit().session, me(), code)
    here = listing.institution
    rows = [{
        "name": p.plugin.name, "version": p.plugin.info.version, "description": p.plugin.info.description,
        "kind": KIND_LABELS.get(p.plugin.info.kind.value, p.plugin.info.kind.value),
        "hooks": [HOOK_LABELS.get(h, h) for h in p.plugin.hooks],
        "enabled": p.state.enabled, "allowed": p.state.allowed, "source": where_from(p.state.enabled_source, here),
        "set_here": p.state.enabled_source == f"set at {here.code}",
        "settings_error": p.state.settings_error, "has_settings": p.plugin.info.settings_schema is not None,
        "breaker": p.breaker,
    } for p in listing.plugins]
    done = DONE.get(request.args.get("done", ""))
    notice = f"{done}：{request.args.get('plugin', '')[:60]}" if done else None
    return render("console/plugins/list.html", here=here, rows=rows, failed=listing.failed, choices=chooser(),
                  notice=notice, may_switch=may(me(), Action.PLUGIN_SWITCH),
                  may_reset=may(me(), Action.PLUGIN_BREAKER_RESET),
                  may_settings=may(me(), Action.PLUGIN_SETTINGS_READ))


def _back(code: str, done: str, name: str) -> Any:
    return redirect(url_for("console.plugins", institution=code, done=done, plugin=name), code=303)


@bp.route("/plugins/<name>/switch", methods=["POST"])
@page(Action.PLUGIN_SWITCH)
def switch(name: str) -> Any:
    """Enable, disable or inherit ``name`` at the form's institution (``to``: on, off, inherit)."""
    code = institution_arg(request.form)
    to = request.form.get("to", "")
    if to not in SWITCHES:
        return error_page(400, f"参数 to 须为 on、off 或 inherit，收到 {to[:20]!r}。", {"to": ["on, off or inherit"]})
    runtime().plugins.switch(unit(), me(), name, code, SWITCHES[to])
    unit().commit()
    return _back(code, to, name)


@bp.route("/plugins/<name>/reset", methods=["POST"])
@page(Action.PLUGIN_BREAKER_RESET)
def reset(name: str) -> Any:
    """Close the plugin's circuit breaker at the form's institution (in this worker)."""
    code = institution_arg(request.form)
    runtime().plugins.reset_breaker(unit().session, me(), name, code)
    return _back(code, "reset", name)


def settings_inputs(name: str, state: PluginState) -> list[settings_form.Input]:
    plugin = runtime().plugins.host.loaded[name]
    return settings_form.inputs(plugin.info.settings_schema, state.settings, secret_keys(plugin))


def _settings_page(name: str, code: str) -> dict[str, Any]:
    """What the settings page shows: the plugin's state at ``code`` and its generated inputs."""
    state = runtime().plugins.read_settings(unit().session, me(), name, code)
    here = institutions.visible(unit().session, me(), code)
    return {"plugin": runtime().plugins.host.loaded[name], "here": here, "state": state,
            "items": settings_inputs(name, state), "may_change": may(me(), Action.PLUGIN_SETTINGS_CHANGE),
            "products": _products_of(name, here), "may_try": may(me(), Action.PRODUCT_TRY), "errors": {},
            "others": {}, "message": None}


@bp.route("/plugins/<name>/settings")
@page(Action.PLUGIN_SETTINGS_READ)
def settings(name: str) -> Any:
    """The plugin's settings at an institution as a form generated from its schema."""
    context = _settings_page(name, institution_arg())
    return render("console/plugins/settings.html", **context,
                  notice=DONE["saved"] if request.args.get("done") == "saved" else None)


@bp.route("/plugins/<name>/settings", methods=["POST"])
@page(Action.PLUGIN_SETTINGS_CHANGE)
def save_settings(name: str) -> Any:
    """Save what was changed in the form (the unchanged fields keep inheriting); a value the
    plugin's schema refuses: the form again, each reason beside its field, nothing saved (422)."""
    code = institution_arg()
    context = _settings_page(name, code)
    items = context["items"]
    values, errors = settings_form.changes(request.form, items)
    others: dict[str, list[str]] = {}
    if not errors:
        try:
            runtime().plugins.set_settings(unit(), me(), name, code, values)
        except ValidationFailed as exc:
            errors, others = settings_form.by_input(field_errors(exc), items)
    if errors or others:
        return render("console/plugins/settings.html", 422, **{
            **context, "errors": errors, "others": others, "items": settings_form.as_typed(items, request.form),
            "message": "设置未通过插件的校验，未保存。", "notice": None})
    unit().commit()
    return redirect(url_for("console.settings", name=name, institution=code, done="saved"), code=303)


def _products_of(plugin: str, here: Institution) -> list[ProductSpec]:
    products, _ = offered(unit().session, runtime().plugins, here)
    return [p.spec for p in products if p.plugin == plugin]


# The products' pages, on the same blueprint (they use this module's helpers, so come after them).
importlib.import_module("nongxin.core.console.product_pages")
