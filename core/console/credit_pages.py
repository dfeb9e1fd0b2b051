"""Credit staff's pages: my queue (我的待办), an application with its decision and review trail,
and the forms of the review steps (调查、审查、审批) and of the automated decision.

The promise: every page reads and writes through the services the API uses, with the signed-in
user — ``applications.list_applications`` / ``details``, ``review.review_of`` / ``overdue`` /
``act``, ``decision.stored_decision`` / ``decide`` — so scope (another county bank's application
is the 404 page), the permission table (the 403 page) and separation of duties (三台分离) are the
services' own checks. A refused step re-renders the application page with the service's reason
beside the fields and its status (422/403/409), after rolling the request's unit back: nothing is
written. A step done commits and redirects (303) with a notice.
"""

from __future__ import annotations

from typing import Any, Mapping

from flask import redirect, request, url_for

from nongxin.core.console.formats import china_time, percent, rmb
from nongxin.core.console.web import bp, field_errors, me, nav, page, render, unit
from nongxin.core.credit import applications, review
from nongxin.core.credit import decision as decisions
from nongxin.core.credit.models import Application, ApplicationStatus, Opinion, ReviewTask, Tier
from nongxin.core.customers.services import shown_id
from nongxin.core.errors import Forbidden, NongxinError, NotFound, describe, invalid
from nongxin.core.permissions import Action, may
from nongxin.core.scoping import PAGE
from nongxin.core.web import runtime
from nongxin.sdk.errors import NongxinSdkError
from nongxin.sdk.rules.rule import REFUSAL_CATEGORIES
from nongxin.sdk.types import REPAYMENT_METHODS

STATUS = {
    ApplicationStatus.AWAITING_CONSENT: ("待征信授权", "warn"), ApplicationStatus.SUBMITTED: ("已受理·待决策", "info"),
    ApplicationStatus.DECIDING: ("决策中", "info"), ApplicationStatus.APPROVED: ("已批准", "on"),
    ApplicationStatus.REJECTED: ("已拒绝", "bad"), ApplicationStatus.MANUAL_REVIEW: ("人工审核中", "warn"),
    ApplicationStatus.REVIEWED: ("已审查·待审批", "warn"), ApplicationStatus.WITHDRAWN: ("已撤回", "off"),
}
TIER = {Tier.INVESTIGATION: "调查", Tier.REVIEW: "审查", Tier.APPROVAL: "审批"}
OPINION = {Opinion.AGREE: "同意", Opinion.DISAGREE: "不同意", Opinion.RETURN: "退回补充"}
OUTCOME = {"approved": ("自动通过", "on"), "rejected": ("自动拒绝", "bad"), "manual_review": ("转人工审核", "warn")}
HIT_OUTCOME = {"tag": "标记", "manual_review": "转人工", "reject": "拒绝", "pass": "通过"}
FAILURE_SOURCE = {"consent": "征信授权", "bureau": "征信", "guarantor": "担保人征信", "connector": "数据连接器",
                  "product": "产品", "facts": "数据项", "rules": "准入规则", "scorecard": "评分卡"}
#: What a customer manager's queue shows by default ("me") and the whole subtree ("all").
WHO = {"me": "等我处理", "all": "本机构全部"}
#: The opinions each tier takes (investigation cannot return).
OPINIONS = {Tier.INVESTIGATION: (Opinion.AGREE, Opinion.DISAGREE),
            Tier.REVIEW: (Opinion.AGREE, Opinion.DISAGREE, Opinion.RETURN),
            Tier.APPROVAL: (Opinion.AGREE, Opinion.DISAGREE, Opinion.RETURN)}
FORM_FIELDS = ("opinion", "comment", "amount", "rate", "refusal_category")
DONE = {"review": "意见已提交，已转入下一环节。", "approved": "已审批通过，授信已生效。", "rejected": "已否决该申请。",
        "returned": "已退回上一环节补充。", "waiting": "审查意见已保存；暂无符合条件（授权额度足够且未参与前序环节）的审批人，"
        "请本行管理员设置审批人授权额度后抽取审批人。", "decided": "自动决策已完成。",
        "consent": "缺少征信授权，申请已转为待授权：请先采集客户的征信查询授权书。"}

