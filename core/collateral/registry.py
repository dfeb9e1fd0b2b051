"""The collateral registry (押品登记): registering items, listing and showing them, valuing them by
hand, and telling what each kind needs and lends.

The promises:

* ``register`` writes an item only after every check, in one transaction with its audit record and
  its optional first valuation: the institution (default: the caller's) lies in the caller's
  subtree and under a county bank (404 naming ``institution`` otherwise, then 403); the owner is a
  customer of that county bank the caller sees (404 naming ``owner``); the kind is known and its
  fields pass ``sdk.collateral.check_fields`` (422 naming ``kind`` and every ``fields.<name>`` at
  fault, all at once); the declared value is a positive amount in whole fen no larger than
  ``MAX_VALUE`` and, for a deposit, not above its balance (422 naming ``declared_value``); one
  county bank holds one item per kind and key field (409 ``duplicate_collateral`` naming the item
  registered first), also when two registrations race (the unique constraint decides, never a 500).
  A refused first valuation (422 naming ``valuation.<field>``) leaves nothing written.
* ``list_items`` and ``details`` show only items registered inside the caller's subtree (another
  county bank's item is 404 and never listed); an owner's identity number is masked unless the
  caller's role sees it whole.
* ``value_item`` records a manual valuation (``internal`` or ``external``) through
  ``services.record_valuation``; automatic (``plugin``) values come only from the valuer hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.collateral import domain, services
from nongxin.core.collateral.models import CollateralItem, CollateralValuation, Pledge, PledgeStatus
from nongxin.core.credit.applications import next_number
from nongxin.core.credit.models import CreditLine
from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import shown_id
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, NotFound, ValidationFailed
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import in_force
from nongxin.core.permissions import Action, require
from nongxin.core.scoping import PAGE, in_subtree, page
from nongxin.sdk.collateral import KINDS, MAX_VALUE, VALUATION_METHODS, VALUER_KINDS, check_fields, kind_spec

__all__ = ["ItemFilters", "RegisterRequest", "ValuationRequest", "details", "kinds", "list_items", "register",
           "summary", "valuations", "value_item"]

FEN = Decimal("0.01")
#: Valuers a person may record; ``plugin`` values come only from ``nongxin_value_collateral``.
MANUAL_VALUERS = ("internal", "external")


@dataclass(frozen=True)
class ValuationRequest:
    value: Any
    method: str
    valuer: str
    valued_on: date
    valuer_kind: str = "internal"
    valid_until: date | None = None
    note: str = ""


@dataclass(frozen=True)
class RegisterRequest:
    kind: str
    owner: int
    fields: Mapping[str, Any]
    declared_value: Any = None  # default: the first valuation's value
    institution: str | None = None  # default: the caller's
    description: str = ""
    valuation: ValuationRequest | None = None


def _money(amount: Decimal) -> str:
    return format(Decimal(amount).quantize(FEN), "f")


def _bank_of(session: Any, inst: Institution, field_name: str = "institution") -> Institution:
    bank = institutions.county_bank_of(session, inst)
    if bank is None:
        raise ValidationFailed(f"{inst.code} is above the county banks: collateral is registered at a county "
                               "bank or one of its branches", fields={field_name: ["not at a county bank"]})
    return bank


def _amount_problem(value: Any) -> str | None:
    if isinstance(value, (bool, float)) or not isinstance(value, Decimal) or not value.is_finite():
        return "must be a decimal amount of yuan (never a float)"
    if value <= 0 or value != value.quantize(FEN):
        return "must be a positive amount of yuan in whole fen"
    if value > MAX_VALUE:
        return f"must be at most {MAX_VALUE} yuan"
    return None


def _duplicate(existing: CollateralItem, key: str) -> Conflict:
    return Conflict(f"this {existing.kind} is registered already as {existing.number}",
                    code="duplicate_collateral", fields={f"fields.{key}": [f"registered already as {existing.number}"]})


def _existing(uow: UnitOfWork, bank: Institution, kind: str, identifier: str) -> CollateralItem | None:
    return uow.session.execute(sa.select(CollateralItem).where(
        CollateralItem.county_bank_id == bank.id, CollateralItem.kind == kind,
        CollateralItem.identifier == identifier)).scalar_one_or_none()


def register(uow: UnitOfWork, principal: Principal, request: RegisterRequest, today: date) -> CollateralItem:
    """Register one item (and its first valuation when given); see the module's promises."""
    session = uow.session
    inst = institutions.visible_for(session, principal, request.institution or principal.institution_code,
                                    Action.COLLATERAL_REGISTER)
    bank = _bank_of(session, inst)
    owner = (session.get(Customer, request.owner)
             if isinstance(request.owner, int) and not isinstance(request.owner, bool) else None)
    if owner is None or owner.county_bank_id != bank.id or not principal.can_see(owner.grid):
        raise NotFound(f"customer {request.owner} not found at {bank.code}", fields={"owner": ["not found"]})
    problems: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    if request.kind not in KINDS:
        problems["kind"] = [f"{request.kind!r} is not a kind of collateral; one of: {', '.join(KINDS)}"]
    else:
        clean, found = check_fields(request.kind, request.fields)
        problems.update({f"fields.{name}": reasons for name, reasons in found.items()})
    declared, named = request.declared_value, "declared_value"
    if declared is None and request.valuation is not None:  # the first valuation's value, checked as it
        declared, named = request.valuation.value, "valuation.value"
    if declared is None and request.kind == "deposit" and "balance" in clean:
        declared = Decimal(clean["balance"])
    if declared is None:
        problems["declared_value"] = ["required (or give a first valuation)"]
    elif (why := _amount_problem(declared)) is not None:
        problems[named] = [why]
    elif request.kind == "deposit" and "balance" in clean and declared > Decimal(clean["balance"]):
        problems[named] = [f"{declared} is above the deposit's balance of {clean['balance']} yuan: a deposit "
                           "pledge is worth its balance at most"]
    description = (request.description or "").strip()
    if len(description) > 200 or not description.isprintable():
        problems["description"] = ["at most 200 visible characters"]
    if problems:
        detail = "; ".join(f"{name}: {' '.join(reasons)}" for name, reasons in problems.items())
        raise ValidationFailed(f"the collateral cannot be registered: {detail}", fields=problems)
    spec = kind_spec(request.kind)
    identifier = clean[spec.key]
    number = next_number(uow, bank, today.year, "K", CollateralItem.number)  # locks the bank's row
    existing = _existing(uow, bank, spec.code, identifier)
    if existing is not None:
        raise _duplicate(existing, spec.key)
    item = CollateralItem(number=number, county_bank_id=bank.id, institution_id=inst.id, owner_id=owner.id,
                          kind=spec.code, identifier=identifier, description=description,
                          declared_value=declared, data=clean, registered_by=principal.username)
    try:
        with session.begin_nested():  # a concurrent registration of the same key: its row wins, this is a 409
            session.add(item)
    except IntegrityError:
        existing = _existing(uow, bank, spec.code, identifier)
        if existing is None:
            raise
        raise _duplicate(existing, spec.key) from None
    record(session, actor=principal.username, action="collateral.register", target=f"collateral:{item.number}",
           institution_code=bank.code,
           after={"kind": item.kind, "identifier": identifier, "owner": owner.id, "institution": inst.code,
                  "declared_value": _money(declared)})
    if request.valuation is not None:
        _value(uow, principal, item, request.valuation, today, prefix="valuation.")
    return item


