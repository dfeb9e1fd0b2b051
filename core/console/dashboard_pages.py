"""Post-loan pages and the dashboard (仪表盘、预警): warnings with their tasks, the close and reassign
forms, and the charts of warnings, overdue tasks, NPL ratios, decisions and scorecard stability.

The promise: every figure and row comes from the services the API uses (``early_warning.warnings``,
``early_warning.tasks``, ``scorecards.monitor``) or from the set-wise aggregates of
``console.figures``, with the signed-in user, so a page shows only the user's subtree (another
county bank's warning or task is the 404 page) and each chart only to a role that may read its data.
A form that a service refuses is shown again with the reasons beside its fields (422, nothing
written); a form that succeeds is committed and redirects (303) to the warning with a notice.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping, Sequence

from flask import redirect, request, url_for

from nongxin.core.console import figures
from nongxin.core.console.formats import yuan
from nongxin.core.console.web import bp, error_page, field_errors, me, nav, page, render, unit
from nongxin.core.early_warning import tasks as task_service
from nongxin.core.early_warning import warnings as warning_service
from nongxin.core.early_warning.domain import COLOUR_LABELS, COLOURS, DISPOSALS
from nongxin.core.errors import ValidationFailed
from nongxin.core.institutions import services as institutions
from nongxin.core.permissions import Action, may
from nongxin.core.scorecards import monitor
from nongxin.core.scoping import PAGE
from nongxin.core.web import runtime
from nongxin.sdk.rules.rule import REFUSAL_CATEGORIES

CHARTS = (Action.WARNING_READ, Action.CLASSIFICATION_READ, Action.DECISION_READ, Action.SCORECARD_READ)
STATUS_LABELS = {"open": "未关闭", "closed": "已关闭"}
ESCALATION_LABELS = {"customer_manager": "客户经理", "branch_head": "支行负责人", "risk_department": "风险管理部"}
OUTCOME_LABELS = {"approved": "批准", "rejected": "拒绝", "manual_review": "转人工审查"}
COLOUR_HEX = {"yellow": "#e6b800", "orange": "#f08c00", "red": "#d9363e"}
NOTICES = {"closed": "任务已关闭，预警随之关闭。", "reassigned": "任务已转派。"}

nav("仪表盘", "console.dashboard", *CHARTS, order=5, hint="预警、逾期任务、不良率、审批决策与模型稳定性图表")
nav("预警", "console.warnings", Action.WARNING_READ, order=40, hint="本辖预警及其处置任务：期限、升级、关闭与转派")


def _today() -> date:
    return runtime().clock.business_date()


def _page_number(raw: str | None) -> int:
    """The ``page`` query parameter: a whole number from 1 (ValidationFailed naming it otherwise)."""
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise ValidationFailed(f"page {raw[:20]!r} is not a page number",
                               fields={"page": ["a whole number from 1"]})
    return int(raw)


def _places() -> list[tuple[str, str]]:
    """The institutions of the user's subtree, for the institution filter: [(code, name)]."""
    top = institutions.visible(unit().session, me(), me().institution_code)
    return [(i.code, f"{i.name}（{i.code}）") for i in institutions.subtree(unit().session, top)]


# -- warnings ---------------------------------------------------------------------------------

