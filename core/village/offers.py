"""Pre-credit offers (预授信) after the run: list, show, accept, decline; and the runs themselves.

The promises:

* An offer is never a usable credit line. ``accept`` is the only way on: with the household's
  signature (a signed contract or an e-signature reference), a customer manager of the bank files an
  application for the offer's product and amount through ``credit.applications.file`` (channel
  ``batch_precredit``) and decides it through ``credit.decision.decide``, which queries the bureau
  with the head's consent; an approval grants the line (``lines.grant``, through the approval).
* Consent first: the head must hold a live bureau authorization of the bank for loan approval, or
  the answer is 422 ``consent`` naming what is missing, and nothing is written.
* Only an ``offered`` offer whose ``expires_on`` has not passed may be accepted (409 naming its
  state or date otherwise); ``decline`` takes an offered or referred one. The offer's row is locked
  first, so two acceptances queue and the second finds it accepted (409).
* Another county bank's offer or run is 404 (scope by the offer's grid, then the role); every accept
  and decline is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit import applications
from nongxin.core.credit.decision import decide, missing_consents
from nongxin.core.credit.models import Channel, CreditLine
from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import shown_id
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, NotFound, ValidationFailed, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require
from nongxin.core.scoping import PAGE, page
from nongxin.core.village.models import OfferStatus, PrecreditOffer, PrecreditRun

__all__ = ["OfferFilters", "accept", "decline", "list_offers", "offer_details", "run_details", "visible_offer",
           "visible_run"]


def _visible(uow: UnitOfWork, principal: Principal, row: Any, institution_id: int, what: str, field: str,
             action: Action) -> None:
    where = uow.session.get(Institution, institution_id) if row is not None else None
    if row is None or where is None or not principal.can_see(where):
        raise NotFound(f"{what} not found", fields={field: ["not found"]})
    require(principal, action)


def visible_offer(uow: UnitOfWork, principal: Principal, offer_id: int, action: Action, *,
                  lock: bool = False) -> PrecreditOffer:
    """The offer if the caller's subtree holds its grid (404 otherwise), then the role (403)."""
    stmt = sa.select(PrecreditOffer).where(PrecreditOffer.id == offer_id)
    offer = uow.session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    _visible(uow, principal, offer, offer.grid_id if offer is not None else 0, f"offer {offer_id}", "offer", action)
    assert offer is not None
    return offer


def visible_run(uow: UnitOfWork, principal: Principal, run_id: int) -> PrecreditRun:
    """The run if the caller's subtree holds its county bank (404 otherwise), then the role."""
    run = uow.session.get(PrecreditRun, run_id)
    _visible(uow, principal, run, run.institution_id if run is not None else 0, f"run {run_id}", "run",
             Action.VILLAGE_READ)
    assert run is not None
    return run


# -- listing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OfferFilters:
    village_id: int | None = None
    status: OfferStatus | None = None
    institution: str | None = None  # only offers on grids under this institution
    run_id: int | None = None
    limit: int = PAGE
    offset: int = 0


def list_offers(uow: UnitOfWork, principal: Principal, filters: OfferFilters = OfferFilters()) -> list[PrecreditOffer]:
    """Offers on grids in the caller's subtree (or under ``filters.institution``, 404 outside it),
    newest first."""
    require(principal, Action.VILLAGE_READ)
    top = principal.institution_path
    if filters.institution is not None:
        top = institutions.visible(uow.session, principal, filters.institution).path
    stmt = (sa.select(PrecreditOffer).join(Institution, Institution.id == PrecreditOffer.grid_id)
            .where(Institution.path.startswith(top, autoescape=True)))
    if filters.village_id is not None:
        stmt = stmt.where(PrecreditOffer.village_id == filters.village_id)
    if filters.status is not None:
        stmt = stmt.where(PrecreditOffer.status == filters.status)
    if filters.run_id is not None:
        stmt = stmt.where(PrecreditOffer.run_id == filters.run_id)
    stmt = page(stmt.order_by(PrecreditOffer.id.desc()), filters.limit, filters.offset)
    return list(uow.session.execute(stmt).scalars())


# -- rendering --------------------------------------------------------------------------------

def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.quantize(Decimal("0.01")), "f")


def _code(session: Any, institution_id: int) -> str:
    inst = session.get(Institution, institution_id)
    return inst.code if inst is not None else ""


def offer_details(uow: UnitOfWork, principal: Principal, offer: PrecreditOffer) -> dict[str, Any]:
    """The offer as the API and the CLI show it (money and rates as decimal strings)."""
    session = uow.session
    customer = session.get(Customer, offer.customer_id)
    assert customer is not None
    return {
        "id": offer.id, "run": offer.run_id, "status": offer.status.value, "outcome": offer.outcome,
        "county_bank": _code(session, offer.county_bank_id), "grid": _code(session, offer.grid_id),
        "village": offer.village_id, "household": offer.household_id,
        "customer": {"id": customer.id, "kind": customer.kind.value, "name": customer.name,
                     "id_number": shown_id(principal, customer)},
        "product": offer.product_code, "colour": offer.colour, "limit": _money(offer.limit),
        "rate": None if offer.rate is None else format(offer.rate, "f"), "score": offer.score, "grade": offer.grade,
        "rule_hits": list(offer.rule_hits or []), "reasons": list(offer.reasons or []),
        "business_date": offer.business_date, "expires_on": offer.expires_on, "application": offer.application_id,
        "decided_by": offer.decided_by, "decided_on": offer.decided_on,
    }


