"""The working calendar itself: pure, so checked directly, by known dates and by invariants."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from nongxin.core.calendar.domain import (
    DayAnswer, DayKind, OfficialCalendar, Source, WorkingCalendar, coverage_problem,
)



def _through(last_year: int) -> OfficialCalendar:
    """The package's data up to ``last_year``: these tests stay true when a release adds 2027."""
    data = OfficialCalendar.from_package()
    return OfficialCalendar(data.first_year, last_year,
                            {d: n for d, n in data.holidays.items() if d.year <= last_year},
                            {d: n for d, n in data.workdays.items() if d.year <= last_year})


OFFICIAL = _through(2026)
PACKAGE = WorkingCalendar({}, OFFICIAL)
H, W = DayKind.HOLIDAY, DayKind.WORKDAY


def calendar(overrides):
    return WorkingCalendar(overrides, OFFICIAL)


# -- known dates (chinesecalendar 1.11: 2004-2026) ------------------------------------------------

def test_known_official_days():
    assert PACKAGE.is_workday(date(2026, 10, 1)).kind is H            # National Day (Thursday)
    assert PACKAGE.is_workday(date(2026, 10, 1)).source is Source.OFFICIAL
    assert PACKAGE.is_workday(date(2026, 10, 8)).workday              # back to work (Thursday)
    # 2026-09-27 is a Sunday the package lists as the Mid-autumn holiday, not an adjusted working day;
    # the adjusted working weekends around National Day 2026 are Sunday 09-20 and Saturday 10-10.
    assert PACKAGE.is_workday(date(2026, 9, 27)).kind is H
    for worked_weekend in (date(2026, 9, 20), date(2026, 10, 10), date(2026, 2, 14)):
        answer = PACKAGE.is_workday(worked_weekend)
        assert worked_weekend.weekday() >= 5 and answer.workday and answer.source is Source.OFFICIAL
    assert PACKAGE.is_workday(date(2026, 2, 17)).kind is H            # Spring Festival (Tuesday)
    assert PACKAGE.is_workday(date(2026, 11, 23)).workday             # an ordinary Monday
    assert not PACKAGE.is_workday(date(2026, 11, 22)).workday         # an ordinary Sunday


def test_the_installed_package_covers_2004_through_at_least_2026():
    official = OfficialCalendar.from_package()
    assert official.first_year == 2004 and official.last_year >= 2026  # chinesecalendar>=1.11
    assert WorkingCalendar({}).is_workday(date(2026, 10, 1)).source is Source.OFFICIAL


def test_a_year_the_package_lacks_is_estimated():
    jan1 = PACKAGE.is_workday(date(2027, 1, 1))  # New Year's Day, but nobody has said so yet
    assert jan1.workday and jan1.estimated
    sat = PACKAGE.is_workday(date(2027, 2, 6))
    assert sat.kind is H and sat.source is Source.ESTIMATED
    assert PACKAGE.is_workday(date(2003, 6, 2)).estimated  # before the package, too


def test_an_override_wins_over_the_package_and_the_estimate():
    cal = calendar({date(2027, 2, 6): W, date(2026, 10, 8): H, date(2026, 10, 1): W})
    assert cal.is_workday(date(2027, 2, 6)) == DayAnswer(date(2027, 2, 6), W, Source.OVERRIDE)
    assert cal.is_workday(date(2026, 10, 8)).kind is H
    assert cal.is_workday(date(2026, 10, 1)).workday
    assert cal.is_workday(date(2026, 10, 1)).source is Source.OVERRIDE


def test_a_year_with_an_entered_holiday_counts_as_announced():
    assert not calendar({date(2027, 2, 6): W}).announced(2027)  # a worked Saturday is not enough
    cal = calendar({date(2027, 1, 1): H})
    assert cal.announced(2027) and not cal.announced(2028)
    assert cal.is_workday(date(2027, 1, 4)).source is Source.OFFICIAL  # weekday rule, announced year
    assert cal.is_workday(date(2028, 1, 4)).estimated


