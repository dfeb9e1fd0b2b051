from __future__ import annotations

from marshmallow import fields, validate

from nongxin.core.institutions.models import Level, Role
from nongxin.core.schemas import StrictSchema


class InstitutionOut(StrictSchema):
    code = fields.String()
    name = fields.String()
    level = fields.Function(lambda i: i.level.value)
    level_label = fields.Function(lambda i: i.level.label)
    parent = fields.Function(lambda i: i.parent.code if i.parent else None)


class InstitutionCreate(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$",
                         error="use 1-32 letters, digits, '-' or '_'"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    level = fields.String(required=True, validate=validate.OneOf([l.value for l in Level]))
    parent = fields.String(required=True)


class InstitutionPatch(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    parent = fields.String()


class UserOut(StrictSchema):
    username = fields.String()
    display_name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    role_label = fields.Function(lambda u: u.role.label)
    institution = fields.Function(lambda u: u.institution.code)
    active = fields.Boolean()


class UserCreate(StrictSchema):
    username = fields.String(required=True)
    display_name = fields.String(load_default="")
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    institution = fields.String(required=True)


class UserPatch(StrictSchema):
    active = fields.Boolean(required=True)


class TokenCreate(StrictSchema):
    # strict: 1.5 and "10" are refused, not rounded or parsed; the cap is NONGXIN_TOKEN_MAX_DAYS
    days = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))


class TokenOut(StrictSchema):
    token = fields.String()
    prefix = fields.String()
    expires_at = fields.DateTime()
    revoked = fields.String(allow_none=True)
