"""Drawdowns (用信): a loan drawn under a credit line, once per idempotency key, never over the line.

The promise:

* the line is locked first (``visible_line(..., lock=True)``: PostgreSQL ``FOR UPDATE``; SQLite's
  writers are serialized by ``BEGIN IMMEDIATE``), so drawdowns on one line queue behind each
  other and what is available is read after the previous drawdown committed: under any
  concurrency the loans drawn on a line never sum to more than its amount;
* the ``Idempotency-Key`` is looked up under that lock: the same key with the same request
  returns the loan it made (``Drawn.replayed``), never a second one; with another request it is
  409 (``idempotency_key_reused``);
* a drawdown that does not fit is refused with the field and the reason, and nothing is
  written: the line not active (409 ``line_not_active``), more than is available (422
  ``exceeds_available``), maturity after the line's end (422 ``maturity_after_line_end``), a
  product not on the line or not offered at the lending institution, a method, term or amount
  outside the product's (422 ``validation_failed``); a product that needs collateral
  (``collateral_kind``) without an active pledge of that kind on the line, or with such pledges
  none of which is registered yet (422 ``collateral_not_registered``), or a drawdown that would
  take the line's exposure above its collateral limit (422 ``collateral_shortfall``, naming the
  exposure, the eligible value, the loan-to-value and the limit);
* the loan, its schedule, its disbursement, the audit entry and the key commit together, and
  only then are the ``nongxin_on_disbursed`` plugins enabled at the lending institution told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.auth import Principal
from nongxin.core.credit import idempotency
from nongxin.core.credit.applications import product_at
from nongxin.core.credit.domain.interest import checked_markup
from nongxin.core.credit.domain.schedules import add_months
from nongxin.core.credit.ledger import Borrower, LoanTerms, line_used, open_loan
from nongxin.core.credit.lines import visible_line
from nongxin.core.credit.models import CreditLine, CreditLineStatus, Loan
from nongxin.core.db import MAX_FEN, UnitOfWork
from nongxin.core.errors import Conflict, ValidationFailed, invalid
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action
from nongxin.core.plugins.dispatch import InstitutionView
from nongxin.core.runtime import Runtime
from nongxin.sdk.types import Event, ProductSpec

__all__ = ["SCOPE", "DrawRequest", "Drawn", "draw"]

SCOPE = "drawdown"
#: Longest account number a customer may name (the column's width).
MAX_ACCOUNT = 40
log = logging.getLogger("nongxin.credit")


@dataclass(frozen=True)
class DrawRequest:
    """What is drawn (the API body and the CLI options, parsed)."""

    amount: Decimal
    term_months: int
    repayment_method: str
    account: str  # the customer's account the money is paid to
    product: str | None = None  # may be left out when the line is for one product

    def canonical(self, line_id: int) -> dict[str, object]:
        """What the idempotency digest covers: the line and the body, normalized."""
        amount = self.amount.quantize(Decimal("0.01")) if self.amount.is_finite() else self.amount
        return {"line": line_id, "amount": str(amount), "term_months": self.term_months,
                "repayment_method": self.repayment_method, "account": self.account.strip(),
                "product": self.product}


@dataclass(frozen=True)
class Drawn:
    loan: Loan
    replayed: bool  # True: the key was used before for this request; ``loan`` is the first result


def draw(uow: UnitOfWork, principal: Principal, runtime: Runtime, line_id: int, request: DrawRequest,
         key: str | None) -> Drawn:
    """Draw a loan under line ``line_id`` for the caller (a customer manager); commits, then
    notifies. See the module's docstring for what is refused and how."""
    line = visible_line(uow, principal, line_id, Action.LOAN_DRAW, lock=True)
    key = idempotency.checked_key(key)
    request_hash = idempotency.digest(request.canonical(line.id))
    session = uow.session
    prior = idempotency.replay(uow, line.county_bank_id, SCOPE, key, request_hash)
    if prior is not None:
        loan = session.execute(sa.select(Loan).where(Loan.loan_no == prior)).scalar_one()
        return Drawn(loan, replayed=True)

    today = runtime.clock.business_date()
    where = session.get(Institution, line.institution_id)
    bank = session.get(Institution, line.county_bank_id)
    assert where is not None and bank is not None
    if line.status is not CreditLineStatus.ACTIVE:
        raise Conflict(f"credit line {line.number} is {line.status.value}; only an active line can be drawn on",
                       code="line_not_active", fields={"credit_line": [f"is {line.status.value}"]})
    if not line.start_on <= today <= line.end_on:
        raise Conflict(f"credit line {line.number} runs from {line.start_on} to {line.end_on}; the business date "
                       f"is {today}", code="line_not_active",
                       fields={"credit_line": [f"runs {line.start_on} to {line.end_on}, not on {today}"]})
    spec = _product(uow, runtime, where, line, request.product)
    _check_terms(spec, request)
    amount = request.amount.quantize(Decimal("0.01"))
    if spec.collateral_kind is not None:
        _check_collateral(session, line, spec, amount, today)
    available = line.amount - line_used(session, line)
    if amount > available:
        raise invalid("amount", f"{amount} exceeds what credit line {line.number} has available, {available}",
                      code="exceeds_available")
    maturity = add_months(today, request.term_months)
    if maturity > line.end_on:
        raise invalid("term_months", f"a {request.term_months}-month loan drawn on {today} matures on {maturity}, "
                                     f"after the line ends on {line.end_on}", code="maturity_after_line_end")
    try:
        markup = checked_markup(spec.penalty_markup)
    except ValueError as exc:  # the product plugin's setting, not the caller's input
        raise invalid("product", f"{spec.code} is misconfigured: {exc}", code="product_misconfigured") from exc

    customer = line.customer
    view = runtime.plugins.view(session, where)  # built before the commit: telling needs no new transaction
    loan = open_loan(uow, bank=bank, institution=where, borrower=Borrower.of(customer), actor=principal.username,
                     line=line, manager_id=customer.manager_id,
                     terms=LoanTerms(product_code=spec.code, amount=amount, annual_rate=line.annual_rate,
                                     term_months=request.term_months, repayment_method=request.repayment_method,
                                     start_on=today, penalty_markup=markup, settlement_day=spec.settlement_day,
                                     account=request.account.strip()))
    try:
        idempotency.remember(uow, line.county_bank_id, SCOPE, key, request_hash, loan.loan_no)
    except sa.exc.IntegrityError as exc:  # the same key, at the same moment, on another line of the bank
        raise Conflict(f"{idempotency.HEADER} {key!r} is being used by another drawdown right now; use a new key",
                       code="idempotency_key_reused") from exc
    uow.commit()
    announce(view, where, loan)
    return Drawn(loan, replayed=False)


