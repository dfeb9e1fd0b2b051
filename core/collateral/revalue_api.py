"""``POST /api/collateral/{id}/revalue``: value one item now through the valuer plugins enabled at
the institution that registered it (``core.collateral.revalue.value_now``).

201 with the valuation written (``valuer_kind`` "plugin", ``valuer`` the plugin's name). When no
valuer answers, 409 ``no_automatic_value``; when the valuer fails, overruns or answers nonsense,
409 ``valuer_failed``; the message names why and nothing is written. Another county bank's item is
404, like a missing one; a role without ``collateral.value`` is 403.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields

from nongxin.core.collateral.models import CollateralValuation
from nongxin.core.collateral.revalue import value_now
from nongxin.core.schemas import OutSchema, StrictSchema
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("collateral_revalue", __name__, url_prefix="/api/collateral",
                description="Automatic valuation of collateral (押品自动估值)")


class CollateralRevalueIn(StrictSchema):
    """No fields: the valuer decides the value, the method and the date (any field is an error)."""


class CollateralRevaluationOut(OutSchema):
    id = fields.Integer(required=True)
    value = fields.String(required=True, metadata={"description": "yuan, a decimal string"})
    method = fields.String(required=True)
    valuer_kind = fields.String(required=True, metadata={"description": "always plugin here"})
    valuer = fields.String(required=True, metadata={"description": "the valuer plugin's name"})
    valued_on = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    recorded_by = fields.String(required=True)


class CollateralRevalueOut(OutSchema):
    item = fields.Integer(required=True)
    number = fields.String(required=True)
    valuation = fields.Nested(CollateralRevaluationOut, required=True)


@blp.route("/<int:item_id>/revalue", methods=["POST"])
@blp.arguments(CollateralRevalueIn)
@blp.response(201, CollateralRevalueOut)
@blp.alt_response(409, response="CONFLICT", description="no valuer answered, or the valuer failed: nothing written")
def revalue(_body: dict[str, Any], item_id: int) -> Any:
    """Value the item now through the valuer plugins enabled at its institution (fail closed)."""
    unit = uow()
    outcome = value_now(unit, principal(), runtime(), item_id)
    row = unit.session.get(CollateralValuation, outcome.valuation_id)
    assert row is not None
    body = {"item": outcome.item_id, "number": outcome.number,
            "valuation": {"id": row.id, "value": format(row.value, "f"), "method": row.method,
                          "valuer_kind": row.valuer_kind, "valuer": row.valuer, "valued_on": row.valued_on,
                          "valid_until": row.valid_until, "recorded_by": row.recorded_by}}
    unit.commit()
    return body
