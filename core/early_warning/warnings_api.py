"""``GET /api/warnings``, ``GET /api/warnings/{id}``, ``GET /api/warnings/counts``: warnings in the
caller's subtree (``core.early_warning.warnings``).

The promises: another county bank's warning is 404, exactly as a missing one, and never listed or
counted; an ``institution`` outside the subtree is 404; a colour, status or ``by`` that does not
exist is 422 naming the field; a role without ``warning.read`` is 403.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.early_warning import warnings as service
from nongxin.core.early_warning.domain import COLOURS
from nongxin.core.early_warning.models import Warning
from nongxin.core.institutions.models import Institution
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, Timestamp, column_text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("early_warnings", __name__, url_prefix="/api/warnings",
                description="Post-loan warnings (预警): list, one with its tasks, counts")


class WarningQuery(StrictSchema):
    colour = Text(max_length=16, load_default=None, metadata={"enum": list(COLOURS)})
    status = Text(max_length=16, load_default=None, metadata={"enum": list(service.STATUSES)})
    institution = column_text(Institution.code, load_default=None)
    rule = column_text(Warning.rule_code, load_default=None)
    loan_no = column_text(Warning.loan_no, load_default=None)
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class WarningCountQuery(StrictSchema):
    by = Text(max_length=16, load_default="colour", metadata={"enum": list(service.COUNT_BY)})
    status = Text(max_length=16, load_default=None, metadata={"enum": list(service.STATUSES)})
    from_ = Day(load_default=None, data_key="from")
    to = Day(load_default=None)
    institution = column_text(Institution.code, load_default=None)


class WarningOut(OutSchema):
    id = fields.Integer(required=True)
    loan_no = fields.String(required=True, allow_none=True)
    line_number = fields.String(required=True, allow_none=True)
    subject_kind = fields.String(required=True, metadata={"enum": ["loan", "pledge", "line"]})
    rule = fields.String(required=True)
    rule_version = fields.Integer(required=True)
    colour = fields.String(required=True, metadata={"enum": list(COLOURS)})
    status = fields.String(required=True, metadata={"enum": list(service.STATUSES)})
    reason = fields.String(required=True)
    facts = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)
    first_seen = fields.Date(required=True)
    last_seen = fields.Date(required=True)
    closed_on = fields.Date(required=True, allow_none=True)
    reopened = fields.Integer(required=True)
    county_bank = fields.String(required=True)
    institution = fields.String(required=True)
    open_task = fields.Integer(required=True, allow_none=True)


class WarningTaskEventOut(OutSchema):
    kind = fields.String(required=True)
    business_date = fields.Date(required=True)
    actor = fields.String(required=True)
    level = fields.Integer(required=True)
    from_user = fields.String(required=True, allow_none=True)
    to_user = fields.String(required=True, allow_none=True)
    note = fields.String(required=True)
    at = Timestamp(required=True)


class WarningTaskOut(OutSchema):
    id = fields.Integer(required=True)
    warning_id = fields.Integer(required=True)
    loan_no = fields.String(required=True, allow_none=True)
    rule = fields.String(required=True)
    colour = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["open", "closed"]})
    opened_on = fields.Date(required=True)
    due_on = fields.Date(required=True)
    due_estimated = fields.Boolean(required=True)
    overdue = fields.Boolean(required=True)
    escalation_level = fields.Integer(required=True)
    escalation_name = fields.String(required=True)
    escalated_to = fields.String(required=True, allow_none=True)
    escalated_on = fields.Date(required=True, allow_none=True)
    assigned_to = fields.String(required=True, allow_none=True)
    county_bank = fields.String(required=True)
    institution = fields.String(required=True)
    closed_on = fields.Date(required=True, allow_none=True)
    closed_by = fields.String(required=True, allow_none=True)
    findings = fields.String(required=True, allow_none=True)
    disposal = fields.String(required=True, allow_none=True)
    evidence = fields.List(fields.String(), required=True)


class WarningTaskDetailOut(WarningTaskOut):
    events = fields.List(fields.Nested(WarningTaskEventOut), required=True)


class WarningDetailOut(WarningOut):
    tasks = fields.List(fields.Nested(WarningTaskDetailOut), required=True)


class WarningCountOut(OutSchema):
    key = fields.String(required=True, metadata={"description": "the colour, county bank code, rule code or day"})
    count = fields.Integer(required=True)


class WarningCountsOut(OutSchema):
    by = fields.String(required=True)
    counts = fields.List(fields.Nested(WarningCountOut), required=True)


@blp.route("")
@blp.arguments(WarningQuery, location="query")
@blp.response(200, WarningOut(many=True))
def list_warnings(args: dict[str, Any]) -> Any:
    """Warnings in the caller's subtree, newest first."""
    return service.list_warnings(uow(), principal(), service.WarningFilters(**args))


@blp.route("/counts")
@blp.arguments(WarningCountQuery, location="query")
@blp.response(200, WarningCountsOut)
def count_warnings(args: dict[str, Any]) -> Any:
    """Warnings counted by colour, county bank, rule or day (first seen), for dashboards."""
    rows = service.counts(uow(), principal(), args["by"], status=args["status"], from_day=args["from_"],
                          to_day=args["to"], institution=args["institution"])
    return {"by": args["by"], "counts": rows}


@blp.route("/<int:warning_id>")
@blp.response(200, WarningDetailOut)
def show_warning(warning_id: int) -> Any:
    """One warning with its tasks and their events."""
    return service.warning_detail(uow(), principal(), warning_id, runtime().clock.business_date())
