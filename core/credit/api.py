"""Credit endpoints: the products offered at an institution, and loan applications (filing,
listing, showing, withdrawing). The checks live in the services; the views parse and render."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields

from nongxin.core.credit import applications
from nongxin.core.credit.models import ApplicationStatus
from nongxin.core.credit.products import offered
from nongxin.core.credit.schemas import ApplicationFilter, ApplicationIn, ApplicationOut, WithdrawIn
from nongxin.core.institutions import services as institutions
from nongxin.core.permissions import Action
from nongxin.core.plugin_state.api import InstitutionArg
from nongxin.core.schemas import OutSchema
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("products", __name__, url_prefix="/api/products", description="Loan products")


class AmountOut(OutSchema):
    min = fields.String(required=True, metadata={"description": "yuan, a decimal string"})
    max = fields.String(required=True, metadata={"description": "yuan, a decimal string"})


class ProductOut(OutSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    plugin = fields.String(required=True)
    segment = fields.String(required=True)
    amount = fields.Nested(AmountOut, required=True)
    term_months = fields.List(fields.Integer(), required=True)
    annual_rate = fields.List(fields.String(), required=True, metadata={"description": "[min, max], decimal strings"})
    repayment_methods = fields.List(fields.String(), required=True)
    collateral_kind = fields.String(required=True, allow_none=True)
    auto_approval_ceiling = fields.String(required=True)


class PluginFailureOut(OutSchema):
    plugin = fields.String(required=True)
    error = fields.String(required=True)


class ProductsOut(OutSchema):
    institution = fields.String(required=True)
    products = fields.List(fields.Nested(ProductOut), required=True)
    failures = fields.List(fields.Nested(PluginFailureOut), required=True,
                           metadata={"description": "plugins whose products could not be read"})


@blp.route("")
@blp.arguments(InstitutionArg, location="query")
@blp.response(200, ProductsOut)
def list_products(args: dict[str, Any]) -> Any:
    """Products of the plugins enabled at the institution; failing plugins are listed apart."""
    inst = institutions.visible_for(uow().session, principal(), args["institution"], Action.PRODUCT_LIST)
    products, failures = offered(uow().session, runtime().plugins, inst)
    return {
        "institution": inst.code,
        "products": [{
            "code": p.spec.code, "name": p.spec.name, "plugin": p.plugin, "segment": p.spec.segment,
            "amount": {"min": str(p.spec.amount.minimum), "max": str(p.spec.amount.maximum)},
            "term_months": list(p.spec.term_months),
            "annual_rate": [str(r) for r in p.spec.annual_rate],
            "repayment_methods": list(p.spec.repayment_methods),
            "collateral_kind": p.spec.collateral_kind,
            "auto_approval_ceiling": str(p.spec.auto_approval_ceiling),
        } for p in products],
        "failures": [{"plugin": f.plugin, "error": f.error} for f in failures],
    }


# -- applications ------------------------------------------------------------------------------

applications_blp = Blueprint("applications", __name__, url_prefix="/api/applications",
                             description="Loan applications (贷款申请)")


@applications_blp.route("", methods=["POST"])
@applications_blp.arguments(ApplicationIn)
@applications_blp.response(201, ApplicationOut)
@applications_blp.alt_response(404, response="NOT_FOUND", description="no such customer, or not in your subtree")
def file_application(body: dict[str, Any]) -> Any:
    """File an application (the caller, a customer manager, is its investigator). Checked against
    the product's spec at the caller's institution: 422 naming each field at fault."""
    unit = uow()
    filing = applications.Filing(
        customer_id=body["customer"], product_code=body["product"], amount=body["amount"],
        term_months=body["term_months"], repayment_method=body["repayment_method"], channel=body["channel"],
        purpose=body["purpose"], form=body["form"], guarantor_ids=body["guarantors"],
        channel_ref=body["channel_ref"])
    app = applications.file(unit, principal(), runtime().plugins, filing, today=runtime().clock.business_date())
    unit.commit()
    return applications.details(unit, principal(), app)


@applications_blp.route("")
@applications_blp.arguments(ApplicationFilter, location="query")
@applications_blp.response(200, ApplicationOut(many=True))
def list_applications(args: dict[str, Any]) -> Any:
    """Applications of the caller's subtree, newest first; ``assigned_to=me``: those waiting on the
    caller (an open review task, or open ones the caller filed)."""
    unit = uow()
    filters = applications.Filters(
        status=ApplicationStatus(args["status"]) if "status" in args else None,
        assigned_to_me=args.get("assigned_to") == "me", institution=args.get("institution"),
        customer_id=args.get("customer"), limit=args["limit"], offset=args["offset"])
    return [applications.details(unit, principal(), a)
            for a in applications.list_applications(unit, principal(), filters)]


@applications_blp.route("/<int:application_id>")
@applications_blp.response(200, ApplicationOut)
def show_application(application_id: int) -> Any:
    """One application with its decision's outcome (if decided) and its review tasks."""
    unit = uow()
    app = applications.visible_application(unit, principal(), application_id, Action.APPLICATION_READ)
    return applications.details(unit, principal(), app)


@applications_blp.route("/<int:application_id>/withdraw", methods=["POST"])
@applications_blp.arguments(WithdrawIn)
@applications_blp.response(200, ApplicationOut)
@applications_blp.alt_response(409, response="CONFLICT", description="the application is closed already")
def withdraw_application(body: dict[str, Any], application_id: int) -> Any:
    """Withdraw an open application; a closed one is 409 naming its state."""
    unit = uow()
    app = applications.withdraw(unit, principal(), application_id, body["reason"])
    unit.commit()
    return applications.details(unit, principal(), app)
