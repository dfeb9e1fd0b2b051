from __future__ import annotations

from marshmallow import fields, validate

from nongxin.core.schemas import StrictSchema


class SubjectIn(StrictSchema):
    kind = fields.String(required=True, metadata={"description": "resident_id or uscc"})
    id_number = fields.String(required=True)
    name = fields.String(required=True)


class EvidenceIn(StrictSchema):
    ref = fields.String(required=True, metadata={"description": "where the signed letter / recording is stored"})
    sha256 = fields.String(required=True)


class AuthorizationIn(StrictSchema):
    subject = fields.Nested(SubjectIn, required=True)
    purposes = fields.List(fields.String(), required=True)
    channel = fields.String(required=True, metadata={"description": "paper or electronic"})
    face_verified = fields.Boolean(load_default=False)
    evidence = fields.Nested(EvidenceIn, required=True)
    granted_at = fields.AwareDateTime(load_default=None, default_timezone=None)
    expires_at = fields.AwareDateTime(load_default=None)


class ForIn(StrictSchema):
    kind = fields.String(required=True, metadata={"description": "application or loan"})
    ref = fields.String(required=True)


class QueryIn(StrictSchema):
    subject = fields.Nested(SubjectIn, required=True)
    purpose = fields.String(required=True, metadata={"description": "PBOC query-reason code, e.g. 02"})
    for_ = fields.Nested(ForIn, required=True, data_key="for")


class LogFilter(StrictSchema):
    institution = fields.String()
    id_number = fields.String()
    purpose = fields.String()
    since = fields.Date()
    until = fields.Date()
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class AuthorizationFilter(StrictSchema):
    id_number = fields.String()
