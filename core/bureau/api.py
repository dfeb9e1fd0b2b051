"""Credit-bureau endpoints: authorizations, queries, and the query log for auditors."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from nongxin.core.bureau import services
from nongxin.core.bureau.models import BureauAuthorization, BureauQueryLog
from nongxin.core.bureau.schemas import (
    AuthorizationFilter,
    AuthorizationIn,
    AuthorizationOut,
    LogFilter,
    QueryCountOut,
    QueryIn,
    QueryLogOut,
    QueryOut,
)
from nongxin.core.web import principal, runtime, uow
from nongxin.sdk.bureau import to_dict
from nongxin.sdk.identity import mask_identity

blp = Blueprint("bureau", __name__, url_prefix="/api/bureau", description="Credit bureau (征信)")


def _id(number: str) -> str:
    return number if services.shows_full_id(principal()) else mask_identity(number)


def _authorization_json(a: BureauAuthorization) -> dict[str, Any]:
    return {
        "id": a.id, "county_bank": a.county_bank.code,
        "subject": {"kind": a.subject_kind, "id_number": _id(a.id_number), "name": a.subject_name},
        "purposes": a.purposes, "channel": a.channel, "face_verified": a.face_verified,
        "evidence": {"ref": a.evidence_ref, "sha256": a.evidence_sha256},
        "granted_at": a.granted_at, "expires_at": a.expires_at, "revoked_at": a.revoked_at,
        "revoked_by": a.revoked_by, "recorded_by": a.recorded_by,
    }


def _log_json(e: BureauQueryLog) -> dict[str, Any]:
    return {
        "id": e.id, "at": e.at, "operator": e.operator, "institution": e.institution_code,
        "county_bank": e.county_bank_code, "subject": {"kind": e.subject_kind, "id_number": _id(e.id_number)},
        "purpose": e.purpose, "authorization_id": e.authorization_id, "for": {"kind": e.for_kind, "ref": e.for_ref},
        "provider": e.provider, "outcome": e.outcome, "error": e.error, "report_id": e.report_id,
        "duration_ms": e.duration_ms,
    }


@blp.route("/authorizations", methods=["POST"])
@blp.arguments(AuthorizationIn)
@blp.response(201, AuthorizationOut)
def record_authorization(body: dict[str, Any]) -> Any:
    """Record a subject's authorization (征信授权) for this county bank."""
    unit = uow()
    auth = services.record_authorization(
        unit, principal(), runtime().settings, subject=services.SubjectInput(**body["subject"]),
        purposes=body["purposes"], channel=body["channel"], face_verified=body["face_verified"],
        evidence_ref=body["evidence"]["ref"], evidence_sha256=body["evidence"]["sha256"],
        granted_at=body["granted_at"], expires_at=body["expires_at"], today=runtime().clock.business_date())
    unit.commit()
    return _authorization_json(auth)


@blp.route("/authorizations")
@blp.arguments(AuthorizationFilter, location="query")
@blp.response(200, AuthorizationOut(many=True))
def list_authorizations(args: dict[str, Any]) -> Any:
    return [_authorization_json(a) for a in services.list_authorizations(uow(), principal(), args.get("id_number"))]


@blp.route("/authorizations/<int:auth_id>")
@blp.response(200, AuthorizationOut)
def show_authorization(auth_id: int) -> Any:
    return _authorization_json(services.get_authorization(uow(), principal(), auth_id))


@blp.route("/authorizations/<int:auth_id>/revoke", methods=["POST"])
@blp.response(200, AuthorizationOut)
def revoke_authorization(auth_id: int) -> Any:
    """Revoke: later queries relying on it are refused with authorization_revoked."""
    unit = uow()
    auth = services.revoke_authorization(unit, principal(), auth_id)
    unit.commit()
    return _authorization_json(auth)


@blp.route("/queries", methods=["POST"])
@blp.arguments(QueryIn)
@blp.response(200, QueryOut)
def query(body: dict[str, Any]) -> Any:
    """Query a credit report. Refused (403, with a code saying why) without a live authorization;
    a report fetched within the stale period is reused. Every query and reuse is logged. When the
    provider fails the outcome is ``failed`` and there is no report: nothing may be approved on it."""
    unit = uow()
    result = services.query(unit, principal(), runtime().plugins, runtime().settings,
                            subject=services.SubjectInput(**body["subject"]), purpose=body["purpose"],
                            for_kind=body["for_"]["kind"], for_ref=body["for_"]["ref"])
    unit.commit()
    summary = result.summary
    return {
        "query": _log_json(result.entry),
        "usable": result.usable,
        "report": to_dict(result.report) if result.report else None,
        "summary": {k: (str(v) if v is not None and not isinstance(v, (bool, int)) else v)
                    for k, v in summary.as_facts().items()} if summary else None,
    }


@blp.route("/queries")
@blp.arguments(LogFilter, location="query")
@blp.response(200, QueryLogOut(many=True))
def list_queries(args: dict[str, Any]) -> Any:
    """The query log, newest first, filtered by institution, subject, purpose and dates."""
    filters = _filters(args)
    return [_log_json(e) for e in services.list_log(uow(), principal(), limit=min(args["limit"], 1000), **filters)]


@blp.route("/queries/counts")
@blp.arguments(LogFilter, location="query")
@blp.response(200, QueryCountOut(many=True))
def count_queries(args: dict[str, Any]) -> Any:
    """Query counts per subject, purpose and outcome over the period."""
    rows = services.count_queries(uow(), principal(), **_filters(args))
    return [{**row, "id_number": _id(row["id_number"])} for row in rows]


def _filters(args: dict[str, Any]) -> dict[str, Any]:
    return {"county_bank_code": args.get("institution"), "id_number": args.get("id_number"),
            "purpose": args.get("purpose"), "since": args.get("since"), "until": args.get("until")}
