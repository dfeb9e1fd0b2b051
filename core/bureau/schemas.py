from __future__ import annotations

from marshmallow import fields, validate

from nongxin.core.bureau.models import BureauAuthorization as A
from nongxin.core.bureau.models import BureauQueryLog as Q
from nongxin.core.institutions.models import Institution
from nongxin.core.schemas import Day, Moment, StrictSchema, column_text


class SubjectIn(StrictSchema):
    kind = column_text(A.subject_kind, required=True, metadata={"description": "resident_id or uscc"})
    id_number = column_text(A.id_number, required=True)
    name = column_text(A.subject_name, required=True)


class EvidenceIn(StrictSchema):
    ref = column_text(A.evidence_ref, required=True,
                      metadata={"description": "where the signed letter / recording is stored"})
    sha256 = column_text(A.evidence_sha256, required=True)


class AuthorizationIn(StrictSchema):
    subject = fields.Nested(SubjectIn, required=True)
    purposes = fields.List(column_text(Q.purpose), required=True, validate=validate.Length(max=20))
    channel = column_text(A.channel, required=True, metadata={"description": "paper or electronic"})
    face_verified = fields.Boolean(load_default=False)
    evidence = fields.Nested(EvidenceIn, required=True)
    granted_at = Moment(load_default=None, default_timezone=None)
    expires_at = Moment(load_default=None)


class ForIn(StrictSchema):
    kind = column_text(Q.for_kind, required=True, metadata={"description": "application or loan"})
    ref = column_text(Q.for_ref, required=True)


class QueryIn(StrictSchema):
    subject = fields.Nested(SubjectIn, required=True)
    purpose = column_text(Q.purpose, required=True, metadata={"description": "PBOC query-reason code, e.g. 02"})
    for_ = fields.Nested(ForIn, required=True, data_key="for")


class LogFilter(StrictSchema):
    institution = column_text(Institution.code)
    id_number = column_text(Q.id_number)
    purpose = column_text(Q.purpose)
    since = Day()
    until = Day()
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class AuthorizationFilter(StrictSchema):
    id_number = column_text(A.id_number)
