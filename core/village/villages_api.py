"""``/api/villages``: the caller's villages and credit villages (信用村), one village with its
households, its rating history, and rating (``core.village.villages``).

The promises: another county's village is 404 exactly as a missing one, and never listed; an
``institution`` outside the subtree is 404; identity numbers are masked unless the caller holds
``customer.full_id``; ratios are decimal strings with six places.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.customers.schemas import PersonOut, Yuan
from nongxin.core.guards import permission_required
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, column_text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.village import villages as service
from nongxin.core.village.models import COLOURS
from nongxin.core.web import MAX_ID, principal, runtime, uow

blp = Blueprint("villages", __name__, url_prefix="/api/villages",
                description="Villages and credit villages (信用村): list, one with its households, ratings, rate")


class Ratio(fields.Field):
    """A ratio as a decimal string with six places ("0.812500")."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{Decimal(value):.6f}"


class VillageQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None, metadata={
        "description": "the villages under this institution (default: the caller's)"})
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


class RateIn(StrictSchema):
    institution = column_text(Institution.code, load_default=None, metadata={
        "description": "rate every village of this county bank"})
    village = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID),
                             metadata={"description": "or rate this one village"})


class VillageOut(OutSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    county_bank = fields.String(required=True)
    grid = fields.String(required=True)
    households = fields.Integer(required=True, metadata={"description": "households on file"})
    reviewed = fields.Dict(keys=fields.String(metadata={"enum": list(COLOURS)}), values=fields.Integer(),
                           required=True, metadata={"description": "households by the peer-review colour that stands"})
    credited = fields.Integer(required=True, metadata={"description": "households holding an active or frozen line"})
    credit_village = fields.Boolean(required=True)
    credit_village_since = fields.Date(required=True, allow_none=True)


class HouseholdRowOut(OutSchema):
    id = fields.Integer(required=True)
    household_no = fields.String(required=True)
    group = fields.String(required=True)
    head = fields.Nested(PersonOut, required=True, allow_none=True)
    members = fields.Integer(required=True)
    land_mu = fields.Decimal(required=True, allow_none=True, as_string=True, places=2)
    assets = Yuan(required=True, allow_none=True)
    main_business = fields.String(required=True)
    colour = fields.String(required=True, allow_none=True, metadata={"enum": list(COLOURS)})


class VillageDetailOut(OutSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    county_bank = fields.String(required=True)
    grid = fields.String(required=True)
    households = fields.Integer(required=True)
    credited = fields.Integer(required=True)
    credit_village = fields.Boolean(required=True)
    credit_village_since = fields.Date(required=True, allow_none=True)
    household_list = fields.List(fields.Nested(HouseholdRowOut), required=True)


class RatingOut(OutSchema):
    id = fields.Integer(required=True)
    village = fields.Integer(required=True)
    business_date = fields.Date(required=True)
    households = fields.Integer(required=True)
    credited = fields.Integer(required=True)
    coverage = Ratio(required=True, metadata={"description": "授信面: credited / households"})
    usage = Ratio(required=True, metadata={"description": "用信率: drawn / granted on the credited lines"})
    npl_ratio = Ratio(required=True, metadata={"description": "non-performing / outstanding of members' loans"})
    credit_village = fields.Boolean(required=True)
    thresholds = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    reasons = fields.List(fields.String(), required=True, metadata={"description": "each threshold missed"})
    rated_by = fields.String(required=True)


@blp.route("")
@blp.arguments(VillageQuery, location="query")
@blp.response(200, VillageOut(many=True))
def list_villages(args: dict[str, Any]) -> Any:
    """The villages of the caller's subtree (or under ``institution``), by name."""
    return service.summaries(uow(), principal(), args["institution"], limit=args["limit"], offset=args["offset"])


@blp.route("/credit")
@blp.arguments(VillageQuery, location="query")
@blp.response(200, VillageOut(many=True))
def list_credit_villages(args: dict[str, Any]) -> Any:
    """The credit villages (信用村) of the caller's subtree (or under ``institution``), by name."""
    return service.summaries(uow(), principal(), args["institution"], credit_only=True, limit=args["limit"],
                             offset=args["offset"])


@blp.route("/<int:village_id>")
@blp.response(200, VillageDetailOut)
def show_village(village_id: int) -> Any:
    """One village with its households (identity numbers masked unless the caller may see them)."""
    return service.details(uow(), principal(), village_id)


@blp.route("/<int:village_id>/ratings")
@blp.response(200, RatingOut(many=True))
def village_ratings(village_id: int) -> Any:
    """The village's credit-village ratings, newest first."""
    return [service.rating_json(r) for r in service.ratings(uow(), principal(), village_id)]


@blp.route("/rate", methods=["POST"])
@permission_required(Action.VILLAGE_RATE)
@blp.arguments(RateIn)
@blp.response(200, RatingOut(many=True))
def rate_villages(body: dict[str, Any]) -> Any:
    """Rate every village of a county bank, or one village, against the county's credit-village
    thresholds as of the business date; a second rating that day replaces the first."""
    unit = uow()
    written = service.rate(unit, principal(), institution=body["institution"], village_id=body["village"],
                           today=runtime().clock.business_date())
    unit.commit()
    return [service.rating_json(r) for r in written]
