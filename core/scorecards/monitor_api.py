"""Scorecards in production over HTTP; every check lives in ``scorecards.monitor`` and
``scorecards.inventory``.

* ``GET /api/scorecards?institution=`` (scorecard.read): the cards the plugins contribute there.
* ``GET /api/scorecards/stability?institution=&as_of=`` (scorecard.read): the PSI figures of the
  county banks the caller reads, on a date (default: the latest with figures).
* ``POST /api/scorecards/stability/run`` {institution?, as_of?} (scorecard.monitor): run the
  monitor for the county banks under the institution (default: the caller's).
* ``GET /api/model-warnings?status=&institution=`` (scorecard.read): model warnings, newest first.
* ``POST /api/model-warnings/{id}/close`` {note} (scorecard.monitor): close an open one (409 when
  closed already).

Another county bank's institution or warning is 404, like a missing one. PSI values are decimal
strings of 6 places.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.institutions.models import Institution
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, Timestamp, column_text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.scorecards import inventory, monitor
from nongxin.core.scorecards.stability_domain import LABELS
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("scorecard_monitor", __name__, url_prefix="/api",
                description="Scorecards in use, their stability (PSI) and model warnings (模型预警)")

PSI = {"description": "population stability index, a decimal string of 6 places"}


class ScorecardWhereQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None)


class StabilityQuery(ScorecardWhereQuery):
    as_of = Day(load_default=None)


class MonitorRunIn(StrictSchema):
    institution = column_text(Institution.code, load_default=None,
                              metadata={"description": "a county bank or above (default: the caller's institution)"})
    as_of = Day(load_default=None, metadata={"description": "the date to judge (default: the business date)"})


class ModelWarningQuery(ScorecardWhereQuery):
    status = Text(max_length=12, load_default=None, metadata={"enum": list(monitor.STATUSES)},
                  validate=validate.OneOf(monitor.STATUSES, error="use open or closed"))
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class ModelWarningCloseIn(StrictSchema):
    note = Text(max_length=2000, min_length=1, multiline=True, required=True)


class ScorecardOut(OutSchema):
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    segment = fields.String(required=True)
    plugin = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["champion", "challenger", "unused"]})
    variables = fields.List(fields.String(), required=True)
    has_development = fields.Boolean(required=True)
    development_rows = fields.Integer(required=True, allow_none=True)


class ScorecardsOut(OutSchema):
    institution = fields.String(required=True)
    items = fields.List(fields.Nested(ScorecardOut), required=True)
    failures = fields.List(fields.String(), required=True)


class StabilityFigureOut(OutSchema):
    id = fields.Integer(required=True)
    business_date = fields.Date(required=True)
    county_bank = fields.String(required=True)
    scorecard_code = fields.String(required=True)
    scorecard_version = fields.Integer(required=True)
    segment = fields.String(required=True)
    subject = fields.String(required=True, metadata={"description": '"score" or a variable (fact) name'})
    population = fields.Integer(required=True)
    psi = fields.String(required=True, allow_none=True, metadata=PSI)
    threshold = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(LABELS)})
    status_label = fields.String(required=True)
    reason = fields.String(required=True, allow_none=True)
    expected = fields.List(fields.String(), required=True)
    actual = fields.List(fields.String(), required=True)


class StabilityFiguresOut(OutSchema):
    as_of = fields.Date(required=True, allow_none=True)
    items = fields.List(fields.Nested(StabilityFigureOut), required=True)


class MonitorBankOut(OutSchema):
    county_bank = fields.String(required=True)
    cards = fields.Integer(required=True)
    decisions = fields.Integer(required=True)
    figures = fields.Integer(required=True)
    raised = fields.Integer(required=True)
    refreshed = fields.Integer(required=True)
    failures = fields.List(fields.String(), required=True)


class MonitorRunOut(OutSchema):
    as_of = fields.Date(required=True)
    deadline_estimated = fields.Boolean(required=True)
    banks = fields.List(fields.Nested(MonitorBankOut), required=True)


class ModelWarningOut(OutSchema):
    id = fields.Integer(required=True)
    county_bank = fields.String(required=True)
    scorecard_code = fields.String(required=True)
    scorecard_version = fields.Integer(required=True)
    segment = fields.String(required=True)
    subject = fields.String(required=True)
    threshold = fields.String(required=True)
    psi = fields.String(required=True, metadata=PSI)
    population = fields.Integer(required=True)
    raised_on = fields.Date(required=True)
    last_psi = fields.String(required=True, metadata=PSI)
    last_seen_on = fields.Date(required=True)
    status = fields.String(required=True, metadata={"enum": list(monitor.STATUSES)})
    closed_at = Timestamp(required=True, allow_none=True)
    note = fields.String(required=True)


class ModelWarningsOut(OutSchema):
    items = fields.List(fields.Nested(ModelWarningOut), required=True)


@blp.route("/scorecards")
@blp.arguments(ScorecardWhereQuery, location="query")
@blp.response(200, ScorecardsOut)
def list_cards(args: dict[str, Any]) -> Any:
    """The scorecards the plugins contribute at the institution, with their roles."""
    return inventory.scorecards(uow(), principal(), runtime(), args.get("institution"))


@blp.route("/scorecards/stability")
@blp.arguments(StabilityQuery, location="query")
@blp.response(200, StabilityFiguresOut)
def list_stability(args: dict[str, Any]) -> Any:
    """The PSI figures of the county banks the caller reads (latest date by default)."""
    return monitor.stability(uow(), principal(), args.get("institution"), args.get("as_of"))


@blp.route("/scorecards/stability/run", methods=["POST"])
@blp.arguments(MonitorRunIn)
@blp.response(200, MonitorRunOut)
def run(body: dict[str, Any]) -> Any:
    """Run the stability monitor (idempotent per date): the counts per county bank."""
    return monitor.run(uow(), principal(), runtime(), body.get("institution"), body.get("as_of"))


@blp.route("/model-warnings")
@blp.arguments(ModelWarningQuery, location="query")
@blp.response(200, ModelWarningsOut)
def list_warnings(args: dict[str, Any]) -> Any:
    """Model warnings of the county banks the caller reads, newest first."""
    return {"items": monitor.warnings(uow(), principal(), args.get("status"), args.get("institution"), args["limit"],
                                      args["offset"])}


@blp.route("/model-warnings/<int:warning_id>/close", methods=["POST"])
@blp.arguments(ModelWarningCloseIn)
@blp.response(200, ModelWarningOut)
def close(body: dict[str, Any], warning_id: int) -> Any:
    """Close an open model warning with a note (409 when it is closed already)."""
    return monitor.close_warning(uow(), principal(), warning_id, body["note"])
