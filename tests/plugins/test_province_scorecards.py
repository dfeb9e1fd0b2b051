"""The province's default scorecards: one per product segment, admission facts only, points as
written, grades with their limit coefficients, offered everywhere through the dispatch layer."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from nongxin.plugins import province_scorecards as plugin
from nongxin.plugins import provincial_products
from nongxin.sdk import HookContext, ScorecardSpec
from nongxin.sdk.facts import ADMISSION
from nongxin.sdk.rules import FieldType
from nongxin.sdk.scorecards import score, variables

CARDS = plugin.nongxin_scorecards(HookContext("JNRCB", ("SD", "JNRCB")))
BY_SEGMENT = {card.segment: card for card in CARDS}
TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "product" / "cookiecutter.json"


def test_at_least_farmer_merchant_and_salaried_each_once():
    assert {"farmer", "merchant", "salaried"} <= set(BY_SEGMENT)
    assert len(BY_SEGMENT) == len(CARDS) and len({c.code for c in CARDS}) == len(CARDS)


def test_every_product_segment_has_a_card():
    segments = {p.segment for p in provincial_products.nongxin_products(HookContext("JNRCB"))}
    segments |= set(json.loads(TEMPLATE.read_text(encoding="utf-8"))["segment"])
    for example in ("quancheng_e_loan", "yimeng_cloud_loan"):
        module = pytest.importorskip(f"{example}.plugin")
        segments |= {p.segment for p in module.nongxin_products(HookContext("JNRCB"))}
    assert segments - set(BY_SEGMENT) == set()


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.segment)
def test_every_variable_is_an_admission_fact_of_the_bins_kind(card: ScorecardSpec):
    for b in card.bins:
        field = ADMISSION.resolve(b.field)
        assert field is not None and field.name == b.field, f"{card.code}: {b.field} is not an admission fact"
        if b.values is not None:
            assert field.type is FieldType.STRING, b
        else:
            assert field.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.NUMBER), b


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.segment)
def test_numeric_bins_do_not_overlap_and_missing_earns_less_than_any_bin(card: ScorecardSpec):
    for name in variables(card):
        ranges = sorted((b.lower if b.lower is not None else Decimal("-1e30"),
                         b.upper if b.upper is not None else Decimal("1e30"))
                        for b in card.bins if b.field == name and b.values is None)
        assert all(hi <= lo for (_, hi), (lo, _) in zip(ranges, ranges[1:])), (card.code, name)
    assert card.missing_points < 0
    assert [(g.name, g.limit_coefficient) for g in card.grades] == [
        ("A", Decimal("1.2")), ("B", Decimal("1.0")), ("C", Decimal("0.8")), ("D", Decimal("0.5"))]


def test_a_farmer_scored_by_hand():
    facts = {"age": 40, "annual_income": Decimal("80000"), "peer_review": "green",
             "bureau_worst_overdue_days_24m": 0, "bureau_loan_approval_queries_3m": 1}
    result = score(BY_SEGMENT["farmer"], facts)
    # 400 base + age 35-50: 40 + income 60k-120k: 45 + green: 80 + no overdue: 60 + 1 query: 30
    # + outstanding debt missing: -10
    assert [(line.field, line.points) for line in result.lines] == [
        ("age", 40), ("annual_income", 45), ("peer_review", 80), ("bureau_worst_overdue_days_24m", 60),
        ("bureau_loan_approval_queries_3m", 30), ("bureau_outstanding_debt", -10)]
    assert result.total == 645 and result.missing == ("bureau_outstanding_debt",)
    assert result.grade is not None and (result.grade.name, result.grade.limit_coefficient) == ("B", Decimal("1.0"))


def test_a_poor_merchant_file_gets_no_grade():
    facts = {"age": 22, "filed_revenue": "50000", "tax_grade": "D", "bureau_worst_overdue_days_24m": 120,
             "bureau_loan_approval_queries_3m": 9, "bureau_card_utilization": Decimal("1.3")}
    result = score(BY_SEGMENT["merchant"], facts)
    assert result.total == 400 + 10 + 10 - 60 - 60 - 30 - 25 == 245 and result.grade is None


def test_offered_by_default_everywhere_through_the_dispatch_layer(nongxin_app, nongxin_demo, nongxin_uow):
    from nongxin.core.institutions import services as institutions

    for code in ("JNRCB", "LYRCB-LS"):
        inst = institutions.get_by_code(nongxin_uow.session, code)
        result = nongxin_app.extensions["nongxin"].plugins.view(nongxin_uow.session, inst).collect(
            "nongxin_scorecards", expect=ScorecardSpec)
        assert not result.failures
        assert {c.value.segment for c in result.contributions if c.provenance.plugin == plugin.PLUGIN.name} == \
            set(BY_SEGMENT)
