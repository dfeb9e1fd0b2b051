"""Product managers' pages: the products enabled at an institution (the service of
``GET /api/products``), and "try it" (试算): a product's decision on a sample applicant, with the
product plugin's settings as saved or as typed (draft, never saved), run by
``core.credit.try_product`` so that nothing is stored."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from flask import request

from nongxin.core.console import settings_form
from nongxin.core.console.plugin_pages import chooser, institution_arg, settings_inputs
from nongxin.core.console.formats import percent, yuan
from nongxin.core.console.web import bp, field_errors, me, nav, page, render, unit
from nongxin.core.credit import domain
from nongxin.core.credit.decision import assemble_facts
from nongxin.core.credit.products import offered
from nongxin.core.credit.try_product import Sample, Tried, tryable, try_product
from nongxin.core.errors import ValidationFailed
from nongxin.core.institutions import services as institutions
from nongxin.core.permissions import Action, may
from nongxin.core.web import runtime
from nongxin.sdk.collateral import KINDS
from nongxin.sdk.facts import ADMISSION
from nongxin.sdk.rules import FieldType
from nongxin.sdk.rules.rule import REFUSAL_CATEGORIES
from nongxin.sdk.types import REPAYMENT_METHODS, ProductSpec

nav("产品", "console.products", Action.PRODUCT_LIST, order=12, hint="各机构开办的贷款产品与试算")

SEGMENTS = {"salaried": "工薪族", "farmer": "农户", "merchant": "个体工商户", "small_business": "小微企业"}
OUTCOMES = {domain.APPROVED: ("自动通过", "on"), domain.REJECTED: ("拒绝", "bad"),
            domain.MANUAL_REVIEW: ("转人工审查", "warn")}
RULE_OUTCOMES = {"tag": "标记", "manual_review": "转人工", "reject": "拒绝", "pass": "通过"}
#: The facts a sample applicant is given by hand, with a clean credit report by default.
SAMPLE_FACTS: tuple[tuple[str, str, str], ...] = (
    ("age", "年龄", "35"), ("annual_income", "年收入（元）", "120000"), ("existing_debt", "本行负债（元）", ""),
    ("peer_review", "评议结果", ""), ("land_mu", "承包土地（亩）", ""), ("household_assets", "家庭资产（元）", ""),
    ("tax_grade", "纳税等级", ""), ("filed_revenue", "申报收入（元）", ""),
    ("bureau_loan_approval_queries_1m", "征信：近1个月贷款审批查询次数", "0"),
    ("bureau_loan_approval_queries_3m", "征信：近3个月贷款审批查询次数", "0"),
    ("bureau_queries_6m", "征信：近6个月查询次数", "0"), ("bureau_queries_12m", "征信：近12个月查询次数", "0"),
    ("bureau_worst_overdue_days_24m", "征信：近24个月最长逾期天数", "0"),
    ("bureau_current_overdue_amount", "征信：当前逾期金额（元）", "0"),
    ("bureau_non_performing_accounts", "征信：不良账户数", "0"),
    ("bureau_outstanding_debt", "征信：负债余额（元）", "0"), ("bureau_guarantees_given", "征信：对外担保金额（元）", "0"),
    ("bureau_open_enforcement", "征信：有被执行记录", "false"),
    ("bureau_consumption_restriction", "征信：被限制高消费", "false"),
    ("bureau_dishonest_debtor", "征信：失信被执行人", "false"),
    ("bureau_card_utilization", "征信：信用卡使用率（如 0.35）", ""),
)
BOOLEAN_CHOICES = (("", "未填"), ("false", "否"), ("true", "是"))


def terms_of(spec: ProductSpec) -> dict[str, str]:
    return {"segment": SEGMENTS.get(spec.segment, spec.segment),
            "amount": f"{yuan(spec.amount.minimum)} ~ {yuan(spec.amount.maximum)}",
            "term": f"{spec.term_months[0]} ~ {spec.term_months[1]} 个月",
            "rate": f"{percent(spec.annual_rate[0])} ~ {percent(spec.annual_rate[1])}",
            "methods": "、".join(REPAYMENT_METHODS.get(m, m) for m in spec.repayment_methods),
            "collateral": KINDS[spec.collateral_kind].label if spec.collateral_kind in KINDS else "信用（无押品）",
            "ceiling": yuan(spec.auto_approval_ceiling)}


@bp.route("/products")
@page(Action.PRODUCT_LIST)
def products() -> Any:
    code = institution_arg()
    here = institutions.visible_for(unit().session, me(), code, Action.PRODUCT_LIST)
    found, failures = offered(unit().session, runtime().plugins, here)
    rows = [{"spec": p.spec, "plugin": p.plugin, **terms_of(p.spec)} for p in found]
    return render("console/plugins/products.html", here=here, rows=rows, failures=failures, choices=chooser(),
                  may_try=may(me(), Action.PRODUCT_TRY))


# -- try it -------------------------------------------------------------------------------------

def fact_inputs(spec: ProductSpec) -> list[dict[str, Any]]:
    """The sample's fact inputs: the usual ones, then the data the product requires."""
    listed = [(name, label, default) for name, label, default in SAMPLE_FACTS]
    known = {name for name, _, _ in listed} | {"amount", "term_months", "product_code", "segment",
                                               "repayment_method", "lpr_1y", "lpr_5y"}
    listed += [(name, f"产品所需：{ADMISSION[name].label if name in ADMISSION else name}", "")
               for name in spec.required_data if name not in known]
    out = []
    for name, label, default in listed:
        boolean = name in ADMISSION and ADMISSION[name].type is FieldType.BOOLEAN
        out.append({"name": f"fact-{name}", "key": name, "label": label, "default": default, "boolean": boolean})
    return out


