"""Reading a scorecard data set: exact money, facts only, bad rows listed by line, labels, and the
three file kinds (CSV in UTF-8 or GB18030, .xlsx, .parquet) giving the same data set."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from nongxin.core.errors import ValidationFailed
from nongxin.core.scorecards.data import MAX_SHOWN, DataProblem, fact_value, read_dataset, read_frame, scale_of
from nongxin.core.scorecards.synthetic import history
from nongxin.sdk.rules.fields import FieldType


def _same(a, b):
    assert a.kinds == b.kinds
    assert (a.target == b.target).all() and (a.lines == b.lines).all()
    pd.testing.assert_frame_equal(a.frame.astype(object), b.frame.astype(object))


def test_a_float_money_column_is_read_exactly_as_fen(tmp_path):
    frame = pd.DataFrame({"annual_income": [12345.67, 0.1, 0.2, 0.3, 1e12 + 0.01, None, 50000.0],
                          "age": [30, 40, 50, 60, 35, 45, 55], "bad": [0, 1, 0, 1, 0, 1, 0]})
    path = tmp_path / "money.parquet"
    frame.to_parquet(path)
    data = read_dataset(path, target="bad")
    assert data.frame["annual_income"].tolist()[:5] == [1234567, 10, 20, 30, 100000000000001]
    assert data.frame["annual_income"].isna().tolist() == [False] * 5 + [True, False]
    assert fact_value(FieldType.DECIMAL, data.frame["annual_income"][0]) == Decimal("12345.67")
    assert fact_value(FieldType.DECIMAL, data.frame["annual_income"][5]) is None


def test_a_ratio_is_read_to_the_millionth_not_refused_as_more_than_fen():
    """The bureau's card utilization has 4 places: a ratio is read to its own scale, money to the fen."""
    frame = pd.DataFrame({"bureau_card_utilization": ["0.8234", "1.05", ""], "annual_income": ["100.5", "7", "8"],
                          "bad": [1, 0, 0]})
    data = read_frame(frame, target="bad")
    assert scale_of("bureau_card_utilization") == 6 and scale_of("annual_income") == 2
    assert data.frame["bureau_card_utilization"].tolist()[:2] == [823400, 1050000]
    assert fact_value(FieldType.DECIMAL, data.frame["bureau_card_utilization"][0], 6) == Decimal("0.8234")
    with pytest.raises(DataProblem) as caught:
        read_frame(pd.DataFrame({"bureau_card_utilization": ["0.12345678", "0.5"], "bad": [1, 0]}), target="bad")
    assert "'0.12345678' has more than 6 decimal places" in caught.value.message


def test_a_sum_of_floats_with_more_than_fen_is_a_bad_row_not_rounded():
    frame = pd.DataFrame({"annual_income": [0.1 + 0.2, 100.0], "bad": [1, 0]})  # 0.30000000000000004
    with pytest.raises(DataProblem) as caught:
        read_frame(frame, target="bad")
    assert "line 2, column annual_income: '0.30000000000000004' has more than 2 decimal places" in caught.value.message


