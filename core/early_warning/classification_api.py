"""The five-tier classification over HTTP (``classify_services``): a loan's class and history, a
manual class (maker-checker), the requests, and NPL ratios per institution and day.

* ``GET /api/loans/{loan_no}/classification`` (classification.read)
* ``POST /api/loans/{loan_no}/classification`` {tier, reason} (classification.propose): 201; the
  request's ``status`` says whether it was applied at once (no better than the floor) or is pending.
* ``GET /api/classification/requests?status=`` (classification.read; the caller's subtree)
* ``POST /api/classification/requests/{id}/approve`` and ``/reject`` (classification.approve):
  403 ``separation_of_duties`` for the requester, 409 ``not_pending`` when already decided.
* ``GET /api/classification/npl?institution=&from=&to=`` (classification.read): ratios as decimal strings.

Another county bank's loan or request is 404, like a missing one.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.early_warning import classify_services as services
from nongxin.core.early_warning.domain import TIERS
from nongxin.core.early_warning.models import ClassRequestStatus
from nongxin.core.institutions.models import Institution
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, column_text
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("classification", __name__, url_prefix="/api",
                description="Five-tier loan classification (五级分类)")

_TIER_ERROR = f"unknown five-tier class; use one of {', '.join(TIERS)}"


class ClassificationSetIn(StrictSchema):
    tier = Text(max_length=16, required=True, validate=validate.OneOf(TIERS, error=_TIER_ERROR))
    reason = Text(required=True, max_length=500, min_length=1, multiline=True)


class ClassificationDecideIn(StrictSchema):
    """No fields: the decision is the path (any field is an error)."""


class ClassificationRequestsQuery(StrictSchema):
    status = Text(max_length=16, load_default=None, validate=validate.OneOf([s.value for s in ClassRequestStatus]))


class ClassificationNplQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None)
    from_ = Day(data_key="from", load_default=None)
    to = Day(load_default=None)


class ClassificationRequestOut(OutSchema):
    id = fields.Integer(required=True)
    loan_no = fields.String(required=True)
    tier = fields.String(required=True)
    floor = fields.String(required=True)
    reason = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in ClassRequestStatus]})
    requested_by = fields.String(required=True)
    requested_on = fields.Date(required=True)
    decided_by = fields.String(required=True, allow_none=True)
    decided_on = fields.Date(required=True, allow_none=True)


class ClassificationChangeOut(OutSchema):
    business_date = fields.Date(required=True)
    from_tier = fields.String(required=True, allow_none=True)
    to_tier = fields.String(required=True)
    reason = fields.String(required=True)
    actor = fields.String(required=True)


class ClassificationOut(OutSchema):
    loan_no = fields.String(required=True)
    classified = fields.Boolean(required=True)
    tier = fields.String(required=True, allow_none=True)
    floor = fields.String(required=True)
    reason = fields.String(required=True)
    since = fields.Date(required=True, allow_none=True)
    as_of = fields.Date(required=True, allow_none=True,
                        metadata={"description": "the business date the class state last changed"})
    clean_since = fields.Date(required=True, allow_none=True)
    observation_until = fields.Date(required=True, allow_none=True)
    manual_tier = fields.String(required=True, allow_none=True)
    manual_floor = fields.String(required=True, allow_none=True)
    requests = fields.List(fields.Nested(ClassificationRequestOut), required=True)
    history = fields.List(fields.Nested(ClassificationChangeOut), required=True)


class ClassificationRequestListOut(OutSchema):
    items = fields.List(fields.Nested(ClassificationRequestOut), required=True)


class ClassificationNplRowOut(OutSchema):
    institution = fields.String(required=True)
    business_date = fields.Date(required=True)
    loans = fields.Integer(required=True)
    outstanding = fields.String(required=True)
    npl_outstanding = fields.String(required=True)
    ratio = fields.String(required=True, metadata={"description": "non-performing / outstanding, 6 decimals"})
    by_tier = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()), required=True,
                          metadata={"description": "tier -> [loans, outstanding in fen]"})


class ClassificationNplOut(OutSchema):
    institution = fields.String(required=True)
    items = fields.List(fields.Nested(ClassificationNplRowOut), required=True)


@blp.route("/loans/<loan_no>/classification")
@blp.response(200, ClassificationOut)
def show(loan_no: str) -> Any:
    """The loan's current class, floor, reason, manual state, requests and history."""
    return services.show(uow(), principal(), loan_no)


@blp.route("/loans/<loan_no>/classification", methods=["POST"])
@blp.arguments(ClassificationSetIn)
@blp.response(201, ClassificationRequestOut)
def propose(body: dict[str, Any], loan_no: str) -> Any:
    """Set the loan's class by judgment: applied at once when no better than the floor, else
    pending a second person's approval."""
    unit = uow()
    request = services.propose(unit, principal(), loan_no, body["tier"], body["reason"],
                               runtime().clock.business_date())
    out = services.request_json(request, loan_no)
    unit.commit()
    return out


def _decide(request_id: int, approve: bool) -> Any:
    unit = uow()
    request = services.decide(unit, principal(), request_id, approve, runtime().clock.business_date())
    from nongxin.core.credit.models import Loan

    loan = unit.session.get(Loan, request.loan_id)
    assert loan is not None
    out = services.request_json(request, loan.loan_no)
    unit.commit()
    return out


@blp.route("/classification/requests/<int:request_id>/approve", methods=["POST"])
@blp.arguments(ClassificationDecideIn)
@blp.response(200, ClassificationRequestOut)
def approve(_body: dict[str, Any], request_id: int) -> Any:
    """Approve a pending manual class (not by its requester): it applies at once."""
    return _decide(request_id, True)


@blp.route("/classification/requests/<int:request_id>/reject", methods=["POST"])
@blp.arguments(ClassificationDecideIn)
@blp.response(200, ClassificationRequestOut)
def reject(_body: dict[str, Any], request_id: int) -> Any:
    """Reject a pending manual class (not by its requester)."""
    return _decide(request_id, False)


@blp.route("/classification/requests")
@blp.arguments(ClassificationRequestsQuery, location="query")
@blp.response(200, ClassificationRequestListOut)
def list_requests(args: dict[str, Any]) -> Any:
    """Manual class requests of loans in the caller's subtree (newest 500), by status."""
    return {"items": services.requests(uow(), principal(), args["status"])}


@blp.route("/classification/npl")
@blp.arguments(ClassificationNplQuery, location="query")
@blp.response(200, ClassificationNplOut)
def npl(args: dict[str, Any]) -> Any:
    """NPL ratio per institution and business date in the institution's subtree (default: the caller's)."""
    inst, rows = services.npl(uow(), principal(), args["institution"], args["from_"], args["to"])
    return {"institution": inst.code, "items": rows}
