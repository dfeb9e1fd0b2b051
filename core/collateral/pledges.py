"""Pledges (抵押/质押): an item securing a credit line, its mortgage registration (抵押登记), its release.

The promises:

* ``pledge`` locks the item, then the line (the one lock order of every writer here, so two
  writers never deadlock); both must be seen by the caller (404 otherwise) and belong to the same
  county bank (an item or line of another county bank is 404, exactly as a missing one); the line
  is active or frozen (409 naming its state); the item is not already pledged to that line (409);
  the rank is free among the item's active pledges (409 naming the line that holds it; default:
  one below the lowest taken). Kinds that need no registration are ``not_required`` from the
  start, the others ``pending`` (they lend nothing until registered). Audited.
* ``register_mortgage`` records the registry's certificate number (他项权证号 / 不动产登记证明号,
  1-60 visible characters) and date (not after the business date, not before the pledge) on a
  pending pledge (409 otherwise). Audited.
* ``release`` (``collateral.release``) locks the item and the line and is refused with 409
  ``ltv_exceeded`` when the line's loan-to-value after the release would be above its limit
  (``domain.release_problem``; the message and ``fields`` name the figures); a released pledge
  is not released again (409). Audited.
* Every refusal writes nothing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.collateral import domain, services
from nongxin.core.collateral.models import CollateralItem, Pledge, PledgeStatus, Registration
from nongxin.core.credit.lines import visible_line
from nongxin.core.credit.models import CreditLine, CreditLineStatus
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, NotFound, ValidationFailed, invalid
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action
from nongxin.sdk.collateral import kind_spec

__all__ = ["MAX_RANK", "PLEDGEABLE", "Locked", "cover", "pledge", "register_mortgage", "release"]

#: Lines an item may be pledged to: those that can still be drawn, or unfrozen and drawn.
PLEDGEABLE = (CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN)
MAX_RANK = 99


def _bank_code(uow: UnitOfWork, item: CollateralItem) -> str:
    bank = uow.session.get(Institution, item.county_bank_id)
    return bank.code if bank is not None else ""


def _line_of_item(uow: UnitOfWork, principal: Principal, item: CollateralItem, line_id: int, action: Action,
                  ) -> CreditLine:
    """The line, locked, seen by the caller and of the item's county bank (404 otherwise)."""
    line = visible_line(uow, principal, line_id, action, lock=True)
    if line.county_bank_id != item.county_bank_id:
        raise NotFound(f"credit line {line_id} not found", fields={"credit_line": ["not found"]})
    return line


def _active(uow: UnitOfWork, item_id: int) -> list[Pledge]:
    return list(uow.session.execute(sa.select(Pledge).where(
        Pledge.item_id == item_id, Pledge.status == PledgeStatus.PLEDGED).order_by(Pledge.rank)
        .execution_options(populate_existing=True)).scalars())


def pledge(uow: UnitOfWork, principal: Principal, item_id: int, line_id: int, rank: int | None = None, *,
           today: date) -> Pledge:
    """Pledge item ``item_id`` to credit line ``line_id`` at ``rank`` (see the module's promises)."""
    if rank is not None and (isinstance(rank, bool) or not 1 <= rank <= MAX_RANK):
        raise invalid("rank", f"must be a whole number from 1 to {MAX_RANK} (1 is served first)")
    item = services.visible_item(uow, principal, item_id, Action.COLLATERAL_PLEDGE, lock=True)
    line = _line_of_item(uow, principal, item, line_id, Action.COLLATERAL_PLEDGE)
    if line.status not in PLEDGEABLE:
        raise Conflict(f"credit line {line.number} is {line.status.value}; collateral is pledged only to an active "
                       "or frozen line", code="invalid_state", fields={"credit_line": [f"is {line.status.value}"]})
    held = _active(uow, item.id)
    if any(p.credit_line_id == line.id for p in held):
        raise Conflict(f"collateral {item.number} is already pledged to credit line {line.number}",
                       code="already_pledged", fields={"credit_line": ["the item is already pledged to this line"]})
    taken = {p.rank: p for p in held}
    if rank is None:
        rank = max(taken, default=0) + 1
    elif rank in taken:
        other = uow.session.get(CreditLine, taken[rank].credit_line_id)
        holder = other.number if other is not None else str(taken[rank].credit_line_id)
        raise Conflict(f"rank {rank} on collateral {item.number} is held by credit line {holder}; the ranks taken "
                       f"are {', '.join(str(r) for r in sorted(taken))}", code="rank_taken",
                       fields={"rank": [f"{rank} is held by credit line {holder}"]})
    registration = Registration.PENDING if kind_spec(item.kind).registrable else Registration.NOT_REQUIRED
    row = Pledge(item_id=item.id, credit_line_id=line.id, rank=rank, status=PledgeStatus.PLEDGED,
                 registration=registration, pledged_on=today, pledged_by=principal.username)
    uow.session.add(row)
    uow.flush()
    record(uow.session, actor=principal.username, action="collateral.pledge", target=f"collateral:{item.number}",
           institution_code=_bank_code(uow, item),
           after={"pledge": row.id, "credit_line": line.number, "rank": rank, "registration": registration.value,
                  "pledged_on": today.isoformat()})
    return row


