"""The calendar API's bodies, queries and answers."""

from __future__ import annotations

from marshmallow import fields, validate

from nongxin.core.calendar.domain import DayKind
from nongxin.core.calendar.models import CalendarOverride
from nongxin.core.schemas import EARLIEST, LATEST, Day, StrictSchema, column_text

KINDS = [k.value for k in DayKind]
#: The largest deadline offset accepted: about ten years of working days.
MAX_ADD = 2500


class DaySet(StrictSchema):
    kind = column_text(CalendarOverride.kind, required=True, validate=validate.OneOf(KINDS))
    note = column_text(CalendarOverride.note, load_default="")


class YearQuery(StrictSchema):
    year = fields.Integer(load_default=None, strict=False,
                          validate=validate.Range(min=EARLIEST.year, max=LATEST.year),
                          metadata={"description": "default: the current year in China"})


class WorkdaysQuery(StrictSchema):
    start = Day(required=True, metadata={"description": "the day to count from (not counted itself)"})
    add = fields.Integer(required=True, validate=validate.Range(min=-MAX_ADD, max=MAX_ADD),
                         metadata={"description": "working days to add (negative: go back)"})


class DayOut(StrictSchema):
    day = fields.Date(required=True)
    kind = fields.Function(lambda e: e.kind.value, required=True,
                           metadata={"type": "string", "enum": KINDS})
    source = fields.Function(lambda e: e.source.value, required=True,
                             metadata={"type": "string", "enum": ["override", "official"]})
    note = fields.String(required=True)
    official = fields.Function(lambda e: e.official.value if e.official else None, allow_none=True,
                               metadata={"type": "string", "enum": KINDS, "nullable": True,
                                         "description": "what the package says of an overridden day"})
    updated_by = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime(allow_none=True)


class YearOut(StrictSchema):
    year = fields.Integer(required=True)
    coverage = fields.String(required=True, metadata={"enum": ["package", "overrides", "missing"]})
    days = fields.List(fields.Nested(DayOut), required=True)


class WorkdaysOut(StrictSchema):
    start = fields.Date(required=True)
    add = fields.Integer(required=True)
    day = fields.Date(required=True)
    estimated = fields.Boolean(required=True, metadata={
        "description": "true when a day counted had no official data (Monday to Friday assumed)"})
