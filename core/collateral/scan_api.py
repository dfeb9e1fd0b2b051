"""``GET /api/collateral/shortfalls``: the shortfall scan's findings in the caller's subtree,
computed on request (``scan.inspect``: nothing is written; lines are frozen only by the nightly
``nongxin collateral scan`` job).

The promises: the institution (default: the caller's own) must lie in the caller's subtree (404
otherwise, then 403 without ``collateral.read``); only positions of lines filed under it are
answered, so another county bank's positions never appear; a day after the business date is 422
naming ``as_of``.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields

from nongxin.core.collateral import scan
from nongxin.core.errors import invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action
from nongxin.core.schemas import Day, OutSchema, StrictSchema, column_text
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("collateral_scan", __name__, url_prefix="/api/collateral",
                description="The collateral shortfall scan's findings")


class CollateralScanQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None)
    as_of = Day(load_default=None)


class CollateralScanHitOut(OutSchema):
    county_bank = fields.String(required=True)
    pledge_id = fields.Integer(required=True)
    item_number = fields.String(required=True)
    kind = fields.String(required=True)
    line_number = fields.String(required=True)
    rule_code = fields.String(required=True)
    rule_version = fields.Integer(required=True)
    colour = fields.String(required=True, metadata={"enum": ["yellow", "orange", "red"]})
    reason = fields.String(required=True)
    facts = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
                        metadata={"description": "the facts the rule read (money as strings of yuan)"})


class CollateralShortfallOut(OutSchema):
    county_bank = fields.String(required=True)
    line_id = fields.Integer(required=True)
    line_number = fields.String(required=True)
    customer_name = fields.String(required=True)
    exposure = fields.String(required=True)
    eligible = fields.String(required=True)
    limit = fields.String(required=True)
    ltv = fields.String(required=True, allow_none=True)
    ltv_limit = fields.String(required=True, allow_none=True)
    shortfall = fields.String(required=True)


class CollateralScanFailureOut(OutSchema):
    county_bank = fields.String(required=True)
    problem = fields.String(required=True)


class CollateralScanOut(OutSchema):
    institution = fields.String(required=True)
    as_of = fields.String(required=True)
    banks = fields.List(fields.String(), required=True)
    positions = fields.Integer(required=True)
    hits = fields.List(fields.Nested(CollateralScanHitOut), required=True)
    shortfalls = fields.List(fields.Nested(CollateralShortfallOut), required=True)
    failures = fields.List(fields.Nested(CollateralScanFailureOut), required=True,
                           metadata={"description": "banks whose rule book is unusable: no hits there"})


@blp.route("/shortfalls")
@blp.arguments(CollateralScanQuery, location="query")
@blp.response(200, CollateralScanOut)
def shortfalls(args: dict[str, Any]) -> Any:
    """Positions in shortfall and collateral rule hits in the caller's subtree on ``as_of``
    (default: the business date), computed now; failures name banks whose rules could not run."""
    who = principal()
    session = uow().session
    inst = institutions.visible_for(session, who, args["institution"] or who.institution_code, Action.COLLATERAL_READ)
    today = runtime().clock.business_date()
    on = args["as_of"] or today
    if on > today:
        raise invalid("as_of", f"{on.isoformat()} is after the business date {today.isoformat()}")
    report = scan.inspect(session, runtime().rulebooks, scan.county_banks(session, inst), on, within=inst.path)
    body = report.as_dict()
    body.pop("frozen")
    return {"institution": inst.code, **body}
