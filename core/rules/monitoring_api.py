"""``/api/monitoring``: off-site monitoring models (非现场监测模型) and their suspicious records
(``core.rules.monitoring``).

The promises: another county bank's model, and an ``institution`` or ``model`` filter outside what
the caller sees, are 404, exactly as missing ones; creating needs ``rules.draft`` at a province,
city or county institution (403 ``level``), a stage that exists (422 ``stage``) and a code new at
the institution (409 ``duplicate``); switching a model needs ``rules.draft`` and a place at its
owner institution (403 ``not_owner``); reading needs ``monitoring.read``.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.early_warning.domain import COLOURS
from nongxin.core.institutions.models import Institution
from nongxin.core.rules import monitoring as service
from nongxin.core.rules.models import MonitoringModel, RuleStatus
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, Timestamp, column_text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.web import principal, uow

blp = Blueprint("monitoring", __name__, url_prefix="/api/monitoring",
                description="Off-site monitoring models (非现场监测模型) and their suspicious records")

_STAGES = list(service.STAGES)


def _limit() -> fields.Integer:
    return fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))


def _offset() -> fields.Integer:
    return fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class MonitoringModelIn(StrictSchema):
    code = column_text(MonitoringModel.code, required=True,
                       metadata={"description": "unique at the institution: letters, digits, '.', '_', '-'"})
    name = column_text(MonitoringModel.name, required=True)
    stage = Text(max_length=16, required=True, metadata={"enum": _STAGES})
    description = Text(max_length=2000, multiline=True, load_default="")


class MonitoringModelSwitchIn(StrictSchema):
    note = Text(max_length=500, load_default="", metadata={"description": "why, for the audit trail"})


class MonitoringModelQuery(StrictSchema):
    stage = Text(max_length=16, load_default=None, metadata={"enum": _STAGES})
    active = fields.Boolean(load_default=None)
    limit = _limit()
    offset = _offset()


class MonitoringRecordQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None)
    model = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                           metadata={"description": "a model id"})
    as_of = Day(load_default=None, metadata={"description": "the business date the scan judged"})
    colour = Text(max_length=16, load_default=None, metadata={"enum": list(COLOURS)})
    limit = _limit()
    offset = _offset()


class MonitoringConditionOut(OutSchema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in RuleStatus]})
    colour = fields.String(required=True)
    expression = fields.String(required=True)
    reason = fields.String(required=True)
    effective_from = fields.Date(required=True, allow_none=True)
    effective_to = fields.Date(required=True, allow_none=True)
    author = fields.String(required=True)
    approved_by = fields.String(required=True, allow_none=True)


class MonitoringModelOut(OutSchema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    stage = fields.String(required=True, metadata={"enum": _STAGES})
    owner = fields.String(required=True, metadata={"description": "the owner institution's code"})
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_by = fields.String(required=True)
    created_at = Timestamp(required=True)
    status_counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                metadata={"description": "conditions in each status"})
    conditions = fields.List(fields.Nested(MonitoringConditionOut), required=True)


class MonitoringRecordOut(OutSchema):
    id = fields.Integer(required=True)
    business_date = fields.Date(required=True)
    model_id = fields.Integer(required=True)
    model = fields.String(required=True)
    model_name = fields.String(required=True)
    model_owner = fields.String(required=True)
    condition_id = fields.Integer(required=True)
    condition = fields.String(required=True)
    condition_version = fields.Integer(required=True)
    reason = fields.String(required=True)
    colour = fields.String(required=True, metadata={"enum": list(COLOURS)})
    subject_kind = fields.String(required=True, metadata={"enum": ["loan", "pledge"]})
    subject_ref = fields.String(required=True, metadata={"description": "the loan number or the pledged item's"})
    county_bank = fields.String(required=True)
    institution = fields.String(required=True, metadata={"description": "the loan's or the line's branch"})
    facts = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)


class MonitoringTotalOut(OutSchema):
    model_id = fields.Integer(required=True)
    model = fields.String(required=True)
    colour = fields.String(required=True)
    count = fields.Integer(required=True)


class MonitoringRecordsOut(OutSchema):
    records = fields.List(fields.Nested(MonitoringRecordOut), required=True)
    totals = fields.List(fields.Nested(MonitoringTotalOut), required=True,
                         metadata={"description": "every record the filters match, by model and colour"})
    total = fields.Integer(required=True)


@blp.route("/models")
@blp.arguments(MonitoringModelQuery, location="query")
@blp.response(200, MonitoringModelOut(many=True))
def list_models(args: dict[str, Any]) -> Any:
    """The models the caller sees (owned along its ancestry or in its subtree), with their conditions."""
    return service.models(uow(), principal(), **args)


@blp.route("/models", methods=["POST"])
@blp.arguments(MonitoringModelIn)
@blp.response(201, MonitoringModelOut)
@blp.alt_response(409, response="CONFLICT", description="the institution already has a model with this code")
def create_model(body: dict[str, Any]) -> Any:
    """Create an active model owned by the caller's institution (province, city or county)."""
    unit = uow()
    model = service.create_model(unit, principal(), **body)
    row = service.model_detail(unit, principal(), model.id)
    unit.commit()
    return row


@blp.route("/models/<int:model_id>")
@blp.response(200, MonitoringModelOut)
def show_model(model_id: int) -> Any:
    """One model with every version of its conditions."""
    return service.model_detail(uow(), principal(), model_id)


def _switch(model_id: int, body: dict[str, Any], active: bool) -> Any:
    unit = uow()
    service.set_active(unit, principal(), model_id, active, body["note"])
    row = service.model_detail(unit, principal(), model_id)
    unit.commit()
    return row


@blp.route("/models/<int:model_id>/deactivate", methods=["POST"])
@blp.arguments(MonitoringModelSwitchIn)
@blp.response(200, MonitoringModelOut)
def deactivate(body: dict[str, Any], model_id: int) -> Any:
    """Stop running a model from the next scan on (its records stay)."""
    return _switch(model_id, body, False)


@blp.route("/models/<int:model_id>/activate", methods=["POST"])
@blp.arguments(MonitoringModelSwitchIn)
@blp.response(200, MonitoringModelOut)
def activate(body: dict[str, Any], model_id: int) -> Any:
    """Run a deactivated model again from the next scan on."""
    return _switch(model_id, body, True)


@blp.route("/records")
@blp.arguments(MonitoringRecordQuery, location="query")
@blp.response(200, MonitoringRecordsOut)
def list_records(args: dict[str, Any]) -> Any:
    """Suspicious records in the caller's subtree, newest business date first, with totals."""
    return service.records(uow(), principal(), **args)
