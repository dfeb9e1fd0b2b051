"""Repayment schedules: the five methods against hand-worked figures, and the property that the
principal of every schedule sums to the drawdown exactly."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nongxin.core.credit.domain.schedules import add_months, schedule, simple_interest
from nongxin.sdk.types import REPAYMENT_METHODS

D = Decimal


def test_equal_installment_matches_the_textbook_annuity() -> None:
    # 10,000 at 4.35% over 12 months: M = P r (1+r)^n / ((1+r)^n - 1) = 853.10 (bank calculators agree)
    periods = schedule(D("10000.00"), D("0.0435"), 12, "equal_installment", date(2026, 1, 15))
    assert [p.total for p in periods[:-1]] == [D("853.10")] * 11
    assert periods[0].interest == D("36.25")  # 10000 x 0.0435 / 12
    assert periods[0].principal == D("816.85")
    assert sum(p.principal for p in periods) == D("10000.00")
    assert periods[-1].due_on == date(2027, 1, 15)


def test_equal_principal_pays_the_same_principal_and_less_interest_each_month() -> None:
    periods = schedule(D("12000.00"), D("0.06"), 12, "equal_principal", date(2026, 3, 1))
    assert [p.principal for p in periods] == [D("1000.00")] * 12
    assert [p.interest for p in periods[:3]] == [D("60.00"), D("55.00"), D("50.00")]


def test_monthly_interest_counts_actual_days_over_360_and_principal_at_maturity() -> None:
    periods = schedule(D("36000.00"), D("0.05"), 3, "monthly_interest", date(2026, 1, 31))
    # 31 Jan -> 28 Feb is 28 days (first counted, last not); 28 Feb -> 31 Mar 31; 31 Mar -> 30 Apr 30
    assert [p.due_on for p in periods] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert [p.interest for p in periods] == [D("140.00"), D("155.00"), D("150.00")]
    assert [p.principal for p in periods] == [D("0.00"), D("0.00"), D("36000.00")]


def test_bullet_is_one_period_of_simple_interest() -> None:
    (only,) = schedule(D("50000.00"), D("0.0435"), 6, "bullet", date(2026, 5, 10))
    assert (only.start_on, only.due_on, only.principal) == (date(2026, 5, 10), date(2026, 11, 10), D("50000.00"))
    assert only.interest == simple_interest(D("50000.00"), D("0.0435"), 184) == D("1111.67")


def test_quarterly_interest_settles_on_the_20th_of_each_quarters_last_month() -> None:
    periods = schedule(D("100000.00"), D("0.036"), 12, "quarterly_interest", date(2026, 2, 5))
    assert [p.due_on for p in periods] == [date(2026, 3, 20), date(2026, 6, 20), date(2026, 9, 20),
                                          date(2026, 12, 20), date(2027, 2, 5)]
    assert periods[0].interest == D("430.00")  # 43 days x 100000 x 0.036 / 360
    assert sum(p.principal for p in periods) == periods[-1].principal == D("100000.00")
    other_day = schedule(D("100000.00"), D("0.036"), 12, "quarterly_interest", date(2026, 2, 5), settlement_day=21)
    assert other_day[0].due_on == date(2026, 3, 21)


def test_a_month_without_the_drawdown_day_ends_on_its_last_day_and_the_next_returns() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)


def test_zero_rate_and_bad_arguments() -> None:
    periods = schedule(D("100.00"), D("0"), 3, "equal_installment", date(2026, 1, 1))
    assert [p.principal for p in periods] == [D("33.33"), D("33.33"), D("33.34")]
    assert all(p.interest == 0 for p in periods)
    for bad in ({"principal": D("0")}, {"principal": D("1.001")}, {"term_months": 0}, {"method": "weekly"},
                {"annual_rate": D("-0.01")}):
        args = {"principal": D("100.00"), "annual_rate": D("0.05"), "term_months": 3, "method": "bullet", **bad}
        with pytest.raises(ValueError, match=next(iter(bad)).split("_")[0]):
            schedule(args["principal"], args["annual_rate"], args["term_months"], args["method"], date(2026, 1, 1))


@settings(max_examples=300, deadline=None)
@given(method=st.sampled_from(sorted(REPAYMENT_METHODS)),
       fen=st.integers(min_value=1, max_value=10**10),
       rate_bp=st.integers(min_value=0, max_value=2400),
       term=st.integers(min_value=1, max_value=360),
       start=st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)))
def test_every_schedule_repays_the_drawdown_exactly_in_whole_fen(method: str, fen: int, rate_bp: int, term: int,
                                                                 start: date) -> None:
    principal = Decimal(fen).scaleb(-2)
    periods = schedule(principal, Decimal(rate_bp).scaleb(-4), term, method, start)
    assert sum(p.principal for p in periods) == principal
    assert all(p.principal >= 0 and p.interest >= 0 for p in periods)
    assert all(p.principal == p.principal.quantize(D("0.01")) and p.interest == p.interest.quantize(D("0.01"))
               for p in periods)
    assert [p.seq for p in periods] == list(range(1, len(periods) + 1))
    assert periods[0].start_on == start and periods[-1].due_on == add_months(start, term)
    assert all(a.due_on == b.start_on and a.start_on < a.due_on for a, b in zip(periods, periods[1:]))
    assert periods[-1].start_on < periods[-1].due_on <= start + timedelta(days=31 * term)
