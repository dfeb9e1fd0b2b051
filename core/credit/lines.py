"""Credit lines (授信): granted from an approved application, drawn on (用信), frozen, unfrozen,
closed; expired by the day close.

The promises:

* ``grant`` writes the line in the transaction that approves the application (``applications.
  transition`` calls it, so no application becomes approved without its line): the customer, the
  county bank and the lending institution of the application, its approved amount and rate, its
  product, from the business date for ``ProductSpec.line_months`` (default: the product's longest
  term), revolving or one-off as the product says, numbered ``<BANK>-C<YEAR>-<seq6>``, audited.
  Without the product's spec (no longer offered there) the line is one-off and runs for the
  application's term: the narrower reading.
* One customer's ``active`` and ``frozen`` lines at one county bank never add up to more than the
  county's ``credit.customer_exposure_cap``: ``exposure`` says how much room is left (under the
  customer row's lock, so two approvals for one customer queue); ``grant`` refuses with 422 naming
  the amount and the room left, and the automated decision sends such an application to manual
  review instead (``domain.combine``, the room is in ``Terms``).
* ``nongxin_on_credit_granted`` is told after the commit, and only then (``after_commit``), by
  the plugins enabled at the lending institution.
* A user sees a line only inside their own subtree (another county bank's line is 404, not 403),
  then the role from the permission table (403); a state change follows ``LINE_TRANSITIONS`` (409
  naming the current state otherwise, never a silent no-op) and is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.after_commit import after_commit
from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit.applications import next_number, product_at
from nongxin.core.credit.domain.schedules import add_months
from nongxin.core.credit.ledger import line_used
from nongxin.core.credit.models import (
    LINE_TRANSITIONS,
    Application,
    CreditLine,
    CreditLineStatus,
    Loan,
)
from nongxin.core.customers.models import Customer
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, ValidationFailed, invalid
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import value
from nongxin.core.permissions import Action, may, require
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.core.plugins.dispatch import InstitutionView
from nongxin.core.scoping import PAGE, in_subtree, page, visible_row
from nongxin.sdk.identity import mask_identity
from nongxin.sdk.types import Event, ProductSpec

__all__ = [
    "CAP_PARAMETER", "HELD", "Approval", "Exposure", "LineFilters", "approval_of", "available", "change_status",
    "close", "details", "exposure", "freeze", "grant", "line_end", "list_lines", "unfreeze", "visible_line",
]

log = logging.getLogger("nongxin.credit")

#: The county setting capping what one customer may hold in credit lines at one county bank.
CAP_PARAMETER = "credit.customer_exposure_cap"
#: Lines that count against the cap: those that can still be drawn, or be unfrozen and drawn.
HELD = (CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN)
FEN = Decimal("0.01")


def visible_line(uow: UnitOfWork, principal: Principal, line_id: int, action: Action, *,
                 lock: bool = False) -> CreditLine:
    """The line if the caller's subtree holds the institution that granted it; else 404.
    ``lock`` takes the row for the rest of the transaction (PostgreSQL ``FOR UPDATE``; SQLite's
    writers are serialized already): drawdowns on one line queue behind each other, so a line
    is never over-drawn."""
    return visible_row(uow, principal, sa.select(CreditLine).where(CreditLine.id == line_id), action,
                       what=f"credit line {line_id}", field="credit_line", lock=lock)


def available(session: Session, line: CreditLine) -> Decimal:
    """What may be drawn on the line now: its amount less what it has lent (``ledger.line_used``),
    and nothing unless it is active. Read it under the line's lock before drawing."""
    if line.status is not CreditLineStatus.ACTIVE:
        return Decimal("0.00")
    return max(line.amount - line_used(session, line), Decimal("0.00")).quantize(FEN)


# -- the exposure cap ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Exposure:
    """One customer's credit lines at one county bank against the county's cap (yuan)."""

    cap: Decimal
    held: Decimal  # the amounts of the customer's active and frozen lines there

    @property
    def room(self) -> Decimal:
        """How much more may be granted (never negative: a cap lowered below what is held leaves 0)."""
        return max(self.cap - self.held, Decimal("0")).quantize(FEN)


def exposure(session: Session, bank: Institution, customer_id: int, on: date, *, lock: bool = False) -> Exposure:
    """The customer's exposure at ``bank`` on ``on``. ``lock`` takes the customer's row first
    (PostgreSQL ``FOR UPDATE``), so two grants to one customer cannot both fit the same room."""
    if lock:
        session.execute(sa.select(Customer.id).where(Customer.id == customer_id).with_for_update())
    cap = Decimal(value(session, bank, CAP_PARAMETER, on))
    held = session.execute(sa.select(sa.func.coalesce(sa.func.sum(CreditLine.amount), 0)).where(
        CreditLine.county_bank_id == bank.id, CreditLine.customer_id == customer_id,
        CreditLine.status.in_(HELD))).scalar_one()
    return Exposure(cap, Decimal(held))


