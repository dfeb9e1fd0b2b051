"""The customer API's bodies and answers. Amounts are decimal strings of yuan, never JSON numbers
(a float cannot hold 0.1 yuan exactly); identity numbers go out masked unless the caller's role may
see them whole (``customer.full_id``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields, validate

from nongxin.core.customers.models import Customer, CustomerKind, Household, Relation
from nongxin.core.institutions.models import Institution, User
from nongxin.core.schemas import OutSchema, StrictSchema, Timestamp, column_text
from nongxin.core.web import MAX_ID


class Yuan(fields.Field):
    """An amount of yuan as a decimal string ("86000.00"): loaded as ``Decimal``, at most two
    places, not negative; a JSON number is refused (it may already have lost its exactness)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal | None:
        from nongxin.core.customers.services import parse_income
        from nongxin.core.errors import ValidationFailed

        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError('must be a decimal string of yuan such as "86000.00"')
        try:
            return parse_income(value, field=attr or "amount")
        except ValidationFailed as exc:
            raise ValidationError([r for reasons in exc.fields.values() for r in reasons]) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{Decimal(value):.2f}"


class HouseholdIn(StrictSchema):
    village = column_text(Household.village, required=True, metadata={"description": "administrative village (行政村)"})
    group = column_text(Household.group_name, load_default="", metadata={"description": "villagers' group (村民小组)"})
    household_no = column_text(Household.household_no, required=True, metadata={"description": "household number (户号)"})
    relation = column_text(Customer.relation, required=True, validate=validate.OneOf([r.value for r in Relation]),
                             metadata={"description": "relation to the head of the household; one head per household"})


class CustomerCreate(StrictSchema):
    kind = column_text(Customer.kind, required=True, validate=validate.OneOf([k.value for k in CustomerKind]))
    id_number = column_text(Customer.id_number, required=True,
                            metadata={"description": "resident ID (individual) or unified social credit code"})
    name = column_text(Customer.name, required=True)
    grid = column_text(Institution.code, required=True, metadata={"description": "code of the grid or branch"})
    manager = column_text(User.username, required=True,
                          metadata={"description": "username of the responsible customer manager"})
    phone = column_text(Customer.phone, load_default="")
    address = column_text(Customer.address, load_default="")
    occupation = column_text(Customer.occupation, load_default="")
    employer = column_text(Customer.employer, load_default="")
    segment = column_text(Customer.segment, load_default=None, allow_none=True,
                          metadata={"description": "farmer, salaried, merchant, ..."})
    annual_income = Yuan(load_default=None, allow_none=True, metadata={"description": "yuan, a decimal string"})
    legal_representative = fields.Integer(load_default=None, allow_none=True, strict=True,
                                          validate=validate.Range(min=1, max=MAX_ID),
                                          metadata={"description": "customer id of an individual of the same "
                                                    "bank; required for enterprises and individual businesses"})
    household = fields.Nested(HouseholdIn, load_default=None, allow_none=True,
                              metadata={"description": "individuals only"})


class CustomerFilter(StrictSchema):
    name = column_text(Customer.name, metadata={"description": "part of the name"})
    id_number = column_text(Customer.id_number, metadata={"description": "the whole identity number"})
    grid = column_text(Institution.code, metadata={"description": "grid or branch code: customers there and below"})
    manager = column_text(User.username, metadata={"description": "the responsible customer manager"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


class ImportUpload(StrictSchema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8 or GBK) or .xlsx with the columns "
                                           "listed in the README"})


class PersonOut(OutSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "masked unless the caller may see it whole"})


class MemberOut(OutSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    relation = fields.String(required=True, allow_none=True)


class HouseholdOut(OutSchema):
    id = fields.Integer(required=True)
    village = fields.String(required=True)
    group = fields.String(required=True)
    household_no = fields.String(required=True)
    relation = fields.String(required=True, allow_none=True, metadata={"description": "this customer's relation "
                                                                        "to the head"})
    members = fields.List(fields.Nested(MemberOut), metadata={"description": "GET /api/customers/{id} only"})


class CustomerOut(OutSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "masked unless the caller may see it whole"})
    name = fields.String(required=True)
    birth_date = fields.Date(required=True, allow_none=True, metadata={"description": "from the resident ID"})
    sex = fields.String(required=True, allow_none=True, metadata={"description": "male or female, from the resident ID"})
    phone = fields.String(required=True)
    address = fields.String(required=True)
    occupation = fields.String(required=True)
    employer = fields.String(required=True)
    segment = fields.String(required=True, allow_none=True)
    annual_income = Yuan(required=True, allow_none=True, metadata={"description": "yuan, a decimal string"})
    county_bank = fields.String(required=True)
    grid = fields.String(required=True)
    manager = fields.String(required=True)
    legal_representative = fields.Nested(PersonOut, required=True, allow_none=True)
    household = fields.Nested(HouseholdOut, required=True, allow_none=True)
    created_by = fields.String(required=True)
    created_at = Timestamp(required=True)


class ImportOut(OutSchema):
    imported = fields.Integer(required=True)
    customers = fields.List(fields.Integer(), required=True, metadata={"description": "ids of the new files, "
                                                                       "in file order"})
