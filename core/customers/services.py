"""Customer files: who may see which customer, filing and finding them, and the facts a decision
reads from a file.

Scope first (a customer outside the caller's subtree is 404, exactly like one that does not
exist), then the role (403 from the permission table). A county bank keeps one file per identity
number: a second one is 409 naming the first, also when two clerks file the same person at the
same moment (the database's unique constraint is the last word, and its refusal is read back as
the same 409). Every check the API's schemas make at the edge is made here again, so the CLI and
the importer refuse exactly what the API refuses; identity numbers in the audit trail are masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.customers.models import Customer, CustomerKind, Household, Relation
from nongxin.core.db import MAX_FEN, UnitOfWork
from nongxin.core.errors import Conflict, NotFound, field_error, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Level, Role, User
from nongxin.core.permissions import Action, may, require
from nongxin.core.schemas import CONTROL
from nongxin.sdk.identity import InvalidIdentity, birth_date, is_male, mask_identity, normalize, validate_identity
from nongxin.sdk.types import Applicant

#: A segment is a short lower-case name (farmer, salaried, merchant, ...), as products and
#: scorecards name theirs.
SEGMENT_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
#: The largest page a search returns.
MAX_PAGE = 500


@dataclass(frozen=True)
class HouseholdInput:
    """The household (户) an individual belongs to, and their relation to its head."""

    village: str  # 行政村
    group: str  # 村民小组
    household_no: str  # 户号
    relation: str  # head, spouse, child, parent, sibling, grandchild, other


@dataclass(frozen=True)
class CustomerInput:
    kind: str
    id_number: str
    name: str
    grid: str  # institution code of a grid or branch
    manager: str  # username of a customer manager of the same county bank
    phone: str = ""
    address: str = ""
    occupation: str = ""
    employer: str = ""
    segment: str | None = None
    annual_income: Decimal | str | None = None
    legal_representative: int | str | None = None  # a customer id, or an individual's resident ID
    household: HouseholdInput | None = None


# -- scope -----------------------------------------------------------------------------------

def visible_customer(uow: UnitOfWork, principal: Principal, customer_id: int,
                     action: Action = Action.CUSTOMER_READ) -> Customer:
    """The customer if the caller's subtree holds its grid, then the role check; else 404."""
    customer = uow.session.get(Customer, customer_id)
    if customer is None or not principal.can_see(customer.grid):
        raise NotFound(f"customer {customer_id} not found", fields={"customer": ["not found"]})
    require(principal, action)
    return customer


def find_by_id_number(uow: UnitOfWork, county_bank_id: int, id_number: str) -> Customer | None:
    return uow.session.execute(sa.select(Customer).where(
        Customer.county_bank_id == county_bank_id, Customer.id_number == id_number)).scalar_one_or_none()


def shows_full_id(principal: Principal) -> bool:
    """Whether the caller sees identity numbers whole (``customer.full_id``); others see them masked."""
    return may(principal, Action.CUSTOMER_FULL_ID)


def shown_id(principal: Principal, customer: Customer) -> str:
    """The customer's identity number as this caller may see it."""
    return customer.id_number if shows_full_id(principal) else mask_identity(customer.id_number, customer.kind.id_kind)


def visible_grid(uow: UnitOfWork, principal: Principal, code: str, field: str = "grid") -> Institution:
    """A grid or branch the caller sees: 404 naming ``field`` outside the subtree or when there
    is none, 422 when the code names another level (a customer is filed at a grid or branch)."""
    inst = institutions.get_by_code(uow.session, code)
    if inst is None or not principal.can_see(inst):
        raise NotFound(f"institution {code} not found", fields={field: ["not found"]})
    if inst.level not in (Level.GRID, Level.BRANCH):
        raise invalid(field, f"{code} is a {inst.level.value}; customers are filed at a grid or a branch")
    return inst


# -- filing ----------------------------------------------------------------------------------