def test_a_deadline_skips_national_day_and_one_into_2027_is_estimated():
    firm = PACKAGE.add_workdays(date(2026, 9, 30), 1)
    assert (firm.day, firm.estimated) == (date(2026, 10, 8), False)
    assert PACKAGE.add_workdays(date(2026, 9, 30), 3).day == date(2026, 10, 10)  # the worked Saturday
    assert PACKAGE.workdays_between(date(2026, 9, 30), date(2026, 10, 9)).days == 2
    late = PACKAGE.add_workdays(date(2026, 12, 28), 5)
    assert late.day == date(2027, 1, 4) and late.estimated  # 12-28..31, then 2027-01-01 counted as worked
    entered = calendar({date(2027, 1, 1): H}).add_workdays(date(2026, 12, 28), 5)
    assert entered.day == date(2027, 1, 5) and not entered.estimated
    assert not PACKAGE.add_workdays(date(2026, 12, 28), 3).estimated  # 12-31 is the last day used


def test_zero_and_backwards():
    assert PACKAGE.add_workdays(date(2026, 10, 3), 0).day == date(2026, 10, 3)
    assert PACKAGE.add_workdays(date(2026, 10, 8), -1).day == date(2026, 9, 30)
    assert PACKAGE.workdays_between(date(2026, 10, 8), date(2026, 9, 30)).days == -1


# -- invariants -----------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2002, 1, 1), max_value=date(2029, 12, 31))
OVERRIDES = st.dictionaries(DAYS, st.sampled_from(list(DayKind)), max_size=25)
STEPS = st.integers(min_value=-400, max_value=400)


@settings(max_examples=300, deadline=None)
@given(overrides=OVERRIDES, start=DAYS, n=STEPS.filter(bool))
def test_a_deadline_lands_on_a_workday_and_counts_back_to_n(overrides, start, n):
    cal = calendar(overrides)
    deadline = cal.add_workdays(start, n)
    assert cal.is_workday(deadline.day).workday
    count = cal.workdays_between(start, deadline.day)
    assert count.days == n
    assert count.estimated == deadline.estimated


def _naive(cal: WorkingCalendar, a: date, b: date) -> tuple[int, bool]:
    """Day by day: the definition the bisecting count must agree with."""
    lo, hi, sign = (a + timedelta(1), b, 1) if a <= b else (b, a - timedelta(1), -1)
    answers = [cal.is_workday(lo + timedelta(i)) for i in range((hi - lo).days + 1)]
    return sign * sum(x.workday for x in answers), any(x.estimated for x in answers)


@settings(max_examples=300, deadline=None)
@given(overrides=OVERRIDES, a=DAYS, b=DAYS)
def test_the_fast_count_agrees_with_counting_day_by_day(overrides, a, b):
    cal = calendar(overrides)
    count = cal.workdays_between(a, b)
    assert (count.days, count.estimated) == _naive(cal, a, b)


NEAR_NEW_YEAR = st.dates(min_value=date(2026, 12, 20), max_value=date(2027, 1, 10))


@settings(max_examples=300, deadline=None)
@given(overrides=st.dictionaries(NEAR_NEW_YEAR, st.sampled_from(list(DayKind)), max_size=12),
       a=NEAR_NEW_YEAR, span=st.integers(min_value=-6, max_value=6))
def test_short_spans_around_the_end_of_the_data_agree_too(overrides, a, span):
    # dense overrides and short spans: where "every day used was overridden" is decided
    cal = calendar(overrides)
    b = a + timedelta(span)
    count = cal.workdays_between(a, b)
    assert (count.days, count.estimated) == _naive(cal, a, b)


@settings(max_examples=200, deadline=None)
@given(overrides=OVERRIDES, day=DAYS)
def test_every_override_is_answered_as_set(overrides, day):
    cal = calendar(overrides)
    answer = cal.is_workday(day)
    if day in overrides:
        assert (answer.kind, answer.source) == (overrides[day], Source.OVERRIDE)
    else:
        assert answer.source is not Source.OVERRIDE
        assert answer.estimated == (not cal.announced(day.year))


# -- coverage -------------------------------------------------------------------------------------

def test_coverage_warns_for_next_year_within_60_days_of_year_end():
    assert coverage_problem(PACKAGE, date(2026, 10, 31)) is None
    problem = coverage_problem(PACKAGE, date(2026, 11, 23))
    assert problem is not None and "2027" in problem and "nongxin calendar set" in problem
    assert coverage_problem(calendar({date(2027, 1, 1): H}), date(2026, 11, 23)) is None


def test_coverage_warns_for_the_current_year_whenever_it_is_missing():
    problem = coverage_problem(PACKAGE, date(2027, 3, 1))
    assert problem is not None and "2027" in problem and "2028" not in problem
    both = coverage_problem(PACKAGE, date(2027, 12, 1))
    assert both is not None and "2027 and 2028" in both
