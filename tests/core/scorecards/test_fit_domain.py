"""The pure arithmetic of a scorecard fit: the points scale, WOE/IV, monotonic merge, grade floors
and the quality figures."""

from __future__ import annotations

import math

import pytest

from nongxin.core.scorecards import fit_domain as dom


def test_points_scale_by_the_usual_convention():
    factor, offset = dom.scaling(600, 50, 20)
    assert factor == pytest.approx(20 / math.log(2))
    assert offset + factor * math.log(50) == pytest.approx(600)  # base score at base odds
    assert offset + factor * math.log(100) == pytest.approx(620)  # pdo points double the odds
    # a bad-probability logit of -ln 50 (odds 50:1) is 600 points
    assert dom.base_points(offset, factor, -math.log(50)) == 600
    assert dom.bin_points(factor, 0.5, 0.4) == round(-factor * 0.2)
    with pytest.raises(ValueError):
        dom.scaling(600, 0, 20)


def test_woe_and_iv():
    woes, iv = dom.woe_iv([10, 30], [90, 70])
    assert woes[0] == pytest.approx(math.log((10 / 40) / (90 / 160)))
    assert woes[1] > 0 > woes[0]
    assert iv == pytest.approx(sum((b / 40 - g / 160) * w for b, g, w in zip([10, 30], [90, 70], woes)))
    assert dom.woe_iv([0, 5], [5, 5])[0][0] == pytest.approx(math.log((0.5 / 5) / (5 / 10)))


def test_monotonic_merge_removes_a_reversal():
    # bad rates 10%, 30%, 20%, 50%: rising overall; bins 2 and 3 merge
    assert dom.monotonic_merge([10, 20, 30], [10, 30, 20, 50], [90, 70, 80, 50]) == [10, 30]
    # already falling: kept
    assert dom.monotonic_merge([1, 2], [50, 30, 10], [50, 70, 90]) == [1, 2]
    # a U shape collapses to monotonic
    merged = dom.monotonic_merge([1, 2, 3], [40, 10, 10, 40], [60, 90, 90, 60])
    assert len(merged) < 3
    with pytest.raises(ValueError):
        dom.monotonic_merge([1], [1], [1])


def test_grade_floors_take_top_shares():
    scores = list(range(100))
    assert dom.grade_floors(scores, [0.2, 0.3]) == [80, 50]
    assert dom.grade_floors([5] * 10, [0.5, 0.5]) == [6, 5]  # ties stay below the cut; floors fall
    assert dom.grade_floors([1, 2, 2, 3], [0.5]) == [3]  # the top half would split the 2s: only the 3


def test_auc_and_ks_on_known_cases():
    assert dom.auc([1, 1, 0, 0], [1, 2, 3, 4]) == 1.0  # goods score high
    assert dom.auc([0, 0, 1, 1], [1, 2, 3, 4]) == 0.0
    assert dom.auc([1, 0], [5, 5]) == 0.5
    assert dom.ks([1, 1, 0, 0], [1, 2, 3, 4]) == 1.0
    assert dom.ks([1, 0, 1, 0], [1, 2, 3, 4]) == pytest.approx(0.5)
    curve = dom.roc([1, 1, 0, 0], [1, 2, 3, 4])
    assert curve[0] == (0.0, 0.0) and curve[-1] == (1.0, 1.0)
    assert dom.decile_edges(list(range(100))) == tuple(range(10, 100, 10))
