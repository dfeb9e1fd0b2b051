"""Manual review endpoints: act on one's open review task, read an application's review, list
overdue steps. Every check lives in ``nongxin.core.credit.review``; the views only call it."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.credit import review
from nongxin.core.credit.models import Application, Opinion
from nongxin.core.guards import json_body_required, permission_required
from nongxin.core.institutions.models import Institution, User
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, Text, Timestamp, column_text
from nongxin.core.web import principal, runtime, uow
from nongxin.sdk.rules.rule import REFUSAL_CATEGORIES

blp = Blueprint("review", __name__, url_prefix="/api", description="Manual review: investigation, review, approval")


class ReviewAct(StrictSchema):
    opinion = Text(max_length=16, required=True, validate=validate.OneOf([o.value for o in Opinion]))
    comment = Text(max_length=2000, load_default="", multiline=True)
    amount = Text(max_length=24, load_default=None, allow_none=True,
                  metadata={"description": "approval only: yuan, a decimal string; at most the requested "
                            "amount and the approver's approval limit (default: the requested amount)"})
    rate = Text(max_length=16, load_default=None, allow_none=True,
                metadata={"description": "approval only: annual rate, a decimal string within the product's range"})
    refusal_category = Text(max_length=40, load_default=None, allow_none=True,
                            validate=validate.OneOf(list(REFUSAL_CATEGORIES)),
                            metadata={"description": "required to disagree at investigation or approval"})


class TaskOut(OutSchema):
    id = fields.Integer()
    tier = fields.Function(lambda t: t.tier.value)
    assignee = fields.Function(lambda t: t.assignee.username)
    assigned_at = Timestamp()
    due_on = fields.Date()
    opinion = fields.Function(lambda t: t.opinion.value if t.opinion else None)
    comment = fields.String()
    approved_amount = fields.Function(lambda t: None if t.approved_amount is None else str(t.approved_amount))
    approved_rate = fields.Function(lambda t: None if t.approved_rate is None else str(t.approved_rate))
    refusal_category = fields.String(allow_none=True)
    draw = fields.Raw(allow_none=True, metadata={"description": "reviewers and approvers: candidates (user ids "
                                                 "by id) and seed; random.Random(seed).choice(candidates)"})
    done_at = Timestamp(allow_none=True)


def _application(app: Application) -> dict[str, Any]:
    return {"id": app.id, "number": app.number, "status": app.status.value, "amount": str(app.amount),
            "approved_amount": None if app.approved_amount is None else str(app.approved_amount),
            "approved_rate": None if app.approved_rate is None else str(app.approved_rate),
            "refusal_category": app.refusal_category}


class ApplicationBrief(OutSchema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    amount = fields.String()
    approved_amount = fields.String(allow_none=True)
    approved_rate = fields.String(allow_none=True)
    refusal_category = fields.String(allow_none=True)


class ActedOut(OutSchema):
    application = fields.Nested(ApplicationBrief)
    task = fields.Nested(TaskOut)
    next = fields.Nested(TaskOut, allow_none=True)


class ReviewOut(OutSchema):
    application = fields.Nested(ApplicationBrief)
    tasks = fields.List(fields.Nested(TaskOut))


class OverdueQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None,
                              metadata={"description": "institution code (default: the caller's)"})


class OverdueItem(OutSchema):
    application = fields.String()
    application_id = fields.Integer()
    status = fields.String()
    task = fields.Nested(TaskOut)
    days_overdue = fields.Integer(metadata={"description": "working days past due_on"})


class OverdueOut(OutSchema):
    institution = fields.String()
    business_date = fields.Date()
    overdue = fields.List(fields.Nested(OverdueItem))


@blp.route("/applications/<int:application_id>/review", methods=["POST"])
@permission_required(Action.REVIEW_INVESTIGATE, Action.REVIEW_REVIEW, Action.REVIEW_APPROVE)
@json_body_required
@blp.arguments(ReviewAct)
@blp.response(200, ActedOut)
def act(body: dict[str, Any], application_id: int) -> Any:
    """Give the opinion of the caller's open task of the application (investigation by the
    customer manager who filed it, review by the reviewer drawn, approval by the approver drawn);
    the next step is opened at once. 403 ``separation_of_duties`` when the caller investigated
    (or, to approve, reviewed) it; 409 when the application is not in the task's state; 409
    ``no_eligible_approver`` after a review when no approver can be drawn (the review is kept)."""
    unit, rt = uow(), runtime()
    done = review.act(unit, principal(), rt.calendar, rt.plugins, application_id, rt.clock.business_date(),
                      opinion=Opinion(body["opinion"]), comment=body["comment"], amount=body["amount"],
                      rate=body["rate"], refusal_category=body["refusal_category"])
    answer = {"application": _application(done.app), "task": done.task, "next": done.next}
    unit.commit()
    if done.waiting is not None:
        raise done.waiting
    return answer


@blp.route("/applications/<int:application_id>/review")
@blp.response(200, ReviewOut)
def show(application_id: int) -> Any:
    """The application's review tasks with their opinions, oldest first."""
    app, tasks = review.review_of(uow(), principal(), application_id)
    return {"application": _application(app), "tasks": tasks}


@blp.route("/review/overdue")
@blp.arguments(OverdueQuery, location="query")
@blp.response(200, OverdueOut)
def overdue(args: dict[str, Any]) -> Any:
    """Open review steps past their due date in the institution's subtree (county managers)."""
    unit, rt = uow(), runtime()
    today = rt.clock.business_date()
    inst, rows = review.overdue(unit, principal(), args["institution"], today)
    calendar = rt.calendar.get(unit.session)
    return {"institution": inst.code, "business_date": today,
            "overdue": [{"application": a.number, "application_id": a.id, "status": a.status.value, "task": t,
                         "days_overdue": calendar.workdays_between(t.due_on, today).days} for t, a in rows]}


class ApprovalLimitIn(StrictSchema):
    amount = Text(max_length=24, required=True, allow_none=True,
                  metadata={"description": "yuan, a decimal string; null takes the authority away"})


class ApprovalLimitOut(OutSchema):
    username = fields.String()
    role = fields.Function(lambda u: u.role.value)
    approval_limit = fields.Function(lambda u: None if u.approval_limit is None else str(u.approval_limit))


users_blp = Blueprint("approval_limits", __name__, url_prefix="/api/users",
                      description="Approvers' authority (授权额度)")


@users_blp.route("/<username>/approval-limit", methods=["PUT"])
@permission_required(Action.USER_ACTIVATE)
@json_body_required
@users_blp.arguments(ApprovalLimitIn)
@users_blp.response(200, ApprovalLimitOut)
def set_approval_limit(body: dict[str, Any], username: str) -> Any:
    """Set an approver's approval limit: the largest amount they may approve, and the amount the
    random draw checks (county admins, for users of their subtree)."""
    unit = uow()
    user: User = review.set_approval_limit(unit, principal(), username, body["amount"])
    unit.commit()
    return user

