from __future__ import annotations

from marshmallow import fields, validate

from nongxin.core.bureau.models import BureauAuthorization as A
from nongxin.core.bureau.models import BureauQueryLog as Q
from nongxin.core.institutions.models import Institution
from nongxin.core.schemas import Day, Moment, OutSchema, StrictSchema, Timestamp, column_text


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
    kind = column_text(Q.for_kind, required=True, metadata={"description": "application, loan, review_round or credit_line"})
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


class SubjectOut(OutSchema):
    kind = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "masked unless the caller may see it whole"})
    name = fields.String()


class EvidenceOut(OutSchema):
    ref = fields.String(required=True)
    sha256 = fields.String(required=True)


class AuthorizationOut(OutSchema):
    id = fields.Integer(required=True)
    county_bank = fields.String(required=True)
    subject = fields.Nested(SubjectOut, required=True)
    purposes = fields.List(fields.String(), required=True)
    channel = fields.String(required=True)
    face_verified = fields.Boolean(required=True)
    evidence = fields.Nested(EvidenceOut, required=True)
    granted_at = Timestamp(required=True)
    expires_at = Timestamp(required=True)
    revoked_at = Timestamp(required=True, allow_none=True)
    revoked_by = fields.String(required=True, allow_none=True)
    recorded_by = fields.String(required=True)


class ForOut(OutSchema):
    kind = fields.String(required=True)
    ref = fields.String(required=True)


class QueryLogOut(OutSchema):
    id = fields.Integer(required=True)
    at = Timestamp(required=True)
    operator = fields.String(required=True)
    institution = fields.String(required=True)
    county_bank = fields.String(required=True)
    subject = fields.Nested(SubjectOut, required=True)
    purpose = fields.String(required=True)
    authorization_id = fields.Integer(required=True, allow_none=True)
    for_ = fields.Nested(ForOut, required=True, data_key="for", attribute="for")
    provider = fields.String(required=True, allow_none=True)
    outcome = fields.String(required=True)
    error = fields.String(required=True, allow_none=True)
    report_id = fields.String(required=True, allow_none=True)
    duration_ms = fields.Integer(required=True, allow_none=True)


class QueryOut(OutSchema):
    query = fields.Nested(QueryLogOut, required=True)
    usable = fields.Boolean(required=True, metadata={"description": "false: nothing may be decided on it"})
    report = fields.Dict(required=True, allow_none=True, metadata={"description": "the bureau report, "
                         "amounts as strings; null when the provider failed"})
    summary = fields.Dict(required=True, allow_none=True, metadata={"description": "the report's facts for "
                          "the rules, amounts as strings"})


class QueryCountOut(OutSchema):
    id_number = fields.String(required=True)
    purpose = fields.String(required=True)
    outcome = fields.String(required=True)
    n = fields.Integer(required=True)
