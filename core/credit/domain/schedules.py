"""Repayment schedules (还款计划), pure: the periods of a drawdown for each repayment method.

Methods and formulas are DOMAIN.md's (还款方式与计息):

==================== =========================================================================
``equal_installment`` 等额本息: M = P·r·(1+r)^n / ((1+r)^n − 1), r = annual / 12; interest_k =
                      B_(k−1)·r; principal_k = M − interest_k
``equal_principal``   等额本金: principal_k = P / n; interest_k = B_(k−1)·r, r = annual / 12
``monthly_interest``  按月付息到期还本: each month the interest on P over the period's actual days
                      / 360; all principal at maturity
``bullet``            利随本清: one period; P × annual / 360 × days, paid with the principal
``quarterly_interest`` 按季结息: interest over actual days / 360 settled on ``settlement_day`` of
                      Mar, Jun, Sep and Dec, and at maturity with the principal
==================== =========================================================================

Monthly due dates fall on the drawdown's day of the month, or the month's last day when it has
no such day (drawn 31 Jan: due 28/29 Feb, 31 Mar, 30 Apr). Days are actual, the first counted
and the last not (算头不算尾): a period from ``start_on`` to ``due_on`` earns ``due_on − start_on``
days. Every amount is rounded to the fen, half up, and the last period absorbs the rounding, so
the principal of a schedule sums to the drawdown exactly.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from nongxin.sdk.types import REPAYMENT_METHODS

__all__ = ["FEN", "DAYS_IN_YEAR", "Period", "add_months", "fen", "remaining_schedule", "schedule", "simple_interest"]

FEN = Decimal("0.01")
#: The day count basis: annual rate / 360 per actual day (never 365; see DOMAIN.md on Fineract).
DAYS_IN_YEAR = 360
_PRECISE = Context(prec=40)
#: The months whose ``settlement_day`` settles quarterly interest.
QUARTER_ENDS = (3, 6, 9, 12)


@dataclass(frozen=True, slots=True)
class Period:
    """One installment: interest accrues from ``start_on`` (counted) to ``due_on`` (not counted)."""

    seq: int
    start_on: date
    due_on: date
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def fen(amount: Decimal) -> Decimal:
    """Round to the fen, half up (四舍五入)."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def add_months(day: date, months: int, *, anchor: int | None = None) -> date:
    """``day`` moved ``months`` later on the ``anchor`` day of the month (default ``day.day``),
    or that month's last day when it is shorter."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(anchor or day.day, calendar.monthrange(year, month)[1]))


def simple_interest(balance: Decimal, annual_rate: Decimal, days: int) -> Decimal:
    """Interest on ``balance`` over ``days`` actual days at ``annual_rate`` / 360, to the fen."""
    with localcontext(_PRECISE):
        return fen(balance * annual_rate * days / DAYS_IN_YEAR)


def schedule(principal: Decimal, annual_rate: Decimal, term_months: int, method: str, start_on: date, *,
             settlement_day: int = 20) -> tuple[Period, ...]:
    """The periods of a drawdown of ``principal`` on ``start_on`` for ``term_months`` months.

    Raises ValueError naming the argument when one is out of range (the services check the
    request first and give the user a field error; this is the last line)."""
    if not isinstance(principal, Decimal) or principal <= 0 or principal != fen(principal):
        raise ValueError(f"principal must be a positive Decimal of whole fen, not {principal!r}")
    if not isinstance(annual_rate, Decimal) or annual_rate < 0:
        raise ValueError(f"annual_rate must be a non-negative Decimal, not {annual_rate!r}")
    if not isinstance(term_months, int) or isinstance(term_months, bool) or term_months < 1:
        raise ValueError(f"term_months must be a positive whole number, not {term_months!r}")
    if method not in REPAYMENT_METHODS:
        raise ValueError(f"unknown repayment method {method!r}; one of: {', '.join(REPAYMENT_METHODS)}")
    if not 1 <= settlement_day <= 28:
        raise ValueError(f"settlement_day must be 1..28, not {settlement_day}")
    dues = [add_months(start_on, k) for k in range(1, term_months + 1)]
    if method == "equal_installment":
        return _equal_installment(principal, annual_rate, start_on, dues)
    if method == "equal_principal":
        return _equal_principal(principal, annual_rate, start_on, dues)
    if method == "monthly_interest":
        return _interest_only(principal, annual_rate, start_on, dues)
    if method == "bullet":
        return _interest_only(principal, annual_rate, start_on, dues[-1:])
    return _interest_only(principal, annual_rate, start_on, _quarter_dues(start_on, dues[-1], settlement_day))


def _starts(start_on: date, dues: list[date]) -> list[date]:
    return [start_on, *dues[:-1]]


def _equal_installment(principal: Decimal, annual_rate: Decimal, start_on: date, dues: list[date]) -> tuple[Period, ...]:
    n = len(dues)
    with localcontext(_PRECISE):
        r = annual_rate / 12
        payment = fen(principal / n) if r == 0 else fen(principal * r * (1 + r) ** n / ((1 + r) ** n - 1))
        periods, balance = [], principal
        for k, (start, due) in enumerate(zip(_starts(start_on, dues), dues), start=1):
            interest = fen(balance * r)
            part = balance if k == n else min(balance, payment - interest)
            periods.append(Period(k, start, due, part, interest))
            balance -= part
    return tuple(periods)


def _equal_principal(principal: Decimal, annual_rate: Decimal, start_on: date, dues: list[date]) -> tuple[Period, ...]:
    n = len(dues)
    with localcontext(_PRECISE):
        r = annual_rate / 12
        part = fen(principal / n)
        periods, balance = [], principal
        for k, (start, due) in enumerate(zip(_starts(start_on, dues), dues), start=1):
            this = balance if k == n else min(balance, part)
            periods.append(Period(k, start, due, this, fen(balance * r)))
            balance -= this
    return tuple(periods)


def _interest_only(principal: Decimal, annual_rate: Decimal, start_on: date, dues: list[date]) -> tuple[Period, ...]:
    """Interest on the whole principal over each period's actual days; principal in the last."""
    last = len(dues)
    return tuple(Period(k, start, due, principal if k == last else Decimal("0.00"),
                        simple_interest(principal, annual_rate, (due - start).days))
                 for k, (start, due) in enumerate(zip(_starts(start_on, dues), dues), start=1))


