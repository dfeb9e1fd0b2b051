"""Trying a product's decision on a sample applicant: the same answer as a decision on the same
facts, nothing written, draft settings validated and never saved, disabled plugins never run, and
failures fail closed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.auth import Principal
from nongxin.core.credit import domain
from nongxin.core.credit.decision import decode_facts
from nongxin.core.credit.models import Decision
from nongxin.core.credit.try_product import ReadOnlyBreakers, Sample, try_product
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Forbidden, NotFound, ValidationFailed
from nongxin.core.institutions import users
from nongxin.core.testing import file_application
from nongxin.sdk import (
    AmountRange, Finding, LimitResult, Outcome, PluginInfo, PluginKind, PriceResult, ProductSpec, hookimpl,
)
from nongxin.sdk.identity import make_resident_id

CLEAN = make_resident_id("370102", date(1988, 3, 1), 998)
CLEAN_FACTS = {"age": 38, "annual_income": "120000", "bureau_worst_overdue_days_24m": 0,
               "bureau_current_overdue_amount": "0", "bureau_non_performing_accounts": 0,
               "bureau_open_enforcement": False, "bureau_dishonest_debtor": False,
               "bureau_consumption_restriction": False, "bureau_loan_approval_queries_1m": 0,
               "bureau_loan_approval_queries_3m": 0, "bureau_queries_6m": 0, "bureau_queries_12m": 0,
               "bureau_outstanding_debt": "0", "bureau_guarantees_given": "0"}


# -- a test plugin: a product needing data a connector would give, and a hook that notes each call --

CALLS: list[str] = []


class ProbePlugin:
    PLUGIN = PluginInfo(name="try_probe", version="0.1.0", kind=PluginKind.PRODUCT, enabled_by_default=True)

    @staticmethod
    @hookimpl
    def nongxin_products(ctx: Any) -> list[ProductSpec]:
        return [ProductSpec(code="TRYREQ", name="试算测试贷", segment="salaried",
                            amount=AmountRange(Decimal("1000"), Decimal("50000")), term_months=(1, 12),
                            annual_rate=(Decimal("0.03"), Decimal("0.08")), required_data=("employer_check",),
                            auto_approval_ceiling=Decimal("50000"))]

    @staticmethod
    @hookimpl
    def nongxin_assess_application(application: Any, facts: Any, ctx: Any) -> list[Finding]:
        CALLS.append(f"{ctx.institution_code}:{application.product_code}")
        return [Finding("PROBE", Outcome.PASS, "probe saw it")]

    @staticmethod
    @hookimpl
    def nongxin_credit_limit(application: Any, facts: Any, ctx: Any) -> LimitResult | None:
        return LimitResult(Decimal("50000"), "flat") if application.product_code == "TRYREQ" else None

    @staticmethod
    @hookimpl
    def nongxin_price(application: Any, facts: Any, ctx: Any) -> PriceResult | None:
        return PriceResult(annual_rate=Decimal("0.05")) if application.product_code == "TRYREQ" else None


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    CALLS.clear()
    return [ProbePlugin]


def _try(app: Any, username: str, code: str = "JNRCB-LX", product: str = "XIN_E_DAI", sample: Sample | None = None,
         settings: dict[str, Any] | None = None) -> Any:
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions, write=False) as unit:
        me: Principal = users.principal_named(unit.session, username)
        return try_product(unit.session, me, rt, code, product,
                           sample or Sample(Decimal("30000"), 12, None, CLEAN_FACTS), settings)


def test_a_try_gives_what_a_decision_gives_on_the_same_facts(nongxin_app, nongxin_demo):
    app_id = file_application(nongxin_app, id_number=CLEAN, amount="30000", term_months=12)
    resp = nongxin_app.test_client().post(f"/api/applications/{app_id}/decide",
                                          headers=nongxin_demo.headers("jinan.cm"))
    assert resp.status_code == 200, resp.get_json()
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        decision = unit.session.execute(sa.select(Decision).where(Decision.application_id == app_id)).scalar_one()
        record = decision.record
        stored = (decision.outcome, decision.limit, decision.rate, decision.score, decision.refusal_category)
    facts = decode_facts(record["facts"], record["fact_types"])
    tried = _try(nongxin_app, "jinan.pm", sample=Sample(Decimal("30000"), 12, "equal_installment", facts))
    ev = tried.evaluation
    assert (ev.verdict.outcome, ev.limit, ev.rate, ev.scored.total if ev.scored else None,
            ev.verdict.refusal_category) == stored
    assert sorted(h.code for h in ev.rule_hits) == sorted(h["code"] for h in record["rules"]["hits"])
    assert str(ev.verdict.approved_amount) == str(record["outcome"]["approved_amount"])


def test_a_try_writes_nothing(nongxin_app, nongxin_demo, db_snapshot):
    before = db_snapshot()
    tried = _try(nongxin_app, "jinan.pm")
    assert tried.evaluation.verdict.outcome == domain.APPROVED
    assert db_snapshot() == before


def test_draft_settings_change_the_answer_and_are_never_saved(nongxin_app, nongxin_demo, db_snapshot):
    saved = _try(nongxin_app, "jinan.pm").evaluation
    before = db_snapshot()
    drafted = _try(nongxin_app, "jinan.pm", settings={"spread_bp": 235, "xin_e_dai_ceiling": "200000"})
    assert drafted.evaluation.rate == saved.rate + Decimal("0.01")
    assert drafted.draft is not None and drafted.draft["spread_bp"] == 235
    assert drafted.product.spec.amount.maximum == Decimal("200000")  # the spec under the draft
    assert db_snapshot() == before
    assert _try(nongxin_app, "jinan.pm").evaluation.rate == saved.rate  # nothing kept


def test_draft_settings_are_validated_by_the_plugins_schema(nongxin_app, nongxin_demo):
    with pytest.raises(ValidationFailed) as refused:
        _try(nongxin_app, "jinan.pm", settings={"spread_bp": 99999, "xin_e_dai_ceiling": "lots"})
    assert set(refused.value.fields) == {"spread_bp", "xin_e_dai_ceiling"}


def test_a_role_that_may_not_read_settings_cannot_try_a_draft(nongxin_app, nongxin_demo):
    assert _try(nongxin_app, "jinan.params").evaluation.verdict.outcome == domain.APPROVED
    with pytest.raises(Forbidden):
        _try(nongxin_app, "jinan.params", settings={"spread_bp": 100})
    with pytest.raises(Forbidden):
        _try(nongxin_app, "jinan.cm")


def test_another_banks_institution_and_a_product_not_offered_are_not_found(nongxin_app, nongxin_demo,
                                                                             nongxin_client):
    with pytest.raises(NotFound):
        _try(nongxin_app, "jinan.pm", code="LYRCB")
    resp = nongxin_client.post("/api/plugins/provincial_products/disable", json={"institution": "JNRCB"})
    assert resp.status_code == 200
    with pytest.raises(NotFound):  # the disabled plugin never runs: its product is not offered
        _try(nongxin_app, "jinan.pm")


def test_the_sample_must_fit_the_products_terms(nongxin_app, nongxin_demo):
    with pytest.raises(ValidationFailed) as refused:
        _try(nongxin_app, "jinan.pm", sample=Sample(Decimal("999999999"), 99, "bullet", CLEAN_FACTS))
    assert set(refused.value.fields) == {"amount", "term_months", "repayment_method"}


def test_a_fact_of_the_wrong_type_fails_closed(nongxin_app, nongxin_demo):
    tried = _try(nongxin_app, "jinan.pm", sample=Sample(Decimal("30000"), 12, None, {**CLEAN_FACTS, "age": "old"}))
    assert tried.evaluation.verdict.outcome == domain.MANUAL_REVIEW  # never an approval
    assert [(f.source, f.name) for f in tried.evaluation.failures] == [("facts", "age")]


def test_an_open_breaker_skips_its_plugin_and_a_try_never_feeds_the_breakers(nongxin_app, nongxin_demo):
    breakers = nongxin_app.extensions["nongxin"].plugins.host.breakers
    for _ in range(breakers.threshold):
        breakers.failure("provincial_products", "JNRCB-LX", "connection refused")
    failures = breakers.tracked[("provincial_products", "JNRCB-LX")].failures
    with pytest.raises(NotFound, match="circuit breaker open"):
        _try(nongxin_app, "jinan.pm")
    assert breakers.tracked[("provincial_products", "JNRCB-LX")].failures == failures


def test_read_only_breakers_see_the_real_ones_and_count_nothing(nongxin_app):
    real = nongxin_app.extensions["nongxin"].plugins.host.breakers
    seen = ReadOnlyBreakers(real)
    for _ in range(real.threshold):
        seen.failure("p", "X", "boom")
    assert ("p", "X") not in real.tracked and not seen.is_open("p", "X")
    for _ in range(real.threshold):
        real.failure("p", "X", "boom")
    assert seen.is_open("p", "X")
    seen.success("p", "X")
    assert real.is_open("p", "X")



def test_required_data_the_sample_lacks_fails_closed_as_no_connector_giving_it(nongxin_app, nongxin_demo):
    lacking = _try(nongxin_app, "jinan.pm", product="TRYREQ")
    assert lacking.evaluation.verdict.outcome == domain.MANUAL_REVIEW  # never an approval
    assert ("facts", "employer_check") in [(f.source, f.name) for f in lacking.evaluation.failures]
    given = _try(nongxin_app, "jinan.pm", product="TRYREQ",
                 sample=Sample(Decimal("30000"), 12, None, {**CLEAN_FACTS, "employer_check": "verified"}))
    assert ("facts", "employer_check") not in [(f.source, f.name) for f in given.evaluation.failures]


def test_a_plugin_disabled_at_the_institution_never_runs_in_a_try(nongxin_app, nongxin_demo, nongxin_client):
    _try(nongxin_app, "jinan.pm")
    assert CALLS == ["JNRCB-LX:XIN_E_DAI"]
    resp = nongxin_client.post("/api/plugins/try_probe/disable", json={"institution": "JNRCB"})
    assert resp.status_code == 200
    CALLS.clear()
    tried = _try(nongxin_app, "jinan.pm")
    assert CALLS == [] and "probe" not in str(tried.evaluation.answers.findings)
    with pytest.raises(NotFound):
        _try(nongxin_app, "jinan.pm", product="TRYREQ")
