"""Property: for generated expressions over generated records (with missing values), the one-record
and the vectorized evaluators give exactly the same hits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nongxin.sdk.rules import Field, Rule, RuleTypeError, Schema, check_expression, compile_rule_set


def valid(expr: str) -> bool:
    """The generator may divide by a literal zero, which the checker rightly rejects."""
    try:
        check_expression(expr, SCHEMA)
    except RuleTypeError as e:
        assert "division by zero" in e.message, e
        return False
    return True

SCHEMA = Schema([
    Field("i1", "integer"), Field("i2", "integer"), Field("n1", "number"), Field("n2", "number"),
    Field("d1", "decimal"), Field("d2", "decimal"), Field("s1", "string"), Field("b1", "boolean"),
    Field("t1", "date"), Field("t2", "date"),
])
INTS = st.integers(-20, 20)
NUMS = st.sampled_from([0.0, 0.5, -1.5, 2.0, 3.25, 1e-3, 7.0, -0.1, 0.2, 0.3])
DECS = st.sampled_from(["0", "0.01", "1.50", "-2.25", "10", "99.99", "3.30"]).map(Decimal)
STRS = st.sampled_from(["农业", "渔业", "a", "", "ab"])
DATES = st.sampled_from([dt.date(2024, 1, 31), dt.date(2023, 12, 1), dt.date(2024, 2, 29), dt.date(2020, 1, 1)])


def lit_num(kind: str) -> st.SearchStrategy[str]:
    if kind == "integer":
        return INTS.map(str)
    return st.one_of(INTS.map(str), NUMS.map(repr))


def num_expr(kind: str, depth: int) -> st.SearchStrategy[str]:
    fields = ["i1", "i2"] if kind == "integer" else ["i1", "n1", "n2"]
    leaf = st.one_of(st.sampled_from(fields), lit_num(kind))
    if depth <= 0:
        return leaf
    sub = num_expr(kind, depth - 1)
    ops = ["+", "-", "*"] + (["/"] if kind == "number" else [])
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(ops), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda a: f"abs({a})"),
        sub.map(lambda a: f"-({a})"),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), sub, sub).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.just("days_between(t1, t2)") if kind == "integer" else st.just("len(s1)"),
    )


def dec_expr(depth: int) -> st.SearchStrategy[str]:
    leaf = st.sampled_from(["d1", "d2"])
    if depth <= 0:
        return leaf
    sub = dec_expr(depth - 1)
    lit = DECS.map(str)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-"]), st.one_of(sub, lit)).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.one_of(st.sampled_from(["i1", "2", "0.5", "1.25"]))).map(lambda t: f"({t[0]} * {t[1]})"),
        sub.map(lambda a: f"abs({a})"),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), sub, st.one_of(sub, lit)).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"),
    )


CMP = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


def bool_expr(depth: int) -> st.SearchStrategy[str]:
    kind = st.sampled_from(["integer", "number"])
    leaves = st.one_of(
        kind.flatmap(lambda k: st.tuples(num_expr(k, 1), CMP, num_expr(k, 1))).map(" ".join),
        st.tuples(dec_expr(1), CMP, st.one_of(dec_expr(1), DECS.map(str))).map(" ".join),
        st.tuples(st.just("s1"), st.sampled_from(["=", "!="]), STRS.map(repr)).map(" ".join),
        st.lists(STRS.map(repr), min_size=1, max_size=3).flatmap(
            lambda xs: st.sampled_from([f"s1 in [{', '.join(xs)}]", f"s1 not in [{', '.join(xs)}]"])),
        st.lists(INTS.map(str), min_size=1, max_size=3).map(lambda xs: f"i1 in [{', '.join(xs)}]"),
        st.lists(DECS.map(str), min_size=1, max_size=3).map(lambda xs: f"d1 not in [{', '.join(xs)}]"),
        st.tuples(num_expr("number", 1), INTS, INTS).map(lambda t: f"{t[0]} between {t[1]} and {t[2]}"),
        st.tuples(st.sampled_from(["t1", "t2", "max(t1, t2)"]), CMP, DATES.map(lambda d: f'date("{d}")')).map(" ".join),
        st.sampled_from(["t1 < t2", "b1", "b1 = false", "coalesce(b1, true)", "true", "false"]),
        st.sampled_from(["i1", "n1", "d1", "s1", "t1", "b1", "(n1 / i1)"]).flatmap(
            lambda f: st.sampled_from([f"{f} is missing", f"{f} is not missing"])),
    )
    if depth <= 0:
        return leaves
    sub = bool_expr(depth - 1)
    return st.one_of(
        leaves,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda a: f"not ({a})"),
        st.tuples(sub, sub).map(lambda t: f"(({t[0]}) = ({t[1]}))"),
    )


def maybe(s: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), s, s)


RECORD = st.fixed_dictionaries({
    "i1": maybe(INTS), "i2": maybe(INTS), "n1": maybe(NUMS), "n2": maybe(NUMS), "d1": maybe(DECS),
    "d2": maybe(DECS), "s1": maybe(STRS), "b1": maybe(st.booleans()), "t1": maybe(DATES), "t2": maybe(DATES),
})


def to_frame(records: list[dict], style: int) -> pd.DataFrame:
    """Frames use several of the column representations found in practice."""
    cols: dict = {}
    for name, f in SCHEMA.items():
        vals = [r[name] for r in records]
        t = f.type.value
        if t in ("integer", "decimal"):
            ints = [None if v is None else int(Decimal(v) * (100 if t == "decimal" else 1)) for v in vals]
            if style == 0:
                cols[name] = pd.array(ints, dtype="Int64")
            else:  # float column holding whole numbers, NaN for missing
                cols[name] = np.array([np.nan if v is None else v for v in ints], dtype=float)
        elif t == "number":
            cols[name] = np.array([np.nan if v is None else v for v in vals], dtype=float)
        elif t == "boolean":
            cols[name] = pd.array(vals, dtype="boolean") if style == 0 else pd.Series(vals, dtype=object)
        elif t == "date":
            cols[name] = pd.to_datetime(pd.Series(vals, dtype=object))
        elif style == 0:
            cols[name] = pd.Series(vals, dtype=object)
        else:
            cols[name] = pd.Series(vals, dtype="category")
    return pd.DataFrame(cols)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exprs=st.lists(bool_expr(2), min_size=1, max_size=6), records=st.lists(RECORD, min_size=1, max_size=12),
       style=st.integers(0, 1))
def test_record_and_frame_evaluators_agree(exprs: list[str], records: list[dict], style: int) -> None:
    exprs = [e for e in exprs if valid(e)]
    assume(exprs)
    rules = [Rule(f"R{i}", "规则", e, "post_loan", "red", "province", "P00") for i, e in enumerate(exprs)]
    rs = compile_rule_set(rules, SCHEMA, block_rows=5)
    expected = [(row, h.code) for row, rec in enumerate(records) for h in rs.evaluate(rec)]
    hits = rs.hits_frame(to_frame(records, style))
    got = list(zip(hits["row"].tolist(), hits["rule_code"].astype(str).tolist()))
    assert got == expected, (exprs, records)