# -- granting -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Approval:
    """What approving an application needs besides the application: the business date the line
    starts on, the product as offered at the lending institution (None: not offered there any
    more), and the plugins as that institution sees them (for ``nongxin_on_credit_granted``;
    None: nobody is told)."""

    today: date
    spec: ProductSpec | None
    view: InstitutionView | None = None


def approval_of(uow: UnitOfWork, directory: PluginDirectory | None, app: Application, today: date) -> Approval:
    """The ``Approval`` of ``app`` on ``today``, looked up through the plugin directory."""
    where = uow.session.get(Institution, app.institution_id)
    if directory is None or where is None:
        return Approval(today, None)
    return Approval(today, product_at(uow.session, directory, where, app.product_code),
                    directory.view(uow.session, where))


def line_end(start_on: date, spec: ProductSpec | None, term_months: int) -> date:
    """When a line granted on ``start_on`` ends: ``spec.line_months`` later, else the product's
    longest term; without a spec, ``term_months`` (the application's) later."""
    if spec is None:
        months = term_months
    else:
        months = spec.line_months if spec.line_months is not None else spec.term_months[1]
    return add_months(start_on, months)


def grant(uow: UnitOfWork, app: Application, approval: Approval, *, actor: str) -> CreditLine:
    """Write the credit line of ``app`` (being approved) and queue ``nongxin_on_credit_granted``
    for after the commit; 422 when the amount does not fit the customer's exposure cap, or the
    approval names no rate."""
    session = uow.session
    bank = session.get(Institution, app.county_bank_id)
    where = session.get(Institution, app.institution_id)
    assert bank is not None and where is not None
    amount = app.approved_amount
    if amount is None:
        raise invalid("amount", f"application {app.number} is approved without an amount")
    if app.approved_rate is None:
        raise invalid("rate", f"application {app.number} has no rate (its decision priced none): a credit line "
                              "needs one, so approve with a rate")
    held = exposure(session, bank, app.customer_id, approval.today, lock=True)
    if amount > held.room:
        reason = (f"{amount} yuan is above the {held.room} yuan left under the customer's exposure cap of "
                  f"{held.cap} yuan at {bank.code} ({held.held} yuan held in active and frozen lines)")
        raise ValidationFailed(f"amount: {reason}", code="exposure_cap", fields={"amount": [reason]})
    spec = approval.spec
    line = CreditLine(number=next_number(uow, bank, approval.today.year, "C"), county_bank_id=bank.id,
                      institution_id=where.id, customer_id=app.customer_id, application_id=app.id, amount=amount,
                      annual_rate=app.approved_rate, products=[app.product_code], start_on=approval.today,
                      end_on=line_end(approval.today, spec, app.term_months),
                      revolving=spec.revolving if spec is not None else False, status=CreditLineStatus.ACTIVE)
    session.add(line)
    uow.flush()
    record(session, actor=actor, action="credit_line.grant", target=f"credit_line:{line.number}",
           institution_code=bank.code,
           after={"application": app.number, "customer": app.customer_id, "institution": where.code,
                  "amount": _money(amount), "rate": format(app.approved_rate, "f"), "products": line.products,
                  "start_on": line.start_on.isoformat(), "end_on": line.end_on.isoformat(),
                  "revolving": line.revolving, "exposure_cap": _money(held.cap), "held_before": _money(held.held)})
    if approval.view is not None:
        view, event = approval.view, Event("credit_granted", line.number, where.code, {
            "credit_line": line.id, "number": line.number, "amount": _money(amount),
            "end_on": line.end_on.isoformat(), "application": app.number})
        after_commit(session, lambda: _announce(view, event))
    return line


def _announce(view: InstitutionView, event: Event) -> None:
    """Tell the plugins (after the commit): their failures are logged by the dispatch layer."""
    view.notify("nongxin_on_credit_granted", event=event)


# -- reading --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineFilters:
    customer_id: int | None = None
    status: CreditLineStatus | None = None
    limit: int = PAGE
    offset: int = 0


def list_lines(uow: UnitOfWork, principal: Principal, filters: LineFilters = LineFilters()) -> list[CreditLine]:
    """Lines granted in the caller's subtree, newest first."""
    require(principal, Action.CREDIT_LINE_READ)
    stmt = in_subtree(sa.select(CreditLine), CreditLine.institution_id, principal.institution_path)
    if filters.customer_id is not None:
        stmt = stmt.where(CreditLine.customer_id == filters.customer_id)
    if filters.status is not None:
        stmt = stmt.where(CreditLine.status == filters.status)
    stmt = page(stmt.order_by(CreditLine.id.desc()), filters.limit, filters.offset)
    return list(uow.session.execute(stmt).scalars())


