"""Collateral services every part of the module shares: finding an item in the caller's scope, the
county's terms for a kind, writing a valuation, and a credit line's cover on a day.

The promises:

* An item is seen only inside the caller's subtree (another county bank's item is 404, not 403),
  then the role from the permission table (403) (``visible_item``).
* A kind's haircut, maximum loan-to-value and revaluation interval are the parameters
  ``collateral.<kind>.haircut|ltv_max|revalue_days`` in force at the item's county bank: the
  province's defaults, tightened (never loosened) by a city or county (``terms``).
* A valuation is written only by ``record_valuation``, after every check, and audited in the same
  transaction: a positive value in whole fen no larger than ``sdk.collateral.MAX_VALUE``, dated
  no later than the business date, valid until a day not before it (default: the kind's
  revaluation interval later), by a method the kind allows and a known kind of valuer; a deposit
  is never valued above its balance. Valuations are append-only: a correction is a new valuation.
* A line's cover (eligible value, limit, loan-to-value, shortfall) is ``domain.covers`` over the
  line's active pledges, every other active pledge on the same items (for the ranks), each item's
  value on the day and each line's exposure (``cover_of_line``). The nightly scan computes the
  same figures set-wise; tests hold the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.collateral import domain
from nongxin.core.collateral.models import PERFECTED, CollateralItem, CollateralValuation, Pledge, PledgeStatus
from nongxin.core.credit.models import OPEN_STATUSES, CreditLine, Loan
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import ValidationFailed
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import value as parameter
from nongxin.core.permissions import Action
from nongxin.core.scoping import visible_row
from nongxin.sdk.collateral import MAX_VALUE, VALUATION_METHODS, VALUER_KINDS, Claim, Holding, kind_spec

__all__ = ["KindTerms", "cover_of_line", "exposures", "history", "holdings", "record_valuation", "terms",
           "visible_item"]

FEN = Decimal("0.01")


def visible_item(uow: UnitOfWork, principal: Principal, item_id: int, action: Action, *,
                 lock: bool = False) -> CollateralItem:
    """The item if the caller's subtree holds the institution that registered it; else 404.
    ``lock`` takes the item's row: pledges, releases and valuations of one item queue."""
    return visible_row(uow, principal, sa.select(CollateralItem).where(CollateralItem.id == item_id), action,
                       what=f"collateral item {item_id}", field="collateral", lock=lock)


@dataclass(frozen=True)
class KindTerms:
    """A kind's terms at a county bank on a day (fractions; days)."""

    haircut: Decimal
    ltv_max: Decimal
    revalue_days: int


def terms(session: Session, bank: Institution, kind: str, on: date) -> KindTerms:
    """The county bank's terms for ``kind`` on ``on`` (the province's, tightened below it)."""
    return KindTerms(Decimal(parameter(session, bank, f"collateral.{kind}.haircut", on)),
                     Decimal(parameter(session, bank, f"collateral.{kind}.ltv_max", on)),
                     int(parameter(session, bank, f"collateral.{kind}.revalue_days", on)))


def record_valuation(uow: UnitOfWork, item: CollateralItem, *, value: Any, method: str, valuer_kind: str,
                     valuer: str, valued_on: date, today: date, actor: str, valid_until: date | None = None,
                     note: str = "") -> CollateralValuation:
    """Write one valuation of ``item`` after the checks in the module's docstring; 422 naming every
    field at fault (``value``, ``method``, ``valuer_kind``, ``valuer``, ``valued_on``,
    ``valid_until``, ``note``)."""
    session = uow.session
    spec = kind_spec(item.kind)
    problems: dict[str, list[str]] = {}
    if isinstance(value, (bool, float)) or not isinstance(value, Decimal) or not value.is_finite():
        problems["value"] = ["must be a decimal amount of yuan (never a float)"]
    elif value <= 0 or value != value.quantize(FEN):
        problems["value"] = ["must be a positive amount of yuan in whole fen"]
    elif value > MAX_VALUE:
        problems["value"] = [f"must be at most {MAX_VALUE} yuan"]
    elif item.kind == "deposit" and value > Decimal(item.data.get("balance", "0")):
        problems["value"] = [f"{value} is above the deposit's balance of {item.data.get('balance')} yuan: a "
                             "deposit pledge is worth its balance at most"]
    if method not in spec.methods:
        known = ", ".join(f"{m} ({VALUATION_METHODS[m]})" for m in spec.methods)
        problems["method"] = [f"{method!r} is not a method for {item.kind}; one of: {known}"]
    if valuer_kind not in VALUER_KINDS:
        problems["valuer_kind"] = [f"{valuer_kind!r} is not a kind of valuer; one of: {', '.join(VALUER_KINDS)}"]
    valuer = (valuer or "").strip()
    if not valuer or len(valuer) > 100 or not valuer.isprintable():
        problems["valuer"] = ["who valued it: 1-100 visible characters"]
    if len(note) > 200:
        problems["note"] = ["at most 200 characters"]
    if valued_on > today:
        problems["valued_on"] = [f"{valued_on.isoformat()} is after the business date {today.isoformat()}: a "
                                 "valuation cannot be dated in the future"]
    bank = session.get(Institution, item.county_bank_id)
    assert bank is not None
    until = valid_until or valued_on + timedelta(days=terms(session, bank, item.kind, today).revalue_days)
    if until < valued_on:
        problems["valid_until"] = [f"{until.isoformat()} is before the valuation date {valued_on.isoformat()}"]
    if problems:
        detail = "; ".join(f"{name}: {' '.join(reasons)}" for name, reasons in problems.items())
        raise ValidationFailed(f"the valuation cannot be recorded: {detail}", fields=problems)
    row = CollateralValuation(item_id=item.id, value=value, method=method, valuer_kind=valuer_kind, valuer=valuer,
                              valued_on=valued_on, valid_until=until, note=note, recorded_by=actor)
    session.add(row)
    uow.flush()
    record(session, actor=actor, action="collateral.value", target=f"collateral:{item.number}",
           institution_code=bank.code,
           after={"value": format(value, "f"), "method": method, "valuer_kind": valuer_kind, "valuer": valuer,
                  "valued_on": valued_on.isoformat(), "valid_until": until.isoformat()})
    return row


