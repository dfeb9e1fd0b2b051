"""PSI from counts (``scorecards.stability_domain``): a hand computation, the empty-band floor, and
the properties every PSI has (never negative, 0 for equal distributions, symmetric, invariant to
scaling the counts)."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from nongxin.core.scorecards.stability_domain import FLOOR, psi, share_text, shares, status


def test_psi_matches_a_hand_computation() -> None:
    # expected shares 0.25 0.5 0.25, actual 0.5 0.25 0.25
    hand = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert psi([25, 50, 25], [50, 25, 25]) == Decimal("0.346574") == Decimal(str(round(hand, 6)))


def test_an_empty_band_is_floored_not_a_division_by_zero() -> None:
    # actual has nothing in the first band: its share counts as FLOOR
    hand = (0.0001 - 0.5) * math.log(0.0001 / 0.5) + (1 - 0.5) * math.log(1 / 0.5)
    assert psi([50, 50], [0, 10]) == Decimal(str(round(hand, 6)))
    assert shares([0, 10]) == [FLOOR, Decimal(1)]


def test_nothing_to_compare_is_none() -> None:
    assert psi([], []) is None
    assert psi([0, 0], [1, 2]) is None
    assert psi([1, 2], [0, 0]) is None
    assert psi([1, 2, 3], [1, 2]) is None


def test_status_bands_and_shares_are_exact_text() -> None:
    threshold = Decimal("0.25")
    assert [status(v, threshold) for v in (None, Decimal("0.099999"), Decimal("0.1"), Decimal("0.25"),
                                           Decimal("0.250001"))] == ["too_few", "stable", "watch", "watch", "shift"]
    assert share_text([1, 2, 0]) == ["0.333333", "0.666667", "0.000000"]


counts = st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=8).filter(lambda c: sum(c) > 0)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_psi_properties(data: st.DataObject) -> None:
    expected = data.draw(counts)
    actual = data.draw(st.lists(st.integers(min_value=0, max_value=10_000), min_size=len(expected),
                                max_size=len(expected)).filter(lambda c: sum(c) > 0))
    factor = data.draw(st.integers(min_value=1, max_value=50))
    value = psi(expected, actual)
    assert value is not None and value >= 0
    assert value == value.quantize(Decimal("0.000001"))
    assert psi(expected, expected) == 0
    assert psi(actual, expected) == value
    assert psi([c * factor for c in expected], actual) == value
    assert psi(expected, [c * factor for c in actual]) == value
