"""Village roster import (整村授信 花名册): households and their members become customer files of
the county bank, all or nothing, idempotent on (village, household, identity number).

A roster file (CSV in UTF-8 or GB18030, or .xlsx, read by ``core.importing``) has one row per
person: the village, group (村民小组), household number, identity number, name, relation to the
head, phone, income and segment, and the household's figures (land in mu, main business, assets),
which may stand on any member's row but must agree between the rows of one household.

Every row is checked first without the database (one head per household, figures that agree,
decimals that are decimals, a resident ID that is valid), then written through
``customers.services``: a new person is filed with ``create_customer`` (audited there), a person
already in the same household is updated, one on file outside any household is linked in, one in
another household is an error on their line. Any bad row stops the import and every bad row is
reported with its line (the header is line 1); nothing is written. A ``Village`` row per (county
bank, village name) is created on first import; one ``village.roster_import`` audit record counts
what the import did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.customers import services as customers
from nongxin.core.customers.importer import ImportRejected, ImportReport, RowError
from nongxin.core.customers.models import Customer, CustomerKind, Household, Relation
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NongxinError, invalid
from nongxin.core.importing import Row, Table
from nongxin.core.institutions.models import Institution
from nongxin.core.institutions.services import county_bank_of
from nongxin.core.permissions import Action, require
from nongxin.core.village.models import Village
from nongxin.sdk.errors import NongxinSdkError
from nongxin.sdk.identity import InvalidIdentity, validate_identity

COLUMNS = ("village", "group", "household_no", "id_number", "name", "relation", "phone", "land_mu",
           "main_business", "assets", "annual_income", "segment")
#: The household's figures: given on any member's row; the rows of one household must agree.
FIGURES = ("land_mu", "main_business", "assets")
DEFAULT_SEGMENT = "farmer"
#: The first key of the advisory lock that queues a county bank's roster imports.
LOCK_SPACE = 15_0001


@dataclass
class RosterReport:
    """What an import did (an all-or-nothing import that returns did all of it)."""

    villages_created: int = 0
    households_created: int = 0
    households_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    members_linked: int = 0
    rows: int = 0

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "villages_created": self.villages_created,
                "households_created": self.households_created, "households_updated": self.households_updated,
                "members_created": self.members_created, "members_updated": self.members_updated,
                "members_linked": self.members_linked}


@dataclass
class _Person:
    line: int
    id_number: str
    name: str
    relation: Relation
    phone: str
    income: Decimal | None
    segment: str


@dataclass
class _Household:
    village: str
    group: str
    number: str
    first_line: int
    people: list[_Person] = field(default_factory=list)
    land_mu: Decimal | None = None
    assets: Decimal | None = None
    main_business: str = ""
    figures_line: int | None = None  # the line the figures were first given on


def parse_land(value: str, field_name: str = "land_mu") -> Decimal | None:
    """Land in mu (亩) as a decimal string, at most two places, not negative; empty is unknown."""
    text = value.strip()
    if not text:
        return None
    try:
        area = Decimal(text.replace(",", ""))
    except ArithmeticError:
        raise invalid(field_name, f"{value!r} is not a decimal area in mu such as \"12.5\"") from None
    if not area.is_finite() or area < 0:
        raise invalid(field_name, "must be a finite area, not negative")
    if area != area.quantize(Decimal("0.01")) or area >= Decimal("10000000000"):
        raise invalid(field_name, "at most two decimal places and below 10,000,000,000 mu")
    return area.quantize(Decimal("0.01"))


def _person(row: Row, today: date | None) -> _Person:
    values = row.values
    try:
        number = validate_identity("resident_id", values["id_number"], today=today)
    except InvalidIdentity as exc:
        raise invalid("id_number", str(exc)) from None
    segment = values["segment"].strip() or DEFAULT_SEGMENT
    if not customers.SEGMENT_RE.match(segment):
        raise invalid("segment", "a lower-case name of letters, digits and '_' (farmer, salaried, merchant, ...)")
    return _Person(row.line, number, customers.checked_text("name", values["name"], Customer.name, required=True),
                   customers.parse_relation(values["relation"], "relation"),
                   customers.checked_text("phone", values["phone"], Customer.phone),
                   customers.parse_income(values["annual_income"]), segment)


def _figures(household: _Household, row: Row) -> None:
    """The household's figures from this row, if it gives any; a disagreement is this row's error."""
    values = row.values
    land = parse_land(values["land_mu"])
    assets = customers.parse_income(values["assets"], "assets")
    business = customers.checked_text("main_business", values["main_business"], Household.main_business)
    if land is None and assets is None and not business:
        return
    if household.figures_line is None:
        household.land_mu, household.assets, household.main_business = land, assets, business
        household.figures_line = row.line
        return
    if (land, assets, business) != (household.land_mu, household.assets, household.main_business):
        raise invalid("household", f"land_mu, assets or main_business disagree with line {household.figures_line} "
                      f"of household {household.number}")


def check_table(table: Table, *, today: date | None = None) -> tuple[list[_Household], list[RowError]]:
    """Every row checked without the database; the households in file order, and the bad rows."""
    errors: list[RowError] = []
    households: dict[tuple[str, str], _Household] = {}
    seen: dict[str, int] = {}
    for row in table.rows:
        if row.error:
            errors.append(RowError(row.line, row.error))
            continue
        try:
            village = customers.checked_text("village", row.values["village"], Household.village, required=True)
            number = customers.checked_text("household_no", row.values["household_no"], Household.household_no,
                                     required=True)
            group = customers.checked_text("group", row.values["group"], Household.group_name)
            person = _person(row, today)
            if (first := seen.get(person.id_number)) is not None:
                raise invalid("id_number", f"the same identity number as line {first}")
            house = households.setdefault((village, number), _Household(village, group, number, row.line))
            if house.group != group:
                raise invalid("group", f"household {number} of {village} is in group {house.group!r} "
                              f"(line {house.first_line})")
            head = next((p for p in house.people if p.relation is Relation.HEAD), None)
            if person.relation is Relation.HEAD and head is not None:
                raise invalid("relation", f"household {number} of {village} already has a head on line {head.line}")
            _figures(house, row)
        except NongxinError as exc:
            errors.append(RowError(row.line, exc.message))
            continue
        seen[person.id_number] = row.line
        house.people.append(person)
    for house in households.values():
        if house.people and not any(p.relation is Relation.HEAD for p in house.people):
            errors.append(RowError(house.first_line, f"relation: household {house.number} of {house.village} "
                                   "has no head (one member's relation must be head)"))
    errors.sort(key=lambda e: e.line)
    return list(households.values()), errors


def _village(uow: UnitOfWork, bank: Institution, grid: Institution, name: str, report: RosterReport) -> Village:
    session = uow.session
    stmt = sa.select(Village).where(Village.county_bank_id == bank.id, Village.name == name)
    village = session.execute(stmt.with_for_update()).scalar_one_or_none()
    if village is None:
        village = Village(county_bank_id=bank.id, grid_id=grid.id, name=name)
        session.add(village)
        session.flush()
        report.villages_created += 1
    return village


def _update(customer: Customer, person: _Person) -> bool:
    """The person's roster data onto their file; whether anything changed."""
    before = (customer.name, customer.phone, customer.relation, customer.annual_income, customer.segment)
    customer.name, customer.phone, customer.relation = person.name, person.phone, person.relation
    if person.income is not None:
        customer.annual_income = person.income
    customer.segment = person.segment
    return before != (customer.name, customer.phone, customer.relation, customer.annual_income, customer.segment)


