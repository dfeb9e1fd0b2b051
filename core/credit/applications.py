"""Loan applications: filing, listing, showing and withdrawing, and the one way an application
changes state.

Scope first (an application filed outside the caller's subtree is 404, like a missing one), then
the role from the permission table (403). ``transition`` is the only code that sets ``status``:
a move ``TRANSITIONS`` does not allow is 409 naming the current state, and every move is audited.

``file`` checks an application against the product's spec at the filing institution (offered
there through the dispatch layer, amount, term, repayment method, required data) and answers 422
naming every field at fault, writing nothing; a filed application gets the next number of its
county bank and year (``<BANK>-A<YEAR>-<6 digits>``), gapless and unique under concurrent filing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit.models import (
    OPEN_APPLICATION_STATUSES,
    TRANSITIONS,
    Application,
    ApplicationStatus,
    Channel,
    CreditLine,
    Decision,
    Loan,
    ReviewTask,
)
from nongxin.core.credit.products import offered
from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import customer_facts, visible_customer
from nongxin.core.db import MAX_FEN, UnitOfWork, utcnow
from nongxin.core.errors import Conflict, ValidationFailed, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, User
from nongxin.core.permissions import Action, may, require
from nongxin.core.scoping import PAGE, in_subtree, page, visible_row
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.sdk.identity import mask_identity
from nongxin.sdk.types import ConnectorSpec, ProductSpec

if TYPE_CHECKING:
    from nongxin.core.credit.lines import Approval

CLOSED = frozenset({ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN})


def visible_application(uow: UnitOfWork, principal: Principal, application_id: int, action: Action,
                        *, lock: bool = False) -> Application:
    """The application if the caller's subtree holds the institution it was filed at; else 404.
    ``lock`` takes the row for the rest of the transaction (PostgreSQL ``FOR UPDATE``; SQLite's
    writers are serialized already), so two state changes never interleave."""
    return visible_row(uow, principal, sa.select(Application).where(Application.id == application_id), action,
                       what=f"application {application_id}", field="application", lock=lock)


def transition(uow: UnitOfWork, app: Application, to: ApplicationStatus, *, actor: str, bank_code: str,
               note: str = "", approval: Approval | None = None) -> None:
    """Move ``app`` to ``to`` or refuse with 409 naming the state it is in. Approving grants the
    application's credit line in the same transaction (``lines.grant``, from ``approval``)."""
    before = app.status
    if to not in TRANSITIONS[before]:
        raise Conflict(f"application {app.number} is {before.value}; it cannot become {to.value}",
                       code="invalid_state")
    app.status = to
    if to in CLOSED:
        app.closed_at = utcnow()
    record(uow.session, actor=actor, action=f"application.{to.value}", target=f"application:{app.number}",
           institution_code=bank_code, before={"status": before.value},
           after={"status": to.value, **({"note": note} if note else {})})
    if to is ApplicationStatus.APPROVED:
        from nongxin.core.credit.lines import grant  # lines numbers its lines through this module

        if approval is None:
            raise TypeError(f"approving {app.number} grants its credit line: pass approval=")
        grant(uow, app, approval, actor=actor)


# -- filing ------------------------------------------------------------------------------------

#: Most guarantors one application may name.
MAX_GUARANTORS = 10


@dataclass(frozen=True)
class Filing:
    """What a customer manager files (the API body and the CLI options, parsed)."""

    customer_id: int
    product_code: str
    amount: Decimal
    term_months: int
    repayment_method: str
    channel: str
    purpose: str = ""
    form: Mapping[str, Any] = field(default_factory=dict)
    guarantor_ids: Sequence[int] = ()
    channel_ref: str = ""


