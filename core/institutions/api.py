"""Institution tree endpoints. Lists show only the caller's subtree."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from nongxin.core.institutions import services
from nongxin.core.errors import ValidationFailed
from nongxin.core.guards import permission_required
from nongxin.core.institutions.models import Level
from nongxin.core.permissions import Action
from nongxin.core.institutions.schemas import InstitutionCreate, InstitutionOut, InstitutionPatch
from nongxin.core.web import principal, uow

blp = Blueprint("institutions", __name__, url_prefix="/api/institutions",
                description="Institution tree: province, city, county bank, branch, grid")


@blp.route("")
@blp.response(200, InstitutionOut(many=True))
def list_institutions() -> Any:
    """The caller's institution and everything below it."""
    return services.read_subtree(uow().session, principal())


@blp.route("", methods=["POST"])
@permission_required(Action.INSTITUTION_CREATE)
@blp.arguments(InstitutionCreate)
@blp.response(201, InstitutionOut)
def create_institution(body: dict[str, Any]) -> Any:
    """Create a node under a parent the caller can see (admins only)."""
    unit = uow()
    inst = services.create(unit, principal(), code=body["code"], name=body["name"],
                           level=Level(body["level"]), parent_code=body["parent"])
    unit.commit()
    return inst


@blp.route("/<code>")
@blp.response(200, InstitutionOut)
def get_institution(code: str) -> Any:
    return services.visible_for(uow().session, principal(), code, Action.INSTITUTION_READ)


@blp.route("/<code>", methods=["PATCH"])
@permission_required(Action.INSTITUTION_RENAME, Action.INSTITUTION_MOVE)
@blp.arguments(InstitutionPatch)
@blp.response(200, InstitutionOut)
def update_institution(body: dict[str, Any], code: str) -> Any:
    """Rename (``name``) and/or move (``parent``) a node; both in one transaction."""
    unit = uow()
    inst = services.visible(unit.session, principal(), code)
    if not body:
        raise ValidationFailed("nothing to change: send name and/or parent", code="empty_change",
                               fields={"body": ["send name and/or parent"]})
    if "name" in body:
        inst = services.rename(unit, principal(), code, body["name"])
    if "parent" in body:
        inst = services.move(unit, principal(), code, body["parent"])
    unit.commit()
    return inst
