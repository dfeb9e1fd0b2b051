"""Keeping the province's calendar overrides, and the working calendar every deadline counts on.

Only the province admin changes the calendar (one calendar for the whole province); every change
is written to the audit trail in the same transaction. Any authenticated user may read it.

Every change replaces the version token at random, in the same transaction, so
:class:`Calendars` can keep one built :class:`WorkingCalendar` per process and still be current
in every worker: each ``get`` reads the one token row and rebuilds only when it changed. The
token's UPDATE takes a row lock, so concurrent changes wait for each other instead of colliding
on the unique day.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.calendar.domain import DayKind, Deadline, OfficialCalendar, Source, WorkingCalendar, coverage_problem
from nongxin.core.calendar.models import CalendarOverride, CalendarVersion
from nongxin.core.db import UnitOfWork, as_utc, utcnow
from nongxin.core.errors import NotFound
from nongxin.core.permissions import Action, require

__all__ = ["Calendars", "add_workdays", "DayEntry", "YearListing", "clear_day", "coverage_problem", "list_days",
           "set_day"]

# -- reading ----------------------------------------------------------------------------------

def _token(session: Session) -> str | None:
    return session.execute(sa.select(CalendarVersion.token).where(CalendarVersion.id == 1)).scalar()


def _load(session: Session) -> WorkingCalendar:
    rows = session.execute(sa.select(CalendarOverride.day, CalendarOverride.kind)).all()
    return WorkingCalendar({day: kind for day, kind in rows})


class Calendars:
    """One cached WorkingCalendar per process (the runtime holds one of these); ``get`` costs one
    single-row SELECT when nothing changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[str | None, WorkingCalendar] | None = None

    def get(self, session: Session) -> WorkingCalendar:
        # The token is read before the overrides: a change committed in between is cached under the
        # older token, so the next get sees a different token and rebuilds (never the reverse).
        token = _token(session)
        cached = self._cached
        if cached is not None and cached[0] == token:
            return cached[1]
        with self._lock:
            built = (token, _load(session))
            self._cached = built
        return built[1]


@dataclass(frozen=True)
class DayEntry:
    """One day that differs from plain Monday-to-Friday or was set by the province: an override
    (with who set it, when and why) or the package's holiday or adjusted working day (``note`` is
    the holiday's name). ``official`` is what the package says of an overridden day, if anything."""

    day: date
    kind: DayKind
    source: Source
    note: str
    official: DayKind | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class YearListing:
    """A year's listed days and where its holidays come from: ``package`` (chinesecalendar),
    ``overrides`` (entered by the province) or ``missing`` (deadlines there are estimated)."""

    year: int
    coverage: str
    days: list[DayEntry]


def add_workdays(uow: UnitOfWork, principal: Principal, calendars: Calendars, start: date, add: int) -> Deadline:
    """The day ``add`` working days after ``start`` (before it when negative), marked estimated
    when a day counted had neither official data nor an override."""
    require(principal, Action.CALENDAR_READ)
    return calendars.get(uow.session).add_workdays(start, add)


def list_days(uow: UnitOfWork, principal: Principal, year: int) -> YearListing:
    """The overrides of ``year`` and the package's holidays and adjusted working days, by date."""
    require(principal, Action.CALENDAR_READ)
    official = OfficialCalendar.from_package()
    rows = uow.session.execute(sa.select(CalendarOverride).where(
        CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))).scalars()
    overridden = {r.day: r for r in rows}

    def package_kind(day: date) -> DayKind | None:
        if day in official.holidays:
            return DayKind.HOLIDAY
        return DayKind.WORKDAY if day in official.workdays else None

    entries = [DayEntry(r.day, r.kind, Source.OVERRIDE, r.note, package_kind(r.day), r.updated_by,
                        as_utc(r.updated_at)) for r in overridden.values()]
    for days, kind in ((official.holidays, DayKind.HOLIDAY), (official.workdays, DayKind.WORKDAY)):
        entries.extend(DayEntry(d, kind, Source.OFFICIAL, name) for d, name in days.items()
                       if d.year == year and d not in overridden)
    entries.sort(key=lambda e: e.day)
    working = _load(uow.session)
    coverage = ("package" if official.covers(year) else "overrides" if working.announced(year) else "missing")
    return YearListing(year, coverage, entries)


# -- changing ---------------------------------------------------------------------------------

def _bump(session: Session) -> None:
    """Replace the version token first: the upsert locks its row, so changes serialize (even when
    the row is missing, as after a test's TRUNCATE: a plain UPDATE-else-INSERT would then let two
    writers both insert it)."""
    token = secrets.token_hex(16)
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(CalendarVersion).values(id=1, token=token)
                        .on_conflict_do_update(index_elements=["id"], set_={"token": token}))
        return
    bumped = session.execute(sa.update(CalendarVersion).where(CalendarVersion.id == 1).values(token=token))
    if getattr(bumped, "rowcount", 0) == 0:
        session.add(CalendarVersion(id=1, token=token))


def _row(session: Session, day: date) -> CalendarOverride | None:
    return session.execute(sa.select(CalendarOverride).where(CalendarOverride.day == day)).scalar_one_or_none()


def _audit(row: CalendarOverride | None) -> dict[str, str] | None:
    return None if row is None else {"kind": row.kind.value, "note": row.note}


def set_day(uow: UnitOfWork, principal: Principal, day: date, kind: DayKind, note: str = "") -> DayEntry:
    """Make ``day`` a working day or a holiday for the whole province, whatever the package says."""
    require(principal, Action.CALENDAR_CHANGE)
    _bump(uow.session)
    row = _row(uow.session, day)
    before = _audit(row)
    if row is None:
        row = CalendarOverride(day=day, kind=kind, note=note, updated_by=principal.username)
        uow.session.add(row)
    else:
        row.kind, row.note, row.updated_by = kind, note, principal.username
    uow.flush()
    record(uow.session, actor=principal.username, action="calendar.set", target=f"calendar:{day.isoformat()}",
           institution_code=principal.institution_code, before=before, after=_audit(row))
    official = OfficialCalendar.from_package()
    package = (DayKind.HOLIDAY if day in official.holidays else DayKind.WORKDAY if day in official.workdays
               else None)
    return DayEntry(day, row.kind, Source.OVERRIDE, row.note, package, row.updated_by,
                    as_utc(row.updated_at or utcnow()))


def clear_day(uow: UnitOfWork, principal: Principal, day: date) -> None:
    """Remove the override of ``day``: the package's data (or the weekday rule) answers again."""
    require(principal, Action.CALENDAR_CHANGE)
    _bump(uow.session)  # first: a concurrent clear of the same day waits, then finds nothing (404)
    row = _row(uow.session, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} has no override to clear", fields={"day": ["no override set"]})
    before = _audit(row)
    uow.session.delete(row)
    uow.flush()
    record(uow.session, actor=principal.username, action="calendar.clear", target=f"calendar:{day.isoformat()}",
           institution_code=principal.institution_code, before=before, after=None)
