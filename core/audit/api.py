"""Read-only view of the audit trail: there is deliberately no endpoint that changes it."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.audit.models import AuditEntry
from nongxin.core.audit.services import entries, verify_for

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
    return entries(uow().session, principal(), limit=args["limit"], action=args.get("action"))


@blp.route("/verify")
@blp.response(200, VerifyOut)
def verify_chain() -> Any:
    """Walk the hash chain (province admins only: it reads every entry)."""
    problems = verify_for(uow().session, principal())
    return {"ok": not problems, "problems": [p.message for p in problems]}