def details(uow: UnitOfWork, principal: Principal, line: CreditLine, *, loans: bool = True,
            on: date | None = None) -> dict[str, Any]:
    """What showing a line tells, JSON-ready: money as decimal strings (``used`` from the ledger,
    ``available`` what may be drawn now), the customer's identity masked unless the caller's role
    sees it whole, (``loans``) the loans drawn on it, oldest first, and, given the business date
    ``on``, its collateral cover that day (``collateral``: eligible value, limit, loan-to-value,
    shortfall and the pledged items) when the caller may read collateral."""
    session = uow.session
    where = session.get(Institution, line.institution_id)
    bank = session.get(Institution, line.county_bank_id)
    app = session.get(Application, line.application_id) if line.application_id is not None else None
    customer = line.customer
    number = customer.id_number if may(principal, Action.CUSTOMER_FULL_ID) else mask_identity(customer.id_number)
    used = line_used(session, line)
    shown: dict[str, Any] = {
        "id": line.id, "number": line.number, "status": line.status.value,
        "county_bank": bank.code if bank else "", "institution": where.code if where else "",
        "customer": {"id": customer.id, "kind": customer.kind.value, "name": customer.name, "id_number": number},
        "application": app.number if app is not None else None,
        "amount": _money(line.amount), "used": _money(used), "available": _money(available(session, line)),
        "annual_rate": format(line.annual_rate, "f"), "products": list(line.products),
        "start_on": line.start_on, "end_on": line.end_on, "revolving": line.revolving,
        "created_at": line.created_at, "updated_at": line.updated_at,
    }
    if loans:
        rows = session.execute(sa.select(Loan).where(Loan.credit_line_id == line.id).order_by(Loan.id)).scalars()
        shown["loans"] = [{"loan_no": loan.loan_no, "status": loan.status.value, "principal": _money(loan.principal),
                           "outstanding": _money(loan.outstanding), "disbursed_on": loan.disbursed_on,
                           "maturity_on": loan.maturity_on} for loan in rows]
        if on is not None and may(principal, Action.COLLATERAL_READ):
            from nongxin.core.collateral.pledges import summary  # collateral builds on credit lines

            shown["collateral"] = summary(uow, line, on)
    return shown


def _money(amount: Decimal) -> str:
    return format(Decimal(amount).quantize(FEN), "f")


# -- freezing, unfreezing, closing ------------------------------------------------------------------

#: The action each move needs (the day close's expiry is not a caller's move).
MOVES = {CreditLineStatus.FROZEN: ("freeze", Action.CREDIT_LINE_FREEZE),
         CreditLineStatus.ACTIVE: ("unfreeze", Action.CREDIT_LINE_FREEZE),
         CreditLineStatus.CLOSED: ("close", Action.CREDIT_LINE_CLOSE)}


def change_status(uow: UnitOfWork, principal: Principal, line_id: int, to: CreditLineStatus, *,
                  reason: str = "") -> CreditLine:
    """Move the line to ``to`` (frozen, active or closed) or refuse with 409 naming its state."""
    if to not in MOVES:
        raise invalid("status", f"a credit line cannot be made {to.value} by hand")
    verb, action = MOVES[to]
    line = visible_line(uow, principal, line_id, action, lock=True)
    before = line.status
    if to not in LINE_TRANSITIONS[before]:
        raise Conflict(f"credit line {line.number} is {before.value}; it cannot {verb} (become {to.value})",
                       code="invalid_state", fields={"status": [before.value]})
    line.status = to
    bank = uow.session.get(Institution, line.county_bank_id)
    record(uow.session, actor=principal.username, action=f"credit_line.{verb}", target=f"credit_line:{line.number}",
           institution_code=bank.code if bank else "", before={"status": before.value},
           after={"status": to.value, **({"reason": reason.strip()} if reason.strip() else {})})
    uow.flush()
    return line


def freeze(uow: UnitOfWork, principal: Principal, line_id: int, reason: str = "") -> CreditLine:
    return change_status(uow, principal, line_id, CreditLineStatus.FROZEN, reason=reason)


def unfreeze(uow: UnitOfWork, principal: Principal, line_id: int, reason: str = "") -> CreditLine:
    return change_status(uow, principal, line_id, CreditLineStatus.ACTIVE, reason=reason)


def close(uow: UnitOfWork, principal: Principal, line_id: int, reason: str = "") -> CreditLine:
    return change_status(uow, principal, line_id, CreditLineStatus.CLOSED, reason=reason)