def file(uow: UnitOfWork, principal: Principal, directory: PluginDirectory, filing: Filing, *,
         today: date) -> Application:
    """File an application for the caller (a customer manager, who becomes its investigator) at
    the caller's institution. 404 for a customer outside the caller's subtree, 403 for a role that
    may not file, 422 naming every field that breaks the product's spec; nothing is written then."""
    customer = visible_customer(uow, principal, filing.customer_id, Action.APPLICATION_FILE)
    where = uow.session.get(Institution, principal.institution_id)
    bank = institutions.county_bank_of(uow.session, where) if where is not None else None
    if where is None or bank is None or customer.county_bank_id != bank.id:
        raise invalid("customer", "applications are filed at the customer's county bank or one of its "
                                  "branches; your institution is not inside it")
    problems = _check(uow.session, directory, where, bank, customer, filing, today)
    if problems:
        detail = "; ".join(f"{name}: {' '.join(reasons)}" for name, reasons in problems.items())
        raise ValidationFailed(f"the application does not fit the product: {detail}", fields=problems)
    filer = uow.session.execute(sa.select(User).where(User.username == principal.username)).scalar_one()
    app = Application(
        number=next_number(uow, bank, today.year), county_bank_id=bank.id, institution_id=where.id,
        customer_id=customer.id, product_code=filing.product_code, amount=filing.amount.quantize(Decimal("0.01")),
        term_months=filing.term_months, repayment_method=filing.repayment_method, purpose=filing.purpose,
        form=dict(filing.form), guarantor_ids=list(filing.guarantor_ids), channel=Channel(filing.channel),
        channel_ref=filing.channel_ref, status=ApplicationStatus.SUBMITTED, filed_by_id=filer.id)
    uow.session.add(app)
    uow.flush()
    record(uow.session, actor=principal.username, action="application.file", target=f"application:{app.number}",
           institution_code=bank.code,
           after={"customer": customer.id, "product": app.product_code, "amount": _money(app.amount),
                  "term_months": app.term_months, "repayment_method": app.repayment_method,
                  "channel": app.channel.value, "channel_ref": app.channel_ref, "institution": where.code,
                  "guarantors": app.guarantor_ids, "form": sorted(app.form)})
    return app


def _check(session: Session, directory: PluginDirectory, where: Institution, bank: Institution,
           customer: Customer, filing: Filing, today: date) -> dict[str, list[str]]:
    """Every field of ``filing`` at fault, with why: ``{field: [reasons]}``, empty when it fits."""
    problems: dict[str, list[str]] = {}

    def fault(name: str, reason: str) -> None:
        problems.setdefault(name, []).append(reason)

    spec = product_at(session, directory, where, filing.product_code)
    if spec is None:
        fault("product", f"{filing.product_code} is not offered at {where.code} (no enabled plugin there "
                         "offers it)")
    amount = filing.amount
    if isinstance(amount, bool) or not isinstance(amount, Decimal) or not amount.is_finite():
        fault("amount", "must be a decimal amount of yuan")
    elif amount <= 0 or amount.scaleb(2) > MAX_FEN or amount != amount.quantize(Decimal("0.01")):
        fault("amount", "must be a positive amount of yuan in whole fen")
    elif spec is not None and not spec.amount.minimum <= amount <= spec.amount.maximum:
        fault("amount", f"{amount} is outside {spec.code}'s range {spec.amount.minimum} to {spec.amount.maximum}")
    if spec is not None:
        low, high = spec.term_months
        if not low <= filing.term_months <= high:
            fault("term_months", f"{filing.term_months} is outside {spec.code}'s terms, {low} to {high} months")
        if filing.repayment_method not in spec.repayment_methods:
            fault("repayment_method", f"{filing.repayment_method!r} is not offered for {spec.code}; one of: "
                                      f"{', '.join(spec.repayment_methods)}")
        known = set(customer_facts(customer, today)) | connector_fields(session, directory, where)
        for name in spec.required_data:
            if name not in known and filing.form.get(name) in (None, ""):
                fault(f"form.{name}", f"{spec.code} requires {name}; neither the customer file nor an enabled "
                                      "data connector provides it, so the form must")
    _check_guarantors(session, bank, customer, filing.guarantor_ids, fault)
    channels = [c.value for c in Channel]
    if filing.channel not in channels:
        fault("channel", f"must be one of: {', '.join(channels)}")
    elif filing.channel == Channel.QR_CODE.value and not filing.channel_ref.strip():
        fault("channel_ref", "a QR-code application names the code scanned (customer manager, institution, "
                             "product or campaign code)")
    return problems


