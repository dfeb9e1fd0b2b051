"""Credit line endpoints (授信): list, show, freeze, unfreeze, close. Every check lives in
``nongxin.core.credit.lines``; the views parse and render. Another county bank's line is 404, like
a missing one; a move the line's state does not allow is 409 naming that state."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.collateral.pledges_api import CollateralPledgeSummaryOut
from nongxin.core.credit import lines
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.credit.models import CreditLineStatus
from nongxin.core.credit.schemas import CustomerRefOut
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, Text, Timestamp
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("credit_lines", __name__, url_prefix="/api/credit-lines", description="Credit lines (授信)")


class LineFilter(StrictSchema):
    customer = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "customer id"})
    status = Text(max_length=16, validate=validate.OneOf([s.value for s in CreditLineStatus]))
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class ReasonIn(StrictSchema):
    reason = Text(max_length=200, load_default="", metadata={"description": "why (kept in the audit trail)"})


class LineLoanOut(OutSchema):
    loan_no = fields.String(required=True)
    status = fields.String(required=True)
    principal = fields.String(required=True, metadata={"description": "yuan, a decimal string"})
    outstanding = fields.String(required=True, metadata={"description": "yuan, a decimal string"})
    disbursed_on = fields.Date(required=True, allow_none=True)
    maturity_on = fields.Date(required=True, allow_none=True)


class LineOut(OutSchema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"description": "<BANK>-C<YEAR>-<6-digit sequence>"})
    status = fields.String(required=True, metadata={"description": "active, frozen, expired or closed"})
    county_bank = fields.String(required=True)
    institution = fields.String(required=True, metadata={"description": "the lending branch (办贷机构)"})
    customer = fields.Nested(CustomerRefOut, required=True)
    application = fields.String(required=True, allow_none=True, metadata={"description": "the approved application"})
    amount = fields.String(required=True, metadata={"description": "yuan, a decimal string"})
    used = fields.String(required=True, metadata={"description": "yuan lent on it: a revolving line's outstanding "
                                                                 "principal, a one-off line's principal drawn"})
    available = fields.String(required=True, metadata={"description": "yuan that may be drawn now (0 unless active)"})
    annual_rate = fields.String(required=True, metadata={"description": "the approved rate drawdowns inherit"})
    products = fields.List(fields.String(), required=True)
    start_on = fields.Date(required=True)
    end_on = fields.Date(required=True)
    revolving = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class LineDetailOut(LineOut):
    loans = fields.List(fields.Nested(LineLoanOut), required=True, metadata={"description": "drawn on it, oldest first"})
    collateral = fields.Nested(CollateralPledgeSummaryOut, metadata={
        "description": "the collateral cover on the business date (for callers who may read collateral)"})


@blp.route("")
@blp.arguments(LineFilter, location="query")
@blp.response(200, LineOut(many=True))
def list_lines(args: dict[str, Any]) -> Any:
    """Credit lines granted in the caller's subtree, newest first."""
    unit, me = uow(), principal()
    filters = lines.LineFilters(customer_id=args.get("customer"),
                                status=CreditLineStatus(args["status"]) if "status" in args else None,
                                limit=args["limit"], offset=args["offset"])
    return [lines.details(unit, me, line, loans=False) for line in lines.list_lines(unit, me, filters)]


@blp.route("/<int:line_id>")
@blp.response(200, LineDetailOut)
def show_line(line_id: int) -> Any:
    """One line with its amount, what is used and available, and the loans drawn on it."""
    unit, me = uow(), principal()
    return lines.details(unit, me, lines.visible_line(unit, me, line_id, Action.CREDIT_LINE_READ),
                         on=runtime().clock.business_date())


def _move(line_id: int, body: dict[str, Any], to: CreditLineStatus) -> Any:
    unit, me = uow(), principal()
    line = lines.change_status(unit, me, line_id, to, reason=body["reason"])
    unit.commit()
    return lines.details(unit, me, line, on=runtime().clock.business_date())


@blp.route("/<int:line_id>/freeze", methods=["POST"])
@blp.arguments(ReasonIn)
@blp.response(200, LineDetailOut)
@blp.alt_response(409, response="CONFLICT", description="the line is not active")
def freeze(body: dict[str, Any], line_id: int) -> Any:
    """Freeze an active line: nothing can be drawn on it until it is unfrozen."""
    return _move(line_id, body, CreditLineStatus.FROZEN)


@blp.route("/<int:line_id>/unfreeze", methods=["POST"])
@blp.arguments(ReasonIn)
@blp.response(200, LineDetailOut)
@blp.alt_response(409, response="CONFLICT", description="the line is not frozen")
def unfreeze(body: dict[str, Any], line_id: int) -> Any:
    """Unfreeze a frozen line."""
    return _move(line_id, body, CreditLineStatus.ACTIVE)


@blp.route("/<int:line_id>/close", methods=["POST"])
@blp.arguments(ReasonIn)
@blp.response(200, LineDetailOut)
@blp.alt_response(409, response="CONFLICT", description="the line is closed already")
def close(body: dict[str, Any], line_id: int) -> Any:
    """Close a line for good (its loans run on; nothing more is drawn)."""
    return _move(line_id, body, CreditLineStatus.CLOSED)
