"""Dated parameters set per institution: the province's LPR, a county's review time limits, ...

A row says "from ``effective_from`` on, parameter ``name`` is ``value`` at ``institution`` and
below". The value in force at an institution on a day is the nearest row on its ancestry (the
institution itself first, then its county bank, city, province) whose ``effective_from`` is on or
before the day; without one, the registry's default. Rows are never updated in place: a change
is a new row (dated today or later), so a decision can always be re-read with the parameters it
used. The registry of known parameters (type, default, who may set it, tighten-only) lives in
``nongxin.core.parameters.registry``.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from nongxin.core.db import Base, utcnow


class ParameterValue(Base):
    __tablename__ = "parameter_values"
    __table_args__ = (sa.UniqueConstraint("name", "institution_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    effective_from: Mapped[date]
    value: Mapped[str] = mapped_column(sa.String(200))  # the registry's text form: "0.0345", "5", ...
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    changed_by: Mapped[str] = mapped_column(sa.String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
