"""The value of a parameter at an institution on a day: the nearest row on its ancestry dated on or
before the day, else the registry's default. Pure reads; setting values comes with the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.errors import invalid
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.models import ParameterValue
from nongxin.core.parameters.registry import PARAMETERS, Parameter


def parameter(name: str) -> Parameter:
    try:
        return PARAMETERS[name]
    except KeyError:
        raise invalid("name", f"{name!r} is not a parameter; known: {', '.join(PARAMETERS)}") from None


def _ancestry_ids(institution: Institution) -> list[int]:
    """Ids from the institution up to the province (the materialized path, reversed)."""
    return [int(x) for x in reversed(institution.path.strip("/").split("/")) if x]


def value(session: Session, institution: Institution, name: str, on: date) -> Any:
    """The value of ``name`` in force at ``institution`` on ``on``."""
    spec = parameter(name)
    ids = _ancestry_ids(institution)
    rows = session.execute(sa.select(ParameterValue.institution_id, ParameterValue.value).where(
        ParameterValue.name == name, ParameterValue.institution_id.in_(ids),
        ParameterValue.effective_from <= on).order_by(ParameterValue.effective_from.desc())).all()
    if not rows:
        return spec.default
    depth = {inst_id: i for i, inst_id in enumerate(ids)}
    nearest = min(rows, key=lambda r: depth[r.institution_id])  # stable: latest date first among equals
    return spec.parse(nearest.value)


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