nav("我的待办", "console.queue", Action.APPLICATION_READ, Action.REVIEW_INVESTIGATE, Action.REVIEW_REVIEW,
    Action.REVIEW_APPROVE, order=30, hint="贷款申请、调查/审查/审批任务及其期限")


# -- how things are shown ------------------------------------------------------------------------

SHOWN = {"yuan": rmb, "percent": percent, "china_time": china_time, "STATUS": STATUS, "TIER": TIER,
         "OPINION": OPINION, "OUTCOME": OUTCOME, "HIT_OUTCOME": HIT_OUTCOME, "FAILURE_SOURCE": FAILURE_SOURCE,
         "CATEGORIES": REFUSAL_CATEGORIES, "METHODS": REPAYMENT_METHODS}


# -- my queue -------------------------------------------------------------------------------------

def _choice(name: str, allowed: Mapping[str, Any], default: str) -> str:
    given = request.args.get(name, default)
    if given not in allowed:
        raise invalid(name, f"{given!r} is not one of: {', '.join(allowed)}")
    return given


def _offset() -> int:
    text = request.args.get("offset", "0")
    if not text.isdigit() or int(text) > 10_000_000:
        raise invalid("offset", f"{text!r} is not a whole number of rows to skip")
    return int(text)


def _works_tasks() -> bool:
    return any(may(me(), a) for a in review.ACTION.values())


@bp.route("/queue")
@page(Action.APPLICATION_READ)
def queue() -> Any:
    """Applications waiting on the signed-in user (or the subtree's, ``who=all``), by status; for
    admins the overdue review steps too."""
    statuses = {"": None, **{s.value: s for s in ApplicationStatus}}
    status = statuses[_choice("status", statuses, "")]
    who = _choice("who", WHO, "me" if _works_tasks() else "all")
    offset = _offset()
    rt, u = runtime(), unit()
    today = rt.clock.business_date()
    found = applications.list_applications(u, me(), applications.Filters(
        status=status, assigned_to_me=who == "me", limit=PAGE, offset=offset))
    rows = [(a, review.open_task(u, a.id)) for a in found]
    overdue: list[tuple[ReviewTask, Application]] = []
    if may(me(), Action.REVIEW_OVERDUE):
        overdue = review.overdue(u, me(), None, today)[1]
    return render("console/credit/queue.html", rows=rows, overdue=overdue, today=today, status=status,
                  who=who, offset=offset, page_size=PAGE, WHO=WHO, **SHOWN,
                  status_options=[("", "全部状态")] + [(s.value, STATUS[s][0]) for s in ApplicationStatus])


# -- one application ------------------------------------------------------------------------------

def fact_sources(record: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, str]:
    """Where each fact of a decision record came from, as ``assemble_facts`` layered them (later
    parts win): the customer file, the bureau summary, the data connectors, the form, the
    application and the parameters."""
    sources = {name: "客户档案" for name in record.get("facts", {})}
    applicant = (record.get("bureau") or {}).get("applicant") or {}
    for name in applicant.get("summary") or {}:
        sources[name] = f"征信报告（{applicant.get('provider') or '征信'}）"
    for call in record.get("connectors") or []:
        plugin = (call.get("provenance") or {}).get("plugin", "")
        for name in call.get("fields") or []:
            sources[name] = f"数据连接器 {call.get('connector', '')}（插件 {plugin}）"
    for name in form:
        sources[name] = "申请表"
    for name in ("amount", "term_months", "product_code", "segment", "repayment_method"):
        sources[name] = "申请"
    for name in ("lpr_1y", "lpr_5y"):
        sources[name] = "参数（LPR）"
    return {name: sources[name] for name in record.get("facts", {})}


def _my_task(app: Application, task: ReviewTask | None) -> ReviewTask | None:
    """The open task if it is the signed-in user's to act on now (the form is shown only then;
    the service checks again whoever posts)."""
    if task is None or task.assignee.username != me().username or app.status is not review.STATE[task.tier]:
        return None
    return task if may(me(), review.ACTION[task.tier]) else None


