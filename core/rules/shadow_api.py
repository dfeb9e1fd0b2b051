"""``GET /api/rules/shadow-report``: the shadow rules' hits per day beside the live rules'
(``core.rules.shadow_report``).

The promises: ``rules.read``, in the caller's subtree (another county bank's institution is 404,
exactly as a missing one); ``from`` after ``to`` is 422 naming ``from``; an unknown stage is 422
naming ``stage``. ``to`` defaults to the business date, ``from`` to 29 days before ``to``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import fields, validate

from nongxin.core.institutions.models import Institution
from nongxin.core.rules import shadow_report
from nongxin.core.rules.api import blp
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, column_text
from nongxin.core.web import principal, runtime, uow
from nongxin.sdk.facts import SCHEMAS

#: The default window: this many days before ``to``.
WINDOW = 29


class ShadowReportQuery(StrictSchema):
    institution = column_text(Institution.code, required=True)
    from_ = Day(load_default=None, data_key="from")
    to = Day(load_default=None)
    stage = Text(max_length=32, load_default=None, validate=validate.OneOf(list(SCHEMAS)))
    rule = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1),
                          metadata={"description": "a shadow rule's id"})


def _figure(what: str, nullable: bool = True) -> fields.Integer:
    return fields.Integer(required=True, allow_none=nullable, metadata={"description": what})


class _RuleFigures(OutSchema):
    stage = fields.String(required=True, metadata={"enum": list(SCHEMAS)})
    rule_id = fields.Integer(required=True)
    rule_code = fields.String(required=True)
    rule_version = fields.Integer(required=True)
    owner = fields.String(required=True)
    outcome = fields.String(required=True)
    subjects = _figure("loans or positions judged, or the decisions of the day", nullable=False)
    shadow_hits = _figure("the shadow rule's hits", nullable=False)
    live_hits = _figure("the hits of the live rule of the same code (null: no live rule had the code)")
    both = _figure("admission: applications both rules hit")
    shadow_only = _figure("admission: applications only the shadow rule hit")
    live_only = _figure("admission: applications only the live rule hit")
    would_change = _figure("admission: decisions the shadow hit would have moved")


class ShadowRowOut(_RuleFigures):
    business_date = fields.Date(required=True)


class ShadowTotalOut(_RuleFigures):
    days = fields.Integer(required=True)


class ShadowReportOut(OutSchema):
    institution = fields.String(required=True)
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    rows = fields.List(fields.Nested(ShadowRowOut), required=True)
    totals = fields.List(fields.Nested(ShadowTotalOut), required=True)


@blp.route("/shadow-report")
@blp.arguments(ShadowReportQuery, location="query")
@blp.response(200, ShadowReportOut)
def shadow_report_view(args: dict[str, Any]) -> Any:
    """Per business date and shadow rule: its hits, the live rule's of the same code, the subjects
    judged, and for admission the applications both, either only, and the decisions it would move."""
    end = args["to"] or runtime().clock.business_date()
    start = args["from_"] or end - timedelta(days=WINDOW)
    return shadow_report.report(uow(), principal(), runtime(), institution=args["institution"], start=start,
                                end=end, stage=args["stage"], rule_id=args["rule"])
