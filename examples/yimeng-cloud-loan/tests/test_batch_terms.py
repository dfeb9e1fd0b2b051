"""沂蒙云贷's ``nongxin_batch_terms`` against its one-record hooks, row for row (SDK only)."""

from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import given, settings as hsettings, strategies as st

from nongxin.sdk import Applicant, ApplicationData, HookContext, Outcome
from yimeng_cloud_loan import plugin

NAME = "yimeng_cloud_loan"
DEFAULTS = plugin.Settings().load({})
COLOURS = st.one_of(st.none(), st.sampled_from(["white", "green", "grey", "black", " Green ", "GREY", "", "  ",
                                                "purple", "红"]))
FEN = st.one_of(st.none(), st.integers(min_value=-10**8, max_value=10**11))
LAND = st.one_of(st.none(), st.integers(min_value=-500, max_value=10**6))  # hundredths of a mu
SETTINGS = st.fixed_dictionaries({
    "per_mu_amount": st.decimals("0", "20000", places=2), "asset_ratio": st.decimals("0", "1", places=3),
    "base_amount": st.decimals("0", "200000", places=2), "ceiling": st.decimals("10000", "1000000", places=2),
    "green_boost": st.decimals("1", "2", places=3), "grey_factor": st.decimals("0", "1", places=3),
    "base_rate": st.decimals("0.0400", "0.0750", places=4), "green_discount": st.decimals("0", "0.02", places=4),
})


def ctx(values=None):
    return HookContext("LYRCB", ("SD", "SD-LN", "LYRCB"), {**DEFAULTS, **(values or {})}, NAME)


def frame(rows):
    return pd.DataFrame({
        "peer_review": pd.Series([r[0] for r in rows], dtype=object),
        "household_assets": pd.array([r[1] for r in rows], dtype="Int64"),
        "land_mu": pd.array([r[2] for r in rows], dtype="Int64"),
        "term_months": np.full(len(rows), 36, dtype=np.int64),
    })


def one_record(row, context):
    colour, assets, land = row
    facts = {k: v for k, v in (("peer_review", colour),
                               ("household_assets", None if assets is None else Decimal(assets).scaleb(-2)),
                               ("land_mu", None if land is None else Decimal(land).scaleb(-2))) if v is not None}
    app = ApplicationData("PRE-1", "YMYD", "LYRCB", Applicant("resident_id", "", ""), Decimal("100000"), 36,
                          "precredit", facts)
    return (plugin.nongxin_credit_limit(app, facts, context), plugin.nongxin_price(app, facts, context),
            plugin.nongxin_assess_application(app, facts, context))


def assert_rows_agree(rows, context):
    answer = plugin.nongxin_batch_terms("YMYD", frame(rows), context)
    assert answer.limit_fen.dtype == np.int64 and answer.annual_rate_ppm.dtype == np.int64
    for i, row in enumerate(rows):
        limit, price, findings = one_record(row, context)
        assert answer.limit_fen[i] == int(limit.amount * 100), (row, limit)
        assert answer.annual_rate_ppm[i] == int(price.annual_rate * 1_000_000), (row, price)
        if findings:
            assert (answer.outcome[i], answer.code[i], answer.reason[i]) == (
                findings[0].outcome.value, findings[0].code, findings[0].reason), row
        else:
            assert answer.outcome[i] == "" and answer.code[i] == "", row


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(COLOURS, FEN, LAND), min_size=1, max_size=40))
def test_batch_terms_equal_the_one_record_hooks_row_for_row(rows):
    assert_rows_agree(rows, ctx())


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(COLOURS, FEN, LAND), min_size=1, max_size=15), SETTINGS)
def test_batch_terms_agree_under_any_valid_settings(rows, values):
    assert_rows_agree(rows, ctx(values))


def test_the_formula_by_hand_and_the_black_list():
    rows = [("green", 10_000_000, 1250), ("black", 10_000_000, 1250), (None, None, None), ("grey", 0, 0)]
    answer = plugin.nongxin_batch_terms("YMYD", frame(rows), ctx())
    # green: (20000 + 12.5 x 2000 + 100000 x 0.30) x 1.2 = 90000; black: 0; missing: grey 0.5 x 20000 = 10000
    assert answer.limit_fen.tolist() == [9_000_000, 0, 1_000_000, 1_000_000]
    assert answer.annual_rate_ppm.tolist() == [50_000, 55_000, 55_000, 55_000]
    assert answer.outcome.tolist() == ["", Outcome.REJECT.value, "manual_review", "manual_review"]
    assert answer.code.tolist() == ["", "YMYD_BLACK", "YMYD_NO_PEER_REVIEW", "YMYD_GREY"]


def test_huge_figures_stay_exact_in_python_integers():
    rows = [("white", 2**62, 2**40)]
    assert_rows_agree(rows, ctx())


def test_other_products_and_frames_without_the_columns():
    assert plugin.nongxin_batch_terms("FNDK", frame([("white", 1, 1)]), ctx()) is None
    bare = pd.DataFrame({"term_months": np.full(3, 36, dtype=np.int64)})
    answer = plugin.nongxin_batch_terms("YMYD", bare, ctx())
    assert answer.limit_fen.tolist() == [1_000_000] * 3 and set(answer.code) == {"YMYD_NO_PEER_REVIEW"}
