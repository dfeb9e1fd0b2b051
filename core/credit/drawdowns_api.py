"""``POST /api/credit-lines/{id}/drawdowns``: draw a loan under a credit line (用信).

The ``Idempotency-Key`` header is required. A new key answers 201 with the loan; the same key
with the same body answers 200 with the loan it made the first time (nothing new is written); the
same key with another body is 409. The checks live in ``drawdowns.draw``; the view parses and renders.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from nongxin.core.credit import drawdowns, loans
from nongxin.core.credit.idempotency import HEADER, MAX_LENGTH
from nongxin.core.credit.loans_api import LoanOut
from nongxin.core.credit.models import Loan
from nongxin.core.credit.schemas import MoneyField
from nongxin.core.schemas import StrictSchema, Text, column_text
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("drawdowns", __name__, url_prefix="/api/credit-lines", description="Drawdowns (用信)")


class IdempotencyHeader(Schema):
    class Meta:
        unknown = EXCLUDE  # every other header is the transport's business

    key = Text(data_key=HEADER, max_length=MAX_LENGTH, min_length=1, required=True,
               metadata={"description": "a unique key per drawdown (a UUID); send the same key when retrying"})


class DrawdownIn(StrictSchema):
    amount = MoneyField(required=True, metadata={"description": "yuan, a decimal string (\"50000.00\")"})
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=600))
    repayment_method = column_text(Loan.repayment_method, required=True,
                                   metadata={"description": "one of the product's repayment methods"})
    account = column_text(Loan.account, required=True, min_length=1,
                          metadata={"description": "the customer's account the loan is paid to"})
    product = column_text(Loan.product_code, metadata={"description": "may be left out when the line is for one "
                                                                      "product"})


@blp.route("/<int:line_id>/drawdowns", methods=["POST"])
@blp.arguments(IdempotencyHeader, location="headers")
@blp.arguments(DrawdownIn)
@blp.response(201, LoanOut, description="the loan drawn")
@blp.alt_response(200, schema=LoanOut, description="a replay: the same key and body as before; the first loan")
@blp.alt_response(404, response="NOT_FOUND", description="no such credit line, or not in your subtree")
@blp.alt_response(409, response="CONFLICT", description="the line is not active, or the key was used for "
                                                        "another request")
def draw(headers: dict[str, Any], body: dict[str, Any], line_id: int) -> Any:
    """Draw a loan under the line: checked against the line (active, available, its end) and the
    product (offered, method, term, amount, collateral); 422 naming the field at fault."""
    unit = uow()
    request = drawdowns.DrawRequest(amount=body["amount"], term_months=body["term_months"],
                                    repayment_method=body["repayment_method"], account=body["account"],
                                    product=body.get("product"))
    drawn = drawdowns.draw(unit, principal(), runtime(), line_id, request, headers["key"])
    return loans.details(unit, principal(), drawn.loan), 200 if drawn.replayed else 201
