"""Hostile expressions: nesting and length are bounded with a positioned syntax error, never a
RecursionError in the parser or in either evaluator."""

from __future__ import annotations

import pandas as pd
import pytest

from nongxin.sdk.rules import Field, Rule, RuleSyntaxError, Schema, check_expression, compile_rule_set
from nongxin.sdk.rules.parser import MAX_DEPTH, MAX_EXPRESSION_LENGTH

SCHEMA = Schema([Field("overdue_days", "integer", "逾期天数"), Field("blacklisted", "boolean", "黑名单"),
                 Field("d", "integer", "天"), Field("b", "boolean", "是")])

#: Each is under the length limit, so only the depth bound can stop it.
DEEP = {
    "122 parentheses": "(" * 122 + "d > 1" + ")" * 122,
    "300 and": " and ".join(["b"] * 300),
    "490 plus": "+".join(["d"] * 490) + " > 1",
    "nested calls": "abs(" * 300 + "d" + ")" * 300 + " > 1",
    "not chain": "not " * 400 + "b",
    "minus chain": "- " * 400 + "d > 1",
}
#: The sizes of the report, which are also over the length limit: any positioned syntax error.
REPORTED = {
    "1000 parentheses": "(" * 1000 + "overdue_days > 1" + ")" * 1000,
    "490 and": " and ".join(["overdue_days > 1"] * 490),
    "490 plus": " + ".join(["overdue_days"] * 490) + " > 1",
}


@pytest.mark.parametrize("expr", list(DEEP.values()), ids=list(DEEP))
def test_deep_expressions_are_a_positioned_syntax_error(expr: str) -> None:
    assert len(expr) <= MAX_EXPRESSION_LENGTH
    with pytest.raises(RuleSyntaxError) as info:
        check_expression(expr, SCHEMA, code="X1")
    err = info.value
    assert err.line == 1 and err.column is not None and err.column >= 1
    assert f"{MAX_DEPTH} levels" in str(err) and "rule X1" in str(err)


@pytest.mark.parametrize("expr", list(REPORTED.values()), ids=list(REPORTED))
def test_reported_expressions_are_a_positioned_syntax_error(expr: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        check_expression(expr, SCHEMA, code="X1")
    assert info.value.line == 1 and info.value.column is not None


def test_too_long_expression_names_where_it_stops() -> None:
    expr = "overdue_days > 1 or\n" + "  " + "overdue_days    > 1 or " * 200 + "blacklisted"
    with pytest.raises(RuleSyntaxError) as info:
        check_expression(expr, SCHEMA)
    assert f"longer than {MAX_EXPRESSION_LENGTH} characters" in str(info.value)
    assert info.value.line == 2


def test_expressions_at_the_limit_still_run_in_both_evaluators() -> None:
    # The deepest accepted trees must evaluate (record and frame) without touching the stack limit.
    chain = " and ".join(["overdue_days > 1"] * (MAX_DEPTH - 1))
    parens = "(" * (MAX_DEPTH - 2) + "overdue_days > 1" + ")" * (MAX_DEPTH - 2)
    for expr in (chain, parens):
        rs = compile_rule_set([Rule("A1", "深", expr, "admission", "reject", "province", "P00", reason="r")],
                              SCHEMA)
        assert rs.evaluate({"overdue_days": 5, "blacklisted": False, "d": 1, "b": True})
        frame = pd.DataFrame({"overdue_days": pd.array([5, 0], dtype="Int64"), "blacklisted": [False, False],
                              "d": pd.array([1, 1], dtype="Int64"), "b": [True, True]})
        assert list(rs.evaluate_frame(frame).summary["hit_count"]) == [1, 0]
