"""The parameter admins' pages (规则): the rules in force, the rules staff keep (drafts and their
maker-checker steps), the draft editor with its expression checked as one types, a backtest of a
rule, and the shadow report.

The promise: every page calls the services the rules API calls (``core.rules.api``,
``stored_api``, ``backtest_api``, ``shadow_api``) with the signed-in user, so the permission
table, the 404 for another county bank's rule and the maker-checker rule (the author can never
approve or reject their own rule) hold here exactly as on ``/api/rules``. A refused step leaves
nothing written and shows the service's refusal on the rule's page; a saved form redirects (303).
The live check (``POST /console/rules/check``) answers JSON, as ``POST /api/rules/check`` does, with
the line, column and caret of the first error and the fields the expression reads.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Mapping

from flask import jsonify, redirect, request, url_for

from nongxin.core.console.web import bp, error_page, field_errors, me, nav, page, render, unit
from nongxin.core.errors import NongxinError, NotFound, describe
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Level
from nongxin.core.permissions import Action, may, require
from nongxin.core.rules import backtest as backtests
from nongxin.core.rules import services, shadow_report
from nongxin.core.rules.domain import ACTIONS
from nongxin.core.rules.models import RuleStatus
from nongxin.core.rules.shadow_api import WINDOW
from nongxin.core.web import runtime
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import OUTCOMES, Rule, RuleError, check_expression, compile_rule_set
from nongxin.sdk.rules.rule import REFUSAL_CATEGORIES
from nongxin.sdk.rules.parser import MAX_EXPRESSION_LENGTH

STAGE_LABELS = {"admission": "贷前准入", "post_loan": "贷后监测", "collateral": "押品监测"}
OUTCOME_LABELS = {"tag": "标记", "manual_review": "转人工审查", "reject": "拒绝",
                  "yellow": "黄色预警", "orange": "橙色预警", "red": "红色预警",
                  "approved": "通过", "rejected": "拒绝"}  # the last two: a decision's outcome (backtest)
STATUS_LABELS = {RuleStatus.DRAFT.value: "草稿", RuleStatus.PENDING.value: "待审批",
                 RuleStatus.PUBLISHED.value: "已发布", RuleStatus.RETIRED.value: "已停用",
                 RuleStatus.REJECTED.value: "已退回"}
STATUS_BADGES = {RuleStatus.DRAFT.value: "info", RuleStatus.PENDING.value: "warn",
                 RuleStatus.PUBLISHED.value: "on", RuleStatus.RETIRED.value: "off",
                 RuleStatus.REJECTED.value: "bad"}
STEP_LABELS = {"submit": "提交审批", "withdraw": "撤回", "approve": "审批通过", "reject": "退回",
               "retire": "停用"}
DONE_LABELS = {"saved": "草稿已保存。", **{k: f"已{v}。" for k, v in STEP_LABELS.items()}}
#: What the editor form keeps (the service's RuleSpec, but the level: the author's own).
FORM_FIELDS = ("code", "name", "stage", "outcome", "expression", "reason", "category", "effective_from",
               "effective_to", "shadow")
MAX_TEXT = 64 * MAX_EXPRESSION_LENGTH

nav("规则", "console.rules", Action.RULES_READ, order=20,
    hint="在用规则、规则草稿与审批、回测和影子规则报告")


def _labels() -> dict[str, Any]:
    return {"stage_labels": STAGE_LABELS, "outcome_labels": OUTCOME_LABELS, "status_labels": STATUS_LABELS,
            "status_badges": STATUS_BADGES, "level_labels": {lv.value: lv.label for lv in Level},
            "step_labels": STEP_LABELS}


class BadQuery(Exception):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


@bp.errorhandler(BadQuery)
def _bad_query(exc: BadQuery) -> tuple[str, int]:
    return error_page(400, f"查询参数 {exc.name} 有误：{exc.reason}", {exc.name: [exc.reason]})


def _choice(name: str, choices: Mapping[str, str] | tuple[str, ...], default: str | None = None) -> str | None:
    value = request.args.get(name) or default
    if value is not None and value not in choices:
        raise BadQuery(name, f"应为 {'、'.join(choices)} 之一")
    return value


def _day(name: str) -> date | None:
    value = request.args.get(name, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadQuery(name, "应为日期，如 2026-01-31") from None


def _number(name: str, least: int = 1) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if not value.isdigit() or not least <= int(value) <= 2**31 - 1:
        raise BadQuery(name, f"应为不小于 {least} 的整数")
    return int(value)


def _institution() -> str:
    """The ``institution`` parameter (an institution code), by default the user's own."""
    code = request.args.get("institution") or me().institution_code
    if len(code) > 64:
        raise BadQuery("institution", "机构代码过长")
    return code


