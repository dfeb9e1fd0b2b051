"""``GET /api/loans`` and ``GET /api/loans/{loan_no}``: loans on the books, their current
schedule, transactions and schedule versions. Money and rates are decimal strings; the borrower's
identity number is masked unless the caller's role sees it whole; another county bank's loan is 404."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.credit import loans
from nongxin.core.credit.models import LoanStatus
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, Text, Timestamp
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.web import principal, uow

blp = Blueprint("loans", __name__, url_prefix="/api/loans", description="Loans (贷款) on the books")

MONEY = {"description": "yuan, a decimal string"}


class LoanFilter(StrictSchema):
    status = Text(max_length=16, validate=validate.OneOf([s.value for s in LoanStatus]))
    overdue = fields.Boolean(metadata={"description": "true: overdue days > 0; false: not overdue"})
    customer = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "customer id"})
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class BorrowerOut(OutSchema):
    customer = fields.Integer(required=True, allow_none=True, metadata={"description": "customer id, if on file"})
    kind = fields.String(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "masked unless the caller may see it whole"})


class LineRefOut(OutSchema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)


class LoanSummaryOut(OutSchema):
    loan_no = fields.String(required=True, metadata={"description": "<BANK>-L<YEAR>-<6-digit sequence>"})
    status = fields.String(required=True)
    county_bank = fields.String(required=True)
    institution = fields.String(required=True)
    borrower = fields.Nested(BorrowerOut, required=True)
    credit_line = fields.Nested(LineRefOut, required=True, allow_none=True)
    manager = fields.String(required=True, allow_none=True, metadata={"description": "the customer manager"})
    product = fields.String(required=True)
    principal = fields.String(required=True, metadata=MONEY)
    outstanding = fields.String(required=True, metadata=MONEY)
    annual_rate = fields.String(required=True, metadata={"description": "a decimal string"})
    penalty_markup = fields.String(required=True, metadata={"description": "penalty rate = rate x (1 + markup)"})
    repayment_method = fields.String(required=True)
    term_months = fields.Integer(required=True)
    account = fields.String(required=True)
    disbursed_on = fields.Date(required=True, allow_none=True)
    maturity_on = fields.Date(required=True, allow_none=True)
    closed_on = fields.Date(required=True, allow_none=True)
    overdue_principal = fields.String(required=True, metadata=MONEY)
    overdue_interest = fields.String(required=True, metadata=MONEY)
    penalty_owed = fields.String(required=True, metadata=MONEY)
    compound_owed = fields.String(required=True, metadata=MONEY)
    overdue_since = fields.Date(required=True, allow_none=True)
    overdue_days = fields.Integer(required=True)
    closed_through = fields.Date(required=True, allow_none=True,
                                 metadata={"description": "the last business date the day close processed"})
    schedule_version = fields.Integer(required=True)


class InstallmentOut(OutSchema):
    seq = fields.Integer(required=True)
    start_on = fields.Date(required=True)
    due_on = fields.Date(required=True)
    principal = fields.String(required=True, metadata=MONEY)
    interest = fields.String(required=True, metadata=MONEY)
    total = fields.String(required=True, metadata=MONEY)
    paid_principal = fields.String(required=True, metadata=MONEY)
    paid_interest = fields.String(required=True, metadata=MONEY)
    status = fields.String(required=True, metadata={"description": "pending, due, overdue or paid"})
    paid_on = fields.Date(required=True, allow_none=True)


class TransactionOut(OutSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "disbursement or repayment"})
    value_date = fields.Date(required=True)
    amount = fields.String(required=True, metadata=MONEY)
    penalty = fields.String(required=True, metadata=MONEY)
    compound = fields.String(required=True, metadata=MONEY)
    interest = fields.String(required=True, metadata=MONEY)
    principal = fields.String(required=True, metadata=MONEY)
    created_by = fields.String(required=True)
    created_at = Timestamp(required=True)


class ScheduleVersionOut(OutSchema):
    version = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={"description": "disbursement, prepayment or reschedule"})
    business_date = fields.Date(required=True)
    created_by = fields.String(required=True)
    created_at = Timestamp(required=True)


class LoanOut(LoanSummaryOut):
    schedule = fields.List(fields.Nested(InstallmentOut), required=True,
                           metadata={"description": "the current version's rows"})
    transactions = fields.List(fields.Nested(TransactionOut), required=True)
    schedule_versions = fields.List(fields.Nested(ScheduleVersionOut), required=True)


@blp.route("")
@blp.arguments(LoanFilter, location="query")
@blp.response(200, LoanSummaryOut(many=True))
def list_loans(args: dict[str, Any]) -> Any:
    """Loans lent in the caller's subtree, newest first; ``overdue=true``: those overdue."""
    unit = uow()
    filters = loans.LoanFilters(status=LoanStatus(args["status"]) if "status" in args else None,
                                overdue=args.get("overdue"), customer_id=args.get("customer"),
                                limit=args["limit"], offset=args["offset"])
    return [loans.summary(unit, principal(), loan) for loan in loans.list_loans(unit, principal(), filters)]


@blp.route("/<loan_no>")
@blp.response(200, LoanOut)
@blp.alt_response(404, response="NOT_FOUND", description="no such loan, or not in your subtree")
def show_loan(loan_no: str) -> Any:
    """One loan: terms, balances, the current schedule, transactions and schedule versions."""
    unit = uow()
    loan = loans.visible_loan(unit, principal(), loan_no, Action.LOAN_READ)
    return loans.details(unit, principal(), loan)
