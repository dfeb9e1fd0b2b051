"""Grammar features and error cases of the rule language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from nongxin.sdk.rules import (
    DuplicateRuleError, Field, Rule, RuleDefinitionError, RuleError, RuleSyntaxError, RuleTypeError,
    Schema, UnknownFieldError, check_expression, compile_rule_set,
)

SCHEMA = Schema([
    Field("overdue_days", "integer", "逾期天数"),
    Field("loan_balance", "decimal", "贷款余额"),
    Field("credit_limit", "decimal", "授信额度"),
    Field("score", "number", "评分"),
    Field("industry", "string", "行业"),
    Field("blacklisted", "boolean", "黑名单"),
    Field("birth", "date", "出生日期"),
    Field("apply_date", "date", "申请日期"),
])


def rule(expr: str, code: str = "A001", outcome: str = "reject") -> Rule:
    return Rule(code, "测试规则", expr, "admission", outcome, "province", "P00", reason="原因")


def hits(expr: str, record: dict) -> bool:
    """Evaluate through both evaluators and insist they agree."""
    rs = compile_rule_set([rule(expr)], SCHEMA)
    one = bool(rs.evaluate(record))
    frame = _frame([record])
    many = rs.evaluate_frame(frame).summary["hit_count"].iloc[0] == 1
    assert one == many, expr
    return one


def _frame(records: list[dict]) -> pd.DataFrame:
    cols: dict = {}
    for f in SCHEMA.values():
        vals = [r.get(f.name) for r in records]
        t = f.type.value
        if t == "decimal":
            cols[f.name] = pd.array([None if v is None else int(Decimal(v) * 100) for v in vals], dtype="Int64")
        elif t == "integer":
            cols[f.name] = pd.array(vals, dtype="Int64")
        elif t == "number":
            cols[f.name] = np.array([np.nan if v is None else v for v in vals], dtype=float)
        elif t == "boolean":
            cols[f.name] = pd.array(vals, dtype="boolean")
        elif t == "date":
            cols[f.name] = pd.to_datetime(pd.Series(vals, dtype=object))
        else:
            cols[f.name] = pd.Series(vals, dtype=object)
    return pd.DataFrame(cols)


REC = {"overdue_days": 45, "loan_balance": Decimal("500000.01"), "credit_limit": Decimal("600000"),
       "score": 0.72, "industry": "农业", "blacklisted": False,
       "birth": dt.date(1980, 5, 1), "apply_date": dt.date(2024, 1, 31)}


@pytest.mark.parametrize("expr,expected", [
    ("overdue_days > 30", True),
    ("overdue_days == 45 and overdue_days = 45", True),
    ("overdue_days != 45", False),
    ("overdue_days >= 45 and overdue_days <= 45 and overdue_days < 46", True),
    ("逾期天数 > 30", True),
    ("loan_balance > 500000", True),
    ("loan_balance > 500000.01", False),
    ("loan_balance >= 500000.01", True),
    ("loan_balance > credit_limit * 0.8", True),
    ("loan_balance + 99999.99 = credit_limit", True),
    ("loan_balance - credit_limit < 0", True),
    ("loan_balance * overdue_days > 100 * 10000", True),
    ("score * 100 > 70 and score / 2 < 0.5", True),
    ("-score < 0", True),
    ("(overdue_days + 5) * 2 = 100", True),
    ("industry = '农业'", True),
    ('industry in ["农业", "渔业"]', True),
    ('industry not in ["农业", "渔业"]', False),
    ("overdue_days in [1, 2, 45]", True),
    ("overdue_days between 30 and 60", True),
    ("overdue_days not between 30 and 60", False),
    ("not blacklisted", True),
    ("blacklisted = false", True),
    ("blacklisted or overdue_days > 90", False),
    ('birth < date("1990-01-01")', True),
    ("days_between(birth, apply_date) > 365 * 40", True),
    ("abs(score - 1) > 0.2", True),
    ("min(overdue_days, 30) = 30 and max(overdue_days, 60) = 60", True),
    ("coalesce(score, 0) > 0.5", True),
    ("len(industry) = 2", True),
    ("score is not missing", True),
    ("score is missing", False),
    ("true", True),
    ("not (overdue_days > 30 or score > 1)", False),
    ("overdue_days > 30\n  and score > 0.5", True),
])
def test_grammar_features(expr: str, expected: bool) -> None:
    assert hits(expr, REC) is expected


MISSING = {"overdue_days": None, "score": None, "industry": None}


@pytest.mark.parametrize("expr,expected", [
    ("overdue_days > 30", False),
    ("not (overdue_days > 30)", False),  # missing stays missing under not
    ("overdue_days is missing", True),
    ("overdue_days is not missing", False),
    ("coalesce(overdue_days, 0) = 0", True),
    ("overdue_days > 30 or true", True),  # Kleene: missing or true = true
    ("overdue_days > 30 and false", False),
    ("not (overdue_days > 30 and false)", True),  # missing and false = false
    ("overdue_days + 1 > 0", False),
    ("industry in ['农业']", False),
    ("industry not in ['农业']", False),
    ("loan_balance is missing", True),  # absent key
    ("score / 0.5 > 1", False),
])
def test_missing_semantics(expr: str, expected: bool) -> None:
    assert hits(expr, MISSING) is expected


def test_runtime_division_by_zero_is_missing() -> None:
    rec = dict(REC, overdue_days=0)
    assert hits("score / overdue_days > 0", rec) is False
    assert hits("(score / overdue_days) is missing", rec) is True


def test_number_nan_in_record_is_missing() -> None:
    assert hits("score is missing", {"score": float("nan")}) is True


def _error(expr: str, code: str = "R9") -> RuleError:
    with pytest.raises(RuleError) as ei:
        compile_rule_set([rule(expr, code)], SCHEMA)
    return ei.value


def test_type_error_points_at_string_literal() -> None:
    e = _error('overdue_days > "30"')
    assert isinstance(e, RuleTypeError)
    assert (e.code, e.line, e.column) == ("R9", 1, 16)
    text = str(e)
    assert "rule R9" in text and 'overdue_days > "30"' in text
    assert text.splitlines()[-1].index("^") == 4 + 15


def test_unknown_field_names_field_and_rule() -> None:
    e = _error("overdue_dayz > 3", "ADM-7")
    assert isinstance(e, UnknownFieldError)
    assert e.field == "overdue_dayz" and "ADM-7" in str(e) and "overdue_dayz" in str(e)


@pytest.mark.parametrize("expr", [
    "__import__('os')", "x.__class__", "overdue_days.__class__", "eval('1')", "overdue_days > 30 ;",
    "overdue_days > ", "overdue_days > 30 30", "1 < overdue_days < 3", "(overdue_days > 1",
    "overdue_days @ 2", "date('2024-13-01') > birth", "score > 1.", "", "industry = 'abc",
    "lambda: 1",
])
def test_syntax_errors(expr: str) -> None:
    assert isinstance(_error(expr), RuleSyntaxError)


def test_python_is_never_executed(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    called = []
    monkeypatch.setattr(builtins, "__import__", lambda *a, **k: called.append(a) or None, raising=True)
    try:
        with pytest.raises(RuleSyntaxError):
            check_expression("__import__('os').system('echo hi')", SCHEMA)
    finally:
        monkeypatch.undo()
    assert called == []


@pytest.mark.parametrize("expr", [
    "score / 0 > 1", "score / (1 - 1) > 1", "industry > 'a'", "blacklisted > false",
    "overdue_days and score > 1", "overdue_days + 1", "loan_balance > score",
    "loan_balance / 2 > 1", "loan_balance * credit_limit > 1", "loan_balance * score > 1",
    "industry = 1", "birth > 3", "overdue_days in ['a']", "len(score) > 1",
    "days_between(birth, 3) > 1", "abs(score, 1) > 0", "coalesce(industry, 1) = 'a'", "not score",
])
def test_type_errors(expr: str) -> None:
    assert isinstance(_error(expr), RuleTypeError)


def test_multiline_error_position() -> None:
    e = _error('overdue_days > 30 and\n   industry = 5')
    assert (e.line, e.column) == (2, 15)
    assert "industry = 5" in str(e)


def test_duplicate_codes_name_both() -> None:
    a = Rule("A1", "第一条", "score > 1", "admission", "reject", "province", "P00", origin="pack.toml:3")
    b = Rule("A1", "第二条", "score > 2", "admission", "tag", "province", "P00", origin="pack.toml:9")
    with pytest.raises(DuplicateRuleError) as ei:
        compile_rule_set([a, b], SCHEMA)
    text = str(ei.value)
    assert "第一条" in text and "第二条" in text and "pack.toml:3" in text and "pack.toml:9" in text


@pytest.mark.parametrize("kw", [
    dict(stage="admission", outcome="red"), dict(stage="post_loan", outcome="reject"),
    dict(stage="nightly", outcome="red"), dict(level="town"), dict(code=""),
    dict(effective_from=dt.date(2024, 2, 1), effective_to=dt.date(2024, 1, 1)), dict(version=0),
])
def test_rule_definition_errors(kw: dict) -> None:
    base = dict(code="A1", name="n", expression="score > 1", stage="admission", outcome="reject",
                level="province", owner="P00")
    with pytest.raises(RuleDefinitionError):
        Rule(**{**base, **kw})


def test_one_stage_per_rule_set() -> None:
    a = rule("score > 1", "A1")
    b = Rule("B1", "n", "score > 1", "post_loan", "red", "province", "P00")
    with pytest.raises(RuleDefinitionError):
        compile_rule_set([a, b], SCHEMA)


def test_record_as_dataclass_and_hit_contents() -> None:
    from dataclasses import dataclass

    @dataclass
    class App:
        overdue_days: int
        score: float

    rs = compile_rule_set([rule("overdue_days > 30", "A1", "manual_review"), rule("score > 0.9", "A2")], SCHEMA)
    (h,) = rs.evaluate(App(40, 0.5))
    assert (h.code, h.outcome, h.reason) == ("A1", "manual_review", "原因")


def test_frame_outputs_key_worst_and_counts() -> None:
    rules = [rule("overdue_days > 30", "A1", "tag"), rule("score > 0.5", "A2", "reject"),
             rule("industry = '渔业'", "A3", "manual_review")]
    rs = compile_rule_set(rules, SCHEMA, key="loan_id", block_rows=2)
    recs = [dict(REC, loan_id="L1"), {"loan_id": "L2", "industry": "渔业"}, {"loan_id": "L3"}]
    frame = _frame(recs)
    frame["loan_id"] = ["L1", "L2", "L3"]
    res = rs.evaluate_frame(frame)
    assert list(zip(res.hits["loan_id"], res.hits["rule_code"], res.hits["outcome"])) == [
        ("L1", "A1", "tag"), ("L1", "A2", "reject"), ("L2", "A3", "manual_review")]
    assert res.summary["hit_count"].tolist() == [2, 1, 0]
    assert res.summary["worst"].tolist()[:2] == ["reject", "manual_review"]
    assert pd.isna(res.summary["worst"].iloc[2])
    assert rs.hits_frame(frame).equals(res.hits) and rs.summary_frame(frame).equals(res.summary)


def test_decimal_frame_column_is_fen() -> None:
    rs = compile_rule_set([rule("loan_balance > 500000")], SCHEMA)
    frame = pd.DataFrame({"loan_balance": np.array([50_000_000, 50_000_001], dtype=np.int64)})
    assert rs.summary_frame(frame)["hit_count"].tolist() == [0, 1]
    assert rs.evaluate({"loan_balance": Decimal("500000.00")}) == []
    assert len(rs.evaluate({"loan_balance": Decimal("500000.01")})) == 1


def test_frame_missing_column_is_reported() -> None:
    rs = compile_rule_set([rule("score > 1")], SCHEMA)
    with pytest.raises(KeyError, match="score"):
        rs.evaluate_frame(pd.DataFrame({"x": [1]}))


def test_a_compiled_set_names_the_facts_each_rule_reads() -> None:
    from nongxin.sdk.facts import POST_LOAN
    from nongxin.sdk.rules import Rule, compile_rule_set

    rules = [Rule("A", "a", "overdue_days > 30 and outstanding > 1000.00", "post_loan", "red", "province", "SD"),
             Rule("B", "b", "court_enforcement or overdue_days > 90", "post_loan", "orange", "province", "SD")]
    compiled = compile_rule_set(rules, POST_LOAN)
    assert compiled.reads == {"A": ("outstanding", "overdue_days"), "B": ("court_enforcement", "overdue_days")}
    assert compiled.fields == ("court_enforcement", "outstanding", "overdue_days")
