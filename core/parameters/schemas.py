"""The parameters API's bodies, queries and answers."""

from __future__ import annotations

from typing import Any, Mapping

from marshmallow import ValidationError, fields, validate

from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.models import ParameterValue
from nongxin.core.parameters.registry import PARAMETERS
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, column_text

VALUE_HELP = ("the value as text: a rate as a fraction or in percent (\"0.0345\" or \"3.45%\"), money in yuan "
              "(\"3000000\"), days as a whole number (\"5\"); a JSON integer is accepted too, a JSON float is not "
              "(it is not exact)")


class ValueText(Text):
    """A parameter value: a string, or a JSON integer (never a float, which is not exact)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif not isinstance(value, str):
            raise ValidationError("write the value as a string, e.g. \"0.0345\", \"3.45%\" or \"5\"")
        return super()._deserialize(value, attr, data, **kwargs)


class ListQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None,
                              metadata={"description": "institution code (default: the caller's)"})
    on = Day(load_default=None, metadata={"description": "the day (default: the business date)"})


class HistoryQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None,
                              metadata={"description": "institution code (default: the caller's)"})


class ParameterSet(StrictSchema):
    name = column_text(ParameterValue.name, required=True, validate=validate.OneOf(list(PARAMETERS)),
                       metadata={"description": "a registered parameter (GET /api/parameters lists them)"})
    institution = column_text(Institution.code, required=True)
    value = ValueText(max_length=40, required=True, metadata={"description": VALUE_HELP})
    effective_from = Day(load_default=None, metadata={"description": "default: the business date; never earlier"})
    note = column_text(ParameterValue.note, load_default="")


class InForceOut(OutSchema):
    name = fields.Function(lambda f: f.parameter.name, required=True, metadata={"type": "string"})
    label = fields.Function(lambda f: f.parameter.label, required=True, metadata={"type": "string"})
    kind = fields.Function(lambda f: f.parameter.kind, required=True,
                           metadata={"type": "string", "enum": ["rate", "money", "days", "count", "flag", "choice"]})
    value = fields.Function(lambda f: f.text, required=True,
                            metadata={"type": "string", "description": "decimal or integer as text"})
    source = fields.String(required=True, metadata={"description": "code of the institution that set it, or default"})
    effective_from = fields.Date(required=True, allow_none=True)
    levels = fields.Function(lambda f: [lv.value for lv in f.parameter.levels], required=True,
                             metadata={"type": "array", "items": {"type": "string"},
                                       "description": "the levels it may be set at"})
    tighten = fields.Function(lambda f: f.parameter.tighten, required=True,
                              metadata={"type": "string", "nullable": True, "enum": ["lower", "higher", None],
                                        "description": "lower: a cap lower institutions may only lower"})


class ListingOut(OutSchema):
    institution = fields.Function(lambda x: x.institution.code, required=True, metadata={"type": "string"})
    on = fields.Date(required=True)
    parameters = fields.List(fields.Nested(InForceOut), required=True)


class RowOut(OutSchema):
    name = fields.String(required=True)
    institution = fields.String(required=True)
    value = fields.String(required=True)
    effective_from = fields.Date(required=True)
    note = fields.String(required=True)
    changed_by = fields.String(required=True)
    changed_at = fields.AwareDateTime(required=True)


class HistoryOut(OutSchema):
    name = fields.String(required=True)
    institution = fields.String(required=True)
    rows = fields.List(fields.Nested(RowOut), required=True)