def _check_collateral(session: Session, line: CreditLine, spec: ProductSpec, amount: Decimal, today: date) -> None:
    """A product with ``collateral_kind`` is drawn only on a line holding an active, perfected pledge
    of that kind, and only while the line's exposure after the drawdown stays within its
    collateral limit (``collateral.services.cover_of_line``)."""
    from nongxin.core.collateral import services as collateral
    from nongxin.core.collateral.models import PERFECTED, CollateralItem, Pledge, PledgeStatus

    kind = spec.collateral_kind
    held = session.execute(sa.select(CollateralItem.number, Pledge.registration).join(
        CollateralItem, Pledge.item_id == CollateralItem.id).where(
        Pledge.credit_line_id == line.id, Pledge.status == PledgeStatus.PLEDGED, CollateralItem.kind == kind)
        .order_by(CollateralItem.number)).all()
    if not held:
        raise invalid("product", f"{spec.code} requires {kind} collateral, and none is pledged to credit line "
                                 f"{line.number}", code="collateral_not_registered")
    if not any(registration in PERFECTED for _, registration in held):
        numbers = ", ".join(number for number, _ in held)
        raise invalid("product", f"{spec.code} requires registered {kind} collateral: {numbers} pledged to credit "
                                 f"line {line.number} is not registered yet (record its mortgage registration, "
                                 "抵押登记)", code="collateral_not_registered")
    cover = collateral.cover_of_line(session, line, today, extra_exposure={line.id: amount})
    if cover.shortfall > 0:
        room = max(cover.limit - (cover.exposure - amount), Decimal("0.00"))
        reason = (f"after drawing {amount} the line's exposure would be {cover.exposure} yuan, above its collateral "
                  f"limit of {cover.limit} yuan (eligible value {cover.eligible} yuan, loan-to-value {cover.ltv}, "
                  f"limit {cover.ltv_limit}); at most {room} may be drawn")
        raise ValidationFailed(f"amount: {reason}", code="collateral_shortfall", fields={"amount": [reason]})


