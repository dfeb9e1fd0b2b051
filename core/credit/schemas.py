"""The shapes of the credit endpoints' bodies, queries and answers.

Money comes in as a decimal string (``"50000.00"``) or a whole JSON number, and is parsed to
``Decimal`` exactly; a JSON number with a fraction is refused, because a JSON parser reads it as a
binary float that is not the amount typed. Money and rates go out as decimal strings.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

from nongxin.core.credit.applications import MAX_GUARANTORS
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.credit.models import Application as A
from nongxin.core.credit.models import ApplicationStatus, Channel
from nongxin.core.institutions.models import Institution
from nongxin.core.schemas import OutSchema, StrictSchema, Text, Timestamp, column_text

#: A positive amount of yuan: up to 15 digits, and at most two decimals (fen).
MONEY_TEXT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,2})?$")
#: Largest JSON integer taken as exact (beyond it a client may already have lost digits).
EXACT_INT = 2**53


class MoneyField(fields.Field):
    """Yuan as ``Decimal``: a decimal string with at most two places, or a whole JSON number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool):
            raise ValidationError("must be an amount of yuan, e.g. \"50000.00\"")
        if isinstance(value, int):
            if not 0 <= value < EXACT_INT:
                raise ValidationError("must be a positive amount of yuan")
            return Decimal(value)
        if isinstance(value, float):
            if value.is_integer() and 0 <= value < EXACT_INT:
                return Decimal(int(value))
            raise ValidationError("send an amount with fen as a decimal string, e.g. \"50000.50\": a JSON "
                                  "number with a fraction is not exact")
        if isinstance(value, str) and MONEY_TEXT.match(value.strip()):
            return Decimal(value.strip())
        raise ValidationError("must be an amount of yuan with at most two decimals, e.g. \"50000.00\"")


#: A form holds a few dozen answers, each a short scalar.
MAX_FORM_KEYS, MAX_FORM_TEXT = 64, 500


def _form_value(value: Any) -> None:
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        raise ValidationError("write a number with a fraction as a string (\"8000.50\"): a JSON number "
                              "with a fraction is not exact")
    if isinstance(value, str):
        if len(value) > MAX_FORM_TEXT:
            raise ValidationError(f"longer than {MAX_FORM_TEXT} characters")
        return
    raise ValidationError("each answer is a string, a whole number, true/false or null")


class FormField(fields.Dict):
    """The application form: named scalar answers (no nesting)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(keys=Text(max_length=64, min_length=1), values=fields.Raw(allow_none=True), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        form = super()._deserialize(value, attr, data, **kwargs)
        if len(form) > MAX_FORM_KEYS:
            raise ValidationError(f"at most {MAX_FORM_KEYS} answers")
        problems = {}
        for key, answer in form.items():
            try:
                _form_value(answer)
            except ValidationError as exc:
                problems[key] = exc.messages
        if problems:
            raise ValidationError(problems)
        return dict(form)


class ApplicationIn(StrictSchema):
    customer = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1),
                              metadata={"description": "the customer's id"})
    product = column_text(A.product_code, required=True, metadata={"description": "product code"})
    amount = MoneyField(required=True, metadata={"description": "yuan, a decimal string (\"50000.00\")"})
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=600))
    repayment_method = column_text(A.repayment_method, required=True,
                                   metadata={"description": "one of the product's repayment methods"})
    purpose = column_text(A.purpose, load_default="")
    form = FormField(load_default=dict, metadata={"description": "answers the product requires"})
    guarantors = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                             load_default=list, validate=validate.Length(max=MAX_GUARANTORS),
                             metadata={"description": "customer ids of the same county bank"})
    channel = Text(max_length=24, required=True, validate=validate.OneOf([c.value for c in Channel]))
    channel_ref = column_text(A.channel_ref, load_default="",
                              metadata={"description": "the code scanned (qr_code channel): customer manager, "
                                                       "institution, product or campaign code"})


class ApplicationFilter(StrictSchema):
    status = Text(max_length=24, validate=validate.OneOf([s.value for s in ApplicationStatus]))
    assigned_to = Text(max_length=8, validate=validate.OneOf(["me"]),
                                metadata={"description": "me: applications waiting on the caller"})
    institution = column_text(Institution.code)
    customer = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class WithdrawIn(StrictSchema):
    reason = Text(max_length=200, min_length=1, required=True)


class CustomerRefOut(OutSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "masked unless the caller may see it whole"})


class DecisionSummaryOut(OutSchema):
    outcome = fields.String(required=True, metadata={"description": "approved, rejected or manual_review"})
    refusal_category = fields.String(required=True, allow_none=True)
    limit = fields.String(required=True, allow_none=True, metadata={"description": "yuan, a decimal string"})
    rate = fields.String(required=True, allow_none=True, metadata={"description": "annual rate, a decimal string"})
    score = fields.Integer(required=True, allow_none=True)
    grade = fields.String(required=True, allow_none=True)
    decided_at = Timestamp(required=True)
    decided_by = fields.String(required=True)


class ReviewTaskOut(OutSchema):
    tier = fields.String(required=True, metadata={"description": "investigation, review or approval"})
    assignee = fields.String(required=True)
    due_on = fields.Date(required=True)
    opinion = fields.String(required=True, allow_none=True)
    comment = fields.String(required=True)
    done_at = Timestamp(required=True, allow_none=True)


class ApplicationOut(OutSchema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"description": "<BANK>-A<YEAR>-<6-digit sequence>"})
    status = fields.String(required=True)
    county_bank = fields.String(required=True)
    institution = fields.String(required=True, metadata={"description": "the lending branch (办贷机构)"})
    customer = fields.Nested(CustomerRefOut, required=True)
    product = fields.String(required=True)
    amount = fields.String(required=True, metadata={"description": "yuan, a decimal string"})
    term_months = fields.Integer(required=True)
    repayment_method = fields.String(required=True)
    purpose = fields.String(required=True)
    form = fields.Dict(required=True)
    guarantors = fields.List(fields.Integer(), required=True)
    channel = fields.String(required=True)
    channel_ref = fields.String(required=True)
    filed_by = fields.String(required=True, metadata={"description": "the investigator (customer manager)"})
    filed_at = Timestamp(required=True)
    closed_at = Timestamp(required=True, allow_none=True)
    approved_amount = fields.String(required=True, allow_none=True)
    approved_rate = fields.String(required=True, allow_none=True)
    refusal_category = fields.String(required=True, allow_none=True)
    decision = fields.Nested(DecisionSummaryOut, required=True, allow_none=True)
    review_tasks = fields.List(fields.Nested(ReviewTaskOut), required=True)
