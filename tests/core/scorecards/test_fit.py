"""Fitting a scorecard on the synthetic farmer history: the card recovers the known directions, is
a real spec that ``score`` scores exactly as the fit did, and its development counts are those the
SDK's own ``bin_index``/``band_index`` give."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from nongxin.core.scorecards.data import DataProblem, fact_value, read_frame, scale_of
from nongxin.core.scorecards.fit import FitOptions, fit, missing_enough, parse_grades
from nongxin.core.scorecards.synthetic import history
from nongxin.sdk.scorecards import band_index, bin_index, score, score_frame, spec_from_json, spec_to_json
from nongxin.sdk.rules.fields import FieldType

OPTIONS = FitOptions(code="farmer_fit", segment="farmer", name="农户评分卡", fitted_on=date(2026, 11, 1))


@pytest.fixture(scope="module")
def data():
    return read_frame(history(3000, 7), target="bad")


@pytest.fixture(scope="module")
def result(data):
    return fit(data, OPTIONS)


def _points(spec, field):
    return [b for b in spec.bins if b.field == field]


def test_the_card_recovers_the_known_directions(result):
    overdue = _points(result.spec, "bureau_worst_overdue_days_24m")
    assert len(overdue) >= 3
    assert [b.lower for b in overdue][1:] == sorted(b.lower for b in overdue[1:])
    assert all(a.points > b.points for a, b in zip(overdue, overdue[1:]))  # more days overdue, fewer points
    peer = {b.values[0]: b.points for b in _points(result.spec, "peer_review") if len(b.values) == 1}
    assert peer["black"] < peer["grey"] < peer["white"] < peer["green"]
    income = _points(result.spec, "annual_income")
    assert all(a.points <= b.points for a, b in zip(income, income[1:]))  # monotonic: more income, more points


def test_quality_on_the_test_set(result):
    assert result.test.auc > 0.70
    assert result.train.ks > 0.3
    assert result.test.gini == pytest.approx(2 * result.test.auc - 1)
    assert result.train.rows + result.test.rows == 3000
    assert abs(result.test.rows - 900) <= 1


def test_metrics_agree_with_toad(result):
    import toad

    y, s = result.target[~result.is_train], result.totals[~result.is_train]
    assert result.test.auc == pytest.approx(toad.metrics.AUC(-s, y))
    assert result.test.ks == pytest.approx(toad.metrics.KS(-s, y))


def test_every_row_scores_as_the_fit_computed(data, result):
    spec = result.spec
    for i in range(len(data.target)):
        facts = {c: fact_value(data.kinds[c], data.frame[c].iloc[i], scale_of(c)) for c in data.variables}
        assert score(spec, facts).total == result.totals[i], i
    decimals = [c for c, k in data.kinds.items() if k is FieldType.DECIMAL]
    frame = data.frame.astype({c: object for c, k in data.kinds.items() if k is FieldType.STRING})
    assert (score_frame(spec, frame, decimals).total == result.totals).all()


def test_the_spec_round_trips_through_json(result):
    text = spec_to_json(result.spec)
    assert spec_from_json(text) == result.spec
    assert "e-" not in text and "." not in text.split('"bins"')[0]  # no float anywhere near the points


def test_money_bins_are_yuan_with_fen_and_missing_points_are_the_worst_bin(result):
    income = _points(result.spec, "annual_income")
    bounds = [b.upper for b in income if b.upper is not None]
    assert bounds and all(isinstance(u, Decimal) and u.as_tuple().exponent == -2 for u in bounds)
    assert result.spec.missing_points == min(b.points for b in result.spec.bins)
    own = result.spec.missing_by_field
    fields = {b.field for b in result.spec.bins}
    assert score(result.spec, {}).total == result.spec.base_points + sum(
        own.get(f, result.spec.missing_points) for f in fields)


def test_a_variable_missing_often_enough_earns_its_missing_bins_own_points(result):
    """The synthetic history leaves some incomes and land figures empty (more than 1% of the train
    rows): their missing bin is weighed like any bin, not given the card's worst points."""
    train_rows = result.train.rows
    for v in result.used():
        missing_row = v.bins[-1]
        if missing_enough(missing_row.rows, train_rows, result.options):
            assert result.spec.missing_by_field[v.name] == missing_row.points
        else:
            assert v.name not in result.spec.missing_by_field and missing_row.points == result.spec.missing_points
    assert "annual_income" in result.spec.missing_by_field
    assert result.spec.missing_by_field["annual_income"] != result.spec.missing_points
    line = next(x for x in score(result.spec, {}).lines if x.field == "annual_income")
    assert (line.bin, line.points) == ("missing", result.spec.missing_by_field["annual_income"])


