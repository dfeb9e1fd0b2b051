"""How a repayment is split over what a loan owes (还款顺序), and what is left for a prepayment.

What is owed on the repayment date ``paid_on`` (``Owed``), in six buckets
(``sdk.ALLOCATION_ORDER``; a product may permute them):

============================ ==================================================================
``penalty``                  penalty interest (罚息) accrued by the day close and not yet paid
``compound``                 compound interest (复利) likewise
``overdue_interest``         unpaid interest of installments marked ``overdue``
``overdue_principal``        unpaid principal of installments marked ``overdue``
``interest``                 unpaid interest of the *current* installments
``principal``                unpaid principal of the *current* installments
============================ ==================================================================

The *current* installments are those of the current schedule version not overdue and not paid
whose due date has come: status ``due``, or ``pending`` with ``due_on <= paid_on``. (A pending row
due before ``paid_on`` exists only when the day close has not yet reached its due date; it is taken
as due that day and bears no penalty, since the day close has accrued none.) Within a bucket the
oldest installment is paid first (by due date, then period number).

Money beyond all six buckets is a **prepayment** (提前还款) of the principal not yet due (the
*future* principal: the rows due after ``paid_on``). The interest accrued on the prepaid principal
from the start of the current period to ``paid_on`` (actual days / 360, ``simple_interest``) is due
with it: of a remainder ``R``, the prepaid principal is the largest ``p`` with
``p + simple_interest(p) <= R``, the interest is ``simple_interest(p)`` and, when the interest jumps
a fen there, the fen left over is principal too, so the parts always sum to ``R``. The **payoff**
(结清金额) is all six buckets plus the whole future principal and its accrued interest; paying it
closes the loan; more than it is refused (``AboveThePayoff`` names it).

Everything is Decimal yuan of whole fen, and the parts sum to the amount exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Context, Decimal, localcontext
from typing import Iterable, Mapping

from nongxin.core.credit.domain.schedules import DAYS_IN_YEAR, FEN, fen, simple_interest
from nongxin.sdk.types import ALLOCATION_ORDER

__all__ = ["BUCKETS", "PREPAID", "Unpaid", "Owed", "Paid", "Allocation", "AboveThePayoff", "checked_order",
           "allocate"]

ZERO = Decimal("0.00")
#: The six buckets, in the default order.
BUCKETS = ALLOCATION_ORDER
#: The two parts of a prepayment, after the buckets.
PREPAID = ("prepaid_interest", "prepaid_principal")
_PRECISE = Context(prec=40)


@dataclass(frozen=True, slots=True)
class Unpaid:
    """What one installment still owes (its principal and interest less what was paid)."""

    seq: int
    due_on: date
    principal: Decimal
    interest: Decimal


@dataclass(frozen=True, slots=True)
class Owed:
    """Everything a loan owes on one repayment date, and what a prepayment would accrue."""

    penalty: Decimal
    compound: Decimal
    overdue: tuple[Unpaid, ...]
    current: tuple[Unpaid, ...]
    future_principal: Decimal  # the principal of the rows due after paid_on
    accrual_days: int  # from the current period's start (counted) to paid_on (not counted)
    annual_rate: Decimal

    def bucket(self, name: str) -> Decimal:
        """What one bucket holds."""
        if name == "penalty":
            return self.penalty
        if name == "compound":
            return self.compound
        rows = self.overdue if name.startswith("overdue_") else self.current
        kind = name.removeprefix("overdue_")
        return sum((getattr(r, kind) for r in rows), ZERO)

    @property
    def due(self) -> Decimal:
        """All six buckets: what is owed on ``paid_on`` without any prepayment."""
        return sum((self.bucket(b) for b in BUCKETS), ZERO)

    def accrued(self, principal: Decimal) -> Decimal:
        """Interest on ``principal`` of the future rows from the current period's start to paid_on."""
        return simple_interest(principal, self.annual_rate, self.accrual_days)

    @property
    def payoff(self) -> Decimal:
        """What closes the loan today: everything due, the future principal and its accrued interest."""
        return self.due + self.future_principal + self.accrued(self.future_principal)


