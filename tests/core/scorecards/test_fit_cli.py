"""`nongxin scorecard sample-data` and `nongxin scorecard fit` end to end in a folder: the printed
figures, the two files, and refusals with exit status 1, line numbers and nothing written."""

from __future__ import annotations

from click.testing import CliRunner

from nongxin.core.cli import main
from nongxin.sdk.scorecards import score, spec_from_json


def _run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_sample_data_then_fit_writes_the_spec_and_the_report(tmp_path):
    data = tmp_path / "history.csv"
    made = _run("scorecard", "sample-data", str(data), "--rows", "2500", "--seed", "3")
    assert made.exit_code == 0, made.output
    assert data.read_text(encoding="utf-8").splitlines()[0].endswith(",bad")
    result = _run("scorecard", "fit", str(data), "--target", "bad", "--segment", "farmer", "--code", "jn_farmer",
                  "--name", "济南农户卡", "--grades", "A:1.3,B:1.0,C:0.7")
    assert result.exit_code == 0, result.output
    for word in ("KS", "AUC", "Gini", "train", "test", "peer_review", "bureau_worst_overdue_days_24m"):
        assert word in result.output
    spec = spec_from_json((tmp_path / "jn_farmer.spec.json").read_text(encoding="utf-8"))
    assert (spec.code, spec.segment, spec.name) == ("jn_farmer", "farmer", "济南农户卡")
    assert [g.name for g in spec.grades] == ["A", "B", "C"] and spec.development is not None
    assert spec.development.rows == 2500
    assert score(spec, {"peer_review": "black"}).total < score(spec, {"peer_review": "green"}).total
    report = (tmp_path / "jn_farmer.report.html").read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>") and "jn_farmer" in report


def test_labels_exclude_and_out_folder(tmp_path):
    from nongxin.core.scorecards.synthetic import history

    frame = history(2000, 4)
    frame["outcome"] = frame.pop("bad").map({1: "written_off", 0: "repaid"})
    frame["borrower_no"] = range(len(frame))
    frame.to_excel(tmp_path / "loans.xlsx", index=False)
    out = tmp_path / "cards"
    result = _run("scorecard", "fit", str(tmp_path / "loans.xlsx"), "--target", "outcome", "--bad", "written_off",
                  "--exclude", "borrower_no", "--segment", "farmer", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["farmer_loans.report.html", "farmer_loans.spec.json"]
    spec = spec_from_json((out / "farmer_loans.spec.json").read_text(encoding="utf-8"))
    assert spec.development.bads == int((frame["outcome"] == "written_off").sum())
    assert "borrower_no" not in {b.field for b in spec.bins}


def test_bad_rows_exit_1_with_lines_and_write_nothing(tmp_path):
    from nongxin.core.scorecards.synthetic import history

    frame = history(1500, 2)
    frame["age"] = frame["age"].astype(object)
    frame.loc[9, "age"] = "forty"  # line 11
    frame.loc[99, "bad"] = 7  # line 101
    data = tmp_path / "h.csv"
    frame.to_csv(data, index=False)
    result = _run("scorecard", "fit", str(data), "--target", "bad", "--segment", "farmer")
    assert result.exit_code == 1
    assert "line 11, column age: 'forty' is not a number" in result.output
    assert "line 101, column bad: target '7'" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"]
    dropped = _run("scorecard", "fit", str(data), "--target", "bad", "--segment", "farmer", "--drop-bad-rows")
    assert dropped.exit_code == 0, dropped.output
    assert "dropped 2 bad row(s) (--drop-bad-rows): lines 11, 101" in dropped.output
    assert spec_from_json((tmp_path / "farmer_h.spec.json").read_text(encoding="utf-8")).development.rows == 1498


def test_unknown_columns_and_bad_options_exit_1(tmp_path):
    data = tmp_path / "h.csv"
    data.write_text("age,salary,bad\n30,1,0\n", encoding="utf-8")
    result = _run("scorecard", "fit", str(data), "--target", "bad", "--segment", "farmer")
    assert result.exit_code == 1 and "not admission facts: salary" in result.output
    for args, message in ((["--code", "a b"], "letters, digits"), (["--grades", "A"], "NAME:COEFFICIENT")):
        result = _run("scorecard", "fit", str(data), "--target", "bad", "--segment", "farmer", *args)
        assert result.exit_code == 1 and message in result.output
    result = _run("scorecard", "fit", str(tmp_path / "h.txt"), "--target", "bad", "--segment", "farmer")
    assert result.exit_code == 1 and ".csv, .xlsx or .parquet" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"]


def test_the_command_line_starts_without_toad_or_scikit_learn():
    import subprocess
    import sys

    code = ("import sys, nongxin.core.cli, nongxin.core.scorecards.fit, nongxin.core.scorecards.report; "
            "print(sorted(m for m in ('toad', 'sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
