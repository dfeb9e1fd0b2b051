"""``score_frame`` gives, row for row, exactly what ``score`` gives for the row's facts: totals and
grades on random scorecards over random frames (decimals in fen, integers, text, missing values)."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from nongxin.sdk.scorecards import score, score_frame
from nongxin.sdk.types import ScorecardBin, ScorecardGrade, ScorecardSpec

TEXTS = ["粮食种植", "生猪养殖", "green", "white", "", "12", "12.50", "A"]
BOUND = st.one_of(st.none(), st.decimals("-1000", "100000", places=3), st.integers(-50, 120).map(Decimal))


def numeric_bin(field):
    return st.builds(ScorecardBin, st.just(field), BOUND, BOUND, st.integers(-40, 60))


def text_bin(field):
    return st.builds(lambda pts, vals: ScorecardBin(field, None, None, pts, tuple(vals)), st.integers(-40, 60),
                     st.lists(st.sampled_from(TEXTS), min_size=1, max_size=3))


FIELDS = ("money", "count", "label", "absent")
BINS = st.lists(st.one_of(*(numeric_bin(f) for f in FIELDS), *(text_bin(f) for f in FIELDS)), min_size=1, max_size=12)
GRADES = st.lists(st.builds(ScorecardGrade, st.sampled_from("ABCDE"), st.integers(-100, 200),
                            st.decimals("0.1", "2", places=2)), max_size=5)
SPECS = st.builds(lambda bins, grades, base, miss: ScorecardSpec("SC", "farmer", base, tuple(bins), miss, tuple(grades)),
                  BINS, GRADES, st.integers(-50, 100), st.integers(-20, 20))
ROWS = st.lists(st.tuples(st.one_of(st.none(), st.integers(-10**7, 10**9)),  # fen
                          st.one_of(st.none(), st.integers(-100, 150)),
                          st.one_of(st.none(), st.sampled_from(TEXTS))), min_size=1, max_size=30)


def as_frame(rows, categorical=False):
    label = pd.Series([r[2] for r in rows], dtype="category" if categorical else object)
    return pd.DataFrame({"money": pd.array([r[0] for r in rows], dtype="Int64"),
                         "count": pd.array([r[1] for r in rows], dtype="Int64"), "label": label})


def facts_of(row):
    money, count, label = row
    facts = {"money": None if money is None else Decimal(money).scaleb(-2), "count": count, "label": label}
    return {k: v for k, v in facts.items() if v is not None}


def assert_same(spec, rows, frame):
    got = score_frame(spec, frame, decimals=("money",))
    assert got.total.dtype == np.int64
    for i, row in enumerate(rows):
        want = score(spec, facts_of(row))
        assert got.total[i] == want.total, (row, want.lines)
        name = None if got.grade[i] < 0 else got.names[got.grade[i]]
        assert name == (want.grade.name if want.grade else None), row
        if want.grade is not None:
            assert spec.grades[got.grade[i]] is want.grade  # the same band when names repeat


@settings(max_examples=300, deadline=None)
@given(SPECS, ROWS, st.booleans())
def test_score_frame_equals_score_row_for_row(spec, rows, categorical):
    assert_same(spec, rows, as_frame(rows, categorical))


def test_fen_bins_compare_exactly_and_constants_score_once():
    spec = ScorecardSpec("SC", "farmer", 0, (
        ScorecardBin("money", Decimal("0.005"), Decimal("10.001"), 5),  # finer than a fen
        ScorecardBin("money", Decimal("10.001"), None, 9),
        ScorecardBin("lpr_1y", Decimal("0.0345"), Decimal("0.0346"), 100)), missing_points=-1)
    frame = pd.DataFrame({"money": pd.array([0, 1, 1000, 1001, None], dtype="Int64")})
    got = score_frame(spec, frame, decimals=("money",), constants={"lpr_1y": Decimal("0.0345")})
    # 0.00: below 0.005 (missing); 0.01 and 10.00 in the first bin; 10.01 in the second; NA missing
    assert got.total.tolist() == [99, 105, 105, 109, 99]
    assert got.grade.tolist() == [-1] * 5


@pytest.mark.parametrize("rows", [[(None, None, None)], [(150, 3, "A"), (None, 7, None)]])
def test_missing_and_absent_columns(rows):
    spec = ScorecardSpec("SC", "farmer", 10, (ScorecardBin("absent", None, None, 3), ScorecardBin("money", None, None, 4)),
                         missing_points=-2, grades=(ScorecardGrade("X", 0, Decimal("1")),))
    assert_same(spec, rows, as_frame(rows))