@dataclass(frozen=True)
class Locked:
    """A pledge with its item (and line) locked for a change."""

    pledge: Pledge
    item: CollateralItem


def _locked(uow: UnitOfWork, principal: Principal, pledge_id: int, action: Action) -> Locked:
    """The pledge, its item locked (404 unless the caller sees the item), read again after the lock."""
    item_id = uow.session.execute(sa.select(Pledge.item_id).where(Pledge.id == pledge_id)).scalar_one_or_none()
    if item_id is None:
        raise NotFound(f"pledge {pledge_id} not found", fields={"pledge": ["not found"]})
    try:
        item = services.visible_item(uow, principal, item_id, action, lock=True)
    except NotFound:
        raise NotFound(f"pledge {pledge_id} not found", fields={"pledge": ["not found"]}) from None
    row = uow.session.execute(sa.select(Pledge).where(Pledge.id == pledge_id)
                              .execution_options(populate_existing=True)).scalar_one()
    return Locked(row, item)


def _text(value: str, limit: int) -> str | None:
    text = unicodedata.normalize("NFKC", value or "").strip()
    return text if text and len(text) <= limit and text.isprintable() else None


def register_mortgage(uow: UnitOfWork, principal: Principal, pledge_id: int, *, registration_no: str,
                      registered_on: date, today: date) -> Pledge:
    """Record the mortgage registration (抵押登记) of a pending pledge."""
    found = _locked(uow, principal, pledge_id, Action.COLLATERAL_PLEDGE)
    row, item = found.pledge, found.item
    problems: dict[str, list[str]] = {}
    number = _text(registration_no, 60)
    if number is None:
        problems["registration_no"] = ["the registry's certificate number (他项权证号): 1-60 visible characters"]
    if registered_on > today:
        problems["registered_on"] = [f"{registered_on.isoformat()} is after the business date {today.isoformat()}"]
    elif registered_on < row.pledged_on:
        problems["registered_on"] = [f"{registered_on.isoformat()} is before the pledge on "
                                     f"{row.pledged_on.isoformat()}"]
    if problems:
        detail = "; ".join(f"{name}: {' '.join(reasons)}" for name, reasons in problems.items())
        raise ValidationFailed(f"the registration cannot be recorded: {detail}", fields=problems)
    if row.status is not PledgeStatus.PLEDGED or row.registration is not Registration.PENDING:
        state = "released" if row.status is PledgeStatus.RELEASED else row.registration.value
        raise Conflict(f"pledge {row.id} of collateral {item.number} is {state}; only a pending pledge is registered",
                       code="invalid_state", fields={"pledge": [f"is {state}"]})
    row.registration, row.registration_no, row.registered_on = Registration.REGISTERED, number, registered_on
    uow.flush()
    record(uow.session, actor=principal.username, action="collateral.register_mortgage",
           target=f"collateral:{item.number}", institution_code=_bank_code(uow, item),
           before={"registration": "pending"},
           after={"pledge": row.id, "registration": "registered", "registration_no": number,
                  "registered_on": registered_on.isoformat()})
    return row


def _money(amount: Decimal) -> str:
    return format(Decimal(amount).quantize(domain.FEN), "f")