def _value(uow: UnitOfWork, principal: Principal, item: CollateralItem, request: ValuationRequest, today: date, *,
           prefix: str = "") -> CollateralValuation:
    if request.valuer_kind not in MANUAL_VALUERS:
        known = ", ".join(f"{k} ({VALUER_KINDS[k]})" for k in MANUAL_VALUERS)
        raise ValidationFailed(f"{request.valuer_kind!r} cannot be recorded by hand: automatic values come only "
                               f"from the valuer plugin; one of: {known}",
                               fields={f"{prefix}valuer_kind": [f"one of: {', '.join(MANUAL_VALUERS)}"]})
    try:
        return services.record_valuation(uow, item, value=request.value, method=request.method,
                                         valuer_kind=request.valuer_kind, valuer=request.valuer,
                                         valued_on=request.valued_on, today=today, actor=principal.username,
                                         valid_until=request.valid_until, note=request.note)
    except ValidationFailed as exc:
        if not prefix:
            raise
        raise ValidationFailed(exc.message, fields={f"{prefix}{k}": v for k, v in exc.fields.items()}) from None


def value_item(uow: UnitOfWork, principal: Principal, item_id: int, request: ValuationRequest,
               today: date) -> CollateralValuation:
    """Record a manual valuation of the item (under its lock)."""
    item = services.visible_item(uow, principal, item_id, Action.COLLATERAL_VALUE, lock=True)
    return _value(uow, principal, item, request, today)


# -- reading ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemFilters:
    institution: str | None = None
    customer_id: int | None = None
    line_id: int | None = None
    kind: str | None = None
    limit: int = PAGE
    offset: int = 0


def list_items(uow: UnitOfWork, principal: Principal, filters: ItemFilters = ItemFilters()) -> list[CollateralItem]:
    """Items registered in the caller's subtree (or under ``institution``), newest first."""
    require(principal, Action.COLLATERAL_READ)
    stmt = in_subtree(sa.select(CollateralItem), CollateralItem.institution_id, principal.institution_path)
    if filters.institution is not None:
        inst = institutions.visible(uow.session, principal, filters.institution)
        stmt = stmt.where(Institution.path.startswith(inst.path, autoescape=True))
    if filters.kind is not None:
        if filters.kind not in KINDS:
            raise ValidationFailed(f"{filters.kind!r} is not a kind of collateral",
                                   fields={"kind": [f"one of: {', '.join(KINDS)}"]})
        stmt = stmt.where(CollateralItem.kind == filters.kind)
    if filters.customer_id is not None:
        stmt = stmt.where(CollateralItem.owner_id == filters.customer_id)
    if filters.line_id is not None:
        stmt = stmt.where(CollateralItem.id.in_(sa.select(Pledge.item_id).where(
            Pledge.credit_line_id == filters.line_id, Pledge.status == PledgeStatus.PLEDGED)))
    stmt = page(stmt.order_by(CollateralItem.id.desc()), filters.limit, filters.offset)
    return list(uow.session.execute(stmt).scalars())