def history(session: Session, item_ids: Iterable[int]) -> dict[int, list[domain.Valued]]:
    """Each item's valuations, oldest first."""
    ids = list(item_ids)
    found: dict[int, list[domain.Valued]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(sa.select(CollateralValuation.item_id, CollateralValuation.value,
                                     CollateralValuation.valued_on, CollateralValuation.valid_until)
                           .where(CollateralValuation.item_id.in_(ids))
                           .order_by(CollateralValuation.valued_on, CollateralValuation.id)).all()
    for row in rows:
        found[row.item_id].append(domain.Valued(row.value, row.valued_on, row.valid_until))
    return found


def exposures(session: Session, line_ids: Iterable[int]) -> dict[int, Decimal]:
    """Each line's exposure: the outstanding principal of its open loans (yuan)."""
    ids = list(line_ids)
    if not ids:
        return {}
    rows = session.execute(sa.select(Loan.credit_line_id, sa.func.sum(Loan.outstanding)).where(
        Loan.credit_line_id.in_(ids), Loan.status.in_(OPEN_STATUSES)).group_by(Loan.credit_line_id)).all()
    found = {i: Decimal("0.00") for i in ids}
    for line_id, amount in rows:  # SUM keeps the Money column's type: Decimal yuan
        found[line_id] = Decimal(amount or 0).quantize(FEN)
    return found


def holdings(session: Session, items: Iterable[CollateralItem], on: date) -> list[Holding]:
    """The items as lending sees them on ``on``: current value and their county bank's terms."""
    items = list(items)
    values = history(session, [i.id for i in items])
    banks: dict[int, Institution] = {}
    found = []
    for item in items:
        bank = banks.get(item.county_bank_id) or session.get(Institution, item.county_bank_id)
        assert bank is not None
        banks[item.county_bank_id] = bank
        kind_terms = terms(session, bank, item.kind, on)
        found.append(Holding(item.id, item.kind, domain.current_value(values[item.id], on), kind_terms.haircut,
                             kind_terms.ltv_max))
    return found


@dataclass(frozen=True)
class Position:
    """What ``domain.covers`` needs to judge one line: the items pledged to it, every active claim
    on those items (its own and other lines'), and each of those lines' exposure."""

    holdings: list[Holding]
    claims: list[Claim]
    exposures: dict[int, Decimal]


def position(session: Session, line: CreditLine, on: date, *, extra_exposure: Mapping[int, Decimal] = {}) -> Position:
    """The line's ``Position`` on ``on``; ``extra_exposure`` adds to lines' exposures (a drawdown
    being judged adds its amount to its own line)."""
    item_ids = session.execute(sa.select(Pledge.item_id).where(
        Pledge.credit_line_id == line.id, Pledge.status == PledgeStatus.PLEDGED)).scalars().all()
    pledges = session.execute(sa.select(Pledge).where(
        Pledge.item_id.in_(item_ids), Pledge.status == PledgeStatus.PLEDGED)).scalars().all() if item_ids else []
    claims = [Claim(p.item_id, p.credit_line_id, p.rank, p.registration in PERFECTED) for p in pledges]
    items = session.execute(sa.select(CollateralItem).where(CollateralItem.id.in_(item_ids))).scalars().all() \
        if item_ids else []
    found = exposures(session, {c.line_id for c in claims} | {line.id})
    for line_id, amount in extra_exposure.items():
        found[line_id] = found.get(line_id, Decimal("0.00")) + amount
    return Position(holdings(session, items, on), claims, found)


def cover_of_line(session: Session, line: CreditLine, on: date, *,
                  extra_exposure: Mapping[int, Decimal] = {}) -> domain.Cover:
    """The line's collateral cover on ``on`` (an empty cover when nothing is pledged to it)."""
    pos = position(session, line, on, extra_exposure=extra_exposure)
    return domain.covers(pos.holdings, pos.claims, pos.exposures).get(
        line.id, domain.Cover(line.id, pos.exposures.get(line.id, Decimal("0.00")), ()))
