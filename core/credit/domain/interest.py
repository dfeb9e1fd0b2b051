"""Penalty (罚息) and compound (复利) interest, pure and exact to the fen.

Overdue principal bears penalty interest at the contract rate x (1 + markup) (the markup a product
setting, 30%..50%) for each day it stays unpaid after its due date: an installment due on D and
repaid on R bears ``R − D`` days (actual days, the due date's own day not counted, the repayment
day counted once: 算头不算尾 over [D, R)). Unpaid interest bears compound interest at the same
penalty rate, the same way.

The day close does not add rounded daily amounts (365 roundings a year drift); it adds each day's
overdue balance in fen to a product (积数, fen-days) kept on the loan, and what is owed is the
product x the daily penalty rate, rounded once, half up, minus what was paid. ``penalty_owed``
is that formula; the day close's SQL and the repayment service both call or mirror it, and a
test holds them to the same fen.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from nongxin.core.credit.domain.schedules import DAYS_IN_YEAR, FEN

__all__ = ["MARKUP_RANGE", "penalty_rate", "penalty_owed", "checked_markup"]

#: The penalty markup a product may set (DOMAIN.md: contract rate x (1 + 30% to 50%)).
MARKUP_RANGE = (Decimal("0.3"), Decimal("0.5"))
_PRECISE = Context(prec=40)


def checked_markup(markup: Decimal) -> Decimal:
    """The product's penalty markup, or ValueError saying the allowed range."""
    low, high = MARKUP_RANGE
    if not isinstance(markup, Decimal) or not low <= markup <= high:
        raise ValueError(f"penalty_markup must be a Decimal from {low} to {high}, not {markup!r}")
    return markup


def penalty_rate(annual_rate: Decimal, markup: Decimal) -> Decimal:
    """The annual penalty rate: contract rate x (1 + markup)."""
    return annual_rate * (1 + markup)


def penalty_owed(base_fen_days: int, annual_rate: Decimal, markup: Decimal, paid: Decimal = Decimal("0")) -> Decimal:
    """Penalty (or compound) interest owed on an accumulated product of ``base_fen_days``
    (the sum over days of the overdue balance in fen), less ``paid``: in yuan, to the fen, half up."""
    with localcontext(_PRECISE):
        accrued = (Decimal(base_fen_days) / 100 * penalty_rate(annual_rate, markup) / DAYS_IN_YEAR)
        return accrued.quantize(FEN, rounding=ROUND_HALF_UP) - paid