def _opinion_options(task: ReviewTask | None) -> list[tuple[str, str]]:
    if task is None:
        return []
    return [("", "请选择")] + [(o.value, OPINION[o]) for o in OPINIONS[task.tier]]


def _show(application_id: int, *, status: int = 200, errors: Mapping[str, list[str]] | None = None,
          message: str = "", form: Mapping[str, str] | None = None) -> Any:
    u, p = unit(), me()
    app, tasks = review.review_of(u, p, application_id)
    info = applications.details(u, p, app)
    stored = None
    if info["decision"] is not None and may(p, Action.DECISION_READ):
        stored = decisions.stored_decision(u, p, application_id, Action.DECISION_READ)[1]
    record: Mapping[str, Any] = stored.record if stored is not None else {}
    task = _my_task(app, review.open_task(u, app.id))
    may_decide = (app.status in decisions.DECIDABLE and app.filed_by.username == p.username
                  and may(p, Action.APPLICATION_DECIDE))
    done = request.args.get("done", "")
    return render("console/credit/application.html", status, app=app, info=info, identity=shown_id(p, app.customer),
                  tasks=tasks, decision=stored, record=record, sources=fact_sources(record, app.form or {}),
                  task=task, opinion_options=_opinion_options(task), today=runtime().clock.business_date(),
                  may_decide=may_decide,
                  errors=dict(errors or {}), message=message, form=dict(form or {}),
                  notice=DONE.get(done, ""), **SHOWN)


@bp.route("/applications/<int:application_id>")
@page(Action.APPLICATION_READ)
def application(application_id: int) -> Any:
    """The application, its decision (why), its review trail, and the form of the user's step."""
    return _show(application_id)


def _refused(exc: NongxinError | NongxinSdkError, application_id: int, form: Mapping[str, str] | None = None) -> Any:
    """A step the service refused: scope (404) and role (403) refusals are their pages; any other
    refusal re-renders the application with the reason beside the fields, nothing written."""
    if isinstance(exc, NotFound) or (isinstance(exc, Forbidden) and exc.code == "forbidden"):
        raise exc
    unit().rollback()
    seen = describe(exc)
    return _show(application_id, status=seen.status, errors=field_errors(exc), message=seen.body().get("message", ""),
                 form=form)


def _opinion(text: str) -> Opinion:
    try:
        return Opinion(text)
    except ValueError:
        raise invalid("opinion", "choose an opinion: " + ", ".join(o.value for o in Opinion)) from None


@bp.route("/applications/<int:application_id>/review", methods=["POST"])
@page(Action.REVIEW_INVESTIGATE, Action.REVIEW_REVIEW, Action.REVIEW_APPROVE)
def review_step(application_id: int) -> Any:
    """The opinion of the signed-in user's open task, through ``review.act`` (as the API's
    ``POST /api/applications/<id>/review``)."""
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    rt, u = runtime(), unit()
    try:
        if len(form["comment"]) > 2000:
            raise invalid("comment", "at most 2000 characters")
        done = review.act(u, me(), rt.calendar, rt.plugins, application_id, rt.clock.business_date(),
                          opinion=_opinion(form["opinion"]), comment=form["comment"], amount=form["amount"] or None,
                          rate=form["rate"] or None, refusal_category=form["refusal_category"] or None)
    except (NongxinError, NongxinSdkError) as exc:
        return _refused(exc, application_id, form)
    u.commit()
    if done.waiting is not None:
        notice = "waiting"
    elif done.task.opinion is Opinion.RETURN:
        notice = "returned"
    elif done.app.status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
        notice = done.app.status.value
    else:
        notice = "review"
    return redirect(url_for("console.application", application_id=application_id, done=notice), code=303)


@bp.route("/applications/<int:application_id>/decide", methods=["POST"])
@page(Action.APPLICATION_DECIDE)
def decide(application_id: int) -> Any:
    """Run the automated decision (``decision.decide``, which commits), as the API's ``decide``."""
    try:
        done = decisions.decide(unit(), me(), runtime(), application_id)
    except (NongxinError, NongxinSdkError) as exc:
        return _refused(exc, application_id)
    notice = "decided" if done.decision is not None else "consent"
    return redirect(url_for("console.application", application_id=application_id, done=notice), code=303)
