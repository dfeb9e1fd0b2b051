"""/api/rules/...: drafts, submitting, approving, rejecting, retiring and reading stored rules
(``core.rules.services``), on the rules blueprint.

* ``POST /api/rules`` (rules.draft): a draft at the author's own institution and level; 201 with
  its ``id``, ``version``, ``status``, ``owner`` and ``author``. 422 names the field at fault
  (``expression`` with line, column and caret; ``code`` naming the higher rule it would redefine).
* ``PATCH /api/rules/{id}`` (rules.draft): the author edits their draft; 409 ``invalid_state`` else.
* ``POST /api/rules/{id}/submit`` | ``/withdraw`` (rules.draft, the author), ``/approve`` |
  ``/reject`` (rules.approve, a second person of the owner institution: 403
  ``separation_of_duties`` for the author), ``/retire`` (rules.draft, the owner's staff); a step
  the status does not allow is 409 ``invalid_state``.
* ``GET /api/rules/stored?status=&stage=&institution=&code=&shadow=&model=`` and
  ``GET /api/rules/{id}`` (rules.read): rules owned along the caller's ancestry or in their
  subtree; another county bank's rule is 404, as a missing one.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from nongxin.core.institutions.models import Institution
from nongxin.core.rules import services
from nongxin.core.rules.api import blp
from nongxin.core.rules.models import RuleStatus, StoredRule
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, Timestamp, column_text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.web import principal, runtime, uow
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules.parser import MAX_EXPRESSION_LENGTH

STATUSES = [s.value for s in RuleStatus]


class StoredRulePatch(StrictSchema):
    """The fields of a rule, each optional: what a PATCH changes (``null`` clears a date or the model)."""

    code = column_text(StoredRule.code)
    name = column_text(StoredRule.name)
    stage = Text(max_length=32, validate=validate.OneOf(list(SCHEMAS)))
    outcome = column_text(StoredRule.outcome)
    level = column_text(StoredRule.level)
    # far longer than the language allows, so that the rule language answers with line and column
    expression = Text(max_length=64 * MAX_EXPRESSION_LENGTH, multiline=True)
    reason = column_text(StoredRule.reason)
    category = column_text(StoredRule.category)
    effective_from = Day(allow_none=True)
    effective_to = Day(allow_none=True, metadata={"description": "the last day in force (inclusive)"})
    shadow = fields.Boolean(metadata={"description": "runs beside the live rules; never changes an outcome"})
    model = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**31 - 1),
                           metadata={"description": "a monitoring model of the author's institution: the rule "
                                                    "is then one of its conditions"})


class StoredRuleIn(StoredRulePatch):
    code = column_text(StoredRule.code, required=True)
    name = column_text(StoredRule.name, required=True)
    stage = Text(max_length=32, required=True, validate=validate.OneOf(list(SCHEMAS)))
    outcome = column_text(StoredRule.outcome, required=True)
    level = column_text(StoredRule.level, required=True,
                        metadata={"description": "province, city or county: the author's institution's level"})
    expression = Text(max_length=64 * MAX_EXPRESSION_LENGTH, multiline=True, required=True)


class StepIn(StrictSchema):
    note = column_text(StoredRule.decision_note, load_default="", multiline=True)


class StoredRuleQuery(StrictSchema):
    status = Text(max_length=20, load_default=None, validate=validate.OneOf(STATUSES))
    stage = Text(max_length=32, load_default=None, validate=validate.OneOf(list(SCHEMAS)))
    institution = column_text(Institution.code, load_default=None,
                              metadata={"description": "only the rules this institution owns"})
    code = column_text(StoredRule.code, load_default=None)
    shadow = fields.Boolean(load_default=None)
    model = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class StoredRuleOut(OutSchema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    stage = fields.String(required=True)
    outcome = fields.String(required=True)
    level = fields.String(required=True)
    owner = fields.String(required=True, metadata={"description": "the owner institution's code"})
    expression = fields.String(required=True)
    reason = fields.String(required=True)
    category = fields.String(required=True)
    effective_from = fields.Date(required=True, allow_none=True)
    effective_to = fields.Date(required=True, allow_none=True)
    shadow = fields.Boolean(required=True)
    model = fields.Integer(required=True, allow_none=True)
    status = fields.String(required=True, metadata={"enum": STATUSES})
    author = fields.String(required=True)
    created_at = Timestamp(required=True)
    submitted_at = Timestamp(required=True, allow_none=True)
    decided_by = fields.String(required=True, allow_none=True)
    decided_at = Timestamp(required=True, allow_none=True)
    decision_note = fields.String(required=True)
    retired_by = fields.String(required=True, allow_none=True)
    retired_at = Timestamp(required=True, allow_none=True)


def _answer(row: StoredRule) -> dict[str, Any]:
    """The row as answered, read before the commit; then commit."""
    unit = uow()
    out = services.row_json(unit, row)
    unit.commit()
    return out


@blp.route("", methods=["POST"])
@blp.arguments(StoredRuleIn)
@blp.response(201, StoredRuleOut)
def draft_rule(body: dict[str, Any]) -> Any:
    """Draft a rule at your institution and level; the expression is checked at once."""
    rt = runtime()
    return _answer(services.draft(uow(), principal(), rt.plugins, services.RuleSpec(**body), rt.clock.business_date()))


@blp.route("/<int:rule_id>", methods=["PATCH"])
@blp.arguments(StoredRulePatch)
@blp.response(200, StoredRuleOut)
def edit_rule(body: dict[str, Any], rule_id: int) -> Any:
    """Change your own draft (the fields given); checked as a new draft is."""
    rt = runtime()
    return _answer(services.edit(uow(), principal(), rt.plugins, rule_id, body, rt.clock.business_date()))


def _step_view(action: str) -> None:
    """``POST /api/rules/{id}/<action>`` {note}: one step of the life cycle (``services.STEPS``)."""
    def view(body: dict[str, Any], rule_id: int) -> Any:
        rt = runtime()
        return _answer(services.step(uow(), principal(), rt.plugins, rule_id, action, rt.clock.business_date(),
                                     body["note"]))

    view.__name__ = view.__qualname__ = f"{action}_rule"
    view.__doc__ = services.STEP_DOCS[action]
    blp.route(f"/<int:rule_id>/{action}", methods=["POST"])(
        blp.arguments(StepIn)(blp.response(200, StoredRuleOut)(view)))


for _action in services.STEPS:
    _step_view(_action)


@blp.route("/stored")
@blp.arguments(StoredRuleQuery, location="query")
@blp.response(200, StoredRuleOut(many=True))
def list_stored(args: dict[str, Any]) -> Any:
    """Stored rules owned along your ancestry or in your subtree, oldest first."""
    return services.list_rules(uow(), principal(), services.RuleFilters(**args))


@blp.route("/<int:rule_id>")
@blp.response(200, StoredRuleOut)
def show_rule(rule_id: int) -> Any:
    """One stored rule; 404 when it is not yours to see."""
    return services.show(uow(), principal(), rule_id)
