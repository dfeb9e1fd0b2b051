"""``GET /api/scorecards/challengers`` and ``GET /api/scorecards/challengers/compare``: the
challengers scored in shadow, and one champion/challenger comparison (``core.scorecards.compare``).

The promises: an ``institution`` outside the caller's subtree is 404 (then ``scorecard.read``,
403); a missing or over-long field is 422 naming it; figures are Decimal strings of 6 places or ints.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.institutions.models import Institution
from nongxin.core.schemas import Day, OutSchema, StrictSchema, column_text
from nongxin.core.scorecards import compare as service
from nongxin.core.scorecards.models import ChallengerScore
from nongxin.core.scorecards.outcomes import DEFAULT_MIN_MONTHS
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("scorecard_challengers", __name__, url_prefix="/api/scorecards/challengers",
                description="Champion and challenger (冠军/挑战者): shadow scores and their comparison")


class ChallengersQuery(StrictSchema):
    institution = column_text(Institution.code, required=True)


class ChallengerCompareQuery(StrictSchema):
    institution = column_text(Institution.code, required=True)
    segment = column_text(ChallengerScore.segment, required=True)
    challenger = column_text(ChallengerScore.challenger_code, load_default=None)
    since = Day(load_default=None)
    until = Day(load_default=None)
    min_months = fields.Integer(load_default=DEFAULT_MIN_MONTHS, validate=validate.Range(min=0, max=120))
    min_each = fields.Integer(load_default=service.MIN_EACH, validate=validate.Range(min=1, max=1_000_000))


class ChallengerOut(OutSchema):
    segment = fields.String(required=True)
    challenger = fields.String(required=True)
    version = fields.Integer(required=True)
    decisions = fields.Integer(required=True)
    first = fields.Date(required=True)
    last = fields.Date(required=True)


class ChallengerOutcomesOut(OutSchema):
    as_of = fields.Date(required=True)
    min_months = fields.Integer(required=True)
    goods = fields.Integer(required=True)
    bads = fields.Integer(required=True)
    unknown = fields.Integer(required=True)
    min_each = fields.Integer(required=True)


class ChallengerKsOut(OutSchema):
    champion = fields.String(required=True, allow_none=True)
    challenger = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)


class ChallengerCompareOut(OutSchema):
    institution = fields.String(required=True)
    segment = fields.String(required=True)
    challenger = fields.String(required=True, allow_none=True)
    versions = fields.List(fields.Integer(), required=True)
    champions = fields.List(fields.String(), required=True)
    since = fields.Date(required=True, allow_none=True)
    until = fields.Date(required=True, allow_none=True)
    decisions = fields.Integer(required=True)
    paired = fields.Integer(required=True)
    pearson = fields.String(required=True, allow_none=True)
    spearman = fields.String(required=True, allow_none=True)
    migration = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                            required=True)
    outcomes = fields.Nested(ChallengerOutcomesOut, required=True)
    ks = fields.Nested(ChallengerKsOut, required=True)


@blp.route("")
@blp.arguments(ChallengersQuery, location="query")
@blp.response(200, ChallengerOut(many=True))
def list_challengers(args: dict[str, Any]) -> Any:
    """Shadow scores counted per segment and challenger at and below the institution (scorecard.read)."""
    return service.challengers(uow(), principal(), args["institution"])


@blp.route("/compare")
@blp.arguments(ChallengerCompareQuery, location="query")
@blp.response(200, ChallengerCompareOut)
def compare_challenger(args: dict[str, Any]) -> Any:
    """The champion against one challenger: correlation, grade migration, KS once outcomes are known
    (scorecard.read)."""
    return service.compare(uow(), principal(), args["institution"], args["segment"], args["challenger"],
                           args["since"], args["until"], today=runtime().clock.business_date(),
                           min_months=args["min_months"], min_each=args["min_each"])