def _product(uow: UnitOfWork, runtime: Runtime, where: Institution, line: CreditLine,
             code: str | None) -> ProductSpec:
    """The spec of the product drawn: named, or the line's only one; offered at ``where``."""
    if code is None:
        if len(line.products) != 1:
            raise invalid("product", f"credit line {line.number} is for {', '.join(line.products) or 'no product'}; "
                                     "name the product drawn")
        code = line.products[0]
    if code not in line.products:
        raise invalid("product", f"{code} is not among credit line {line.number}'s products: "
                                 f"{', '.join(line.products) or 'none'}")
    spec = product_at(uow.session, runtime.plugins, where, code)
    if spec is None:
        raise invalid("product", f"{code} is not offered at {where.code} (no enabled plugin there offers it)")
    return spec


def _check_terms(spec: ProductSpec, request: DrawRequest) -> None:
    """Every field outside the product's terms, all at once (422 naming each)."""
    problems: dict[str, list[str]] = {}
    amount = request.amount
    if isinstance(amount, bool) or not isinstance(amount, Decimal) or not amount.is_finite():
        problems["amount"] = ["must be a decimal amount of yuan"]
    elif amount <= 0 or amount.scaleb(2) > MAX_FEN or amount != amount.quantize(Decimal("0.01")):
        problems["amount"] = ["must be a positive amount of yuan in whole fen"]
    elif not spec.amount.minimum <= amount <= spec.amount.maximum:
        problems["amount"] = [f"{amount} is outside {spec.code}'s range {spec.amount.minimum} to {spec.amount.maximum}"]
    low, high = spec.term_months
    if isinstance(request.term_months, bool) or not low <= request.term_months <= high:
        problems["term_months"] = [f"{request.term_months} is outside {spec.code}'s terms, {low} to {high} months"]
    if request.repayment_method not in spec.repayment_methods:
        problems["repayment_method"] = [f"{request.repayment_method!r} is not offered for {spec.code}; one of: "
                                        f"{', '.join(spec.repayment_methods)}"]
    account = request.account.strip()
    if not account or len(account) > MAX_ACCOUNT or not account.isprintable():
        problems["account"] = [f"the customer's account the loan is paid to: 1-{MAX_ACCOUNT} visible characters"]
    if problems:
        detail = "; ".join(f"{name}: {' '.join(reasons)}" for name, reasons in problems.items())
        raise ValidationFailed(f"the drawdown does not fit the product: {detail}", fields=problems)


def announce(view: InstitutionView, where: Institution, loan: Loan) -> None:
    """Tell the ``nongxin_on_disbursed`` plugins enabled at the lending institution, after the
    commit: their failures are logged by the dispatch layer and never undo the loan."""
    try:
        view.notify("nongxin_on_disbursed", event=Event(
            "disbursed", loan.loan_no, where.code,
            {"loan_id": loan.id, "loan_no": loan.loan_no, "amount": str(loan.principal),
             "product": loan.product_code, "term_months": loan.term_months,
             "repayment_method": loan.repayment_method}))
    except Exception:  # the loan is committed; nothing here may turn it into an error
        log.exception("nongxin_on_disbursed could not be sent for %s", loan.loan_no)
