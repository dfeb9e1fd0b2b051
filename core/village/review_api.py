"""Peer review endpoints (背靠背评议): open a round, add reviewers, enter ratings, show, close, list.
Every check lives in ``nongxin.core.village.review``; the views parse and render. Another county
bank's round is 404, like a missing one; a round that is not open is 409 ``invalid_state``. While a
round is open its detail shows progress only, never a colour or a score."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.customers.services import shows_full_id
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, Text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.village import review
from nongxin.core.village.models import COLOURS, RoundStatus
from nongxin.core.village.review_domain import KINDS
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("review_rounds", __name__, url_prefix="/api/review-rounds",
                description="Back-to-back peer review (背靠背评议)")

_ID = validate.Range(min=1, max=2**31 - 1)
_SCORE = validate.Range(min=1, max=4)


class RoundIn(StrictSchema):
    village = fields.Integer(validate=_ID, metadata={"description": "a village id (or name a grid)"})
    grid = Text(max_length=32, metadata={"description": "a grid code: the round covers every village of it"})
    name = Text(max_length=200, load_default="")


class RoundFilter(StrictSchema):
    village = fields.Integer(validate=_ID)
    status = Text(max_length=16, validate=validate.OneOf([s.value for s in RoundStatus]))
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class ReviewerIn(StrictSchema):
    kind = Text(required=True, max_length=16, validate=validate.OneOf(KINDS))
    name = Text(required=True, max_length=100)
    id_number = Text(required=True, max_length=18, metadata={"description": "the reviewer's resident ID"})
    username = Text(max_length=64, metadata={"description": "kind manager: the bank's customer manager"})


class RatingIn(StrictSchema):
    reviewer = fields.Integer(required=True, validate=_ID)
    household = fields.Integer(required=True, validate=_ID)
    integrity = fields.Integer(required=True, validate=_SCORE)
    income = fields.Integer(required=True, validate=_SCORE)
    assets = fields.Integer(required=True, validate=_SCORE)
    business = fields.Integer(required=True, validate=_SCORE)
    health = fields.Integer(required=True, validate=_SCORE)
    colour = Text(required=True, max_length=8, validate=validate.OneOf(COLOURS))
    reason = Text(max_length=500, load_default="", metadata={"description": "required for black"})


class RoundOut(OutSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, closed or cancelled"})
    county_bank = fields.String(required=True)
    grid = fields.String(required=True)
    village = fields.Integer(required=True, allow_none=True, metadata={"description": "None: every village of the grid"})
    min_reviewers = fields.Integer(required=True)
    aggregation = fields.String(required=True, metadata={"description": "any_black or majority"})
    opened_by = fields.String(required=True)
    opened_on = fields.Date(required=True)
    closed_by = fields.String(required=True, allow_none=True)
    closed_on = fields.Date(required=True, allow_none=True)


class ReviewerOut(OutSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "masked unless the caller sees IDs whole"})
    household = fields.Integer(required=True, allow_none=True, metadata={"description": "their own (never rated by them)"})
    rated = fields.Integer(required=True, metadata={"description": "how many households they rated"})


class RatingOut(OutSchema):
    reviewer = fields.Integer(required=True)
    colour = fields.String(required=True)
    reason = fields.String(required=True)
    entered_by = fields.String(required=True)
    integrity = fields.Integer(required=True)
    income = fields.Integer(required=True)
    assets = fields.Integer(required=True)
    business = fields.Integer(required=True)
    health = fields.Integer(required=True)


class HouseholdReviewOut(OutSchema):
    household = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "the head's name"})
    rated = fields.Integer(required=True, metadata={"description": "how many reviewers rated it"})
    enough = fields.Boolean(required=True, metadata={"description": "reached the round's min_reviewers"})
    review_colour = fields.String(allow_none=True, metadata={"description": "closed: the reviewers' colour"})
    override = fields.String(allow_none=True, metadata={"description": "closed: bureau, npl or court"})
    override_reason = fields.String()
    colour = fields.String(allow_none=True, metadata={"description": "closed: the colour that stands"})
    tally = fields.Dict(metadata={"description": "closed: count per colour, mean scores, the checks made"})
    ratings = fields.List(fields.Nested(RatingOut), metadata={"description": "closed: the individual ratings"})


class RoundDetailOut(RoundOut):
    reviewers = fields.List(fields.Nested(ReviewerOut), required=True)
    households = fields.List(fields.Nested(HouseholdReviewOut), required=True)


class EnteredOut(OutSchema):
    round = fields.Integer(required=True)
    reviewer = fields.Integer(required=True)
    household = fields.Integer(required=True)
    entered_by = fields.String(required=True)


def _detail(round_id: int) -> Any:
    unit, me = uow(), principal()
    return review.show(unit, me, review.visible_round(unit, me, round_id, Action.VILLAGE_READ))


@blp.route("", methods=["POST"])
@blp.arguments(RoundIn)
@blp.response(201, RoundOut)
@blp.alt_response(409, response="CONFLICT", description="the village is in an open round already")
def open_round(body: dict[str, Any]) -> Any:
    """Open a round for a village or every village of a grid (the county's settings kept on it)."""
    unit, me = uow(), principal()
    rnd = review.open_round(unit, me, village_id=body.get("village"), grid=body.get("grid"), name=body["name"],
                            today=runtime().clock.business_date())
    unit.commit()
    return review.summary(unit, rnd)


@blp.route("")
@blp.arguments(RoundFilter, location="query")
@blp.response(200, RoundOut(many=True))
def list_rounds(args: dict[str, Any]) -> Any:
    """Rounds of the caller's subtree, newest first."""
    unit, me = uow(), principal()
    filters = review.RoundFilters(village_id=args.get("village"),
                                  status=RoundStatus(args["status"]) if "status" in args else None,
                                  limit=args["limit"], offset=args["offset"])
    return [review.summary(unit, r) for r in review.list_rounds(unit, me, filters)]


@blp.route("/<int:round_id>")
@blp.response(200, RoundDetailOut)
def show_round(round_id: int) -> Any:
    """Open: progress only (how many rated each household, each reviewer). Closed: the results."""
    return _detail(round_id)


@blp.route("/<int:round_id>/reviewers", methods=["POST"])
@blp.arguments(ReviewerIn)
@blp.response(201, ReviewerOut)
@blp.alt_response(409, response="CONFLICT", description="the round is not open, or the person reviews it already")
def add_reviewer(body: dict[str, Any], round_id: int) -> Any:
    """Add a reviewer (village official, villager representative or the customer manager)."""
    unit, me = uow(), principal()
    reviewer = review.add_reviewer(unit, me, round_id, kind=body["kind"], name=body["name"],
                                   id_number=body["id_number"], username=body.get("username"),
                                   today=runtime().clock.business_date())
    unit.commit()
    return review.reviewer_shown(reviewer, shows_full_id(me), 0)


@blp.route("/<int:round_id>/ratings", methods=["PUT"])
@blp.arguments(RatingIn)
@blp.response(200, EnteredOut)
@blp.alt_response(409, response="CONFLICT", description="the round is not open")
def put_rating(body: dict[str, Any], round_id: int) -> Any:
    """Enter a reviewer's rating of a household on their behalf; entering it again replaces it.
    The answer says what was entered and by whom, never the colour (back to back)."""
    unit, me = uow(), principal()
    row = review.rate(unit, me, round_id, review.RatingInput(**body))
    unit.commit()
    return {"round": round_id, "reviewer": row.reviewer_id, "household": row.household_id, "entered_by": row.entered_by}


@blp.route("/<int:round_id>/close", methods=["POST"])
@blp.response(200, RoundDetailOut)
@blp.alt_response(409, response="CONFLICT", description="the round is not open (closed already)")
def close_round(round_id: int) -> Any:
    """Close (验收): aggregate, override for a non-performing loan, a court list or the bureau,
    and set each household's colour."""
    unit, me, rt = uow(), principal(), runtime()
    review.close_round(unit, me, rt, round_id, today=rt.clock.business_date())
    unit.commit()
    return _detail(round_id)
