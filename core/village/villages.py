"""Villages and credit villages (信用村): listing a caller's villages with their households, and
rating every village of a county bank against the county's thresholds, set-wise.

Scope first: a village is seen through its grid (another county's village is 404, like one that
does not exist), then the role. The figures of a rating come from a handful of grouped SQL queries
over all the villages rated at once, never a loop over households or loans:

* households: households on file in the village;
* credited: households with a member holding an ``active`` or ``frozen`` credit line at the bank;
* coverage (授信面) = credited / households;
* usage (用信率) = outstanding principal of the loans drawn on those lines / their total amount;
* NPL ratio = outstanding of the members' loans classed substandard, doubtful or loss
  (``early_warning.domain.NON_PERFORMING``) / outstanding of all the members' loans.

Ratios are ``Decimal`` with six places, rounded half-up (0 when the denominator is 0). A village
is a credit village when every threshold in force at its county bank (parameters
``village.credit_village.*``) is met; ``rate`` writes one ``VillageRating`` per village and
business date (a second rating that day replaces the first), keeps ``credit_village_since`` while
the village stays rated, and audits each change of status and the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit.models import CreditLine, CreditLineStatus, Loan
from nongxin.core.customers.models import Customer, Household, Relation
from nongxin.core.customers.services import shown_id
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.domain import NON_PERFORMING
from nongxin.core.early_warning.models import LoanClass
from nongxin.core.errors import NotFound, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Level
from nongxin.core.parameters.services import value as parameter
from nongxin.core.permissions import Action, require
from nongxin.core.scoping import page
from nongxin.core.village.models import COLOURS, Village, VillageRating

#: The county settings a rating reads, by the name a threshold goes by in ratings and reasons.
THRESHOLDS = {"min_households": "village.credit_village.min_households",
              "min_coverage": "village.credit_village.min_coverage",
              "min_usage": "village.credit_village.min_usage",
              "max_npl": "village.credit_village.max_npl"}
HELD = (CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN)
SIX = Decimal("0.000001")


# -- the pure part: figures and thresholds -----------------------------------------------------

def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """``part / whole`` to six places, half-up; 0 when ``whole`` is 0."""
    if not whole:
        return Decimal("0.000000")
    return (Decimal(part) / Decimal(whole)).quantize(SIX, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    households: int
    credited: int
    granted: Decimal  # total amount of the credited members' lines
    drawn: Decimal  # outstanding of the loans drawn on those lines
    outstanding: Decimal  # outstanding of all the members' loans at the bank
    non_performing: Decimal  # of which classed non-performing

    @property
    def coverage(self) -> Decimal:
        return ratio(self.credited, self.households)

    @property
    def usage(self) -> Decimal:
        return ratio(self.drawn, self.granted)

    @property
    def npl_ratio(self) -> Decimal:
        return ratio(self.non_performing, self.outstanding)


def missed(figures: Figures, thresholds: dict[str, Any]) -> list[str]:
    """Each threshold the figures miss, in words; empty: a credit village."""
    reasons = []
    if figures.households < thresholds["min_households"]:
        reasons.append(f"households {figures.households} below the minimum {thresholds['min_households']}")
    if figures.coverage < thresholds["min_coverage"]:
        reasons.append(f"coverage {figures.coverage} below the minimum {thresholds['min_coverage']}")
    if figures.usage < thresholds["min_usage"]:
        reasons.append(f"usage {figures.usage} below the minimum {thresholds['min_usage']}")
    if figures.npl_ratio > thresholds["max_npl"]:
        reasons.append(f"NPL ratio {figures.npl_ratio} above the maximum {thresholds['max_npl']}")
    return reasons


# -- the set-wise queries ----------------------------------------------------------------------

def _grouped(session: Any, stmt: sa.Select[Any]) -> dict[int, Any]:
    return {row[0]: row[1] for row in session.execute(stmt)}


def household_counts(session: Any, village_ids: sa.Select[Any]) -> dict[int, int]:
    return _grouped(session, sa.select(Household.village_id, sa.func.count(Household.id))
                    .where(Household.village_id.in_(village_ids)).group_by(Household.village_id))


def colour_counts(session: Any, village_ids: sa.Select[Any]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for village_id, colour, count in session.execute(
            sa.select(Household.village_id, Household.peer_review, sa.func.count(Household.id))
            .where(Household.village_id.in_(village_ids), Household.peer_review.is_not(None))
            .group_by(Household.village_id, Household.peer_review)):
        out.setdefault(village_id, {})[colour] = count
    return out


def _members_lines(village_ids: sa.Select[Any]) -> sa.Select[Any]:
    """(village, household, line) of every held line of a member of a household of those villages."""
    return (sa.select(Household.village_id.label("village_id"), Household.id.label("household_id"),
                      CreditLine.id.label("line_id"), CreditLine.amount.label("amount"))
            .join(Customer, Customer.household_id == Household.id)
            .join(CreditLine, sa.and_(CreditLine.customer_id == Customer.id,
                                      CreditLine.county_bank_id == Household.county_bank_id))
            .where(Household.village_id.in_(village_ids), CreditLine.status.in_(HELD)))


def credited_counts(session: Any, village_ids: sa.Select[Any]) -> dict[int, int]:
    held = _members_lines(village_ids).subquery()
    return _grouped(session, sa.select(held.c.village_id, sa.func.count(sa.distinct(held.c.household_id)))
                    .group_by(held.c.village_id))


def figures(session: Any, village_ids: sa.Select[Any]) -> dict[int, Figures]:
    """Every figure of every village ``village_ids`` selects: five grouped queries in all."""
    held = _members_lines(village_ids).subquery()
    households = household_counts(session, village_ids)
    credited = _grouped(session, sa.select(held.c.village_id, sa.func.count(sa.distinct(held.c.household_id)))
                        .group_by(held.c.village_id))
    granted = _grouped(session, sa.select(held.c.village_id, sa.func.sum(held.c.amount)).group_by(held.c.village_id))
    drawn = _grouped(session, sa.select(held.c.village_id, sa.func.sum(Loan.outstanding))
                     .join(Loan, Loan.credit_line_id == held.c.line_id).group_by(held.c.village_id))
    loans = (sa.select(Household.village_id, sa.func.sum(Loan.outstanding),
                       sa.func.sum(sa.case((LoanClass.tier.in_(sorted(NON_PERFORMING)), Loan.outstanding), else_=None)))
             .join(Customer, Customer.household_id == Household.id)
             .join(Loan, sa.and_(Loan.customer_id == Customer.id, Loan.county_bank_id == Household.county_bank_id))
             .outerjoin(LoanClass, LoanClass.loan_id == Loan.id)
             .where(Household.village_id.in_(village_ids)).group_by(Household.village_id))
    owed = {row[0]: (row[1], row[2]) for row in session.execute(loans)}
    zero = Decimal("0.00")
    ids = session.execute(village_ids).scalars().all()
    return {v: Figures(households.get(v, 0), credited.get(v, 0), granted.get(v) or zero, drawn.get(v) or zero,
                       owed.get(v, (zero, zero))[0] or zero, owed.get(v, (zero, zero))[1] or zero) for v in ids}


# -- scope -------------------------------------------------------------------------------------

def _scope(uow: UnitOfWork, principal: Principal, code: str | None, field: str = "institution") -> Institution:
    if not code:
        inst = uow.session.execute(sa.select(Institution).where(
            Institution.path == principal.institution_path)).scalar_one()
        return inst
    inst = institutions.get_by_code(uow.session, code.strip())
    if inst is None or not principal.can_see(inst):
        raise NotFound(f"institution {code} not found", fields={field: ["not found"]})
    return inst


def _in(top: Institution) -> sa.Select[Any]:
    """The ids of the villages whose grid lies under ``top``."""
    return (sa.select(Village.id).join(Institution, Institution.id == Village.grid_id)
            .where(Institution.path.startswith(top.path, autoescape=True)))


def visible_village(uow: UnitOfWork, principal: Principal, village_id: int, action: Action = Action.VILLAGE_READ,
                    *, lock: bool = False) -> Village:
    """The village if the caller's subtree holds its grid (else 404), then the role."""
    stmt = sa.select(Village).where(Village.id == village_id)
    village = uow.session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    grid = uow.session.get(Institution, village.grid_id) if village is not None else None
    if village is None or grid is None or not principal.can_see(grid):
        raise NotFound(f"village {village_id} not found", fields={"village": ["not found"]})
    require(principal, action)
    return village


