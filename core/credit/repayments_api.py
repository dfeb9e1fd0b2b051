"""Repayment endpoint: ``POST /api/loans/{loan_no}/repayments`` ``{amount, paid_on}`` with an
``Idempotency-Key`` header (required).

201 with the transaction, its allocation and the loan's balances after it (Decimal strings); a
retry under the same key with the same body answers 200 with the same transaction and moves no
money; the same key with another body is 409. A closed loan is 409; another county bank's loan
is 404, like a missing one. The rules are ``core.credit.repayments``'s; the view only translates.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import fields

from nongxin.core.credit import repayments as services
from nongxin.core.credit.idempotency import HEADER, checked_key
from nongxin.core.credit.schemas import MoneyField
from nongxin.core.schemas import OutSchema, StrictSchema, Timestamp
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("repayments", __name__, url_prefix="/api/loans", description="Repayments of loans (还款)")


class RepaymentIn(StrictSchema):
    amount = MoneyField(required=True, metadata={"description": "yuan, a decimal string (\"1052.35\")"})
    paid_on = fields.Date(required=True, metadata={"description": "the business date the money counts for; "
                                                                  "at most today's business date"})


def _money(**kw: Any) -> fields.String:
    return fields.String(required=True, **kw)


class AllocationOut(OutSchema):
    penalty = _money(metadata={"description": "penalty interest (罚息)"})
    compound = _money(metadata={"description": "compound interest (复利)"})
    overdue_interest = _money()
    overdue_principal = _money()
    interest = _money(metadata={"description": "interest of the installments due on paid_on"})
    principal = _money(metadata={"description": "principal of the installments due on paid_on"})
    prepaid_interest = _money(metadata={"description": "interest accrued on the prepaid principal"})
    prepaid_principal = _money(metadata={"description": "principal repaid before it was due (提前还款)"})


class InstallmentPaidOut(OutSchema):
    seq = fields.Integer(required=True)
    principal = _money()
    interest = _money()


class RepaymentTransactionOut(OutSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    value_date = fields.Date(required=True)
    amount = _money()
    created_by = fields.String(required=True)
    created_at = Timestamp(required=True)


class BalancesOut(OutSchema):
    status = fields.String(required=True)
    outstanding = _money()
    overdue_principal = _money()
    overdue_interest = _money()
    penalty_due = _money()
    compound_due = _money()
    overdue_days = fields.Integer(required=True)
    schedule_version = fields.Integer(required=True)
    maturity_on = fields.Date(required=True, allow_none=True)
    closed_on = fields.Date(required=True, allow_none=True)


class RepaymentOut(OutSchema):
    loan = fields.String(required=True, metadata={"description": "the loan number"})
    replayed = fields.Boolean(required=True, metadata={"description": "true: an earlier request under the same "
                                                                     "key; nothing was written"})
    transaction = fields.Nested(RepaymentTransactionOut, required=True)
    allocation = fields.Nested(AllocationOut, required=True)
    installments = fields.List(fields.Nested(InstallmentPaidOut), required=True,
                               metadata={"description": "what went to each installment"})
    payoff = _money(metadata={"description": "the payoff figure on paid_on before this repayment"})
    prepayment = fields.String(required=True, allow_none=True,
                               metadata={"description": "shorten_term | lower_installment when it prepaid"})
    balances = fields.Nested(BalancesOut, required=True, metadata={"description": "the loan now"})


def answer(done: services.Repaid) -> dict[str, Any]:
    """The JSON of a repayment (the API's, also what the CLI prints from)."""
    txn, loan = done.transaction, done.loan
    detail = txn.detail
    return {"loan": loan.loan_no, "replayed": done.replayed,
            "transaction": {"id": txn.id, "kind": txn.kind, "value_date": txn.value_date, "amount": str(txn.amount),
                            "created_by": txn.created_by, "created_at": txn.created_at},
            "allocation": detail["allocation"], "installments": detail["installments"], "payoff": detail["payoff"],
            "prepayment": detail["prepayment"],
            "balances": {"status": loan.status.value,
                         **{k: str(v) if k not in ("overdue_days", "schedule_version", "maturity_on", "closed_on")
                            else v for k, v in services.balances(loan).items()}}}


@blp.route("/<loan_no>/repayments", methods=["POST"])
@blp.arguments(RepaymentIn)
@blp.response(201, RepaymentOut)
@blp.alt_response(200, schema=RepaymentOut, description="a replay: the first repayment under this key")
def repay(body: dict[str, Any], loan_no: str) -> Any:
    """Take a repayment, allocated in the product's order (penalty, compound, overdue interest,
    overdue principal, current interest, current principal by default); money beyond what is due
    prepays principal and writes a new schedule version; the payoff closes the loan."""
    unit = uow()
    key = checked_key(request.headers.get(HEADER))
    done = services.repay(unit, principal(), runtime(), loan_no, body["amount"], body["paid_on"], key)
    result = answer(done)
    if done.replayed:
        return result, 200
    unit.commit()
    return result