def _member(uow: UnitOfWork, principal: Principal, house: _Household, person: _Person, bank: Institution,
            grid: Institution, manager: str, today: date | None, report: RosterReport) -> Customer:
    existing = customers.find_by_id_number(uow, bank.id, person.id_number)
    if existing is None:
        report.members_created += 1
        return customers.create_customer(uow, principal, customers.CustomerInput(
            kind="individual", id_number=person.id_number, name=person.name, grid=grid.code, manager=manager,
            phone=person.phone, segment=person.segment, annual_income=person.income,
            household=customers.HouseholdInput(house.village, house.group, house.number, person.relation.value)),
            today=today, action=Action.VILLAGE_IMPORT)
    if existing.kind is not CustomerKind.INDIVIDUAL:
        raise invalid("id_number", f"on file as customer {existing.id}, not an individual")
    current = existing.household
    if current is not None:
        if (current.village, current.household_no) != (house.village, house.number):
            raise invalid("id_number", f"customer {existing.id} is a member of household {current.household_no} "
                          f"of {current.village}")
        if person.relation is Relation.HEAD and existing.relation is not Relation.HEAD:
            other = uow.session.execute(sa.select(Customer.id).where(
                Customer.household_id == current.id, Customer.relation == Relation.HEAD,
                Customer.id != existing.id)).scalars().first()
            if other is not None:
                raise invalid("relation", f"household {house.number} of {house.village} already has a head: "
                              f"customer {other}")
        if _update(existing, person):
            report.members_updated += 1
        return existing
    existing.household, existing.relation = customers._household(
        uow, customers.HouseholdInput(house.village, house.group, house.number, person.relation.value), bank, grid)
    _update(existing, person)
    report.members_linked += 1
    return existing