def checked_text(field: str, value: str | None, column: InstrumentedAttribute[Any], *, required: bool = False) -> str:
    """A text field as stored: stripped, within its column's length, free of control characters;
    else 422 naming ``field`` (what the API's schemas refuse, for the console and files too)."""
    text = (value or "").strip()
    if required and not text:
        raise invalid(field, "must not be empty")
    length = column.property.columns[0].type.length
    if length and len(text) > length:
        raise invalid(field, f"at most {length} characters, got {len(text)}")
    bad = CONTROL.search(text)
    if bad:
        raise invalid(field, f"must not contain control, escape or bidi characters (found U+{ord(bad.group()):04X})")
    return text



def parse_kind(value: str) -> CustomerKind:
    try:
        return CustomerKind(value.strip().lower())
    except ValueError:
        raise invalid("kind", f"{value!r} is not one of {', '.join(k.value for k in CustomerKind)}") from None


def parse_relation(value: str, field: str = "household.relation") -> Relation:
    try:
        return Relation(value.strip().lower())
    except ValueError:
        raise invalid(field, f"{value!r} is not one of {', '.join(r.value for r in Relation)}") from None


def parse_income(value: Decimal | str | None, field: str = "annual_income") -> Decimal | None:
    """Yuan as a decimal string ("86000.00"): never a float, at most two places, not negative."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (Decimal, str)):
        raise invalid(field, f"must be a decimal string of yuan such as \"86000.00\", not {type(value).__name__}")
    try:
        amount = Decimal(value.strip().replace(",", "")) if isinstance(value, str) else value
    except InvalidOperation:
        raise invalid(field, f"{value!r} is not a decimal amount of yuan such as \"86000.00\"") from None
    if not amount.is_finite():
        raise invalid(field, "must be a finite amount")
    if amount < 0:
        raise invalid(field, "must not be negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise invalid(field, "at most two decimal places (fen)")
    if amount.scaleb(2) > MAX_FEN:
        raise invalid(field, "is beyond any real income")
    return amount.quantize(Decimal("0.01"))


def customer_manager(uow: UnitOfWork, username: str, bank: Institution, field: str = "manager") -> User:
    """The active customer manager ``username`` of ``bank``; else 422 naming ``field``."""
    user = uow.session.execute(sa.select(User).where(User.username == username.strip())).scalar_one_or_none()
    if (user is None or not user.active or user.role is not Role.CUSTOMER_MANAGER
            or not user.institution.path.startswith(bank.path)):
        raise invalid(field, f"{username!r} is not an active customer manager of {bank.code}")
    return user


def _legal_representative(uow: UnitOfWork, ref: int | str, bank: Institution) -> Customer:
    """An individual's file at the same bank, by customer id or by resident ID."""
    rep: Customer | None = None
    text = str(ref).strip()
    if isinstance(ref, int) or (text.isdigit() and len(text) < 18):
        rep = uow.session.get(Customer, int(text)) if int(text) < 2**31 else None
    elif text:
        rep = find_by_id_number(uow, bank.id, normalize(text))
    if rep is None or rep.county_bank_id != bank.id or rep.kind is not CustomerKind.INDIVIDUAL:
        raise invalid("legal_representative", f"{text!r} is not an individual customer of {bank.code}")
    return rep


def _household(uow: UnitOfWork, data: HouseholdInput, bank: Institution, grid: Institution) -> tuple[Household, Relation]:
    relation = parse_relation(data.relation)
    village = checked_text("household.village", data.village, Household.village, required=True)
    group = checked_text("household.group", data.group, Household.group_name)
    number = checked_text("household.household_no", data.household_no, Household.household_no, required=True)
    household = uow.session.execute(sa.select(Household).where(
        Household.county_bank_id == bank.id, Household.village == village,
        Household.household_no == number).with_for_update()).scalar_one_or_none()
    if household is None:
        household = Household(county_bank_id=bank.id, grid_id=grid.id, village=village, group_name=group,
                              household_no=number)
        uow.session.add(household)
        return household, relation
    if household.group_name != group:
        raise invalid("household.group", f"household {number} of {village} is in group {household.group_name!r}")
    if household.grid_id != grid.id:
        raise invalid("household", f"household {number} of {village} belongs to grid {household.grid.code}")
    if relation is Relation.HEAD:
        head = uow.session.execute(sa.select(Customer).where(
            Customer.household_id == household.id, Customer.relation == Relation.HEAD)).scalars().first()
        if head is not None:
            raise invalid("household.relation", f"household {number} of {village} already has a head: "
                          f"customer {head.id}")
    return household, relation