# -- reading -----------------------------------------------------------------------------------

def summaries(uow: UnitOfWork, principal: Principal, code: str | None, *, credit_only: bool = False,
              limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The villages under ``code`` (default: the caller's institution), by name, with households
    on file, reviewed households by colour, credited households and the credit-village flag."""
    top = _scope(uow, principal, code)
    require(principal, Action.VILLAGE_READ)
    session = uow.session
    stmt = (sa.select(Village, Institution.code).join(Institution, Institution.id == Village.grid_id)
            .where(Institution.path.startswith(top.path, autoescape=True)))
    if credit_only:
        stmt = stmt.where(Village.credit_village.is_(True))
    rows = session.execute(page(stmt.order_by(Village.name, Village.id), limit, offset)).all()
    ids = sa.select(Village.id).where(Village.id.in_([v.id for v, _ in rows]))
    households, colours, credited = (household_counts(session, ids), colour_counts(session, ids),
                                     credited_counts(session, ids))
    banks = {row[0]: row[1] for row in session.execute(sa.select(Institution.id, Institution.code).where(
        Institution.id.in_({v.county_bank_id for v, _ in rows})))}
    return [{"id": v.id, "name": v.name, "county_bank": banks[v.county_bank_id], "grid": grid,
             "households": households.get(v.id, 0),
             "reviewed": {c: colours.get(v.id, {}).get(c, 0) for c in COLOURS},
             "credited": credited.get(v.id, 0), "credit_village": v.credit_village,
             "credit_village_since": v.credit_village_since} for v, grid in rows]


def details(uow: UnitOfWork, principal: Principal, village_id: int) -> dict[str, Any]:
    """One village with its households: number, group, head (identity number as the caller may
    see it), members, figures and colour."""
    village = visible_village(uow, principal, village_id)
    session = uow.session
    ids = sa.select(Village.id).where(Village.id == village.id)
    summary = {"households": household_counts(session, ids).get(village.id, 0),
               "credited": credited_counts(session, ids).get(village.id, 0)}
    houses = session.execute(sa.select(Household).where(Household.village_id == village.id)
                             .order_by(Household.group_name, Household.household_no)).scalars().all()
    heads = {c.household_id: c for c in session.execute(sa.select(Customer).where(
        Customer.household_id.in_([h.id for h in houses]), Customer.relation == Relation.HEAD)).scalars()}
    sizes = _grouped(session, sa.select(Customer.household_id, sa.func.count(Customer.id))
                     .where(Customer.household_id.in_([h.id for h in houses])).group_by(Customer.household_id))
    grid = session.get(Institution, village.grid_id)
    bank = session.get(Institution, village.county_bank_id)
    assert grid is not None and bank is not None
    return {"id": village.id, "name": village.name, "county_bank": bank.code, "grid": grid.code,
            "credit_village": village.credit_village, "credit_village_since": village.credit_village_since,
            **summary,
            "household_list": [{
                "id": h.id, "household_no": h.household_no, "group": h.group_name,
                "head": None if h.id not in heads else {"id": heads[h.id].id, "name": heads[h.id].name,
                                                        "id_number": shown_id(principal, heads[h.id])},
                "members": sizes.get(h.id, 0), "land_mu": h.land_mu, "assets": h.assets,
                "main_business": h.main_business, "colour": h.peer_review} for h in houses]}


def ratings(uow: UnitOfWork, principal: Principal, village_id: int) -> list[VillageRating]:
    """A village's ratings, newest first."""
    village = visible_village(uow, principal, village_id)
    return list(uow.session.execute(sa.select(VillageRating).where(VillageRating.village_id == village.id)
                                    .order_by(VillageRating.business_date.desc(), VillageRating.id.desc()))
                .scalars())


# -- rating ------------------------------------------------------------------------------------

def thresholds_at(uow: UnitOfWork, bank: Institution, on: date) -> dict[str, Any]:
    return {key: parameter(uow.session, bank, name, on) for key, name in THRESHOLDS.items()}


def rate(uow: UnitOfWork, principal: Principal, *, institution: str | None = None, village_id: int | None = None,
         today: date) -> list[VillageRating]:
    """Rate every village of a county bank (``institution``, its code) or one village: one
    ``VillageRating`` each for ``today`` (replacing that day's earlier one), the villages' status
    set and each change audited. Flushed and audited, not committed."""
    session = uow.session
    if (institution is None) == (village_id is None):
        raise invalid("institution", "give a county bank (institution) or a village, not both")
    if village_id is not None:
        one = visible_village(uow, principal, village_id, Action.VILLAGE_RATE, lock=True)
        bank = session.get(Institution, one.county_bank_id)
        assert bank is not None
        selected = sa.select(Village.id).where(Village.id == one.id)
    else:
        bank = _scope(uow, principal, institution)
        require(principal, Action.VILLAGE_RATE)
        if bank.level is not Level.COUNTY:
            raise invalid("institution", f"{bank.code} is a {bank.level.value}; credit villages are rated per county bank")
        selected = sa.select(Village.id).where(Village.county_bank_id == bank.id)
    villages = session.execute(sa.select(Village).where(Village.id.in_(selected)).order_by(Village.id)
                               .with_for_update()).scalars().all()
    limits = thresholds_at(uow, bank, today)
    shown = {k: str(v) for k, v in limits.items()}
    numbers = figures(session, selected)
    session.execute(sa.delete(VillageRating).where(VillageRating.village_id.in_(selected),
                                                   VillageRating.business_date == today))
    written: list[VillageRating] = []
    changed = 0
    for village in villages:
        f = numbers[village.id]
        reasons = missed(f, limits)
        rated = not reasons
        rating = VillageRating(village_id=village.id, county_bank_id=bank.id, business_date=today,
                               households=f.households, credited=f.credited, coverage=f.coverage, usage=f.usage,
                               npl_ratio=f.npl_ratio, credit_village=rated, thresholds=shown, reasons=reasons,
                               rated_by=principal.username)
        session.add(rating)
        written.append(rating)
        if rated != village.credit_village:
            changed += 1
            before = {"credit_village": village.credit_village, "since": _iso(village.credit_village_since)}
            village.credit_village = rated
            village.credit_village_since = today if rated else None
            record(session, actor=principal.username, action="village.credit_village", target=f"village:{village.id}",
                   institution_code=bank.code, before=before,
                   after={"credit_village": rated, "since": _iso(village.credit_village_since), "reasons": reasons,
                          "coverage": str(f.coverage), "usage": str(f.usage), "npl_ratio": str(f.npl_ratio)})
    session.flush()
    record(session, actor=principal.username, action="village.rate",
           target=f"village:{village_id}" if village_id is not None else f"institution:{bank.code}",
           institution_code=bank.code,
           after={"business_date": today.isoformat(), "villages": len(written),
                  "credit_villages": sum(r.credit_village for r in written), "changed": changed, "thresholds": shown})
    return written


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def rating_json(rating: VillageRating) -> dict[str, Any]:
    return {"id": rating.id, "village": rating.village_id, "business_date": rating.business_date,
            "households": rating.households, "credited": rating.credited, "coverage": rating.coverage,
            "usage": rating.usage, "npl_ratio": rating.npl_ratio, "credit_village": rating.credit_village,
            "thresholds": rating.thresholds, "reasons": rating.reasons, "rated_by": rating.rated_by}