def _quarter_dues(start_on: date, maturity: date, settlement_day: int) -> list[date]:
    """Each quarter's settlement date strictly after ``start_on`` and before ``maturity``, then maturity."""
    dues = []
    year, month = start_on.year, start_on.month
    while True:
        while month not in QUARTER_ENDS:
            month += 1
        day = date(year, month, settlement_day)
        if day > start_on:
            if day >= maturity:
                break
            dues.append(day)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return [*dues, maturity]


def remaining_schedule(balance: Decimal, annual_rate: Decimal, method: str, future: tuple[Period, ...], *,
                       policy: str) -> tuple[Period, ...]:
    """The rest of a schedule recomputed after a prepayment: ``balance`` (the principal still to
    collect) over ``future``, the periods of the current version not yet due.

    The first period keeps its ``start_on`` and its interest is computed on the new balance for the
    whole period (the prepaid principal's interest up to the prepayment was paid with it); periods
    keep their ``seq`` numbers and due dates. ``policy`` (``sdk.PREPAYMENT_POLICIES``):

    * ``lower_installment`` (减少月供): the same due dates, the method's formula over the new
      balance (equal installment: a new, lower M over the remaining periods);
    * ``shorten_term`` (缩短期限): equal installment keeps M = the first future period's total,
      equal principal keeps its principal part, and the schedule ends as soon as the balance is
      repaid (the last period absorbs the rounding), on the old due dates.

    For the methods that repay principal at maturity (``monthly_interest``, ``bullet``,
    ``quarterly_interest``) both policies keep the dates and lower the interest: there is no
    installment of principal to keep. The principal always sums to ``balance`` exactly; a zero
    balance has no periods left.
    """
    if not isinstance(balance, Decimal) or balance < 0 or balance != fen(balance):
        raise ValueError(f"balance must be a non-negative Decimal of whole fen, not {balance!r}")
    if policy not in ("shorten_term", "lower_installment"):
        raise ValueError(f"unknown prepayment policy {policy!r}; one of: shorten_term, lower_installment")
    if method not in REPAYMENT_METHODS:
        raise ValueError(f"unknown repayment method {method!r}; one of: {', '.join(REPAYMENT_METHODS)}")
    if balance == 0 or not future:
        if balance:
            raise ValueError(f"a balance of {balance} needs at least one period left")
        return ()
    start_on, dues = future[0].start_on, [p.due_on for p in future]
    if method == "equal_installment":
        if policy == "shorten_term" and len(future) > 1:
            periods = _keep_installment(balance, annual_rate, start_on, dues, future[0].total)
        else:
            periods = _equal_installment(balance, annual_rate, start_on, dues)
    elif method == "equal_principal":
        if policy == "shorten_term" and len(future) > 1:
            periods = _keep_part(balance, annual_rate, start_on, dues, future[0].principal)
        else:
            periods = _equal_principal(balance, annual_rate, start_on, dues)
    else:
        periods = _interest_only(balance, annual_rate, start_on, dues)
    first = future[0].seq
    return tuple(Period(first + p.seq - 1, p.start_on, p.due_on, p.principal, p.interest) for p in periods)


def _keep_installment(balance: Decimal, annual_rate: Decimal, start_on: date, dues: list[date],
                      payment: Decimal) -> tuple[Period, ...]:
    """Equal installments of ``payment`` until ``balance`` is repaid; the last takes the rest."""
    with localcontext(_PRECISE):
        r = annual_rate / 12
        periods, left = [], balance
        for k, (start, due) in enumerate(zip(_starts(start_on, dues), dues), start=1):
            interest = fen(left * r)
            part = left if k == len(dues) else min(left, max(payment - interest, FEN))
            periods.append(Period(k, start, due, part, interest))
            left -= part
            if left == 0:
                break
    return tuple(periods)


def _keep_part(balance: Decimal, annual_rate: Decimal, start_on: date, dues: list[date],
               part: Decimal) -> tuple[Period, ...]:
    """Principal of ``part`` a period until ``balance`` is repaid; interest on the balance."""
    with localcontext(_PRECISE):
        r = annual_rate / 12
        periods, left = [], balance
        for k, (start, due) in enumerate(zip(_starts(start_on, dues), dues), start=1):
            this = left if k == len(dues) else min(left, part)
            periods.append(Period(k, start, due, this, fen(left * r)))
            left -= this
            if left == 0:
                break
    return tuple(periods)
