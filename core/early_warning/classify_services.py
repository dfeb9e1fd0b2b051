"""Manual five-tier classes (maker-checker) and the reads the API and the CLI share.

The promises:

* ``propose``: a class worse than or equal to the loan's current floor is applied at once (a
  ``ClassRequest`` with status applied, ``LoanClass.tier`` / ``manual_tier`` set with the floor
  it was set against, a ``LoanClassChange`` when the tier moved, audited); a better one is left
  pending for a second person. An unknown tier is 422 naming ``tier`` and the five names.
* ``decide``: approve or reject a pending request; the requester may not decide their own (403
  ``separation_of_duties``); a request that is no longer pending is 409 ``not_pending``.
* A loan or request of another county bank is 404, like a missing one (then 403 by role).
* Reads: ``show`` (class, floor, reason, since, manual state, requests, history), ``requests``
  (the caller's subtree), ``npl`` (NPL ratios per institution and day in a subtree).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit.loans import visible_loan
from nongxin.core.credit.models import Loan
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.classification import bank_lock, npl_ratio
from nongxin.core.early_warning.domain import TIERS, floor_tier, tier_rank
from nongxin.core.early_warning.models import ClassRequest, ClassRequestStatus, LoanClass, LoanClassChange, NplRatio
from nongxin.core.errors import Conflict, Forbidden, NotFound, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require
from nongxin.core.scoping import in_subtree

__all__ = ["check_tier", "decide", "npl", "propose", "request_json", "requests", "show"]


def check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise invalid("tier", f"unknown five-tier class {tier!r}; use one of {', '.join(TIERS)}")
    return tier


def _class_of(uow: UnitOfWork, loan: Loan, today: date) -> LoanClass:
    bank_lock(uow.session, loan.county_bank_id)
    row = uow.session.get(LoanClass, loan.id)
    if row is None:  # never classified yet: start from the floor of its overdue days
        floor = floor_tier(loan.overdue_days)
        row = LoanClass(loan_id=loan.id, county_bank_id=loan.county_bank_id, institution_id=loan.institution_id,
                        tier=floor, floor=floor, reason=f"{loan.overdue_days} days overdue" if loan.overdue_days
                        else "no arrears", since=today, as_of=today)
        uow.session.add(row)
        uow.session.add(LoanClassChange(loan_id=loan.id, county_bank_id=loan.county_bank_id, business_date=today,
                                        from_tier=None, to_tier=floor, reason=row.reason, actor="system:classification"))
        uow.session.flush()
    return row


def _apply(uow: UnitOfWork, who: Principal, loan: Loan, request: ClassRequest, today: date) -> None:
    row = _class_of(uow, loan, today)
    before = {"tier": row.tier, "manual_tier": row.manual_tier, "manual_floor": row.manual_floor}
    reason = f"manual class: {request.reason}"[:200]
    if row.tier != request.tier:
        uow.session.add(LoanClassChange(loan_id=loan.id, county_bank_id=loan.county_bank_id, business_date=today,
                                        from_tier=row.tier, to_tier=request.tier, reason=reason, actor=who.username))
        row.since = today
    row.tier, row.manual_tier, row.manual_floor, row.reason = request.tier, request.tier, row.floor, reason
    request.status = ClassRequestStatus.APPLIED
    record(uow.session, actor=who.username, action="classification.apply", target=f"loan {loan.loan_no}",
           institution_code=who.institution_code, before=before,
           after={"tier": row.tier, "manual_tier": row.manual_tier, "manual_floor": row.manual_floor,
                  "request": request.id, "requested_by": request.requested_by})


def propose(uow: UnitOfWork, who: Principal, loan_no: str, tier: str, reason: str, today: date) -> ClassRequest:
    """A manual class for the loan (module docstring)."""
    loan = visible_loan(uow, who, loan_no, Action.CLASSIFICATION_PROPOSE, lock=True)
    check_tier(tier)
    if not reason.strip():
        raise invalid("reason", "say why the loan deserves this class")
    row = _class_of(uow, loan, today)
    request = ClassRequest(loan_id=loan.id, county_bank_id=loan.county_bank_id, tier=tier, floor=row.floor,
                           reason=reason.strip(), status=ClassRequestStatus.PENDING, requested_by=who.username,
                           requested_on=today)
    uow.session.add(request)
    uow.session.flush()
    if tier_rank(tier) >= tier_rank(row.floor):
        request.decided_by, request.decided_on = who.username, today
        _apply(uow, who, loan, request, today)
    else:
        record(uow.session, actor=who.username, action="classification.propose", target=f"loan {loan.loan_no}",
               institution_code=who.institution_code, after={"tier": tier, "floor": row.floor, "request": request.id})
    return request


def _request(uow: UnitOfWork, who: Principal, request_id: int, action: Action) -> tuple[ClassRequest, Loan]:
    request = uow.session.get(ClassRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"classification request {request_id} not found", fields={"id": ["not found"]})
    loan = uow.session.get(Loan, request.loan_id)
    assert loan is not None
    try:
        visible_loan(uow, who, loan.loan_no, action)
    except NotFound:
        raise NotFound(f"classification request {request_id} not found", fields={"id": ["not found"]}) from None
    return request, loan


def decide(uow: UnitOfWork, who: Principal, request_id: int, approve: bool, today: date) -> ClassRequest:
    """Approve (apply) or reject a pending manual class; never by its requester."""
    request, loan = _request(uow, who, request_id, Action.CLASSIFICATION_APPROVE)
    if request.status is not ClassRequestStatus.PENDING:
        raise Conflict(f"classification request {request_id} is {request.status.value}, not pending",
                       code="not_pending")
    if request.requested_by == who.username:
        raise Forbidden(f"{who.username} asked for this class and may not decide it (separation of duties)",
                        code="separation_of_duties")
    request.decided_by, request.decided_on = who.username, today
    if approve:
        _apply(uow, who, loan, request, today)
    else:
        request.status = ClassRequestStatus.REJECTED
        record(uow.session, actor=who.username, action="classification.reject", target=f"loan {loan.loan_no}",
               institution_code=who.institution_code, after={"request": request.id, "tier": request.tier})
    return request


def request_json(request: ClassRequest, loan_no: str) -> dict[str, Any]:
    return {"id": request.id, "loan_no": loan_no, "tier": request.tier, "floor": request.floor,
            "reason": request.reason, "status": request.status.value, "requested_by": request.requested_by,
            "requested_on": request.requested_on, "decided_by": request.decided_by, "decided_on": request.decided_on}


def show(uow: UnitOfWork, who: Principal, loan_no: str) -> dict[str, Any]:
    loan = visible_loan(uow, who, loan_no, Action.CLASSIFICATION_READ)
    row = uow.session.get(LoanClass, loan.id)
    history = uow.session.execute(sa.select(LoanClassChange).where(LoanClassChange.loan_id == loan.id)
                                  .order_by(LoanClassChange.id)).scalars()
    asks = uow.session.execute(sa.select(ClassRequest).where(ClassRequest.loan_id == loan.id)
                               .order_by(ClassRequest.id)).scalars()
    return {"loan_no": loan.loan_no, "classified": row is not None,
            "tier": row.tier if row else None, "floor": row.floor if row else floor_tier(loan.overdue_days),
            "reason": row.reason if row else "not yet classified", "since": row.since if row else None,
            "as_of": row.as_of if row else None, "clean_since": row.clean_since if row else None,
            "observation_until": row.observation_until if row else None,
            "manual_tier": row.manual_tier if row else None, "manual_floor": row.manual_floor if row else None,
            "requests": [request_json(r, loan.loan_no) for r in asks],
            "history": [{"business_date": c.business_date, "from_tier": c.from_tier, "to_tier": c.to_tier,
                         "reason": c.reason, "actor": c.actor} for c in history]}


def requests(uow: UnitOfWork, who: Principal, status: str | None) -> list[dict[str, Any]]:
    require(who, Action.CLASSIFICATION_READ)
    stmt = in_subtree(sa.select(ClassRequest, Loan.loan_no).join(Loan, Loan.id == ClassRequest.loan_id),
                      Loan.institution_id, who.institution_path)
    if status is not None:
        stmt = stmt.where(ClassRequest.status == ClassRequestStatus(status))
    return [request_json(r, no) for r, no in uow.session.execute(stmt.order_by(ClassRequest.id).limit(500)).all()]


def npl(uow: UnitOfWork, who: Principal, institution: str | None, start: date | None,
        end: date | None) -> tuple[Institution, list[dict[str, Any]]]:
    inst = institutions.visible_for(uow.session, who, institution or who.institution_code, Action.CLASSIFICATION_READ)
    stmt = in_subtree(sa.select(NplRatio, Institution.code), NplRatio.institution_id, inst.path)
    if start is not None:
        stmt = stmt.where(NplRatio.business_date >= start)
    if end is not None:
        stmt = stmt.where(NplRatio.business_date <= end)
    rows = uow.session.execute(stmt.order_by(NplRatio.business_date, Institution.code).limit(5000)).all()
    return inst, [{"institution": code, "business_date": r.business_date, "loans": r.loans,
                   "outstanding": format(r.outstanding, "f"), "npl_outstanding": format(r.npl_outstanding, "f"),
                   "ratio": format(npl_ratio(r.npl_outstanding, r.outstanding), "f"), "by_tier": r.by_tier}
                  for r, code in rows]