def release(uow: UnitOfWork, principal: Principal, pledge_id: int, *, reason: str = "", today: date) -> Pledge:
    """Release a pledge unless the line's loan-to-value after it would exceed its limit (409)."""
    note = reason.strip()
    if len(note) > 200 or (note and not note.isprintable()):
        raise invalid("reason", "at most 200 visible characters")
    found = _locked(uow, principal, pledge_id, Action.COLLATERAL_RELEASE)
    row, item = found.pledge, found.item
    line = _line_of_item(uow, principal, item, row.credit_line_id, Action.COLLATERAL_RELEASE)
    if row.status is PledgeStatus.RELEASED:
        raise Conflict(f"pledge {row.id} of collateral {item.number} was released on {row.released_on}",
                       code="invalid_state", fields={"pledge": ["is released"]})
    pos = services.position(uow.session, line, today)
    problem = domain.release_problem(pos.holdings, pos.claims, pos.exposures, line.id, item.id)
    if problem is not None:
        after = [c for c in pos.claims if not (c.line_id == line.id and c.item_id == item.id)]
        cover_after = domain.covers(pos.holdings, after, pos.exposures).get(
            line.id, domain.Cover(line.id, pos.exposures.get(line.id, Decimal("0.00")), ()))
        ltv = cover_after.ltv
        raise Conflict(f"collateral {item.number} cannot be released from credit line {line.number}: {problem}",
                       code="ltv_exceeded",
                       fields={"pledge": [problem],
                               "exposure": [_money(cover_after.exposure)],
                               "eligible_value_after": [_money(cover_after.eligible)],
                               "ltv_after": [format(ltv, "f") if ltv is not None else "unsecured"],
                               "ltv_limit": [format(cover_after.ltv_limit, "f")
                                             if cover_after.ltv_limit is not None else "none"],
                               "limit_after": [_money(cover_after.limit)]})
    row.status, row.released_on, row.released_by = PledgeStatus.RELEASED, today, principal.username
    uow.flush()
    record(uow.session, actor=principal.username, action="collateral.release", target=f"collateral:{item.number}",
           institution_code=_bank_code(uow, item), before={"status": "pledged"},
           after={"pledge": row.id, "credit_line": line.number, "released_on": today.isoformat(),
                  **({"reason": note} if note else {})})
    return row


def cover(uow: UnitOfWork, principal: Principal, line_id: int, *, today: date) -> dict[str, Any]:
    """A line's collateral cover on ``today``, JSON-ready (``collateral.read``)."""
    line = visible_line(uow, principal, line_id, Action.COLLATERAL_READ)
    return {"credit_line": line.id, "number": line.number, **summary(uow, line, today)}


def summary(uow: UnitOfWork, line: CreditLine, today: date) -> dict[str, Any]:
    """The figures of the line's cover and one row per active pledge (money as decimal strings)."""
    session = uow.session
    found = services.cover_of_line(session, line, today)
    rows = session.execute(sa.select(Pledge, CollateralItem).join(CollateralItem, Pledge.item_id == CollateralItem.id)
                           .where(Pledge.credit_line_id == line.id, Pledge.status == PledgeStatus.PLEDGED)
                           .order_by(Pledge.item_id)).all()
    by_item = {c.item_id: c for c in found.items}
    items = []
    for p, item in rows:
        c = by_item.get(item.id)
        items.append({"pledge": p.id, "item": item.id, "number": item.number, "kind": item.kind, "rank": p.rank,
                      "registration": p.registration.value, "registration_no": p.registration_no,
                      "registered_on": p.registered_on, "pledged_on": p.pledged_on,
                      "lendable": _money(c.lendable if c else Decimal(0)),
                      "prior": _money(c.prior if c else Decimal(0)),
                      "eligible": _money(c.eligible if c else Decimal(0)),
                      "ltv_max": format(c.ltv_max, "f") if c else "0",
                      "limit": _money(c.limit if c else Decimal(0))})
    return {"as_of": today, "exposure": _money(found.exposure), "eligible": _money(found.eligible),
            "limit": _money(found.limit), "ltv": format(found.ltv, "f") if found.ltv is not None else None,
            "ltv_limit": format(found.ltv_limit, "f") if found.ltv_limit is not None else None,
            "shortfall": _money(found.shortfall), "items": items}
