"""The comparison's figures against hand computations."""

from __future__ import annotations

import pytest

from nongxin.core.scorecards.compare_domain import figure, ks, migration, pearson, spearman


def test_pearson_by_hand():
    # deviations (-2,-1,0,1,2) and (-1,-2,1,0,2): 8 / sqrt(10 * 10)
    assert figure(pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])) == "0.800000"
    # deviations (-21,-20,-19,-18,78) and (-2,-1,0,1,2): 200 / sqrt(7610 * 10) = 0.7249994...
    assert figure(pearson([1, 2, 3, 4, 100], [1, 2, 3, 4, 5])) == "0.724999"


def test_spearman_ranks_and_ties_by_hand():
    assert figure(spearman([1, 2, 3, 4, 100], [1, 2, 3, 4, 5])) == "1.000000"  # same order
    assert figure(spearman([1, 2, 3], [30, 20, 10])) == "-1.000000"
    # ranks (1.5, 1.5, 3) and (1, 2, 3): 1.5 / sqrt(1.5 * 2) = 0.8660254
    assert figure(spearman([1, 1, 2], [1, 2, 3])) == "0.866025"


def test_correlation_needs_two_pairs_and_some_spread():
    assert pearson([1], [2]) is None and spearman([], []) is None
    assert pearson([5, 5, 5], [1, 2, 3]) is None
    with pytest.raises(ValueError):
        pearson([1, 2], [1])


def test_migration_matrix_counts_with_none():
    matrix = migration(["A", "B", None, "A"], ["B", "B", "A", None])
    assert matrix == {"A": {"A": 0, "B": 1, "none": 1},
                      "B": {"A": 0, "B": 1, "none": 0},
                      "none": {"A": 1, "B": 0, "none": 0}}
    assert list(matrix) == ["A", "B", "none"]
    assert migration([], []) == {}


def test_ks_by_hand():
    # bads at 1 and 3, goods at 2, 4, 5, 6: cumulative bads .5 .5 1 1 1 1, goods 0 .25 .25 .5 .75 1
    assert ks([1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 0, 0], 2) == (0.75, "")
    assert ks([4, 3, 2, 1], [0, 0, 1, 1], 2) == (1.0, "")
    assert ks([1, 1, 2, 2], [1, 0, 1, 0], 2) == (0.0, "")  # ties are one step


def test_ks_needs_enough_goods_and_bads():
    value, why = ks([1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 0, 0], 3)
    assert value is None and why == "needs at least 3 goods and 3 bads with known outcomes (4 goods, 2 bads)"


def test_figure_is_six_places_half_up():
    assert figure(0.1234565) == "0.123457" and figure(None) is None and figure(1) == "1.000000"
