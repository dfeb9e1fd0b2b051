"""The vectorized pre-credit path equals the one-record reference on every household of a sample
village, on every result column: with the product's batch hook, with admission rules that reject,
refer and tag (one reading an LPR the frame form cannot hold in fen), with a product without the
hook, and failing closed when the batch hook fails or answers the wrong shape."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import customer_facts
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.services import get_by_code
from nongxin.core.parameters.services import Lpr
from nongxin.core.testing import make_test_village, publish_test_rule
from nongxin.core.village.engine import (
    RESULT_COLUMNS, batch_context, evaluate_batch, evaluate_one_by_one, facts_frame,
)
from nongxin.sdk import (
    AmountRange, Finding, LimitResult, Outcome, PluginInfo, PluginKind, PriceResult, ProductSpec, hookimpl, round_down,
)

COLOURS = ["green", "white", "grey", "black", None, "green", "white", "green", "grey", None, "white", "green",
           "black", "green", "white", "green", "white", "grey", "green", "white", "green", "white", None, "green"]

#: A test plugin answering the batch hook before the product plugin does, as ``MODE`` says.
MODE: dict[str, str] = {"mode": "off"}


@hookimpl(tryfirst=True)
def probe_batch_terms(product_code, frame, ctx):
    if MODE["mode"] == "fail":
        raise RuntimeError("formula server down")
    if MODE["mode"] == "short":
        from nongxin.sdk import BatchTerms

        return BatchTerms(limit_fen=np.zeros(2, dtype=np.int64), annual_rate_ppm=np.zeros(2, dtype=np.int64))
    return None


@hookimpl
def probe_products(ctx):
    return [ProductSpec(code="PROBE", name="探针贷", segment="farmer", amount=AmountRange(Decimal("5000"), Decimal("200000")),
                        term_months=(6, 24), annual_rate=(Decimal("0.0400"), Decimal("0.0450")),
                        repayment_methods=("equal_installment",), auto_approval_ceiling=Decimal("50000"))]


@hookimpl
def probe_assess(application, facts, ctx):
    if application.product_code != "PROBE":
        return []
    out = []
    if facts.get("main_business") == "生猪养殖":
        out.append(Finding("PROBE_PIGS", Outcome.TAG, "livestock"))
    if facts.get("age", 0) > 45:
        out.append(Finding("PROBE_AGE", Outcome.MANUAL_REVIEW, "older head"))
    if facts.get("land_mu", Decimal(99)) < 6:
        out.append(Finding("PROBE_LAND", Outcome.REJECT, "too little land"))
    return out


@hookimpl
def probe_limit(application, facts, ctx):
    if application.product_code != "PROBE":
        return None
    if "land_mu" not in facts:
        return LimitResult(Decimal("1000.005"), "a limit finer than a fen: refused by the core")
    return LimitResult(round_down(min(Decimal("200000"), facts["annual_income"] * 2)), "twice the income")


@hookimpl
def probe_price(application, facts, ctx):
    if application.product_code != "PROBE":
        return None
    return PriceResult(spread_bp=120 if facts.get("peer_review") != "white" else 200, reason="LPR + spread")


PROBE = ModuleType("batch_probe")
PROBE.PLUGIN = PluginInfo(name="batch_probe", version="0.1.0", kind=PluginKind.PRODUCT, enabled_by_default=True)
PROBE.nongxin_batch_terms = probe_batch_terms
PROBE.nongxin_products = probe_products
PROBE.nongxin_assess_application = probe_assess
PROBE.nongxin_credit_limit = probe_limit
PROBE.nongxin_price = probe_price


@pytest.fixture
def nongxin_plugins():
    return [PROBE]


@pytest.fixture(autouse=True)
def probe_off():
    MODE["mode"] = "off"
    yield
    MODE["mode"] = "off"


@pytest.fixture
def village(nongxin_app, nongxin_demo, nongxin_enable):
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    return make_test_village(nongxin_app, households=len(COLOURS), colours=COLOURS)


def both(app, village, product="YMYD", lpr=None, extra=False):
    """(batch, reference) result frames over the village's heads, with varied gaps in the facts."""
    runtime = app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions, write=False) as unit:
        records = []
        for i, cid in enumerate(village.heads):
            c = unit.session.get(Customer, cid)
            record = {"customer_id": c.id, "household_id": c.household_id, **customer_facts(c, today)}
            if i % 5 == 1:
                record.pop("land_mu", None)
            if i % 7 == 2:
                record.pop("household_assets", None)
            if i % 6 == 3:
                record.pop("age", None)
            if i % 4 == 0:
                record["exposure_room"] = Decimal(i * 4000)  # some limits above what the cap leaves
            elif i % 4 == 1:
                record["exposure_room"] = Decimal("1000000.00")
            records.append(record)
        frame = facts_frame(records)
        if extra:  # other admission facts a county may hold, as extra columns
            n = len(frame)
            frame["tax_grade"] = pd.Series([("A", "B", None, "D")[i % 4] for i in range(n)], dtype=object)
            frame["bureau_queries_6m"] = pd.array([None if i % 5 == 0 else i % 7 for i in range(n)], dtype="Int64")
            frame["bureau_open_enforcement"] = np.array([i % 11 == 3 for i in range(n)])
            frame["existing_debt"] = pd.array([None if i % 3 else 1234567 * i for i in range(n)], dtype="Int64")
        frame.index = pd.RangeIndex(100, 100 + len(frame))  # a partition's index, kept
        ctx = batch_context(unit.session, runtime, get_by_code(unit.session, "LYRCB-LS-G01"), product, today)
        if lpr is not None:
            ctx = dataclasses.replace(ctx, lpr=Lpr(Decimal(lpr), Decimal(lpr) + Decimal("0.0050")))
        return evaluate_batch(frame, ctx), evaluate_one_by_one(frame, ctx)


