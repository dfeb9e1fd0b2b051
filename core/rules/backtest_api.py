"""``POST /api/rules/backtest``: what an expression or stored rules would hit over a day's facts
(``core.rules.backtest``), for parameter admins and product managers (``rules.backtest``)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from nongxin.core.institutions.models import Institution
from nongxin.core.rules import backtest as service
from nongxin.core.rules.api import blp
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, column_text
from nongxin.core.web import principal, runtime, uow
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import OUTCOMES
from nongxin.sdk.rules.parser import MAX_EXPRESSION_LENGTH

__all__ = ["backtest"]

_OUTCOMES = sorted({o for outs in OUTCOMES.values() for o in outs})


class BacktestBody(StrictSchema):
    stage = Text(max_length=32, required=True, validate=validate.OneOf(list(SCHEMAS)))
    expression = Text(max_length=64 * MAX_EXPRESSION_LENGTH, multiline=True, load_default=None)
    rule_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                           validate=validate.Length(min=1, max=50), load_default=None)
    outcome = Text(max_length=16, validate=validate.OneOf(_OUTCOMES), load_default=None)
    institution = column_text(Institution.code, required=True)
    as_of = Day(load_default=None)
    days = fields.Integer(strict=True, validate=validate.Range(min=1, max=366), load_default=30)
    sample = fields.Integer(strict=True, validate=validate.Range(min=0, max=200), load_default=20)

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("expression") is None) == (data.get("rule_ids") is None):
            raise ValidationError("give exactly one of expression and rule_ids", "expression")


class BacktestRuleOut(OutSchema):
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    outcome = fields.String(required=True)
    expression = fields.String(required=True)
    id = fields.Integer(required=True, allow_none=True)


class RuleCountOut(OutSchema):
    code = fields.String(required=True)
    hits = fields.Integer(required=True)


class BankCountOut(OutSchema):
    county_bank = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    population = fields.Integer(required=True)
    hits = fields.Integer(required=True)


class BranchCountOut(BankCountOut):
    branch = fields.String(required=True)


class SampleOut(OutSchema):
    subject = fields.String(required=True)
    county_bank = fields.String(required=True)
    branch = fields.String(required=True, allow_none=True)
    rules = fields.List(fields.String(), required=True)
    facts = fields.Dict(keys=fields.String(), required=True)
    outcome = fields.String(metadata={"description": "admission: the decision's stored outcome"})
    would_be = fields.String(metadata={"description": "admission: its outcome with the backtested rules"})


class FromToOut(OutSchema):
    from_ = fields.String(required=True, attribute="from", data_key="from")
    to = fields.String(required=True)
    count = fields.Integer(required=True)


class ChangedOut(OutSchema):
    total = fields.Integer(required=True)
    from_to = fields.List(fields.Nested(FromToOut), required=True)


class BacktestOut(OutSchema):
    stage = fields.String(required=True)
    institution = fields.String(required=True)
    as_of = fields.String(required=True)
    days = fields.Integer(required=True, allow_none=True)
    source = fields.String(required=True)
    rules = fields.List(fields.Nested(BacktestRuleOut), required=True)
    population = fields.Integer(required=True)
    hits = fields.Integer(required=True)
    by_rule = fields.List(fields.Nested(RuleCountOut), required=True)
    by_county_bank = fields.List(fields.Nested(BankCountOut), required=True)
    by_branch = fields.List(fields.Nested(BranchCountOut), required=True)
    sample = fields.List(fields.Nested(SampleOut), required=True)
    changed = fields.Nested(ChangedOut, required=True, allow_none=True)
    seconds = fields.Float(required=True)


@blp.route("/backtest", methods=["POST"])
@blp.arguments(BacktestBody)
@blp.response(200, BacktestOut)
def backtest(body: dict[str, Any]) -> Any:
    """What an expression (``expression``) or stored rules (``rule_ids``) would hit over the facts
    of ``as_of`` (default the current business date) at the county banks ``institution`` sees:
    counts by rule, county bank and branch, and a sample with the facts each hit read. Writes
    nothing but its audit entry. 422 ``expression`` with line, column and caret; 422 ``as_of``
    for a future date or one without a ledger snapshot; 404 for another county's institution or rule."""
    unit = uow()  # the service checks the institution (404) before the permission (403)
    answer = service.backtest(unit, principal(), runtime(), **body)
    unit.commit()
    return answer
