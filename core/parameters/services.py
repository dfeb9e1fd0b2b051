"""Reading and setting dated parameters.

The value of a parameter at an institution on a day is the nearest row on its ancestry (the
institution itself first, then its county bank, city, province) dated on or before the day; without
one, the registry's default. For a tighten-only parameter (``Parameter.tighten``) it is instead the
tightest of each ancestor's latest row (the default standing in for the province when it set none):
so a county's value never becomes looser than the province's, even when the province tightens after
the county set its own.

Setting a value adds a row (the past is never rewritten: ``effective_from`` is the business date or
later, so a decision re-read later finds the parameters it used), checked here for the API and the
CLI alike: a known name, a value the registry parses, an institution at a level the parameter may be
set at, and for a tighten-only parameter a value no looser than the one in force above on that day.
Each change is audited in the same transaction; two concurrent sets of the same (name, institution,
day) give one row and a 409, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork, as_utc
from nongxin.core.errors import Conflict, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.models import ParameterValue
from nongxin.core.parameters.registry import PARAMETERS, Parameter
from nongxin.core.permissions import Action, require

__all__ = ["InForce", "Lpr", "ParameterRow", "history", "in_force", "listing", "lpr", "parameter", "set_value",
           "value"]

DEFAULT = "default"


def parameter(name: str) -> Parameter:
    try:
        return PARAMETERS[name]
    except KeyError:
        raise invalid("name", f"{name!r} is not a parameter; known: {', '.join(PARAMETERS)}") from None


def _ancestry_ids(institution: Institution) -> list[int]:
    """Ids from the institution up to the province (the materialized path, reversed)."""
    return [int(x) for x in reversed(institution.path.strip("/").split("/")) if x]


@dataclass(frozen=True)
class InForce:
    """A parameter's value at an institution on a day, and where it comes from: the code of the
    institution whose row answers (with that row's ``effective_from``), or "default"."""

    parameter: Parameter
    value: Any
    source: str
    effective_from: date | None

    @property
    def text(self) -> str:
        return self.parameter.text(self.value)


def in_force(session: Session, institution: Institution, name: str, on: date) -> InForce:
    """The value of ``name`` in force at ``institution`` on ``on``, with its source."""
    spec = parameter(name)
    ids = _ancestry_ids(institution)
    rows = session.execute(sa.select(ParameterValue.institution_id, ParameterValue.value,
                                     ParameterValue.effective_from).where(
        ParameterValue.name == name, ParameterValue.institution_id.in_(ids),
        ParameterValue.effective_from <= on).order_by(ParameterValue.effective_from.desc())).all()
    latest: dict[int, Any] = {}
    for row in rows:  # newest first: the first row of each institution is its value that day
        latest.setdefault(row.institution_id, row)
    codes: dict[int, str] = dict(session.execute(sa.select(Institution.id, Institution.code).where(
        Institution.id.in_(latest))).all()) if latest else {}
    found = [InForce(spec, spec.parse(latest[i].value), codes[i], latest[i].effective_from)
             for i in ids if i in latest]  # nearest institution first
    if spec.tighten is None:
        return found[0] if found else InForce(spec, spec.default, DEFAULT, None)
    if ids[-1] not in latest:  # the province set none: the default is its value
        found.append(InForce(spec, spec.default, DEFAULT, None))
    best = spec.tightest([f.value for f in found])
    return next(f for f in found if f.value == best)  # ties: the nearest institution


def value(session: Session, institution: Institution, name: str, on: date) -> Any:
    """The value of ``name`` in force at ``institution`` on ``on`` (see ``in_force``)."""
    return in_force(session, institution, name, on).value


@dataclass(frozen=True)
class Lpr:
    """The loan prime rates in force: 1-year and over-5-year (annual, as fractions)."""

    one_year: Decimal
    over_five_year: Decimal

    def for_term(self, term_months: int) -> Decimal:
        """The LPR a loan of this term is priced on: over-5-year for terms beyond 60 months."""
        return self.over_five_year if term_months > 60 else self.one_year


def lpr(session: Session, institution: Institution, on: date) -> Lpr:
    return Lpr(value(session, institution, "lpr.1y", on), value(session, institution, "lpr.5y", on))


# -- the API's and the CLI's services ----------------------------------------------------------

@dataclass(frozen=True)
class Listing:
    institution: Institution
    on: date
    parameters: list[InForce]


@dataclass(frozen=True)
class ParameterRow:
    """One row as set: who set which value where, from when, and why."""

    name: str
    institution: str
    value: str
    effective_from: date
    note: str
    changed_by: str
    changed_at: datetime


def _row(row: ParameterValue, code: str) -> ParameterRow:
    return ParameterRow(row.name, code, row.value, row.effective_from, row.note, row.changed_by,
                        as_utc(row.changed_at))


def listing(uow: UnitOfWork, principal: Principal, code: str | None, on: date) -> Listing:
    """Every registered parameter in force at the institution (default: the caller's) on ``on``."""
    inst = institutions.visible_for(uow.session, principal, code or principal.institution_code,
                                    Action.PARAMETER_READ)
    return Listing(inst, on, [in_force(uow.session, inst, name, on) for name in PARAMETERS])


def history(uow: UnitOfWork, principal: Principal, name: str, code: str | None) -> list[ParameterRow]:
    """The rows of ``name`` set on the institution's ancestry, newest first."""
    require(principal, Action.PARAMETER_READ)
    parameter(name)
    inst = institutions.visible_for(uow.session, principal, code or principal.institution_code,
                                    Action.PARAMETER_READ)
    rows = uow.session.execute(sa.select(ParameterValue, Institution.code).join(
        Institution, Institution.id == ParameterValue.institution_id).where(
        ParameterValue.name == name, ParameterValue.institution_id.in_(_ancestry_ids(inst))).order_by(
        ParameterValue.effective_from.desc(), ParameterValue.changed_at.desc(), ParameterValue.id.desc())).all()
    return [_row(r, c) for r, c in rows]


def set_value(uow: UnitOfWork, principal: Principal, name: str, code: str, text: str, *, today: date,
              effective_from: date | None = None, note: str = "") -> ParameterRow:
    """Set ``name`` to ``text`` at the institution from ``effective_from`` (default: ``today``, the
    business date) on. Refusals name the field: ``name``, ``institution`` (404 outside the caller's
    subtree; 422 at a level the parameter is not set at), ``value`` (unparsable, out of range, or
    looser than the value in force above), ``effective_from`` (before the business date); 409 when
    the institution already has a row for that day."""
    session = uow.session
    spec = parameter(name)
    inst = institutions.visible_for(session, principal, code, Action.PARAMETER_CHANGE)
    if inst.level not in spec.levels:
        raise invalid("institution", f"{name} is set at the {' or '.join(lv.value for lv in spec.levels)} level, "
                                     f"not at {inst.code} (a {inst.level.value})")
    try:
        parsed = spec.parse(text)
    except ValueError as exc:
        raise invalid("value", f"{name}: {exc}") from None
    day = effective_from or today
    if day < today:
        raise invalid("effective_from", f"{day.isoformat()} is before the business date {today.isoformat()}: "
                                        "the past is never rewritten (decisions keep the parameters they used)")
    if spec.tighten is not None and inst.parent_id is not None:
        parent = session.get(Institution, inst.parent_id)
        assert parent is not None
        above = in_force(session, parent, name, day)
        if spec.looser(parsed, above.value):
            way = "above" if spec.tighten == "lower" else "below"
            raise invalid("value", f"{name} may only be tightened below the value in force above: "
                                   f"{spec.text(parsed)} is {way} {above.text}, set by {above.source}, "
                                   f"on {day.isoformat()}")
    stored = spec.text(parsed)
    row = ParameterValue(name=name, institution_id=inst.id, effective_from=day, value=stored, note=note,
                         changed_by=principal.username)
    duplicate = Conflict(f"{inst.code} already has {name} from {day.isoformat()}; set it from another day "
                         "(rows are never changed in place)", code="duplicate_parameter",
                         fields={"effective_from": ["already set for this day"]})
    if session.execute(sa.select(ParameterValue.id).where(
            ParameterValue.name == name, ParameterValue.institution_id == inst.id,
            ParameterValue.effective_from == day)).first() is not None:
        raise duplicate
    try:
        with session.begin_nested():  # a concurrent writer of the same day: its unique row wins, this is a 409
            session.add(row)
    except IntegrityError:
        raise duplicate from None
    record(session, actor=principal.username, action="parameter.set", target=f"parameter:{name}@{inst.code}",
           institution_code=inst.code, after={"name": name, "value": stored, "effective_from": day.isoformat(),
                                              "note": note})
    return _row(row, inst.code)