def assert_equal(batch, reference):
    assert list(batch.columns) == list(RESULT_COLUMNS)
    for column in RESULT_COLUMNS:
        pd.testing.assert_series_equal(batch[column], reference[column], check_names=True, obj=column)
    pd.testing.assert_index_equal(batch.index, reference.index)


def test_batch_equals_the_reference_on_every_household(nongxin_app, village):
    batch, reference = both(nongxin_app, village)
    assert_equal(batch, reference)
    assert set(batch["outcome"]) == {"approved", "manual_review", "rejected"}
    assert batch["reasons"].str.contains("exposure cap").any()  # the room check ran on some rows
    assert batch["reasons"].str.startswith("approved ").any()  # and the partial-approval note


def test_with_admission_rules_that_reject_refer_and_tag(nongxin_app, village):
    publish_test_rule(nongxin_app, "VIL-REJ", "land_mu < 9 and main_business in ['粮食种植', '生猪养殖']",
                      stage="admission", outcome="reject", owner="LYRCB", category="multi_lending", reason="")
    publish_test_rule(nongxin_app, "VIL-REV", "household_assets >= 150000 or age > 60", stage="admission",
                      outcome="manual_review", owner="LYRCB", reason="大额资产复核")
    publish_test_rule(nongxin_app, "VIL-TAG", "annual_income between 30000 and 50000", stage="admission",
                      outcome="tag", owner="LYRCB")
    publish_test_rule(nongxin_app, "VIL-LPR", "lpr_1y > 0.0344 and land_mu >= 15", stage="admission",
                      outcome="manual_review", owner="LYRCB", reason="")
    publish_test_rule(nongxin_app, "VIL-BUR", "bureau_queries_6m > 3 or bureau_open_enforcement",
                      stage="admission", outcome="reject", owner="LYRCB")
    publish_test_rule(nongxin_app, "VIL-TAX", "tax_grade == 'D' and existing_debt > 10000", stage="admission",
                      outcome="manual_review", owner="LYRCB")
    batch, reference = both(nongxin_app, village, lpr="0.0345", extra=True)  # an LPR not a whole number of fen
    assert_equal(batch, reference)
    hits = ",".join(batch["rule_hits"])
    assert {"VIL-REJ", "VIL-REV", "VIL-TAG", "VIL-LPR", "VIL-BUR", "VIL-TAX"} <= set(hits.split(","))
    assert "multi_lending" in set(batch["refusal_category"].dropna())


