"""Read-only view of the audit trail: there is deliberately no endpoint that changes it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.audit.models import AuditEntry
from nongxin.core.audit.services import verify
from nongxin.core.institutions.models import ADMINS, Institution
from nongxin.core.schemas import OutSchema, StrictSchema, Timestamp, column_text
from nongxin.core.web import principal, uow

blp = Blueprint("audit", __name__, url_prefix="/api/audit", description="Append-only audit trail")


class AuditOut(StrictSchema):
    id = fields.Integer()
    at = Timestamp()
    actor = fields.String()
    institution_code = fields.String(allow_none=True)
    action = fields.String()
    target = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    hash = fields.String()


class VerifyOut(OutSchema):
    ok = fields.Boolean(required=True)
    problems = fields.List(fields.String(), required=True)


class AuditQuery(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    action = column_text(AuditEntry.action)


@blp.route("")
@blp.arguments(AuditQuery, location="query")
@blp.response(200, AuditOut(many=True))
def list_entries(args: dict[str, Any]) -> Any:
    """Newest first; entries about institutions in the caller's subtree (admins only)."""
    me = principal()
    me.require_role(ADMINS, "read the audit trail")
    codes = sa.select(Institution.code).where(Institution.path.startswith(me.institution_path))
    stmt = sa.select(AuditEntry).where(AuditEntry.institution_code.in_(codes))
    if "action" in args:
        stmt = stmt.where(AuditEntry.action == args["action"])
    return uow().session.execute(stmt.order_by(AuditEntry.id.desc()).limit(min(args["limit"], 1000))).scalars().all()


@blp.route("/verify")
@blp.response(200, VerifyOut)
def verify_chain() -> Any:
    """Walk the hash chain (province admins only: it reads every entry)."""
    from nongxin.core.institutions.models import Role

    principal().require_role([Role.PROVINCE_ADMIN], "verify the audit chain")
    problems = verify(uow().session)
    return {"ok": not problems, "problems": [p.message for p in problems]}
