"""Dated parameters endpoints: read by everyone in scope, set by admins and parameter admins."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from nongxin.core.guards import permission_required
from nongxin.core.parameters import services
from nongxin.core.parameters.schemas import HistoryOut, HistoryQuery, ListingOut, ListQuery, ParameterSet, RowOut
from nongxin.core.permissions import Action
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("parameters", __name__, url_prefix="/api/parameters",
                description="Dated parameters: the province's LPR, review time limits, exposure caps")


@blp.route("")
@blp.arguments(ListQuery, location="query")
@blp.response(200, ListingOut)
def list_parameters(query: dict[str, Any]) -> Any:
    """Every parameter in force at the institution on the day: value, and who set it from when."""
    on = query.get("on") or runtime().clock.business_date()
    return services.listing(uow(), principal(), query.get("institution"), on)


@blp.route("", methods=["POST"])
@permission_required(Action.PARAMETER_CHANGE)
@blp.arguments(ParameterSet)
@blp.response(201, RowOut)
def set_parameter(body: dict[str, Any]) -> Any:
    """Set a parameter at an institution from a day on (never before the business date). A
    tighten-only parameter (the exposure cap) may not be set looser than the value in force above."""
    unit = uow()
    row = services.set_value(unit, principal(), body["name"], body["institution"], body["value"],
                             today=runtime().clock.business_date(), effective_from=body.get("effective_from"),
                             note=body["note"])
    unit.commit()
    return row


@blp.route("/<name>/history")
@blp.arguments(HistoryQuery, location="query")
@blp.response(200, HistoryOut)
def parameter_history(query: dict[str, Any], name: str) -> Any:
    """The rows of the parameter set on the institution's ancestry, newest first."""
    code = query.get("institution") or principal().institution_code
    rows = services.history(uow(), principal(), name, code)
    return {"name": name, "institution": code, "rows": rows}
