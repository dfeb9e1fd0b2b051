"""The pure allocation of a repayment and the recomputed schedule after a prepayment: no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nongxin.core.credit.domain.allocation import (
    BUCKETS,
    AboveThePayoff,
    Owed,
    Paid,
    Unpaid,
    allocate,
    checked_order,
)
from nongxin.core.credit.domain.schedules import remaining_schedule, schedule, simple_interest
from nongxin.sdk.types import REPAYMENT_METHODS

D = Decimal


def owed(**kw: object) -> Owed:
    base: dict[str, object] = dict(penalty=D("3.00"), compound=D("1.00"),
                                   overdue=(Unpaid(2, date(2026, 3, 15), D("900.00"), D("40.00")),
                                            Unpaid(1, date(2026, 2, 15), D("100.00"), D("10.00"))),
                                   current=(Unpaid(3, date(2026, 4, 15), D("950.00"), D("35.00")),),
                                   future_principal=D("9000.00"), accrual_days=10, annual_rate=D("0.036"))
    base.update(kw)
    return Owed(**base)


def test_the_default_order_pays_penalty_compound_overdue_then_current_oldest_first() -> None:
    a = allocate(D("60.00"), owed())
    assert dict(a.parts) == {"penalty": D("3.00"), "compound": D("1.00"), "overdue_interest": D("50.00"),
                             "overdue_principal": D("6.00"), "interest": D("0"), "principal": D("0"),
                             "prepaid_interest": D("0"), "prepaid_principal": D("0")}
    # seq 1 (due 15 Feb) is older than seq 2: its principal is paid first
    assert a.installments == (Paid(1, D("6.00"), D("10.00")), Paid(2, D("0.00"), D("40.00")))
    assert not a.closes and a.payoff == D("3.00") + D("1.00") + D("2035.00") + D("9000.00") + D("9.00")


def test_a_product_order_is_a_permutation_and_is_followed() -> None:
    order = ("principal", "interest", "overdue_principal", "overdue_interest", "compound", "penalty")
    a = allocate(D("1000.00"), owed(), order)
    assert (a.parts["principal"], a.parts["interest"], a.parts["overdue_principal"]) == (D("950.00"), D("35.00"),
                                                                                         D("15.00"))
    assert a.parts["penalty"] == 0
    assert checked_order(()) == BUCKETS
    with pytest.raises(ValueError, match="permutation"):
        checked_order(("penalty", "penalty", "interest", "principal", "compound", "overdue_interest"))


def test_a_prepayment_carries_the_interest_accrued_on_the_prepaid_principal() -> None:
    o = owed()
    a = allocate(o.due + D("1001.00"), o)
    # p + p x 3.6% x 10 / 360 <= 1001.00: p = 1000.00, interest 1.00
    assert (a.prepaid_principal, a.prepaid_interest) == (D("1000.00"), D("1.00"))
    assert a.principal == D("1000.00") + D("1000.00") + D("950.00")


def test_the_payoff_closes_and_more_is_refused_naming_it() -> None:
    o = owed()
    assert allocate(o.payoff, o).closes
    assert allocate(o.payoff, o).prepaid_principal == D("9000.00")
    with pytest.raises(AboveThePayoff, match=str(o.payoff)) as err:
        allocate(o.payoff + D("0.01"), o)
    assert err.value.payoff == o.payoff


@pytest.mark.parametrize("bad", [D("0"), D("-1"), D("1.005"), D("NaN")])
def test_an_amount_is_a_positive_decimal_of_whole_fen(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="amount must be a positive Decimal of whole fen"):
        allocate(bad, owed())


money = st.integers(min_value=0, max_value=5_000_000).map(lambda f: D(f) / 100)


@st.composite
def owed_cases(draw: st.DrawFn) -> Owed:
    def rows(first: int, count: int) -> tuple[Unpaid, ...]:
        return tuple(Unpaid(first + k, date(2026, 1 + first + k, 15), draw(money), draw(money)) for k in range(count))

    overdue = rows(0, draw(st.integers(0, 3)))
    return Owed(penalty=draw(money), compound=draw(money), overdue=overdue,
                current=rows(len(overdue), draw(st.integers(0, 2))), future_principal=draw(money),
                accrual_days=draw(st.integers(0, 92)), annual_rate=D(draw(st.integers(0, 2400))) / 10000)


@settings(max_examples=300, deadline=None)
@given(owed_cases(), st.integers(1, 10**9), st.permutations(BUCKETS))
def test_allocation_sums_to_the_amount_and_never_pays_more_than_owed(o: Owed, seed: int,
                                                                    order: list[str]) -> None:
    if o.payoff == 0:
        return
    amount = D(seed % int(o.payoff * 100) + 1) / 100
    a = allocate(amount, o, order)
    assert sum(a.parts.values()) == amount
    for name in BUCKETS:
        assert 0 <= a.parts[name] <= o.bucket(name)
    rows = {r.seq: r for r in (*o.overdue, *o.current)}
    for p in a.installments:
        assert 0 <= p.principal <= rows[p.seq].principal and 0 <= p.interest <= rows[p.seq].interest
    assert 0 <= a.prepaid_principal <= o.future_principal
    if a.prepaid_principal + a.prepaid_interest:
        assert all(a.parts[b] == o.bucket(b) for b in BUCKETS)  # a prepayment only after all is paid
        assert a.prepaid_interest == simple_interest(a.prepaid_principal, o.annual_rate, o.accrual_days) or (
            a.prepaid_interest == simple_interest(a.prepaid_principal - D("0.01"), o.annual_rate, o.accrual_days))
    assert a.closes == (amount == o.payoff)


def test_shorten_term_keeps_the_installment_and_lower_installment_keeps_the_term() -> None:
    periods = schedule(D("12000.00"), D("0.0435"), 12, "equal_installment", date(2026, 1, 15))
    future = periods[3:]
    balance = sum((p.principal for p in future), D("0")) - D("3000.00")
    shorter = remaining_schedule(balance, D("0.0435"), "equal_installment", future, policy="shorten_term")
    lower = remaining_schedule(balance, D("0.0435"), "equal_installment", future, policy="lower_installment")
    assert len(shorter) < len(future) and all(p.total == future[0].total for p in shorter[:-1])
    assert len(lower) == len(future) and lower[0].total < future[0].total
    for new in (shorter, lower):
        assert sum(p.principal for p in new) == balance
        assert new[0].seq == 4 and new[0].start_on == future[0].start_on
        assert [p.due_on for p in new] == [p.due_on for p in future][:len(new)]


@settings(max_examples=200, deadline=None)
@given(st.integers(100_00, 1_000_000_00), st.integers(0, 2400), st.integers(2, 36),
       st.sampled_from(sorted(REPAYMENT_METHODS)), st.integers(0, 35), st.integers(1, 99),
       st.sampled_from(["shorten_term", "lower_installment"]))
def test_a_new_versions_principal_sums_to_the_outstanding_after_the_prepayment(
        cents: int, bp: int, term: int, method: str, paid_periods: int, percent: int, policy: str) -> None:
    periods = schedule(D(cents) / 100, D(bp) / 10000, term, method, date(2026, 1, 31))
    future = periods[min(paid_periods, len(periods) - 1):]
    left = sum((p.principal for p in future), D("0"))
    balance = (left * percent / 100).quantize(D("0.01"))
    new = remaining_schedule(balance, D(bp) / 10000, method, future, policy=policy)
    assert sum((p.principal for p in new), D("0")) == balance
    assert all(p.principal >= 0 and p.interest >= 0 for p in new)
    assert len(new) <= len(future) and (policy == "shorten_term" or balance == 0 or len(new) == len(future))
    assert [p.seq for p in new] == [p.seq for p in future][:len(new)]
