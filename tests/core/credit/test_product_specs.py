"""``products.spec_problem``: a product whose terms the core could not honour is not offered, and
the sentence says which term and why (the plugin's failure names it)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from nongxin.core.credit.products import spec_problem
from nongxin.sdk.types import ALLOCATION_ORDER, AmountRange, ProductSpec

GOOD = ProductSpec(code="P", name="p", segment="farmer", amount=AmountRange(Decimal("1000"), Decimal("9000")),
                   term_months=(1, 12), annual_rate=(Decimal("0.03"), Decimal("0.1")))


def test_a_sound_spec_has_no_problem() -> None:
    assert spec_problem(GOOD) is None
    assert spec_problem(dataclasses.replace(GOOD, allocation_order=tuple(reversed(ALLOCATION_ORDER)),
                                            prepayment="lower_installment", collateral_kind="real_estate",
                                            settlement_day=21, penalty_markup=Decimal("0.3"))) is None


@pytest.mark.parametrize("change, words", [
    ({"repayment_methods": ("monthly",)}, "unknown repayment method"),
    ({"repayment_methods": ()}, "no repayment method"),
    ({"allocation_order": ("principal", "interest")}, "allocation_order"),
    ({"allocation_order": ALLOCATION_ORDER[:-1] + ("penalty",)}, "allocation_order"),
    ({"prepayment": "refund"}, "prepayment 'refund'"),
    ({"penalty_markup": Decimal("0.6")}, "penalty_markup"),
    ({"settlement_day": 31}, "settlement_day 31"),
    ({"collateral_kind": "boat"}, "kind 'boat'"),
])
def test_each_unhonourable_term_is_named(change: dict[str, object], words: str) -> None:
    problem = spec_problem(dataclasses.replace(GOOD, **change))  # type: ignore[arg-type]
    assert problem is not None and words in problem and "product P" in problem
