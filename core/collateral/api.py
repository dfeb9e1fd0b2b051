"""Collateral registry endpoints (押品): register, list, show, value by hand, the valuation
history and the kinds with their terms. Every check lives in ``nongxin.core.collateral.registry``;
the views parse and render. Another county bank's item is 404, like a missing one."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from nongxin.core.collateral import registry
from nongxin.core.collateral.schemas import (
    CollateralFilter,
    CollateralItemDetailOut,
    CollateralItemOut,
    CollateralKindsOut,
    CollateralKindsQuery,
    CollateralRegisterIn,
    CollateralValuationIn,
    CollateralValuationOut,
)
from nongxin.core.guards import permission_required
from nongxin.core.permissions import Action
from nongxin.core.collateral.services import visible_item
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("collateral", __name__, url_prefix="/api/collateral", description="Collateral (押品)")


def _today() -> Any:
    return runtime().clock.business_date()


def _valuation(body: dict[str, Any]) -> registry.ValuationRequest:
    return registry.ValuationRequest(value=body["value"], method=body["method"], valuer=body["valuer"],
                                     valued_on=body["valued_on"], valuer_kind=body["valuer_kind"],
                                     valid_until=body.get("valid_until"), note=body["note"])


@blp.route("", methods=["POST"])
@permission_required(Action.COLLATERAL_REGISTER)
@blp.arguments(CollateralRegisterIn)
@blp.response(201, CollateralItemDetailOut)
@blp.alt_response(404, response="NOT_FOUND", description="no such owner or institution in your subtree")
@blp.alt_response(409, response="CONFLICT", description="the item is registered already (duplicate_collateral)")
def register(body: dict[str, Any]) -> Any:
    """Register an item (and its first valuation): 422 naming every field at fault."""
    unit, me, today = uow(), principal(), _today()
    request = registry.RegisterRequest(
        kind=body["kind"], owner=body["owner"], fields=body["fields_"], declared_value=body.get("declared_value"),
        institution=body.get("institution"), description=body["description"],
        valuation=_valuation(body["valuation"]) if "valuation" in body else None)
    item = registry.register(unit, me, request, today)
    unit.commit()
    return registry.details(unit, me, item, today)


@blp.route("")
@blp.arguments(CollateralFilter, location="query")
@blp.response(200, CollateralItemOut(many=True))
def list_items(args: dict[str, Any]) -> Any:
    """Items registered in your subtree, newest first, with their current value."""
    unit, me, today = uow(), principal(), _today()
    filters = registry.ItemFilters(institution=args.get("institution"), customer_id=args.get("customer"),
                                   line_id=args.get("line"), kind=args.get("kind"), limit=args["limit"],
                                   offset=args["offset"])
    return [registry.summary(unit, me, item, today) for item in registry.list_items(unit, me, filters)]


@blp.route("/kinds")
@blp.arguments(CollateralKindsQuery, location="query")
@blp.response(200, CollateralKindsOut)
def list_kinds(args: dict[str, Any]) -> Any:
    """The kinds, their fields and methods, and the terms in force at the institution's county bank."""
    return registry.kinds(uow(), principal(), args.get("institution"), _today())


@blp.route("/<int:item_id>")
@blp.response(200, CollateralItemDetailOut)
def show(item_id: int) -> Any:
    """One item: fields, owner, valuation history (newest first), pledges."""
    unit, me = uow(), principal()
    return registry.details(unit, me, visible_item(unit, me, item_id, Action.COLLATERAL_READ), _today())


@blp.route("/<int:item_id>/valuations", methods=["POST"])
@permission_required(Action.COLLATERAL_VALUE)
@blp.arguments(CollateralValuationIn)
@blp.response(201, CollateralValuationOut)
def value(body: dict[str, Any], item_id: int) -> Any:
    """Record a manual valuation (internal or external valuer); 422 naming the field at fault."""
    unit, me = uow(), principal()
    row = registry.value_item(unit, me, item_id, _valuation(body), _today())
    unit.commit()
    return next(v for v in registry.valuations(unit, me, item_id) if v["id"] == row.id)


@blp.route("/<int:item_id>/valuations")
@blp.response(200, CollateralValuationOut(many=True))
def valuations(item_id: int) -> Any:
    """The item's valuations, newest first."""
    return registry.valuations(uow(), principal(), item_id)