@dataclass(frozen=True, slots=True)
class Paid:
    """What a repayment paid against one installment."""

    seq: int
    principal: Decimal
    interest: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    """A repayment split: ``parts`` by bucket (the six and the two prepaid parts, all present),
    ``installments`` what went to each installment (by seq), ``payoff`` the figure it was checked
    against. The parts sum to ``amount``."""

    amount: Decimal
    parts: Mapping[str, Decimal]
    installments: tuple[Paid, ...]
    payoff: Decimal
    order: tuple[str, ...] = field(default=BUCKETS)

    @property
    def prepaid_principal(self) -> Decimal:
        return self.parts["prepaid_principal"]

    @property
    def prepaid_interest(self) -> Decimal:
        return self.parts["prepaid_interest"]

    @property
    def principal(self) -> Decimal:
        """All principal paid: overdue, current and prepaid."""
        return self.parts["overdue_principal"] + self.parts["principal"] + self.parts["prepaid_principal"]

    @property
    def interest(self) -> Decimal:
        """All contract interest paid: overdue, current and on the prepaid principal."""
        return self.parts["overdue_interest"] + self.parts["interest"] + self.parts["prepaid_interest"]

    @property
    def closes(self) -> bool:
        """The repayment pays everything: the loan closes."""
        return self.amount == self.payoff


class AboveThePayoff(ValueError):
    """The amount is more than the loan's payoff figure."""

    def __init__(self, amount: Decimal, payoff: Decimal) -> None:
        super().__init__(f"amount {amount} is more than the payoff of {payoff} on this date")
        self.amount, self.payoff = amount, payoff


def checked_order(order: Iterable[str] = ()) -> tuple[str, ...]:
    """The product's allocation order: empty means ``ALLOCATION_ORDER``; anything else must be a
    permutation of it (ValueError naming what is wrong)."""
    order = tuple(order)
    if not order:
        return BUCKETS
    if sorted(order) != sorted(BUCKETS):
        raise ValueError(f"allocation_order must be a permutation of {', '.join(BUCKETS)}, not {order!r}")
    return order


def _whole_fen(name: str, value: Decimal, *, positive: bool = False) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value != fen(value) or value < 0 or (
            positive and value == 0):
        raise ValueError(f"{name} must be a {'positive' if positive else 'non-negative'} Decimal of whole fen, "
                         f"not {value!r}")


def allocate(amount: Decimal, owed: Owed, order: Iterable[str] = ()) -> Allocation:
    """Split ``amount`` over ``owed`` in ``order`` (oldest installment first within a bucket);
    the rest is a prepayment. Raises ``AboveThePayoff`` above the payoff, ValueError on an amount
    that is not a positive Decimal of whole fen."""
    _whole_fen("amount", amount, positive=True)
    for name in ("penalty", "compound", "future_principal"):
        _whole_fen(name, getattr(owed, name))
    buckets = checked_order(order)
    payoff = owed.payoff
    if amount > payoff:
        raise AboveThePayoff(amount, payoff)
    left = amount
    parts: dict[str, Decimal] = {}
    paid: dict[int, list[Decimal]] = {}
    for name in buckets:
        if name in ("penalty", "compound"):
            take = min(left, owed.bucket(name))
        else:
            take = ZERO
            kind = name.removeprefix("overdue_")
            rows = owed.overdue if name.startswith("overdue_") else owed.current
            for row in sorted(rows, key=lambda r: (r.due_on, r.seq)):
                share = min(left - take, getattr(row, kind))
                if share > 0:
                    slot = paid.setdefault(row.seq, [ZERO, ZERO])
                    slot[0 if kind == "principal" else 1] += share
                    take += share
        parts[name] = take
        left -= take
    parts["prepaid_interest"], parts["prepaid_principal"] = _prepayment(left, owed)
    installments = tuple(Paid(seq, p, i) for seq, (p, i) in sorted(paid.items()))
    return Allocation(amount, parts, installments, payoff, buckets)


def _prepayment(rest: Decimal, owed: Owed) -> tuple[Decimal, Decimal]:
    """(interest, principal) of a prepayment of ``rest``: see the module's docstring."""
    if rest == 0:
        return ZERO, ZERO
    with localcontext(_PRECISE):
        factor = 1 + owed.annual_rate * owed.accrual_days / DAYS_IN_YEAR
        p = min((rest / factor).quantize(FEN, rounding=ROUND_DOWN), owed.future_principal)
    while p + FEN <= owed.future_principal and p + FEN + owed.accrued(p + FEN) <= rest:
        p += FEN
    while p > 0 and p + owed.accrued(p) > rest:
        p -= FEN
    interest = owed.accrued(p)
    return interest, rest - interest
