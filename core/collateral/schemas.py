"""The shapes of the collateral registry's bodies, queries and answers (OpenAPI names prefixed
``Collateral``). Money comes in as a decimal string (or a whole JSON number) and goes out as one."""

from __future__ import annotations

from marshmallow import fields, validate

from nongxin.core.credit.schemas import MoneyField
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.schemas import Day, OutSchema, StrictSchema, Text, Timestamp
from nongxin.sdk.collateral import KINDS

_ID = validate.Range(min=1, max=2**31 - 1)


class CollateralValuationIn(StrictSchema):
    value = MoneyField(required=True, metadata={"description": "yuan, a decimal string"})
    method = Text(max_length=16, required=True, metadata={"description": "one of the kind's methods"})
    valuer_kind = Text(max_length=16, load_default="internal", metadata={"description": "internal or external"})
    valuer = Text(max_length=100, required=True, metadata={"description": "who valued it"})
    valued_on = Day(required=True)
    valid_until = Day(metadata={"description": "default: the kind's revaluation interval later"})
    note = Text(max_length=200, load_default="")


class CollateralRegisterIn(StrictSchema):
    kind = Text(max_length=24, required=True, metadata={"description": f"one of: {', '.join(KINDS)}"})
    owner = fields.Integer(required=True, strict=True, validate=_ID,
                           metadata={"description": "the owner's customer id (possibly not the borrower)"})
    fields_ = fields.Dict(data_key="fields", keys=Text(max_length=40),
                          values=fields.Raw(allow_none=True), required=True, validate=validate.Length(max=16),
                          metadata={"description": "the kind's fields (GET /api/collateral/kinds)"})
    declared_value = MoneyField(metadata={"description": "yuan; default: the first valuation's value"})
    institution = Text(max_length=32, metadata={"description": "where it is registered; default: yours"})
    description = Text(max_length=200, load_default="")
    valuation = fields.Nested(CollateralValuationIn, metadata={"description": "an optional first valuation"})


class CollateralFilter(StrictSchema):
    institution = Text(max_length=32)
    customer = fields.Integer(validate=_ID, metadata={"description": "owner's customer id"})
    line = fields.Integer(validate=_ID, metadata={"description": "credit line id: items actively pledged to it"})
    kind = Text(max_length=24, validate=validate.OneOf(list(KINDS)))
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class CollateralKindsQuery(StrictSchema):
    institution = Text(max_length=32)


class CollateralOwnerOut(OutSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "masked unless your role sees it whole"})


class CollateralValuationOut(OutSchema):
    id = fields.Integer(required=True)
    value = fields.String(required=True)
    method = fields.String(required=True)
    method_label = fields.String(required=True)
    valuer_kind = fields.String(required=True)
    valuer = fields.String(required=True)
    valued_on = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    note = fields.String(required=True)
    recorded_by = fields.String(required=True)
    created_at = Timestamp(required=True)


class CollateralPledgeRefOut(OutSchema):
    id = fields.Integer(required=True)
    line = fields.String(required=True, metadata={"description": "the credit line's number"})
    line_id = fields.Integer(required=True)
    rank = fields.Integer(required=True)
    status = fields.String(required=True)
    registration = fields.String(required=True)
    registration_no = fields.String(required=True, allow_none=True)
    registered_on = fields.Date(required=True, allow_none=True)
    pledged_on = fields.Date(required=True)
    released_on = fields.Date(required=True, allow_none=True)


class CollateralItemOut(OutSchema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"description": "<BANK>-K<YEAR>-<6-digit sequence>"})
    kind = fields.String(required=True)
    kind_label = fields.String(required=True)
    identifier = fields.String(required=True, metadata={"description": "the kind's key field"})
    description = fields.String(required=True)
    institution = fields.String(required=True)
    county_bank = fields.String(required=True)
    owner = fields.Nested(CollateralOwnerOut, required=True)
    declared_value = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "current value on the business date (0 when "
                                                                  "no valuation is valid)"})
    valued_on = fields.Date(required=True, allow_none=True)
    valid_until = fields.Date(required=True, allow_none=True)
    expired = fields.Boolean(required=True)
    active_pledges = fields.Integer(required=True)
    registered_by = fields.String(required=True)
    created_at = Timestamp(required=True)


class CollateralItemDetailOut(CollateralItemOut):
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.String(), values=fields.String(),
                          required=True)
    valuations = fields.List(fields.Nested(CollateralValuationOut), required=True,
                             metadata={"description": "newest first"})
    pledges = fields.List(fields.Nested(CollateralPledgeRefOut), required=True)


class CollateralFieldOut(OutSchema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    required = fields.Boolean(required=True)


class CollateralMethodOut(OutSchema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class CollateralKindOut(OutSchema):
    kind = fields.String(required=True)
    label = fields.String(required=True)
    key = fields.String(required=True)
    registrable = fields.Boolean(required=True)
    guarantee = fields.Boolean(required=True)
    fields_ = fields.List(fields.Nested(CollateralFieldOut), data_key="fields", attribute="fields", required=True)
    methods = fields.List(fields.Nested(CollateralMethodOut), required=True)
    haircut = fields.String(required=True)
    haircut_source = fields.String(required=True, metadata={"description": "the institution that set it, or default"})
    ltv_max = fields.String(required=True)
    ltv_max_source = fields.String(required=True)
    revalue_days = fields.Integer(required=True)
    revalue_days_source = fields.String(required=True)


class CollateralKindsOut(OutSchema):
    institution = fields.String(required=True)
    county_bank = fields.String(required=True)
    on = fields.Date(required=True)
    kinds = fields.List(fields.Nested(CollateralKindOut), required=True)