@bp.route("/warnings")
@page(Action.WARNING_READ)
def warnings() -> Any:
    """Warnings of the user's subtree (open by default), newest first, each with its open task."""
    args = request.args
    status = args.get("status", "open")
    chosen = {"colour": args.get("colour") or None, "status": status, "institution": args.get("institution") or None}
    if any(len(v) > 64 for v in chosen.values() if v):
        return error_page(422, "查询参数过长。", {k: ["at most 64 characters"] for k, v in chosen.items()
                                                    if v and len(v) > 64})
    try:
        number = _page_number(args.get("page"))
    except ValidationFailed as exc:
        return error_page(422, "查询参数有误：页码应为从 1 开始的整数。", field_errors(exc))
    filters = warning_service.WarningFilters(
        colour=chosen["colour"], status=None if status == "all" else status, institution=chosen["institution"],
        limit=PAGE + 1, offset=(number - 1) * PAGE)
    rows = warning_service.list_warnings(unit(), me(), filters)
    more, rows = len(rows) > PAGE, rows[:PAGE]
    open_tasks = figures.open_tasks_of(unit(), me(), [r["id"] for r in rows], _today())
    kept: dict[str, Any] = {k: v for k, v in chosen.items() if v}
    pager = {"prev": url_for("console.warnings", **kept, page=number - 1) if number > 1 else None,
             "next": url_for("console.warnings", **kept, page=number + 1) if more else None}
    return render("console/dashboard/warnings.html", rows=rows, tasks=open_tasks, chosen=chosen, number=number,
                  pager=pager, places=_places(), labels=_labels(),
                  filtered=any(args.get(k) for k in ("colour", "institution")) or status != "open")


@bp.route("/warnings/<int:warning_id>")
@page(Action.WARNING_READ)
def warning(warning_id: int) -> Any:
    """One warning with its tasks, their events and, for who may, the close and reassign forms."""
    return _warning_page(warning_id)


def _warning_page(warning_id: int, status: int = 200, *, task_id: int | None = None, form: str = "",
                  errors: Mapping[str, list[str]] | None = None, values: Mapping[str, str] | None = None) -> Any:
    shown = warning_service.warning_detail(unit(), me(), warning_id, _today())
    return render("console/dashboard/warning.html", status, w=shown, labels=_labels(),
                  may_close=may(me(), Action.WARNING_TASK_CLOSE), may_reassign=may(me(), Action.WARNING_TASK_REASSIGN),
                  failed={"task": task_id, "form": form, "errors": dict(errors or {}), "entered": dict(values or {})},
                  notice=NOTICES.get(request.args.get("done", "")))


def _task_warning(task_id: int) -> int:
    """The warning of a task the user sees (404 page otherwise)."""
    return task_service.visible_task(unit(), me(), task_id, Action.WARNING_READ).warning_id


@bp.route("/tasks/<int:task_id>/close", methods=["POST"])
@page(Action.WARNING_TASK_CLOSE)
def close_task(task_id: int) -> Any:
    """Close a task (and its warning) with findings, a disposal and evidence, one reference a line."""
    form = request.form
    # bounded far above what the service accepts (2,000 characters of findings, 50 references of 200)
    values = {k: form.get(k, "")[:cap] for k, cap in (("findings", 4000), ("disposal", 40), ("evidence", 20000))}
    evidence = [line.strip() for line in values["evidence"].splitlines() if line.strip()]
    closing = task_service.Closing(values["findings"], values["disposal"], evidence)
    try:
        task = task_service.close_task(unit(), me(), task_id, closing, _today())
    except ValidationFailed as exc:
        return _warning_page(_task_warning(task_id), 422, task_id=task_id, form="close", errors=field_errors(exc),
                             values=values)
    unit().commit()
    return redirect(url_for("console.warning", warning_id=task.warning_id, done="closed"), code=303)


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@page(Action.WARNING_TASK_REASSIGN)
def reassign_task(task_id: int) -> Any:
    """Hand a task to another customer manager or post-loan checker of its county bank."""
    values = {"to": request.form.get("to", "").strip()[:64], "note": request.form.get("note", "")[:500]}
    try:
        task = task_service.reassign_task(unit(), me(), task_id, values["to"], values["note"], _today())
    except ValidationFailed as exc:
        return _warning_page(_task_warning(task_id), 422, task_id=task_id, form="reassign", errors=field_errors(exc),
                             values=values)
    unit().commit()
    return redirect(url_for("console.warning", warning_id=task.warning_id, done="reassigned"), code=303)


def _labels() -> dict[str, Any]:
    return {"colour": COLOUR_LABELS, "status": STATUS_LABELS, "escalation": ESCALATION_LABELS,
            "disposal": dict(DISPOSALS), "colours": COLOURS, "outcome": OUTCOME_LABELS,
            "refusal": REFUSAL_CATEGORIES}


