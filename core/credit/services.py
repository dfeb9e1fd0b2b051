"""Loan ledger services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from nongxin.core.audit.services import record
from nongxin.core.credit.models import Loan, LoanStatus
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import field_error, invalid
from nongxin.core.institutions import services as institutions
from nongxin.sdk.identity import InvalidIdentity, validate_identity


def book_loan(uow: UnitOfWork, *, actor: str, institution_code: str, loan_no: str, borrower_kind: str,
              borrower_id_number: str, borrower_name: str, product_code: str, principal: Decimal,
              disbursed_on: date, maturity_on: date) -> Loan:
    """Put a disbursed loan on the ledger (migration from core banking, or the demo)."""
    if not isinstance(principal, Decimal) or principal <= 0:
        raise invalid("principal", "must be a positive Decimal amount")
    try:
        number = validate_identity(borrower_kind, borrower_id_number, today=disbursed_on)
    except InvalidIdentity as exc:
        raise field_error("borrower.id_number", exc) from None
    inst = institutions.get_by_code(uow.session, institution_code)
    bank = institutions.county_bank_of(uow.session, inst) if inst else None
    if inst is None or bank is None:
        raise invalid("institution", f"{institution_code} is not a county bank or inside one")
    if maturity_on <= disbursed_on:
        raise invalid("maturity_on", "must be after disbursed_on")
    loan = Loan(loan_no=loan_no, institution_id=inst.id, county_bank_id=bank.id, borrower_kind=borrower_kind,
                borrower_id_number=number, borrower_name=borrower_name, product_code=product_code,
                principal=principal, outstanding=principal, status=LoanStatus.ACTIVE,
                disbursed_on=disbursed_on, maturity_on=maturity_on)
    uow.session.add(loan)
    uow.flush()
    record(uow.session, actor=actor, action="loan.book", target=f"loan:{loan_no}", institution_code=bank.code,
           after={"principal": str(principal), "product": product_code})
    return loan