def read_sample(form: Mapping[str, str], spec: ProductSpec) -> tuple[Sample | None, dict[str, list[str]]]:
    """The sample from the form, or the errors by input name (amounts, term, typed facts)."""
    errors: dict[str, list[str]] = {}

    def number(name: str, default: str, whole: bool = False) -> Any:
        text = (form.get(name) or default).strip()
        try:
            value = Decimal(text)
            if not value.is_finite() or (whole and value != value.to_integral_value()):
                raise InvalidOperation
        except InvalidOperation:
            errors[name] = ["须为整数。" if whole else "须为金额（元），如 30000 或 30000.50。"]
            return None
        return int(value) if whole else value

    amount = number("amount", "")
    term = number("term_months", "", whole=True)
    held = number("held", "0")
    typed: dict[str, Any] = {}
    for item in fact_inputs(spec):
        text = (form.get(item["name"]) or "").strip()
        if text:
            typed[item["key"]] = (text == "true") if item["boolean"] else text
    _, failures = assemble_facts(typed)
    for failure in failures:
        errors[f"fact-{failure.name}"] = [f"类型不对：{failure.error}"]
    if errors:
        return None, errors
    return Sample(amount, term, form.get("repayment_method") or None, typed, held), {}


def result_of(tried: Tried, changed: Mapping[str, Any]) -> dict[str, Any]:
    """What the result panel shows (``changed``: the settings the user changed for this try)."""
    ev = tried.evaluation
    verdict = ev.verdict
    label, state = OUTCOMES.get(verdict.outcome, (verdict.outcome, "info"))
    return {
        "outcome": label, "state": state,
        "category": REFUSAL_CATEGORIES.get(verdict.refusal_category or "", verdict.refusal_category),
        "approved_amount": yuan(verdict.approved_amount), "limit": yuan(ev.limit), "rate": percent(ev.rate),
        "lpr": percent(ev.lpr),
        "plugin_limit": yuan(ev.answers.limit.value.amount) if ev.answers.limit else "—",
        "limit_reason": ev.answers.limit.value.reason if ev.answers.limit else "",
        "price_reason": ev.answers.price.value.reason if ev.answers.price else "",
        "score": ev.scored.total if ev.scored else None,
        "grade": ev.scored.grade.name if ev.scored and ev.scored.grade else None,
        "coefficient": ev.scored.grade.limit_coefficient if ev.scored and ev.scored.grade else None,
        "scorecard": f"{ev.scored.code} v{ev.scored.version}" if ev.scored else None,
        "score_lines": ev.scored.lines if ev.scored else (),
        "hits": [{"code": h.code, "version": h.version, "expression": h.expression,
                  "outcome": RULE_OUTCOMES.get(h.outcome, h.outcome),
                  "category": REFUSAL_CATEGORIES.get(h.category, h.category), "reason": h.reason}
                 for h in ev.rule_hits],
        "findings": [{"plugin": c.provenance.plugin, "code": c.value.code,
                      "outcome": RULE_OUTCOMES.get(c.value.outcome.value, c.value.outcome.value),
                      "reason": c.value.reason} for c in ev.answers.findings],
        "failures": [f.text() for f in ev.failures],
        "reasons": list(verdict.reasons),
        "room": yuan(tried.exposure_room),
        "draft": {k: settings_form.shown(v) for k, v in (tried.draft or {}).items() if k in changed} or None,
    }


@bp.route("/products/<product>/try", methods=["GET", "POST"])
@page(Action.PRODUCT_TRY)
def try_it(product: str) -> Any:
    """GET: the sample form; POST: the sample decided (200) or the form with its errors (422).
    Nothing is committed either way."""
    code = institution_arg()
    here, offer = tryable(unit().session, me(), runtime(), code, product)
    items: list[settings_form.Input] = []
    if may(me(), Action.PLUGIN_SETTINGS_READ):
        items = settings_inputs(offer.plugin, runtime().plugins.read_settings(unit().session, me(), offer.plugin,
                                                                              code))
    form = request.form if request.method == "POST" else {}
    context: dict[str, Any] = {
        "here": here, "offer": offer, "terms": terms_of(offer.spec), "facts": fact_inputs(offer.spec),
        "items": items, "items_shown": items, "form": form, "errors": {}, "others": {}, "result": None, "message": None,
        "methods": [(m, REPAYMENT_METHODS.get(m, m)) for m in offer.spec.repayment_methods],
        "boolean_choices": BOOLEAN_CHOICES}
    if request.method == "GET":
        return render("console/plugins/try.html", **context)
    context["items_shown"] = settings_form.as_typed(items, form)
    if "amount" not in form:  # sent from the settings form: its values, ready to try
        return render("console/plugins/try.html", **context)
    sample, errors = read_sample(form, offer.spec)
    draft, draft_errors = settings_form.changes(form, items)
    errors.update(draft_errors)
    if sample is None or draft_errors:
        return render("console/plugins/try.html", 422, **{**context, "errors": errors,
                                                         "message": "输入有误，未试算。"})
    try:
        tried = try_product(unit().session, me(), runtime(), code, product, sample, draft or None)
    except ValidationFailed as exc:
        beside, others = settings_form.by_input(field_errors(exc), items)
        for key in ("amount", "term_months", "repayment_method", "held"):
            if key in others:
                beside[key] = others.pop(key)
        return render("console/plugins/try.html", 422, **{**context, "errors": beside, "others": others,
                                                         "message": "输入有误，未试算。"})
    return render("console/plugins/try.html", **{**context, "result": result_of(tried, draft)})