def duplicate(existing: Customer, bank: Institution) -> Conflict:
    """The 409 for a second file of one identity number, naming the first."""
    return Conflict(f"{bank.code} already has a file for this identity number: customer {existing.id}",
                    code="duplicate_customer",
                    fields={"id_number": [f"already on file as customer {existing.id}"]})


def create_customer(uow: UnitOfWork, principal: Principal, data: CustomerInput, *, today: date | None = None,
                    action: Action = Action.CUSTOMER_CREATE) -> Customer:
    """File one customer at a grid the caller sees; ``today`` (the business date) refuses a
    resident ID born after it. Flushed, audited, not committed."""
    session = uow.session
    grid = visible_grid(uow, principal, data.grid)
    require(principal, action)
    kind = parse_kind(data.kind)
    try:
        id_number = validate_identity(kind.id_kind, data.id_number, today=today)
    except InvalidIdentity as exc:
        raise field_error("id_number", exc) from None
    name = checked_text("name", data.name, Customer.name, required=True)
    bank = institutions.county_bank_of(session, grid)
    assert bank is not None  # a grid or branch always hangs under a county bank
    manager = customer_manager(uow, data.manager, bank)
    segment = checked_text("segment", data.segment, Customer.segment) or None
    if segment is not None and not SEGMENT_RE.match(segment):
        raise invalid("segment", "a lower-case name of letters, digits and '_' (farmer, salaried, merchant, ...)")
    income = parse_income(data.annual_income)
    rep: Customer | None = None
    if kind is CustomerKind.INDIVIDUAL:
        if data.legal_representative not in (None, ""):
            raise invalid("legal_representative", "only enterprises and individual businesses have one")
    elif data.legal_representative in (None, ""):
        raise invalid("legal_representative", f"an {kind.value} needs its legal representative "
                      "(an individual customer of the same bank)")
    else:
        rep = _legal_representative(uow, data.legal_representative, bank)
    if data.household is not None and kind is not CustomerKind.INDIVIDUAL:
        raise invalid("household", "only individuals belong to a household")
    existing = find_by_id_number(uow, bank.id, id_number)
    if existing is not None:
        raise duplicate(existing, bank)
    customer = Customer(
        county_bank=bank, grid=grid, manager=manager, kind=kind, id_number=id_number, name=name,
        phone=checked_text("phone", data.phone, Customer.phone), address=checked_text("address", data.address, Customer.address),
        occupation=checked_text("occupation", data.occupation, Customer.occupation),
        employer=checked_text("employer", data.employer, Customer.employer), segment=segment, annual_income=income,
        legal_representative=rep, created_by=principal.username)
    if kind is CustomerKind.INDIVIDUAL:
        customer.birth_date = birth_date(id_number)
        customer.sex = "male" if is_male(id_number) else "female"
    try:
        with session.begin_nested():
            if data.household is not None:
                customer.household, customer.relation = _household(uow, data.household, bank, grid)
            session.add(customer)
            session.flush()
    except IntegrityError:
        # Filed by someone else since the check above: their commit is visible now.
        existing = find_by_id_number(uow, bank.id, id_number)
        if existing is not None:
            raise duplicate(existing, bank) from None
        raise Conflict("the household or customer was changed by someone else at the same moment; try again",
                       code="concurrent_change") from None
    record(session, actor=principal.username, action="customer.create", target=f"customer:{customer.id}",
           institution_code=bank.code, after=audit_view(customer))
    return customer


