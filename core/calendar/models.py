"""The province's overrides of the working-day calendar, and the version token workers watch."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from nongxin.core.calendar.domain import DayKind
from nongxin.core.db import Base, str_enum, utcnow


class CalendarOverride(Base):
    """One day set by the province admin; it wins over the package's data and the weekday rule."""

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, unique=True)
    kind: Mapped[DayKind] = mapped_column(str_enum(DayKind, 16))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    updated_by: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CalendarVersion(Base):
    """One row whose token every change replaces (at random), so a worker's cached calendar is
    current exactly when its token matches; the UPDATE also serializes concurrent changes."""

    __tablename__ = "calendar_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32))
