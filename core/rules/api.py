"""Rules for parameter admins: what is in force where, and checking an expression before shipping it."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.errors import field_error
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, column_text
from nongxin.core.web import principal, runtime, uow
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import RuleError, check_expression
from nongxin.sdk.rules.parser import MAX_EXPRESSION_LENGTH

blp = Blueprint("rules", __name__, url_prefix="/api/rules", description="Rules in force and expression checks")


class RuleOut(OutSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    expression = fields.String(required=True)
    outcome = fields.String(required=True)
    level = fields.String(required=True)
    owner = fields.String(required=True)
    version = fields.Integer(required=True)
    reason = fields.String(required=True, allow_none=True)
    origin = fields.String(required=True, allow_none=True)


class RuleFailureOut(OutSchema):
    plugin = fields.String(required=True)
    error = fields.String(required=True)


class RulesOut(OutSchema):
    institution = fields.String(required=True)
    stage = fields.String(required=True)
    on = fields.Date(required=True)
    usable = fields.Boolean(required=True, metadata={"description": "false: no decision may use this rule book"})
    error = fields.String(required=True, allow_none=True)
    failures = fields.List(fields.Nested(RuleFailureOut), required=True)
    rules = fields.List(fields.Nested(RuleOut), required=True)


class CheckOut(OutSchema):
    ok = fields.Boolean(required=True)


class FieldOut(OutSchema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    label = fields.String(required=True)


class RulesQuery(StrictSchema):
    institution = column_text(Institution.code, required=True)
    stage = Text(max_length=32, required=True, validate=validate.OneOf(list(SCHEMAS)))
    on = Day(load_default=None)


class StageQuery(StrictSchema):
    stage = Text(max_length=32, required=True, validate=validate.OneOf(list(SCHEMAS)))


class CheckBody(StrictSchema):
    stage = Text(max_length=32, required=True, validate=validate.OneOf(list(SCHEMAS)))
    # Far longer than the language allows (MAX_EXPRESSION_LENGTH), so that the rule language
    # itself answers, with line and column; this bound only keeps absurd bodies out.
    expression = Text(max_length=64 * MAX_EXPRESSION_LENGTH, multiline=True, required=True)
    code = Text(max_length=32, load_default="CHECK")


@blp.route("")
@blp.arguments(RulesQuery, location="query")
@blp.response(200, RulesOut)
def rules_in_force(args: dict[str, Any]) -> Any:
    """The rules of a stage in force at an institution on a day (province, city and county rules),
    and whether the rule book is usable: a failing or broken rule pack makes it unusable."""
    inst = institutions.visible_for(uow().session, principal(), args["institution"], Action.RULES_READ)
    book = runtime().rulebooks.get(uow().session, inst, args["stage"], args["on"])
    return {
        "institution": inst.code, "stage": book.stage, "on": book.on, "usable": book.usable,
        "error": book.error, "failures": [{"plugin": f.plugin, "error": f.error} for f in book.failures],
        "rules": [{"code": r.code, "name": r.name, "expression": r.expression, "outcome": r.outcome,
                   "level": r.level, "owner": r.owner, "version": r.version, "reason": r.reason,
                   "origin": r.origin} for r in book.rules],
    }


@blp.route("/check", methods=["POST"])
@blp.arguments(CheckBody)
@blp.response(200, CheckOut)
def check(body: dict[str, Any]) -> Any:
    """Check one expression against a stage's fields; 422 shows the rule code, line, column and caret."""
    require(principal(), Action.RULES_CHECK)
    try:
        check_expression(body["expression"], SCHEMAS[body["stage"]], code=body["code"])
    except RuleError as exc:
        raise field_error("expression", exc) from None
    return {"ok": True}


@blp.route("/fields")
@blp.arguments(StageQuery, location="query")
@blp.response(200, FieldOut(many=True))
def stage_fields(args: dict[str, Any]) -> Any:
    """The fields a rule of this stage may read, with type and Chinese label."""
    require(principal(), Action.RULES_CHECK)
    return [{"name": f.name, "type": f.type.value, "label": f.label} for f in SCHEMAS[args["stage"]].values()]


# The endpoints of the rules staff keep live in their own modules, on this blueprint (/api/rules/...).
from nongxin.core.rules import backtest_api, shadow_api, stored_api  # noqa: E402

ROUTE_MODULES = (backtest_api, shadow_api, stored_api)