# -- rules in force --------------------------------------------------------------------------

@bp.route("/rules")
@page(Action.RULES_READ)
def rules() -> Any:
    """The rules in force at an institution (default the user's own), by stage and level."""
    code = _institution()
    stage = _choice("stage", STAGE_LABELS)
    on = _day("on")
    session = unit().session
    inst = institutions.visible_for(session, me(), code, Action.RULES_READ)
    order = {level: i for i, level in enumerate(("province", "city", "county"))}
    books = []
    for each in [stage] if stage else list(SCHEMAS):
        book = runtime().rulebooks.get(session, inst, each, on)
        shadow = runtime().rulebooks.shadow(session, inst, each, on)
        books.append({"stage": each, "book": book, "shadow": shadow.rules,
                      "rules": sorted(book.rules, key=lambda r: (order.get(r.level, 9), r.code))})
    return render("console/rules/in_force.html", institution=inst, stage=stage, on=on, books=books,
                  **_labels())


# -- rules staff keep -------------------------------------------------------------------------

@bp.route("/rules/stored")
@page(Action.RULES_READ)
def stored_rules() -> Any:
    """The stored rules the user sees, by status (default: all)."""
    status = _choice("status", STATUS_LABELS)
    stage = _choice("stage", STAGE_LABELS)
    offset = _number("offset", 0) or 0
    rows = services.list_rules(unit(), me(), services.RuleFilters(status=status, stage=stage, offset=offset))
    return render("console/rules/stored.html", rows=rows, status=status, stage=stage, offset=offset,
                  may_draft=_may(Action.RULES_DRAFT), **_labels())


def _may(action: Action) -> bool:
    return may(me(), action)


def _steps_for(rule: Mapping[str, Any], mine: bool) -> list[str]:
    """The steps the rule's status allows and the user may take: submit and withdraw are the
    author's; approve and reject never the author's (the service refuses them too)."""
    return [step for step, (starts, _) in ACTIONS.items()
            if rule["status"] in {s.value for s in starts} and _may(services.STEPS[step])
            and (mine if step in ("submit", "withdraw") else not (mine and step in ("approve", "reject")))]


def _detail(rule_id: int, status: int = 200, **extra: Any) -> tuple[str, int]:
    rule = services.show(unit(), me(), rule_id)
    done = DONE_LABELS.get(request.args.get("done", ""))
    mine = rule["author"] == me().username
    return render("console/rules/detail.html", status, rule=rule, done=done, mine=mine, steps=_steps_for(rule, mine),
                  may_backtest=_may(Action.RULES_BACKTEST), may_edit=mine and rule["status"] == "draft",
                  **extra, **_labels())


@bp.route("/rules/<int:rule_id>")
@page(Action.RULES_READ)
def rule_detail(rule_id: int) -> Any:
    return _detail(rule_id)


