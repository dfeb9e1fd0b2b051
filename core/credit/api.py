"""Credit endpoints. For now: the products offered at an institution."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields

from nongxin.core.credit.products import offered
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