def test_development_counts_equal_a_recount_with_the_sdk(data, result):
    dev = result.spec.development
    assert dev is not None and dev.rows == 3000 and dev.bads == int(data.target.sum())
    assert dev.fitted_on == "2026-11-01"
    for field, counts in dev.bin_counts.items():
        recount = Counter(bin_index(result.spec, field, fact_value(data.kinds[field], v, scale_of(field))) for v in data.frame[field])
        assert counts == tuple(recount.get(i, 0) for i in range(len(counts))), field
        assert sum(counts) == 3000
    bands = Counter(band_index(dev.score_edges, int(t)) for t in result.totals)
    assert dev.score_counts == tuple(bands.get(i, 0) for i in range(len(dev.score_edges) + 1))
    assert list(dev.score_edges) == sorted(set(dev.score_edges)) and len(dev.score_edges) >= 5
    assert sum(dev.bin_counts["annual_income"][-1:]) == int(data.frame["annual_income"].isna().sum())


def test_grades_are_bands_of_the_train_scores(result):
    spec = result.spec
    assert [g.name for g in spec.grades] == ["A", "B", "C", "D"]
    assert [g.limit_coefficient for g in spec.grades] == [Decimal("1.2"), Decimal("1.0"), Decimal("0.8"), Decimal("0.5")]
    floors = [g.min_score for g in spec.grades]
    assert floors == sorted(floors, reverse=True)
    train = result.totals[result.is_train]
    share_a = (train >= floors[0]).mean()
    assert 0.15 < share_a <= 0.2
    rates = [g.train_bads / g.train_rows for g in result.grades]
    assert rates == sorted(rates)  # A has the fewest bads, the ungraded the most
    assert sum(g.train_rows for g in result.grades) == result.train.rows
    assert sum(g.test_rows for g in result.grades) == result.test.rows


def test_the_same_seed_gives_the_same_card_byte_for_byte(data, result):
    again = fit(read_frame(history(3000, 7), target="bad"), OPTIONS)
    assert spec_to_json(again.spec) == spec_to_json(result.spec)
    other = fit(data, FitOptions(code="farmer_fit", segment="farmer", seed=1, fitted_on=date(2026, 11, 1)))
    assert spec_to_json(other.spec) != spec_to_json(result.spec)


def test_decision_tree_binning_and_a_custom_scale(data):
    card = fit(data, FitOptions(code="dt", segment="farmer", method="dt", base_score=500, base_odds=20, pdo=40,
                                grades=parse_grades("A:1.1:30,B:0.9:40")))
    assert card.test.auc > 0.70
    assert [g.name for g in card.spec.grades] == ["A", "B"]
    assert 0.25 < (card.totals[card.is_train] >= card.spec.grades[0].min_score).mean() <= 0.3


def test_too_few_bads_is_a_clear_error():
    frame = history(400, 3)
    frame["bad"] = 0
    frame.loc[:20, "bad"] = 1
    with pytest.raises(DataProblem, match="too few bads or goods"):
        fit(read_frame(frame, target="bad"), OPTIONS)


@pytest.mark.parametrize("text, reason", [("A:x", "NAME:COEFFICIENT"), ("A:1,A:2", "repeats"),
                                          ("A:1:60,B:1:50", "more than 100%"), ("A:1:20,B:1", "every grade"),
                                          ("", "names no grade")])
def test_grades_option_is_checked(text, reason):
    with pytest.raises(DataProblem, match=reason):
        parse_grades(text)