def _step_view(action: str) -> None:
    """``POST /console/rules/<id>/<action>`` {note}: one step of the life cycle, as the API's."""

    def view(rule_id: int) -> Any:
        note = request.form.get("note", "")[:500]
        try:
            services.step(unit(), me(), runtime().plugins, rule_id, action, runtime().clock.business_date(), note)
        except NongxinError as exc:
            if isinstance(exc, NotFound):
                raise
            unit().rollback()  # nothing of the refused step stays
            seen = describe(exc)
            return _detail(rule_id, seen.status, refused=seen.body().get("message", str(exc)))
        unit().commit()
        return redirect(url_for("console.rule_detail", rule_id=rule_id, done=action), code=303)

    view.__name__ = view.__qualname__ = f"rule_{action}"
    bp.route(f"/rules/<int:rule_id>/{action}", methods=["POST"])(page(services.STEPS[action])(view))


for _action in services.STEPS:
    _step_view(_action)


# -- the editor -------------------------------------------------------------------------------

def _form_spec(form: Mapping[str, str], *, partial: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The editor's fields as the service takes them; errors of fields the form could not read."""
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in FORM_FIELDS:
        if name not in form:
            if not partial and name in ("code", "name", "stage", "outcome", "expression"):
                errors[name] = ["必填"]
            continue
        value = form[name]
        if name in ("effective_from", "effective_to"):
            try:
                out[name] = date.fromisoformat(value) if value.strip() else None
            except ValueError:
                errors[name] = ["应为日期，如 2026-01-31"]
        elif name == "shadow":
            out[name] = value == "1"
        elif len(value) > (MAX_TEXT if name == "expression" else 500):
            errors[name] = ["过长"]
        else:
            out[name] = value.replace("\r\n", "\n") if name == "expression" else value.strip()
    return out, errors


def _own_level() -> str:
    place = institutions.get_by_code(unit().session, me().institution_code)
    return place.level.value if place is not None else ""


def _editor(rule: Mapping[str, Any] | None, values: Mapping[str, Any], errors: Mapping[str, list[str]],
            status: int = 200, message: str = "") -> tuple[str, int]:
    return render("console/rules/editor.html", status, rule=rule, values=values, errors=errors, message=message,
                  outcomes={s: [(o, OUTCOME_LABELS[o]) for o in outs] for s, outs in OUTCOMES.items()},
                  categories=[("", "（不填）"), *REFUSAL_CATEGORIES.items()], **_labels())


@bp.route("/rules/new", methods=["GET", "POST"])
@page(Action.RULES_DRAFT)
def new_rule() -> Any:
    if request.method == "GET":
        return _editor(None, {"stage": "admission", "outcome": "tag", "shadow": False}, {})
    spec, errors = _form_spec(request.form, partial=False)
    if errors:
        return _editor(None, {**request.form, **spec}, errors, 422, "请修改标出的字段。")
    try:
        row = services.draft(unit(), me(), runtime().plugins, services.RuleSpec(**spec, level=_own_level()),
                             runtime().clock.business_date())
    except NongxinError as exc:
        if describe(exc).status not in (409, 422):
            raise
        unit().rollback()
        return _editor(None, {**request.form, **spec}, field_errors(exc), 422, describe(exc).message)
    rule_id = row.id
    unit().commit()
    return redirect(url_for("console.rule_detail", rule_id=rule_id, done="saved"), code=303)


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@page(Action.RULES_DRAFT)
def edit_rule(rule_id: int) -> Any:
    rule = services.show(unit(), me(), rule_id)
    if request.method == "GET":
        return _editor(rule, rule, {})
    spec, errors = _form_spec(request.form, partial=True)
    if errors:
        return _editor(rule, {**rule, **request.form, **spec}, errors, 422, "请修改标出的字段。")
    try:
        services.edit(unit(), me(), runtime().plugins, rule_id, spec, runtime().clock.business_date())
    except NongxinError as exc:
        if describe(exc).status not in (403, 409, 422):
            raise
        unit().rollback()
        rule = services.show(unit(), me(), rule_id)
        return _editor(rule, {**rule, **request.form, **spec}, field_errors(exc), describe(exc).status,
                       describe(exc).message)
    unit().commit()
    return redirect(url_for("console.rule_detail", rule_id=rule_id, done="saved"), code=303)


# -- the live check ----------------------------------------------------------------------------

def fields_read(stage: str, expression: str) -> list[dict[str, str]]:
    """The stage's fields ``expression`` reads (it has been checked), with their labels."""
    schema = SCHEMAS[stage]
    rule = Rule(code="CHECK", name="check", expression=expression, stage=stage, outcome=OUTCOMES[stage][0],
                level="province", owner="CHECK")
    names = compile_rule_set([rule], schema).reads["CHECK"]
    return [{"name": n, "label": schema[n].label, "type": schema[n].type.value} for n in names]


@bp.route("/rules/check", methods=["POST"])
@page(Action.RULES_CHECK)
def check_rule() -> Any:
    """JSON {stage, expression, code?} -> {ok, fields} or 422 {ok: false, field, message, line,
    column, text (the SDK's message with the source line and a caret)}: as ``POST /api/rules/check``."""
    require(me(), Action.RULES_CHECK)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(ok=False, field="body", message="应为 JSON 对象 {stage, expression}"), 400
    stage, expression, code = body.get("stage"), body.get("expression"), body.get("code") or "CHECK"
    if not isinstance(stage, str) or stage not in SCHEMAS:
        return jsonify(ok=False, field="stage", message=f"应为 {'、'.join(SCHEMAS)} 之一"), 422
    if not isinstance(expression, str) or not expression.strip() or len(expression) > MAX_TEXT:
        return jsonify(ok=False, field="expression", message="请填写表达式（不超过长度上限）"), 422
    if not isinstance(code, str) or len(code) > 32:
        return jsonify(ok=False, field="code", message="规则编码过长"), 422
    try:
        check_expression(expression, SCHEMAS[stage], code=code)
    except RuleError as exc:
        return jsonify(ok=False, field="expression", message=exc.message, line=exc.line, column=exc.column,
                       text=str(exc)), 422
    return jsonify(ok=True, fields=fields_read(stage, expression))


# -- backtest and shadow report ------------------------------------------------------------------

@bp.route("/rules/<int:rule_id>/backtest", methods=["POST"])
@page(Action.RULES_BACKTEST)
def backtest_rule(rule_id: int) -> Any:
    """The backtest of this rule over the facts of the business date (or ``as_of``) at the county
    banks the user sees; the result is shown on the rule's page (nothing kept but the audit)."""
    rule = services.show(unit(), me(), rule_id)
    form = request.form
    try:
        as_of = date.fromisoformat(form["as_of"]) if form.get("as_of") else None
    except ValueError:
        return _detail(rule_id, 422, refused="回测日期有误：应为日期，如 2026-01-31")
    days = form.get("days", "30")
    if not days.isdigit():
        return _detail(rule_id, 422, refused="回测天数有误：应为 1 到 366 的整数")
    try:
        result = backtests.backtest(unit(), me(), runtime(), stage=rule["stage"], rule_ids=[rule_id],
                                    institution=me().institution_code, as_of=as_of, days=int(days), sample=10)
    except NongxinError as exc:
        if describe(exc).status in (403, 404):
            raise
        unit().rollback()
        return _detail(rule_id, describe(exc).status, refused=describe(exc).message)
    unit().commit()
    return _detail(rule_id, backtest=result)


@bp.route("/rules/shadow")
@page(Action.RULES_READ)
def shadow() -> Any:
    """The shadow rules' hits per day beside the live rules' (``core.rules.shadow_report``)."""
    code = _institution()
    end = _day("to") or runtime().clock.business_date()
    start = _day("from") or end - timedelta(days=WINDOW)
    stage = _choice("stage", STAGE_LABELS)
    rule_id = _number("rule")
    report = shadow_report.report(unit(), me(), runtime(), institution=code, start=start, end=end, stage=stage,
                                  rule_id=rule_id)
    return render("console/rules/shadow.html", report=report, stage=stage, rule_id=rule_id, **_labels())