# -- the dashboard ----------------------------------------------------------------------------

@bp.route("/dashboard")
@page(*CHARTS)
def dashboard() -> Any:
    """The charts the user's role may read, each over the user's subtree, each with its table."""
    who, today = me(), _today()
    shown: dict[str, Any] = {"today": today, "days": figures.TREND_DAYS, "labels": _labels()}
    if may(who, Action.WARNING_READ):
        shown.update(_warning_charts(today))
    if may(who, Action.CLASSIFICATION_READ):
        shown["npl_date"], npl = figures.npl_latest(unit(), who)
        shown["npl"] = [{**r, "percent": _percent(r["ratio"]), "outstanding_yuan": yuan(r["outstanding"]),
                         "npl_yuan": yuan(r["npl_outstanding"])} for r in npl]
        shown["npl_chart"] = _bars([r["name"] for r in shown["npl"]],
                                   [("不良率", [r["percent"] for r in shown["npl"]], "#d9363e")], suffix="%")
    if may(who, Action.DECISION_READ):
        shown.update(_decision_chart(figures.decisions_by_outcome(unit(), who, today)))
    if may(who, Action.SCORECARD_READ):
        shown["stability"] = monitor.stability(unit(), who)
        shown["model_warnings"] = monitor.warnings(unit(), who, "open", None, PAGE, 0)
    return render("console/dashboard/dashboard.html", **shown)


def _warning_charts(today: date) -> dict[str, Any]:
    by_bank = figures.warnings_by_bank_and_colour(unit(), me())
    trend = figures.warning_trend(unit(), me(), today)
    overdue = figures.overdue_tasks_by_bank(unit(), me(), today)
    names = [b.name for b in by_bank]
    return {
        "by_bank": by_bank, "trend": trend, "overdue": overdue,
        "by_bank_chart": _bars(names, [(COLOUR_LABELS[c], [b.counts.get(c, 0) for b in by_bank], COLOUR_HEX[c])
                                       for c in COLOURS], stack=True),
        "trend_chart": {"kind": "line", "categories": [d.strftime("%m-%d") for d, _ in trend],
                        "series": [{"name": "新增预警", "data": [n for _, n in trend], "color": "#1f6feb"}]},
        "trend_total": sum(n for _, n in trend),
        "overdue_chart": _bars([b.name for b in overdue],
                               [("未关闭任务", [b.counts.get("open", 0) for b in overdue], "#1f6feb"),
                                ("已逾期", [b.counts.get("overdue", 0) for b in overdue], "#d9363e")]),
    }


def _decision_chart(rows: list[tuple[str, str | None, int]]) -> dict[str, Any]:
    order = list(OUTCOME_LABELS)
    outcomes = sorted({o for o, _, _ in rows}, key=lambda o: order.index(o) if o in order else len(order))
    categories = sorted({c or "" for _, c, _ in rows})
    counts = {(o, c or ""): n for o, c, n in rows}
    series = [(REFUSAL_CATEGORIES.get(c, c) if c else "无拒绝类别", [counts.get((o, c), 0) for o in outcomes],
               None) for c in categories]
    return {"decisions": rows, "decisions_total": sum(n for _, _, n in rows),
            "decisions_chart": _bars([OUTCOME_LABELS.get(o, o) for o in outcomes], series, stack=True)}


def _bars(categories: list[str], series: Sequence[tuple[str, list[Any], str | None]], *,
          stack: bool = False, suffix: str = "") -> dict[str, Any]:
    """A bar chart's JSON for ``dashboard.js``: numbers as ints or decimal strings (never floats);
    ``suffix`` follows each value on the axis."""
    return {"kind": "bar", "categories": categories, "stack": stack, "unit": suffix,
            "series": [{"name": name, "data": data, "color": colour} for name, data, colour in series]}


def _percent(ratio: str) -> str:
    return format((Decimal(ratio) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")