def audit_view(customer: Customer) -> dict[str, Any]:
    """What the audit trail keeps of a file: the identity number masked."""
    household = customer.household
    return {
        "kind": customer.kind.value, "id_number": mask_identity(customer.id_number, customer.kind.id_kind),
        "name": customer.name, "grid": customer.grid.code, "manager": customer.manager.username,
        "segment": customer.segment,
        "annual_income": None if customer.annual_income is None else str(customer.annual_income),
        "legal_representative": customer.legal_representative_id,
        "household": None if household is None else {
            "village": household.village, "group": household.group_name, "household_no": household.household_no,
            "relation": customer.relation.value if customer.relation else None},
    }


# -- finding ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Search:
    name: str | None = None  # part of the name
    id_number: str | None = None  # the whole number (normalised)
    grid: str | None = None  # a grid or branch code: customers filed there or below
    manager: str | None = None  # the responsible customer manager's username
    limit: int = 50
    offset: int = 0


def search(uow: UnitOfWork, principal: Principal, query: Search) -> list[Customer]:
    """Customers of the caller's subtree matching every filter given, oldest first."""
    top = principal.institution_path
    if query.grid:
        inst = institutions.get_by_code(uow.session, query.grid.strip())
        if inst is None or not principal.can_see(inst):
            raise NotFound(f"institution {query.grid} not found", fields={"grid": ["not found"]})
        top = inst.path
    require(principal, Action.CUSTOMER_READ)
    stmt = (sa.select(Customer).join(Institution, Customer.grid_id == Institution.id)
            .where(Institution.path.startswith(top, autoescape=True)))
    if query.name and query.name.strip():
        stmt = stmt.where(Customer.name.icontains(query.name.strip(), autoescape=True))
    if query.id_number and query.id_number.strip():
        try:
            number = normalize(query.id_number)
        except InvalidIdentity:
            number = query.id_number.strip()
        stmt = stmt.where(Customer.id_number == number)
    if query.manager and query.manager.strip():
        stmt = stmt.join(User, Customer.manager_id == User.id).where(User.username == query.manager.strip())
    limit = max(1, min(query.limit, MAX_PAGE))
    stmt = stmt.order_by(Customer.id).limit(limit).offset(max(0, query.offset))
    return list(uow.session.execute(stmt).scalars())


def members(uow: UnitOfWork, household: Household) -> list[Customer]:
    """The household's members, the head first."""
    rows = uow.session.execute(sa.select(Customer).where(Customer.household_id == household.id)
                               .order_by(Customer.id)).scalars()
    return sorted(rows, key=lambda c: (c.relation is not Relation.HEAD, c.id))


# -- the contract the decision reads ---------------------------------------------------------

def applicant_of(customer: Customer) -> Applicant:
    """The customer as hooks and the bureau see it (never the ORM row)."""
    return Applicant(customer.kind.id_kind, customer.id_number, customer.name)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def customer_facts(customer: Customer, on: date) -> dict[str, Any]:
    """The admission facts a customer file provides on ``on`` (the business date): ``age``,
    ``annual_income`` (Decimal yuan) and the customer's own ``customer_segment``; and from the
    household's roster (整村授信) ``peer_review`` (the colour that stands), ``land_mu``,
    ``household_assets`` (Decimal yuan) and ``main_business``. A fact the file does not hold is
    absent, never guessed."""
    facts: dict[str, Any] = {"customer_kind": customer.kind.value}
    if customer.birth_date is not None:
        facts["age"] = age_on(customer.birth_date, on)
    if customer.annual_income is not None:
        facts["annual_income"] = customer.annual_income
    if customer.segment:
        facts["customer_segment"] = customer.segment
    if customer.household_id is not None:
        facts.update(household_facts(customer.household))
    return facts


def household_facts(household: Household | None) -> dict[str, Any]:
    """The admission facts of a household's roster; the pre-credit frame reads the same columns."""
    if household is None:
        return {}
    facts: dict[str, Any] = {}
    if household.peer_review:
        facts["peer_review"] = household.peer_review
    if household.land_mu is not None:
        facts["land_mu"] = household.land_mu
    if household.assets is not None:
        facts["household_assets"] = household.assets
    if household.main_business:
        facts["main_business"] = household.main_business
    return facts