def test_an_unusable_rule_book_fails_closed_in_the_decisions_words(nongxin_app, village):
    publish_test_rule(nongxin_app, "VIL-BAD", "no_such_fact > 1", stage="admission", outcome="reject", owner="LYRCB")
    batch, reference = both(nongxin_app, village)
    assert_equal(batch, reference)
    assert "approved" not in set(batch["outcome"])


def test_a_product_without_the_batch_hook_is_asked_row_by_row(nongxin_app, village):
    batch, reference = both(nongxin_app, village, product="PROBE")
    assert_equal(batch, reference)
    assert batch["rate_ppm"].notna().all()  # priced on the LPR plus a spread
    reasons = "; ".join(batch["reasons"])
    for words in ("finding PROBE_LAND of batch_probe rejects", "finding PROBE_AGE of batch_probe asks",
                  "is not a non-negative Decimal amount of whole fen", "is outside the product's range"):
        assert words in reasons, words


@pytest.mark.parametrize("mode, words", [("fail", "RuntimeError: formula server down"),
                                         ("short", "holds 2 entries for a frame of 24 rows")])
def test_a_failing_batch_hook_fails_closed_naming_the_plugin(nongxin_app, village, mode, words):
    MODE["mode"] = mode
    batch, reference = both(nongxin_app, village)
    assert "approved" in set(reference["outcome"])  # row by row the product's own hooks answer
    assert "approved" not in set(batch["outcome"])
    assert batch["approved_fen"].isna().all()
    review = batch[batch["outcome"] == "manual_review"]
    assert len(review) == len(batch)
    assert review["reasons"].str.contains(f"failed: nongxin_batch_terms batch_probe: .*{words}").all()


def test_random_frames_agree_with_the_reference(nongxin_app, nongxin_demo, nongxin_enable):
    """Hypothesis frames (any colours, figures, gaps, exposure rooms) under a book that rejects,
    refers and tags: the two paths agree on every column."""
    from hypothesis import given, settings as hsettings, strategies as st

    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    publish_test_rule(nongxin_app, "VIL-H-REJ", "land_mu < 3 and main_business == '生猪养殖'", stage="admission",
                      outcome="reject", owner="LYRCB", category="other")
    publish_test_rule(nongxin_app, "VIL-H-REV", "household_assets > 500000 or age not in [30, 40, 50]",
                      stage="admission", outcome="manual_review", owner="LYRCB")
    publish_test_rule(nongxin_app, "VIL-H-TAG", "annual_income < amount / 3", stage="admission", outcome="tag",
                      owner="LYRCB")
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions, write=False) as unit:
        ctx = batch_context(unit.session, runtime, get_by_code(unit.session, "LYRCB-LS-G01"), "YMYD",
                            runtime.clock.business_date())
    maybe = st.none
    row = st.fixed_dictionaries({
        "customer_id": st.integers(1, 10**6), "household_id": st.integers(1, 10**6),
        "age": st.one_of(maybe(), st.integers(18, 90)),
        "annual_income": st.one_of(maybe(), st.decimals("0", "900000", places=2)),
        "customer_kind": st.just("individual"), "customer_segment": st.one_of(maybe(), st.just("farmer")),
        "peer_review": st.one_of(maybe(), st.sampled_from(["green", "white", "grey", "black", "Green ", ""])),
        "land_mu": st.one_of(maybe(), st.decimals("-1", "200", places=2)),
        "household_assets": st.one_of(maybe(), st.decimals("0", "3000000", places=2)),
        "main_business": st.one_of(maybe(), st.sampled_from(["粮食种植", "生猪养殖", ""])),
        "exposure_room": st.one_of(maybe(), st.decimals("-100", "400000", places=2)),
    })

    @hsettings(max_examples=40, deadline=None)
    @given(st.lists(row, min_size=0, max_size=25))
    def agree(records):
        frame = facts_frame([{k: v for k, v in r.items() if v is not None} for r in records])
        assert_equal(evaluate_batch(frame, ctx), evaluate_one_by_one(frame, ctx))

    agree()