def _check_guarantors(session: Session, bank: Institution, customer: Customer, ids: Sequence[int],
                      fault: Any) -> None:
    if len(ids) > MAX_GUARANTORS:
        fault("guarantors", f"at most {MAX_GUARANTORS} guarantors")
        return
    if len(set(ids)) != len(ids):
        fault("guarantors", "a guarantor is named twice")
    if customer.id in ids:
        fault("guarantors", "the applicant cannot guarantee their own application")
    others = sorted(set(ids) - {customer.id})
    found = set(session.execute(sa.select(Customer.id).where(
        Customer.id.in_(others), Customer.county_bank_id == bank.id)).scalars()) if others else set()
    for missing in (i for i in others if i not in found):
        fault("guarantors", f"no customer {missing} at {bank.code}")


def product_at(session: Session, directory: PluginDirectory, institution: Institution, code: str) -> ProductSpec | None:
    """The spec of product ``code`` as offered at ``institution`` (None: no enabled plugin offers it)."""
    products, _failures = offered(session, directory, institution)
    return next((p.spec for p in products if p.spec.code == code), None)


def connector_fields(session: Session, directory: PluginDirectory, institution: Institution) -> set[str]:
    """The fields the data connectors enabled at ``institution`` provide (fetched at decision time)."""
    result = directory.view(session, institution).collect("nongxin_connectors", expect=ConnectorSpec)
    return {name for c in result.contributions for name in c.value.fields}


def next_number(uow: UnitOfWork, bank: Institution, year: int, series: str = "A", column: Any = None) -> str:
    """The county bank's next number of ``year`` in a series: applications ``JNRCB-A2026-000042``,
    credit lines ``JNRCB-C2026-000007``, loans ``JNRCB-L2026-000311``.

    The bank's institution row is locked first (PostgreSQL ``FOR UPDATE``; SQLite's writers are
    serialized already), so two writers never read the same last number: numbers are unique and
    gapless per bank, series and year, and the lock is held until the write commits or rolls back.
    Another module's series names its own ``column`` (collateral items: "K", ``CollateralItem.number``)."""
    if column is None:
        column = {"A": Application.number, "C": CreditLine.number, "L": Loan.loan_no}[series]
    uow.session.execute(sa.select(Institution.id).where(Institution.id == bank.id).with_for_update())
    prefix = f"{bank.code}-{series}{year}-"
    last = uow.session.execute(sa.select(sa.func.max(column)).where(
        column.class_.county_bank_id == bank.id, column.startswith(prefix, autoescape=True))).scalar()
    seq = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{seq:06d}"


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    status: ApplicationStatus | None = None
    assigned_to_me: bool = False
    institution: str | None = None
    customer_id: int | None = None
    limit: int = PAGE
    offset: int = 0


def list_applications(uow: UnitOfWork, principal: Principal, filters: Filters = Filters()) -> list[Application]:
    """Applications filed in the caller's subtree (or below ``filters.institution``, 404 outside
    it), newest first. ``assigned_to_me``: those where the caller has an open review task, and the
    open ones the caller filed."""
    session = uow.session
    top_path = principal.institution_path
    if filters.institution is not None:
        top_path = institutions.visible_for(session, principal, filters.institution, Action.APPLICATION_READ).path
    require(principal, Action.APPLICATION_READ)
    stmt = in_subtree(sa.select(Application), Application.institution_id, top_path)
    if filters.status is not None:
        stmt = stmt.where(Application.status == filters.status)
    if filters.customer_id is not None:
        stmt = stmt.where(Application.customer_id == filters.customer_id)
    if filters.assigned_to_me:
        me = _user_id(session, principal)
        tasks = sa.select(ReviewTask.application_id).where(ReviewTask.assignee_id == me, ReviewTask.done_at.is_(None))
        stmt = stmt.where(sa.or_(Application.id.in_(tasks), sa.and_(
            Application.filed_by_id == me, Application.status.in_(OPEN_APPLICATION_STATUSES))))
    stmt = page(stmt.order_by(Application.filed_at.desc(), Application.id.desc()), filters.limit, filters.offset)
    return list(session.execute(stmt).scalars())