def summary(uow: UnitOfWork, principal: Principal, item: CollateralItem, today: date) -> dict[str, Any]:
    """What a listing tells of an item, JSON-ready: its current value on ``today`` (zero when no
    valuation is valid then), the latest valuation's dates, and its active pledges."""
    session = uow.session
    spec = kind_spec(item.kind)
    history = services.history(session, [item.id])[item.id]
    made = [v for v in history if v.valued_on <= today]
    latest = made[-1] if made else None
    pledges = session.execute(sa.select(sa.func.count()).select_from(Pledge).where(
        Pledge.item_id == item.id, Pledge.status == PledgeStatus.PLEDGED)).scalar_one()
    where = session.get(Institution, item.institution_id)
    bank = session.get(Institution, item.county_bank_id)
    owner = item.owner
    return {
        "id": item.id, "number": item.number, "kind": item.kind, "kind_label": spec.label,
        "identifier": item.identifier, "description": item.description,
        "institution": where.code if where else "", "county_bank": bank.code if bank else "",
        "owner": {"id": owner.id, "kind": owner.kind.value, "name": owner.name, "id_number": shown_id(principal, owner)},
        "declared_value": _money(item.declared_value),
        "value": _money(domain.current_value(history, today)),
        "valued_on": latest.valued_on if latest else None, "valid_until": latest.valid_until if latest else None,
        "expired": latest is None or latest.valid_until < today,
        "active_pledges": int(pledges), "registered_by": item.registered_by, "created_at": item.created_at,
    }


def valuations(uow: UnitOfWork, principal: Principal, item_id: int) -> list[dict[str, Any]]:
    """The item's valuations, newest first."""
    item = services.visible_item(uow, principal, item_id, Action.COLLATERAL_READ)
    return _valuations(uow, item)


def _valuations(uow: UnitOfWork, item: CollateralItem) -> list[dict[str, Any]]:
    rows = uow.session.execute(sa.select(CollateralValuation).where(CollateralValuation.item_id == item.id).order_by(
        CollateralValuation.valued_on.desc(), CollateralValuation.id.desc())).scalars()
    return [{"id": v.id, "value": _money(v.value), "method": v.method, "method_label": VALUATION_METHODS.get(v.method, ""),
             "valuer_kind": v.valuer_kind, "valuer": v.valuer, "valued_on": v.valued_on, "valid_until": v.valid_until,
             "note": v.note, "recorded_by": v.recorded_by, "created_at": v.created_at} for v in rows]


def details(uow: UnitOfWork, principal: Principal, item: CollateralItem, today: date) -> dict[str, Any]:
    """The item's summary, its fields, valuation history (newest first) and pledges (oldest first)."""
    shown = summary(uow, principal, item, today)
    shown["fields"] = dict(item.data)
    shown["valuations"] = _valuations(uow, item)
    rows = uow.session.execute(sa.select(Pledge, CreditLine.number).join(
        CreditLine, CreditLine.id == Pledge.credit_line_id).where(Pledge.item_id == item.id).order_by(Pledge.id)).all()
    shown["pledges"] = [{"id": p.id, "line": number, "line_id": p.credit_line_id, "rank": p.rank,
                         "status": p.status.value, "registration": p.registration.value,
                         "registration_no": p.registration_no, "registered_on": p.registered_on,
                         "pledged_on": p.pledged_on, "released_on": p.released_on} for p, number in rows]
    return shown


def kinds(uow: UnitOfWork, principal: Principal, institution: str | None, today: date) -> dict[str, Any]:
    """Every kind with its fields, methods and the terms in force at the institution's county bank
    (the caller's institution by default; above the county banks, the terms there)."""
    session = uow.session
    inst = institutions.visible_for(session, principal, institution or principal.institution_code,
                                    Action.COLLATERAL_READ)
    at = institutions.county_bank_of(session, inst) or inst
    shown = []
    for spec in KINDS.values():
        terms: dict[str, Any] = {}
        for name in ("haircut", "ltv_max", "revalue_days"):
            found = in_force(session, at, f"collateral.{spec.code}.{name}", today)
            terms[name] = found.value if name == "revalue_days" else found.text
            terms[f"{name}_source"] = found.source
        shown.append({"kind": spec.code, "label": spec.label, "key": spec.key, "registrable": spec.registrable,
                      "guarantee": spec.guarantee,
                      "fields": [{"name": f.name, "label": f.label, "required": f.required} for f in spec.fields],
                      "methods": [{"code": m, "label": VALUATION_METHODS[m]} for m in spec.methods], **terms})
    return {"institution": inst.code, "county_bank": at.code, "on": today, "kinds": shown}