def run_details(uow: UnitOfWork, run: PrecreditRun) -> dict[str, Any]:
    return {
        "id": run.id, "county_bank": _code(uow.session, run.institution_id), "village": run.village_id,
        "product": run.product_code, "business_date": run.business_date, "status": run.status,
        "households": run.households, "offered": run.offered, "referred": run.referred, "rejected": run.rejected,
        "rule_book_hash": run.rule_book_hash, "provenance": list(run.provenance or []), "seconds": run.seconds,
        "started_by": run.started_by, "started_at": run.started_at, "finished_at": run.finished_at,
    }


# -- accept and decline -----------------------------------------------------------------------

def _open(offer: PrecreditOffer, allowed: tuple[OfferStatus, ...], today: date, verb: str) -> None:
    if offer.status not in allowed:
        raise Conflict(f"offer {offer.id} is {offer.status.value}; only an offer that is "
                       f"{' or '.join(s.value for s in allowed)} can be {verb}", code="invalid_state",
                       fields={"status": [offer.status.value]})
    if offer.expires_on < today:
        raise Conflict(f"offer {offer.id} expired on {offer.expires_on.isoformat()}", code="invalid_state",
                       fields={"expires_on": [offer.expires_on.isoformat()]})


def accept(uow: UnitOfWork, principal: Principal, runtime: Any, offer_id: int, *, signature_ref: str,
           term_months: int | None = None, repayment_method: str | None = None) -> dict[str, Any]:
    """Accept an offer for the household (module docstring); commits (``decide`` does). The answer:
    the offer, the application with its outcome, and the credit line when one was granted."""
    if not signature_ref.strip():
        raise invalid("signature_ref", "the signed contract or e-signature reference is required")
    session = uow.session
    offer = visible_offer(uow, principal, offer_id, Action.VILLAGE_OFFER, lock=True)
    today = runtime.clock.business_date()
    _open(offer, (OfferStatus.OFFERED,), today, "accepted")
    bank = session.get(Institution, offer.county_bank_id)
    head = session.get(Customer, offer.customer_id)
    assert bank is not None and head is not None and offer.limit is not None
    missing = missing_consents(uow, bank, head, [])
    if missing:
        detail = ", ".join(f"{m['name']} ({m['purpose']}: {m['reason']})" for m in missing)
        raise ValidationFailed(f"consent: the household's head has no live bureau authorization of {bank.code}: {detail}",
                               code="consent", fields={"consent": [f"{m['purpose']}: {m['reason']}" for m in missing]})
    spec = applications.product_at(session, runtime.plugins, session.get(Institution, offer.grid_id) or bank,
                                   offer.product_code)
    if spec is None:
        raise invalid("product", f"{offer.product_code} is no longer offered where the offer was made")
    filing = applications.Filing(
        customer_id=head.id, product_code=offer.product_code, amount=offer.limit,
        term_months=term_months if term_months is not None else spec.term_months[1],
        repayment_method=repayment_method or spec.repayment_methods[0], channel=Channel.BATCH_PRECREDIT.value,
        purpose="整村授信", channel_ref=f"offer:{offer.id}")
    app = applications.file(uow, principal, runtime.plugins, filing, today=today)
    offer.status, offer.application_id = OfferStatus.ACCEPTED, app.id
    offer.decided_by, offer.decided_on = principal.username, today
    record(session, actor=principal.username, action="precredit.offer.accept", target=f"precredit_offer:{offer.id}",
           institution_code=bank.code, before={"status": OfferStatus.OFFERED.value},
           after={"status": OfferStatus.ACCEPTED.value, "signature_ref": signature_ref, "application": app.number,
                  "amount": _money(offer.limit)})
    decided = decide(uow, principal, runtime, app.id)  # commits the filing, the offer and the decision together
    line = session.execute(sa.select(CreditLine).where(CreditLine.application_id == app.id)).scalar_one_or_none()
    return {"offer": offer_details(uow, principal, offer),
            "application": {"id": app.id, "number": app.number, "status": decided.application.status.value,
                            "outcome": decided.decision.outcome if decided.decision is not None else None,
                            "approved_amount": _money(decided.application.approved_amount)},
            "credit_line": None if line is None else {"id": line.id, "number": line.number,
                                                      "amount": _money(line.amount), "status": line.status.value}}


def decline(uow: UnitOfWork, principal: Principal, runtime: Any, offer_id: int, *, reason: str) -> PrecreditOffer:
    """The household says no: an offered or referred offer becomes declined (409 otherwise);
    audited. The caller commits."""
    offer = visible_offer(uow, principal, offer_id, Action.VILLAGE_OFFER, lock=True)
    today = runtime.clock.business_date()
    before = offer.status.value
    _open(offer, (OfferStatus.OFFERED, OfferStatus.REFERRED), today, "declined")
    offer.status, offer.decided_by, offer.decided_on = OfferStatus.DECLINED, principal.username, today
    record(uow.session, actor=principal.username, action="precredit.offer.decline",
           target=f"precredit_offer:{offer.id}", institution_code=_code(uow.session, offer.county_bank_id),
           before={"status": before}, after={"status": OfferStatus.DECLINED.value, "reason": reason})
    return offer
