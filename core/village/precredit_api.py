"""Batch pre-credit (预授信) endpoints: run it, read runs and offers, accept or decline an offer.
Every check lives in ``core.village.precredit`` and ``core.village.offers``; the views parse and
render. Another county bank's village, run or offer is 404, like a missing one; an offer that is
not open is 409 naming its state; accepting without the head's bureau consent is 422 ``consent``.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.credit.schemas import CustomerRefOut
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, Text, Timestamp, column_text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.village import offers, precredit
from nongxin.core.village.models import OfferStatus, PrecreditOffer
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("village_precredit", __name__, url_prefix="/api/precredit",
                description="Batch pre-credit (预授信): runs and offers")

ID = validate.Range(min=1, max=2**31 - 1)


class RunIn(StrictSchema):
    village = fields.Integer(load_default=None, validate=ID, metadata={"description": "one village's id"})
    institution = column_text(Institution.code, load_default=None,
                              metadata={"description": "a county bank, or an institution above county banks"})
    product = column_text(PrecreditOffer.product_code, load_default=None, metadata={
        "description": "default: the one farmer-segment product offered at the bank"})


class RunOut(OutSchema):
    id = fields.Integer(required=True)
    county_bank = fields.String(required=True)
    village = fields.Integer(required=True, allow_none=True)
    product = fields.String(required=True)
    business_date = fields.Date(required=True)
    status = fields.String(required=True)
    households = fields.Integer(required=True)
    offered = fields.Integer(required=True)
    referred = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    rule_book_hash = fields.String(required=True)
    provenance = fields.List(fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True)), required=True)
    seconds = fields.Float(required=True)
    started_by = fields.String(required=True)
    started_at = Timestamp(required=True)
    finished_at = Timestamp(required=True, allow_none=True)


class OfferQuery(StrictSchema):
    village = fields.Integer(load_default=None, validate=ID)
    status = Text(max_length=16, load_default=None, validate=validate.OneOf([s.value for s in OfferStatus]))
    institution = column_text(Institution.code, load_default=None)
    run = fields.Integer(load_default=None, validate=ID)
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class OfferOut(OutSchema):
    id = fields.Integer(required=True)
    run = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in OfferStatus]})
    outcome = fields.String(required=True, metadata={"description": "approved, manual_review or rejected"})
    county_bank = fields.String(required=True)
    grid = fields.String(required=True)
    village = fields.Integer(required=True, allow_none=True)
    household = fields.Integer(required=True)
    customer = fields.Nested(CustomerRefOut, required=True, metadata={"description": "the household's head"})
    product = fields.String(required=True)
    colour = fields.String(required=True, allow_none=True)
    limit = fields.String(required=True, allow_none=True, metadata={"description": "yuan, a decimal string"})
    rate = fields.String(required=True, allow_none=True, metadata={"description": "annual, a decimal fraction"})
    score = fields.Integer(required=True, allow_none=True)
    grade = fields.String(required=True, allow_none=True)
    rule_hits = fields.List(fields.String(), required=True)
    reasons = fields.List(fields.String(), required=True)
    business_date = fields.Date(required=True)
    expires_on = fields.Date(required=True)
    application = fields.Integer(required=True, allow_none=True)
    decided_by = fields.String(required=True, allow_none=True)
    decided_on = fields.Date(required=True, allow_none=True)


class AcceptIn(StrictSchema):
    signature_ref = Text(max_length=200, required=True, validate=validate.Length(min=1), metadata={
        "description": "the signed contract's or the e-signature's reference"})
    term_months = fields.Integer(load_default=None, validate=validate.Range(min=1, max=600))
    repayment_method = Text(max_length=32, load_default=None)


class DeclineIn(StrictSchema):
    reason = Text(max_length=200, load_default="", metadata={"description": "why (kept in the audit trail)"})


class AcceptedApplicationOut(OutSchema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    outcome = fields.String(required=True, allow_none=True)
    approved_amount = fields.String(required=True, allow_none=True)


class AcceptedLineOut(OutSchema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    amount = fields.String(required=True)
    status = fields.String(required=True)


class AcceptedOut(OutSchema):
    offer = fields.Nested(OfferOut, required=True)
    application = fields.Nested(AcceptedApplicationOut, required=True)
    credit_line = fields.Nested(AcceptedLineOut, required=True, allow_none=True)


@blp.route("/runs", methods=["POST"])
@blp.arguments(RunIn)
@blp.response(201, RunOut(many=True))
def run(body: dict[str, Any]) -> Any:
    """Pre-credit a village or every village of a county bank (or of every county bank under an
    institution): one run per county bank, its offers written."""
    unit, me = uow(), principal()
    results = precredit.run_precredit(unit, me, runtime(), village=body["village"], institution=body["institution"],
                                      product=body["product"])
    return [offers.run_details(unit, offers.visible_run(unit, me, r.run_id)) for r in results]


@blp.route("/runs/<int:run_id>")
@blp.response(200, RunOut)
def show_run(run_id: int) -> Any:
    """One run with its counts and provenance."""
    unit, me = uow(), principal()
    return offers.run_details(unit, offers.visible_run(unit, me, run_id))


@blp.route("/offers")
@blp.arguments(OfferQuery, location="query")
@blp.response(200, OfferOut(many=True))
def list_offers(args: dict[str, Any]) -> Any:
    """Offers on grids in the caller's subtree, newest first."""
    unit, me = uow(), principal()
    filters = offers.OfferFilters(village_id=args["village"], institution=args["institution"], run_id=args["run"],
                                  status=OfferStatus(args["status"]) if args["status"] else None,
                                  limit=args["limit"], offset=args["offset"])
    return [offers.offer_details(unit, me, o) for o in offers.list_offers(unit, me, filters)]


@blp.route("/offers/<int:offer_id>")
@blp.response(200, OfferOut)
def show_offer(offer_id: int) -> Any:
    """One offer."""
    unit, me = uow(), principal()
    return offers.offer_details(unit, me, offers.visible_offer(unit, me, offer_id, Action.VILLAGE_READ))


@blp.route("/offers/<int:offer_id>/accept", methods=["POST"])
@blp.arguments(AcceptIn)
@blp.response(200, AcceptedOut)
@blp.alt_response(409, response="CONFLICT", description="the offer is not offered, or it expired")
def accept(body: dict[str, Any], offer_id: int) -> Any:
    """The household consents and signs: an application for the offer is filed and decided (the
    bureau queried with the head's consent); an approval grants the credit line."""
    unit, me = uow(), principal()
    return offers.accept(unit, me, runtime(), offer_id, signature_ref=body["signature_ref"],
                         term_months=body["term_months"], repayment_method=body["repayment_method"])


@blp.route("/offers/<int:offer_id>/decline", methods=["POST"])
@blp.arguments(DeclineIn)
@blp.response(200, OfferOut)
@blp.alt_response(409, response="CONFLICT", description="the offer is not open, or it expired")
def decline(body: dict[str, Any], offer_id: int) -> Any:
    """The household says no."""
    unit, me = uow(), principal()
    offer = offers.decline(unit, me, runtime(), offer_id, reason=body["reason"])
    unit.commit()
    return offers.offer_details(unit, me, offer)
