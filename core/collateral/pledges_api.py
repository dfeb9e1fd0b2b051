"""Pledge endpoints (抵押/质押): pledge an item to a credit line, record its mortgage registration,
release it, and a line's collateral cover. Every check lives in ``nongxin.core.collateral.pledges``;
the views parse and render. Another county bank's item, line or pledge is 404, like a missing one."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.collateral import pledges
from nongxin.core.collateral.models import Pledge
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("collateral_pledges", __name__, url_prefix="/api", description="Collateral pledges (抵押/质押)")


class CollateralPledgeIn(StrictSchema):
    credit_line = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    rank = fields.Integer(strict=True, validate=validate.Range(min=1, max=pledges.MAX_RANK),
                          metadata={"description": "1 is served first; default: one below the lowest taken"})


class CollateralPledgeRegistrationIn(StrictSchema):
    registration_no = Text(required=True, min_length=1, max_length=60,
                           metadata={"description": "他项权证号 / 不动产登记证明号"})
    registered_on = Day(required=True)


class CollateralPledgeReleaseIn(StrictSchema):
    reason = Text(max_length=200, load_default="", metadata={"description": "why (kept in the audit trail)"})


class CollateralPledgeOut(OutSchema):
    id = fields.Integer(required=True)
    item = fields.Integer(required=True)
    credit_line = fields.Integer(required=True)
    rank = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "pledged or released"})
    registration = fields.String(required=True, metadata={"description": "not_required, pending or registered"})
    registration_no = fields.String(required=True, allow_none=True)
    registered_on = fields.Date(required=True, allow_none=True)
    pledged_on = fields.Date(required=True)
    released_on = fields.Date(required=True, allow_none=True)


class CollateralPledgeCoverItemOut(OutSchema):
    pledge = fields.Integer(required=True)
    item = fields.Integer(required=True)
    number = fields.String(required=True)
    kind = fields.String(required=True)
    rank = fields.Integer(required=True)
    registration = fields.String(required=True)
    registration_no = fields.String(required=True, allow_none=True)
    registered_on = fields.Date(required=True, allow_none=True)
    pledged_on = fields.Date(required=True)
    lendable = fields.String(required=True, metadata={"description": "value x (1 - haircut), yuan"})
    prior = fields.String(required=True, metadata={"description": "exposure of the lines ranked above, yuan"})
    eligible = fields.String(required=True, metadata={"description": "what the item lends this line, yuan"})
    ltv_max = fields.String(required=True)
    limit = fields.String(required=True, metadata={"description": "eligible x ltv_max, yuan"})


class CollateralPledgeSummaryOut(OutSchema):
    as_of = fields.Date(required=True)
    exposure = fields.String(required=True, metadata={"description": "outstanding principal, yuan"})
    eligible = fields.String(required=True)
    limit = fields.String(required=True, metadata={"description": "the most the line may have outstanding"})
    ltv = fields.String(required=True, allow_none=True, metadata={"description": "null: exposure and no "
                                                                                 "eligible collateral"})
    ltv_limit = fields.String(required=True, allow_none=True)
    shortfall = fields.String(required=True)
    items = fields.List(fields.Nested(CollateralPledgeCoverItemOut), required=True)


class CollateralPledgeCoverOut(CollateralPledgeSummaryOut):
    credit_line = fields.Integer(required=True)
    number = fields.String(required=True)


def _shown(row: Pledge) -> dict[str, Any]:
    return {"id": row.id, "item": row.item_id, "credit_line": row.credit_line_id, "rank": row.rank,
            "status": row.status.value, "registration": row.registration.value,
            "registration_no": row.registration_no, "registered_on": row.registered_on,
            "pledged_on": row.pledged_on, "released_on": row.released_on}


def _today() -> Any:
    return runtime().clock.business_date()


@blp.route("/collateral/<int:item_id>/pledges", methods=["POST"])
@blp.arguments(CollateralPledgeIn)
@blp.response(201, CollateralPledgeOut)
@blp.alt_response(404, response="NOT_FOUND", description="no such item or line in your subtree and county bank")
@blp.alt_response(409, response="CONFLICT", description="the line is not active or frozen, the item is pledged "
                                                        "to it already, or the rank is taken")
def pledge(body: dict[str, Any], item_id: int) -> Any:
    """Pledge an item to a credit line of the same county bank, at a rank."""
    unit = uow()
    row = pledges.pledge(unit, principal(), item_id, body["credit_line"], body.get("rank"), today=_today())
    unit.commit()
    return _shown(row)


@blp.route("/collateral/pledges/<int:pledge_id>/registration", methods=["POST"])
@blp.arguments(CollateralPledgeRegistrationIn)
@blp.response(200, CollateralPledgeOut)
@blp.alt_response(409, response="CONFLICT", description="the pledge is not pending registration")
def register(body: dict[str, Any], pledge_id: int) -> Any:
    """Record the mortgage registration (抵押登记) of a pending pledge."""
    unit = uow()
    row = pledges.register_mortgage(unit, principal(), pledge_id, registration_no=body["registration_no"],
                                    registered_on=body["registered_on"], today=_today())
    unit.commit()
    return _shown(row)


@blp.route("/collateral/pledges/<int:pledge_id>/release", methods=["POST"])
@blp.arguments(CollateralPledgeReleaseIn)
@blp.response(200, CollateralPledgeOut)
@blp.alt_response(409, response="CONFLICT", description="released already, or the line's loan-to-value after "
                                                        "the release would exceed its limit (ltv_exceeded)")
def release(body: dict[str, Any], pledge_id: int) -> Any:
    """Release a pledge, unless the line would be left above its loan-to-value limit."""
    unit = uow()
    row = pledges.release(unit, principal(), pledge_id, reason=body["reason"], today=_today())
    unit.commit()
    return _shown(row)


@blp.route("/credit-lines/<int:line_id>/collateral")
@blp.response(200, CollateralPledgeCoverOut)
def cover(line_id: int) -> Any:
    """A line's collateral cover on the business date: eligible value, limit, loan-to-value,
    shortfall, and each pledged item's part."""
    return pledges.cover(uow(), principal(), line_id, today=_today())
