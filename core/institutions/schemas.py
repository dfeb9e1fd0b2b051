from __future__ import annotations

from marshmallow import fields, validate

from nongxin.core.institutions.models import Institution, Level, Role, User
from nongxin.core.schemas import StrictSchema, Timestamp, column_text


class InstitutionOut(StrictSchema):
    code = fields.String()
    name = fields.String()
    level = fields.Function(lambda i: i.level.value)
    level_label = fields.Function(lambda i: i.level.label)
    parent = fields.Function(lambda i: i.parent.code if i.parent else None)


class InstitutionCreate(StrictSchema):
    code = column_text(Institution.code, required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_-]{1,32}$", error="use 1-32 letters, digits, '-' or '_'"))
    name = column_text(Institution.name, required=True, min_length=1)
    level = column_text(Institution.level, required=True, validate=validate.OneOf([l.value for l in Level]))
    parent = column_text(Institution.code, required=True)


class InstitutionPatch(StrictSchema):
    name = column_text(Institution.name, min_length=1)
    parent = column_text(Institution.code)


class UserOut(StrictSchema):
    username = fields.String()
    display_name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    role_label = fields.Function(lambda u: u.role.label)
    institution = fields.Function(lambda u: u.institution.code)
    active = fields.Boolean()
    approval_limit = fields.Function(lambda u: None if u.approval_limit is None else str(u.approval_limit),
                                     metadata={"description": "approvers: the largest amount they may approve"})


class UserCreate(StrictSchema):
    username = column_text(User.username, required=True)
    display_name = column_text(User.display_name, load_default="")
    role = column_text(User.role, required=True, validate=validate.OneOf([r.value for r in Role]))
    institution = column_text(Institution.code, required=True)


class UserPatch(StrictSchema):
    active = fields.Boolean(required=True)


class TokenCreate(StrictSchema):
    # strict: 1.5 and "10" are refused, not rounded or parsed; the cap is NONGXIN_TOKEN_MAX_DAYS
    days = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))


class TokenOut(StrictSchema):
    token = fields.String()
    prefix = fields.String()
    expires_at = Timestamp()
    revoked = fields.String(allow_none=True)