def _user_id(session: Session, principal: Principal) -> int | None:
    return session.execute(sa.select(User.id).where(User.username == principal.username)).scalar_one_or_none()


def details(uow: UnitOfWork, principal: Principal, app: Application) -> dict[str, Any]:
    """What showing an application tells, JSON-ready (amounts and rates as decimal strings; the
    identity number masked unless the caller's role sees it whole). The API and the CLI render it."""
    session = uow.session
    where = session.get(Institution, app.institution_id)
    bank = session.get(Institution, app.county_bank_id)
    customer = app.customer
    number = customer.id_number if may(principal, Action.CUSTOMER_FULL_ID) else mask_identity(customer.id_number)
    decision = session.execute(sa.select(Decision).where(Decision.application_id == app.id)).scalar_one_or_none()
    tasks = session.execute(sa.select(ReviewTask).where(ReviewTask.application_id == app.id)
                            .order_by(ReviewTask.assigned_at, ReviewTask.id)).scalars()
    return {
        "id": app.id, "number": app.number, "status": app.status.value,
        "county_bank": bank.code if bank else "", "institution": where.code if where else "",
        "customer": {"id": customer.id, "kind": customer.kind.value, "name": customer.name, "id_number": number},
        "product": app.product_code, "amount": _money(app.amount), "term_months": app.term_months,
        "repayment_method": app.repayment_method, "purpose": app.purpose, "form": app.form,
        "guarantors": app.guarantor_ids, "channel": app.channel.value, "channel_ref": app.channel_ref,
        "filed_by": app.filed_by.username, "filed_at": app.filed_at, "closed_at": app.closed_at,
        "approved_amount": _money(app.approved_amount),
        "approved_rate": _rate(app.approved_rate), "refusal_category": app.refusal_category,
        "decision": None if decision is None else {
            "outcome": decision.outcome, "refusal_category": decision.refusal_category,
            "limit": _money(decision.limit), "rate": _rate(decision.rate), "score": decision.score,
            "grade": decision.grade, "decided_at": decision.decided_at, "decided_by": decision.decided_by},
        "review_tasks": [{"tier": t.tier.value, "assignee": t.assignee.username, "due_on": t.due_on,
                          "opinion": t.opinion.value if t.opinion else None, "comment": t.comment,
                          "done_at": t.done_at} for t in tasks],
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(Decimal("0.01")), "f")


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


# -- withdrawing -------------------------------------------------------------------------------

def withdraw(uow: UnitOfWork, principal: Principal, application_id: int, reason: str) -> Application:
    """Withdraw an open application (409 naming the state when it is closed already)."""
    app = visible_application(uow, principal, application_id, Action.APPLICATION_WITHDRAW, lock=True)
    if not reason.strip():
        raise invalid("reason", "say why the application is withdrawn")
    bank = uow.session.get(Institution, app.county_bank_id)
    transition(uow, app, ApplicationStatus.WITHDRAWN, actor=principal.username,
               bank_code=bank.code if bank else "", note=reason.strip())
    # open review steps end with it: nobody is left waiting on them, nor listed as overdue
    for task in uow.session.execute(sa.select(ReviewTask).where(
            ReviewTask.application_id == app.id, ReviewTask.done_at.is_(None))).scalars():
        task.done_at = utcnow()
        task.comment = f"withdrawn: {reason.strip()}"[:2000]
    uow.flush()
    return app