def _existing_household(uow: UnitOfWork, bank: Institution, house: _Household) -> Household | None:
    return uow.session.execute(sa.select(Household).where(
        Household.county_bank_id == bank.id, Household.village == house.village,
        Household.household_no == house.number).with_for_update()).scalar_one_or_none()


def bank_lock(uow: UnitOfWork, bank: Institution) -> None:
    """Queue the roster imports of one county bank (PostgreSQL: a transaction advisory lock; SQLite's
    writers are serialized already): two imports of one roster at the same moment wait for each
    other, and the second updates what the first filed instead of failing on its identity numbers."""
    if uow.session.get_bind().dialect.name == "postgresql":
        uow.session.execute(sa.text("SELECT pg_advisory_xact_lock(:space, :bank)"),
                            {"space": LOCK_SPACE, "bank": bank.id})


def import_roster(uow: UnitOfWork, principal: Principal, table: Table, *, grid: str, manager: str, file_name: str,
                  today: date | None = None, progress: Callable[[int], None] | None = None) -> RosterReport:
    """Import every row or none: commits when every row is good, else raises ``ImportRejected``
    (422, ``fields`` keyed "line N") with the database as it was. The grid must be one the caller
    sees (404), the manager an active customer manager of its county bank (422)."""
    grid_inst = customers.visible_grid(uow, principal, grid)
    require(principal, Action.VILLAGE_IMPORT)
    bank = county_bank_of(uow.session, grid_inst)
    assert bank is not None  # a grid or branch always hangs under a county bank
    customers.customer_manager(uow, manager, bank)
    report = RosterReport(rows=len(table.rows))
    households, errors = check_table(table, today=today)
    if errors:
        raise ImportRejected(ImportReport(errors=errors))
    bank_lock(uow, bank)
    bad: list[RowError] = []
    for house in households:
        household = _existing_household(uow, bank, house)
        created = household is None
        members: list[Customer] = []
        for person in sorted(house.people, key=lambda p: p.relation is not Relation.HEAD):
            try:
                with uow.session.begin_nested():
                    members.append(_member(uow, principal, house, person, bank, grid_inst, manager, today, report))
            except NongxinError as exc:
                bad.append(RowError(person.line, exc.message))
            except NongxinSdkError as exc:
                bad.append(RowError(person.line, str(exc)))
            if progress:
                progress(1)
        if bad or not members:
            continue
        household = members[0].household
        assert household is not None
        village = _village(uow, bank, grid_inst, house.village, report)
        household.village_id = village.id
        if house.figures_line is not None:
            household.land_mu, household.assets = house.land_mu, house.assets
            household.main_business = house.main_business
        if created:
            report.households_created += 1
        else:
            report.households_updated += 1
    if bad:
        uow.rollback()
        bad.sort(key=lambda e: e.line)
        raise ImportRejected(ImportReport(errors=bad))
    uow.session.flush()
    record(uow.session, actor=principal.username, action="village.roster_import", target=f"grid:{grid_inst.code}",
           institution_code=bank.code, after={"file": file_name, "manager": manager, **report.counts()})
    uow.commit()
    return report
