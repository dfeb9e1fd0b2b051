"""Decision endpoints: decide an application, read why it was decided so, replay the decision.

``POST /api/applications/{id}/decide`` runs the automated decision (``core.credit.decision``);
``GET /api/applications/{id}/decision`` answers with the stored record, exactly as stored;
``POST /api/applications/{id}/decision/replay`` recomputes it and stores nothing. Another county
bank's application is 404, like a missing one.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.credit import decision as services
from nongxin.core.credit.models import Decision
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, Text, Timestamp
from nongxin.core.web import principal, runtime, uow
from nongxin.sdk._codec import encode

blp = Blueprint("decisions", __name__, url_prefix="/api/applications",
                description="The automated decision of loan applications, its record and its replay")


class MissingConsentOut(OutSchema):
    customer = fields.Integer(required=True)
    name = fields.String(required=True)
    purpose = fields.String(required=True, metadata={"description": "02 loan approval, 08 guarantor review"})
    reason = fields.String(required=True)


class DecisionOut(OutSchema):
    outcome = fields.String(required=True, metadata={"description": "approved | rejected | manual_review"})
    refusal_category = fields.String(required=True, allow_none=True)
    approved_amount = fields.String(required=True, allow_none=True, metadata={"description": "yuan"})
    rate = fields.String(required=True, allow_none=True, metadata={"description": "annual, a fraction"})
    limit = fields.String(required=True, allow_none=True)
    score = fields.Integer(required=True, allow_none=True)
    grade = fields.String(required=True, allow_none=True)
    reasons = fields.List(fields.String(), required=True)
    rule_book_hash = fields.String(required=True)
    business_date = fields.Date(required=True)
    decided_by = fields.String(required=True)
    decided_at = Timestamp(required=True)
    duration_us = fields.Integer(required=True)


class DecideOut(OutSchema):
    application = fields.String(required=True, metadata={"description": "the application number"})
    status = fields.String(required=True)
    decision = fields.Nested(DecisionOut, required=True, allow_none=True)
    missing_consent = fields.List(fields.Nested(MissingConsentOut), required=True,
                                  metadata={"description": "without these authorizations nothing is queried"})


class RecordOut(DecisionOut):
    record = fields.Dict(required=True, metadata={"description": "everything the decision used"})
    rule_definitions = fields.List(fields.Dict(), required=True,
                                   metadata={"description": "the admission rules in force (record.rules.hash)"})


class ReplayIn(StrictSchema):
    rules = Text(max_length=16, load_default="stored", validate=validate.OneOf(["stored", "current"]),
                          metadata={"description": "stored: the rules, scorecard and plugin answers stored with "
                                                   "the decision; current: today's"})


class ReplayOut(OutSchema):
    application = fields.String(required=True)
    rules = fields.String(required=True)
    rule_book_hash = fields.String(required=True)
    stored = fields.Dict(required=True)
    replayed = fields.Dict(required=True)
    same = fields.Boolean(required=True)
    differences = fields.Dict(required=True)


def _decision(d: Decision) -> dict[str, Any]:
    return {"outcome": d.outcome, "refusal_category": d.refusal_category,
            "approved_amount": d.record["outcome"]["approved_amount"], "rate": d.record["outcome"]["rate"],
            "limit": None if d.limit is None else str(d.limit), "score": d.score, "grade": d.grade,
            "reasons": d.record["outcome"]["reasons"], "rule_book_hash": d.rule_book_hash,
            "business_date": d.business_date, "decided_by": d.decided_by, "decided_at": d.decided_at,
            "duration_us": d.duration_us}


@blp.route("/<int:application_id>/decide", methods=["POST"])
@blp.response(200, DecideOut)
def decide(application_id: int) -> Any:
    """Run the automated decision. Without the bureau consents the application waits in
    ``awaiting_consent`` and the answer names what is missing; an application that is neither
    submitted nor awaiting consent is 409 naming its state."""
    done = services.decide(uow(), principal(), runtime(), application_id)
    return {"application": done.application.number, "status": done.application.status.value,
            "decision": _decision(done.decision) if done.decision is not None else None,
            "missing_consent": done.missing_consent}


@blp.route("/<int:application_id>/decision", methods=["GET"])
@blp.response(200, RecordOut)
def show(application_id: int) -> Any:
    """Why the application was decided so: the stored record, whole."""
    _, d = services.stored_decision(uow(), principal(), application_id, Action.DECISION_READ)
    rules = services.stored_rule_book(uow().session, d.record["rules"]["hash"])
    return {**_decision(d), "record": d.record, "rule_definitions": [encode(r) for r in rules]}


@blp.route("/<int:application_id>/decision/replay", methods=["POST"])
@blp.arguments(ReplayIn)
@blp.response(200, ReplayOut)
def replay(body: dict[str, Any], application_id: int) -> Any:
    """Recompute the decision from its stored facts: with the stored rules it reproduces the stored
    outcome; with today's it shows the differences. Stores nothing."""
    return services.replay(uow(), principal(), runtime(), application_id, body["rules"])