def test_bad_rows_are_all_listed_with_lines_and_columns(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("age,annual_income,peer_review,bad\n30,1000.00,green,0\nthirty,1000.00,green,1\n"
                    "40,12.345,white,0\n50,,grey,maybe\n60,2000,black,\n45,100,white,1\n", encoding="utf-8")
    with pytest.raises(DataProblem) as caught:
        read_dataset(path, target="bad")
    message = caught.value.message
    assert "4 bad value(s) in 4 row(s); nothing was fitted" in message
    assert "line 3, column age: 'thirty' is not a number" in message
    assert "line 4, column annual_income: '12.345' has more than 2 decimal places" in message
    assert "line 5, column bad: target 'maybe' is neither '1' (bad) nor '0' (good)" in message
    assert "line 6, column bad: empty target" in message
    data = read_dataset(path, target="bad", drop_bad_rows=True)
    assert data.lines.tolist() == [2, 7] and data.dropped_lines() == [3, 4, 5, 6]
    assert data.frame["annual_income"].tolist() == [100000, 10000]


def test_many_bad_rows_are_capped_with_a_count():
    frame = pd.DataFrame({"age": ["x"] * (MAX_SHOWN + 7), "bad": [0, 1] * ((MAX_SHOWN + 7) // 2) + [0]})
    with pytest.raises(DataProblem) as caught:
        read_frame(frame, target="bad")
    assert "... and 7 more" in caught.value.message
    assert f"line {MAX_SHOWN + 1}, column age" in caught.value.message


def test_columns_that_are_not_admission_facts_are_named_all_at_once():
    frame = pd.DataFrame({"age": [30], "salary": [1], "village": ["x"], "customer_id": [7], "bad": [1]})
    with pytest.raises(DataProblem) as caught:
        read_frame(frame, target="bad")
    message = caught.value.message
    assert "3 column(s) are not admission facts: salary, village, customer_id" in message
    assert "--exclude" in message and "ADMISSION" in message and "customer_facts" in message
    data = read_frame(pd.DataFrame({"age": [30, 40], "salary": [1, 2], "village": ["x", "y"],
                                    "customer_id": [7, 8], "bad": [1, 0]}),
                      target="bad", exclude=["salary", "Village", "customer_id"])
    assert data.variables == ("age",)


def test_target_and_exclude_must_exist():
    frame = pd.DataFrame({"age": [30], "bad": [1]})
    with pytest.raises(DataProblem, match="no target column 'default'"):
        read_frame(frame, target="default")
    with pytest.raises(DataProblem, match="--exclude names no column: land"):
        read_frame(frame, target="bad", exclude=["land"])


def test_labelled_targets():
    frame = pd.DataFrame({"age": [30, 40, 50], "outcome": ["好", "坏", "好"]})
    data = read_frame(frame, target="outcome")
    assert data.target.tolist() == [0, 1, 0] and (data.bad_label, data.good_label) == ("坏", "好")
    frame = pd.DataFrame({"age": [30, 40, 50], "outcome": ["repaid", "written_off", "repaid"]})
    with pytest.raises(DataProblem, match="name the bad one with --bad"):
        read_frame(frame, target="outcome")
    assert read_frame(frame, target="outcome", bad="written_off").target.tolist() == [0, 1, 0]
    assert read_frame(frame, target="outcome", bad="repaid").target.tolist() == [1, 0, 1]
    with pytest.raises(DataProblem, match="does not appear"):
        read_frame(frame, target="outcome", bad="lost")
    three = pd.DataFrame({"age": [1, 2, 3], "outcome": ["bad", "good", "unknown"]})
    with pytest.raises(DataProblem, match="line 4, column outcome: target 'unknown'"):
        read_frame(three, target="outcome")


def test_csv_gb18030_xlsx_and_parquet_give_the_same_data_set(tmp_path):
    frame = history(300, 5)
    frame["peer_review"] = frame["peer_review"].map({"green": "绿", "white": "白", "grey": "灰", "black": "黑"})
    frame.to_csv(tmp_path / "h.csv", index=False)
    (tmp_path / "gbk.csv").write_bytes((tmp_path / "h.csv").read_text(encoding="utf-8").encode("gb18030"))
    frame.to_excel(tmp_path / "h.xlsx", index=False)
    frame.to_parquet(tmp_path / "h.parquet")
    reference = read_frame(frame, target="bad")
    assert reference.frame["peer_review"].iloc[0] in ("绿", "白", "灰", "黑")
    for name in ("h.csv", "gbk.csv", "h.xlsx", "h.parquet"):
        _same(read_dataset(tmp_path / name, target="bad"), reference)
    assert int(reference.frame["annual_income"].isna().sum()) > 0  # empty cells are missing, not bad


def test_typing_by_fact():
    frame = pd.DataFrame({"age": ["30", "41.0", ""], "bureau_open_enforcement": ["是", "false", "1"],
                          "term_months": [12, 24, 36], "bad": ["bad", "good", "bad"]})
    data = read_frame(frame, target="bad")
    assert data.frame["age"].tolist()[:2] == [30, 41] and data.frame["age"].isna().tolist() == [False, False, True]
    assert data.frame["bureau_open_enforcement"].tolist() == ["true", "false", "true"]
    with pytest.raises(DataProblem, match="'41.5' is not a whole number"):
        read_frame(pd.DataFrame({"age": ["41.5", "2"], "bad": [1, 0]}), target="bad")


def test_unreadable_files_are_refused(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(ValidationFailed, match="not a readable parquet file"):
        read_dataset(path, target="bad")
    with pytest.raises(DataProblem, match="cannot read the file"):
        read_dataset(tmp_path / "absent.csv", target="bad")
    (tmp_path / "old.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old excel")
    with pytest.raises(ValidationFailed, match="old binary Excel"):
        read_dataset(tmp_path / "old.xlsx", target="bad")


def test_float_targets_and_unnamed_columns(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("age,bad\n30,1.0\n40,0.0\n50,\n", encoding="utf-8")
    with pytest.raises(DataProblem, match="line 4, column bad: empty target"):
        read_dataset(path, target="bad")
    assert read_dataset(path, target="bad", drop_bad_rows=True).target.tolist() == [1, 0]
    path.write_text("age,,bad\n30,x,1\n40,y,0\n", encoding="utf-8")
    with pytest.raises(DataProblem, match="column\\(s\\) 2 have no name"):
        read_dataset(path, target="bad")
