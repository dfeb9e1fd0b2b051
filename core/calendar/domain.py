"""Working days in mainland China: which days are worked, and deadlines counted in working days.

Pure: no database, no Flask, no clock. A :class:`WorkingCalendar` answers from three layers, the
first that knows winning:

1. **override**: a day the province admin has set (``nongxin calendar set``), for holidays the
   package does not know yet or a correction;
2. **official**: the State Council's holidays and adjusted working weekends (调休) as published in
   the ``chinesecalendar`` package, for the years it covers (2004-2026 in 1.11); a year the package
   does not cover counts as announced too once the overrides hold at least one holiday in it (the
   admin has entered that year's announcement), and its other days follow the weekday rule;
3. **estimated**: beyond both, Monday to Friday are working days.

Every answer says which layer it came from, and every deadline or count says whether any day it
looked at was estimated, so a caller can tell a firm deadline from a provisional one.

Counting convention (so that ``workdays_between(d, add_workdays(d, n)) == n`` for every d and n):
``add_workdays(d, n)`` for n > 0 is the n-th working day after d (d itself not counted), for n < 0
the |n|-th working day before d, and d unchanged for n == 0; ``workdays_between(a, b)`` counts
the working days in (a, b] when a <= b and minus those in [b, a) when b < a.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Mapping

ONE_DAY = timedelta(days=1)


class DayKind(str, enum.Enum):
    WORKDAY = "workday"
    HOLIDAY = "holiday"


class Source(str, enum.Enum):
    OVERRIDE = "override"
    OFFICIAL = "official"
    ESTIMATED = "estimated"


@dataclass(frozen=True)
class DayAnswer:
    """Whether ``day`` is worked (``kind``) and which layer said so (``source``)."""

    day: date
    kind: DayKind
    source: Source

    @property
    def workday(self) -> bool:
        return self.kind is DayKind.WORKDAY

    @property
    def estimated(self) -> bool:
        return self.source is Source.ESTIMATED


@dataclass(frozen=True)
class Deadline:
    """The day ``add_workdays`` lands on; ``estimated`` if any day counted on the way was."""

    day: date
    estimated: bool


@dataclass(frozen=True)
class Count:
    """A number of working days; ``estimated`` if any day counted was."""

    days: int
    estimated: bool


@dataclass(frozen=True)
class OfficialCalendar:
    """The State Council's announced days for the years ``first_year``..``last_year``: holidays
    (with their names) and adjusted working days; every other day of those years follows the
    weekday rule."""

    first_year: int
    last_year: int
    holidays: Mapping[date, str] = field(default_factory=dict)
    workdays: Mapping[date, str] = field(default_factory=dict)

    def covers(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year

    @staticmethod
    @cache
    def from_package() -> "OfficialCalendar":
        """The data of the installed ``chinesecalendar`` package (read once per process), with the
        Chinese holiday names. The years are those its own ``is_workday`` accepts."""
        from chinese_calendar import constants

        chinese = {h.value: str(getattr(h, "chinese", h.value)) for h in constants.Holiday}
        holidays = {d: chinese.get(name, name) for d, name in constants.holidays.items()}
        workdays = {d: chinese.get(name, name) for d, name in constants.workdays.items()}
        return OfficialCalendar(min(holidays).year, max(holidays).year, holidays, workdays)


def _weekday_kind(day: date) -> DayKind:
    return DayKind.WORKDAY if day.weekday() < 5 else DayKind.HOLIDAY


def _weekdays_through(day: date) -> int:
    """Monday-to-Friday days from 0001-01-01 (a Monday) through ``day``."""
    ordinal = day.toordinal()
    return ordinal // 7 * 5 + min(ordinal % 7, 5)


class WorkingCalendar:
    """Immutable once built; cheap to query (a dict lookup per day, bisection for counts)."""

    def __init__(self, overrides: Mapping[date, DayKind], official: OfficialCalendar | None = None) -> None:
        self.official = official if official is not None else OfficialCalendar.from_package()
        self.overrides: Mapping[date, DayKind] = dict(overrides)
        #: Years announced through the overrides: the admin entered at least one holiday there.
        self.override_years = frozenset(d.year for d, k in self.overrides.items()
                                        if k is DayKind.HOLIDAY and not self.official.covers(d.year))
        # The days whose answer differs from the weekday rule, with their layer: counts bisect these.
        listed: dict[date, tuple[DayKind, Source]] = {}
        for days, kind in ((self.official.holidays, DayKind.HOLIDAY), (self.official.workdays, DayKind.WORKDAY)):
            for d in days:
                listed[d] = (kind, Source.OFFICIAL)
        for d, kind in self.overrides.items():
            listed[d] = (kind, Source.OVERRIDE)
        self._listed = listed
        self._exceptions = sorted(d for d, (kind, _) in listed.items() if kind is not _weekday_kind(d))
        self._override_days = sorted(self.overrides)

    # -- single days -----------------------------------------------------------------------

    def announced(self, year: int) -> bool:
        """Whether ``year``'s holidays are known: in the package, or entered as overrides."""
        return self.official.covers(year) or year in self.override_years

    def is_workday(self, day: date) -> DayAnswer:
        hit = self._listed.get(day)
        if hit is not None:
            return DayAnswer(day, hit[0], hit[1])
        source = Source.OFFICIAL if self.announced(day.year) else Source.ESTIMATED
        return DayAnswer(day, _weekday_kind(day), source)

    # -- deadlines and counts --------------------------------------------------------------

    def add_workdays(self, start: date, n: int) -> Deadline:
        """The n-th working day after ``start`` (before it for n < 0; ``start`` itself for 0).

        Raises ``OverflowError`` when the answer would fall outside Python's dates."""
        step = ONE_DAY if n > 0 else -ONE_DAY
        day, left, estimated = start, abs(n), False
        while left:
            day += step
            answer = self.is_workday(day)
            estimated = estimated or answer.estimated
            if answer.workday:
                left -= 1
        return Deadline(day, estimated)

    def workdays_between(self, a: date, b: date) -> Count:
        """Working days in (a, b] (negated, those in [b, a) when b < a)."""
        if b < a:
            count = self.workdays_between(b - ONE_DAY, a - ONE_DAY)
            return Count(-count.days, count.estimated)
        # (a, b]: weekdays, corrected for the listed days that differ from the weekday rule.
        days = _weekdays_through(b) - _weekdays_through(a)
        for d in self._exceptions[bisect_right(self._exceptions, a):bisect_right(self._exceptions, b)]:
            days += 1 if self._listed[d][0] is DayKind.WORKDAY else -1
        return Count(days, self._estimated_in(a + ONE_DAY, b))

    def _estimated_in(self, first: date, last: date) -> bool:
        """Whether any day of [first, last] is answered by the weekday estimate."""
        for year in range(first.year, last.year + 1):
            if self.announced(year):
                continue
            lo, hi = max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
            overridden = bisect_right(self._override_days, hi) - bisect_left(self._override_days, lo)
            if (hi - lo).days + 1 > overridden:
                return True
        return False


def coverage_problem(calendar: WorkingCalendar, today: date, *, warn_days: int = 60) -> str | None:
    """What is missing for deadlines around ``today`` to be firm, in one line naming the command;
    or None. This year's holidays must be known, and next year's from ``warn_days`` before the
    year ends (the State Council usually announces them in November)."""
    years = [today.year]
    if (date(today.year, 12, 31) - today).days < warn_days:
        years.append(today.year + 1)
    missing = [year for year in years if not calendar.announced(year)]
    if not missing:
        return None
    names = " and ".join(str(y) for y in missing)
    return (f"official holidays for {names} are missing: add them with `nongxin calendar set DAY holiday` "
            f"(and adjusted working weekends with `nongxin calendar set DAY workday`); until then "
            f"deadlines there count Monday to Friday and are marked estimated")
