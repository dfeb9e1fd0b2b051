"""Backtests of admission rules over stored decisions: real applications decided through the real
pipeline, then drafts evaluated over their stored facts (hits as ``decide`` finds them, outcome
changes as the replay of the stored record gives them, the window, the branch and the county bank)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.auth import Principal
from nongxin.core.credit import decision as decisions
from nongxin.core.credit.models import Application, Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.models import Institution, Role
from nongxin.core.rules.backtest_admission import admission
from nongxin.core.testing import file_application
from nongxin.sdk import (
    AmountRange, LimitResult, PluginInfo, PluginKind, PriceResult, ProductSpec, ScorecardBin, ScorecardGrade,
    ScorecardSpec, hookimpl,
)
from nongxin.sdk.identity import make_resident_id
from nongxin.sdk.rules import Rule

JINAN = [make_resident_id("370102", date(1980 + i, 3, 1), 998) for i in range(5)]
LINYI = make_resident_id("371302", date(1985, 2, 3), 998)


@hookimpl
def nongxin_products(ctx):
    return [ProductSpec(code="BTLOAN", name="回测贷", segment="bt", amount=AmountRange(Decimal("1000"),
                        Decimal("100000")), term_months=(1, 36), annual_rate=(Decimal("0.035"), Decimal("0.08")),
                        auto_approval_ceiling=Decimal("50000"))]


@hookimpl
def nongxin_rules(ctx):
    return [Rule(code="BT-ADM-001", name="税务D级", expression="tax_grade == 'D'", stage="admission", outcome="reject",
                 level="county", owner="JNRCB", reason="纳税信用D级", category="external_anti_fraud", version=3),
            Rule(code="BT-ADM-002", name="评议红色", expression="peer_review == 'red'", stage="admission",
                 outcome="manual_review", level="county", owner="JNRCB", reason="村民评议为红色")]


@hookimpl
def nongxin_scorecards(ctx):
    return [ScorecardSpec(code="BT-SC", segment="bt", base_points=560, version=1, bins=(
        ScorecardBin("age", Decimal(18), Decimal(60), 40),), grades=(ScorecardGrade("A", 600, Decimal("1.0")),))]


@hookimpl
def nongxin_credit_limit(application, facts, ctx):
    return LimitResult(Decimal("40000"), "fixed test limit") if application.product_code == "BTLOAN" else None


@hookimpl
def nongxin_price(application, facts, ctx):
    return PriceResult(spread_bp=85, reason="LPR + spread") if application.product_code == "BTLOAN" else None


BTEST = ModuleType("btest")
BTEST.PLUGIN = PluginInfo(name="btest", version="1.0.0", kind=PluginKind.PRODUCT)  # type: ignore[attr-defined]
BTEST.__dict__.update(nongxin_products=nongxin_products, nongxin_rules=nongxin_rules,
                      nongxin_scorecards=nongxin_scorecards, nongxin_credit_limit=nongxin_credit_limit,
                      nongxin_price=nongxin_price)


@pytest.fixture
def nongxin_plugins():
    return [BTEST]


def _decide(app: Any, place: str, id_number: str, amount: str, form: dict[str, Any] | None = None,
            filed_by: str = "jinan.cm") -> str:
    """File an application at ``place`` and decide it through the real pipeline; its number."""
    app_id = file_application(app, place=place, id_number=id_number, product="BTLOAN", amount=amount, form=form,
                              filed_by=filed_by)
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as uow:
        where = uow.session.execute(sa.select(Institution).where(Institution.code == place)).scalar_one()
        clerk = Principal("bt.cm", Role.CUSTOMER_MANAGER, where.id, where.code, where.path)
        done = decisions.decide(uow, clerk, rt, app_id)
        assert done.decision is not None
        return done.application.number


@pytest.fixture
def decided(nongxin_app, nongxin_enable):
    """Four Jinan decisions (three at 历下, one at 章丘) and one of Linyi, all of today."""
    nongxin_enable("btest", "JNRCB")
    nongxin_enable("btest", "LYRCB")
    numbers = {
        "approved": _decide(nongxin_app, "JNRCB-LX", JINAN[0], "30000"),
        "review": _decide(nongxin_app, "JNRCB-LX", JINAN[1], "30000", {"peer_review": "red"}),
        "rejected": _decide(nongxin_app, "JNRCB-LX", JINAN[2], "30000", {"tax_grade": "D"}),
        "zq": _decide(nongxin_app, "JNRCB-ZQ", JINAN[3], "20000"),
        "linyi": _decide(nongxin_app, "LYRCB-LS", LINYI, "30000", filed_by="linyi.cm"),
    }
    outcomes = dict(_rows(nongxin_app, sa.select(Application.number, Decision.outcome).join(
        Decision, Decision.application_id == Application.id)))
    assert [outcomes[numbers[k]] for k in ("approved", "review", "rejected", "zq", "linyi")] == [
        "approved", "manual_review", "rejected", "approved", "approved"]
    return numbers


def _rows(app: Any, stmt: Any) -> list[Any]:
    with UnitOfWork(app.extensions["nongxin"].sessions) as uow:
        return list(uow.session.execute(stmt).all())


def draft(expression: str, outcome: str = "reject", code: str = "BT-DRAFT", version: int = 1) -> Rule:
    return Rule(code=code, name=code, expression=expression, stage="admission", outcome=outcome, level="county",
                owner="JNRCB", reason="draft", version=version)


def run(app: Any, rules: list[Rule], *, within: str = "JNRCB", banks: tuple[str, ...] = ("JNRCB",), days: int = 7,
        sample: int = 10, as_of: date | None = None) -> dict[str, Any]:
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as uow:
        s = uow.session
        by_code = {i.code: i for i in s.execute(sa.select(Institution)).scalars()}
        return admission(s, rules, [by_code[b] for b in banks], by_code[within], as_of or rt.clock.business_date(),
                         days, sample)


def test_a_reject_draft_counts_its_hits_by_bank_and_branch_and_the_approvals_it_would_reject(nongxin_app, decided):
    body = run(nongxin_app, [draft("amount >= 30000")])
    assert (body["population"], body["hits"], body["source"]) == (4, 3, "decisions")
    assert body["by_rule"] == [{"code": "BT-DRAFT", "hits": 3}]
    assert body["by_county_bank"] == [{"county_bank": "JNRCB", "name": "济南农商银行", "population": 4, "hits": 3}]
    assert body["by_branch"] == [
        {"county_bank": "JNRCB", "branch": "JNRCB-LX", "name": "历下支行", "population": 3, "hits": 3},
        {"county_bank": "JNRCB", "branch": "JNRCB-ZQ", "name": "章丘支行", "population": 1, "hits": 0}]
    assert body["changed"] == {"total": 2, "from_to": [{"from": "approved", "to": "rejected", "count": 1},
                                                       {"from": "manual_review", "to": "rejected", "count": 1}]}
    shown = {s["subject"]: s for s in body["sample"]}
    assert set(shown) == {decided["approved"], decided["review"], decided["rejected"]}
    one = shown[decided["approved"]]
    assert (one["county_bank"], one["branch"], one["rules"], one["outcome"], one["would_be"]) == (
        "JNRCB", "JNRCB-LX", ["BT-DRAFT"], "approved", "rejected")
    assert one["facts"] == {"amount": "30000.00"}
    assert len(run(nongxin_app, [draft("amount >= 30000")], sample=1)["sample"]) == 1


def test_hits_are_the_ones_decide_found_on_the_same_facts(nongxin_app, decided):
    twins = [draft("tax_grade == 'D'", code="T1"), draft("peer_review == 'red'", "manual_review", code="T2")]
    body = run(nongxin_app, twins, within="SD")
    stored = {n: sorted(h["code"] for h in r["rules"]["hits"]) for n, r in _rows(nongxin_app, sa.select(
        Application.number, Decision.record).join(Decision, Decision.application_id == Application.id))}
    assert stored[decided["rejected"]] == ["BT-ADM-001"] and stored[decided["review"]] == ["BT-ADM-002"]
    found = {s["subject"]: s["rules"] for s in body["sample"]}
    assert found == {decided["rejected"]: ["T1"], decided["review"]: ["T2"]}
    assert body["changed"] == {"total": 0, "from_to": []}  # the same rules again change nothing


def test_a_manual_review_draft_on_rejected_decisions_changes_nothing(nongxin_app, decided):
    body = run(nongxin_app, [draft("tax_grade == 'D'", "manual_review")])
    assert (body["hits"], body["changed"]) == (1, {"total": 0, "from_to": []})
    assert [(s["subject"], s["outcome"], s["would_be"]) for s in body["sample"]] == [
        (decided["rejected"], "rejected", "rejected")]
    milder = run(nongxin_app, [draft("amount >= 30000", "manual_review")])
    assert milder["changed"] == {"total": 1, "from_to": [{"from": "approved", "to": "manual_review", "count": 1}]}


def test_a_tag_draft_changes_nothing(nongxin_app, decided):
    body = run(nongxin_app, [draft("amount >= 20000", "tag")])
    assert (body["population"], body["hits"], body["changed"]) == (4, 4, {"total": 0, "from_to": []})
    assert all(s["would_be"] == s["outcome"] for s in body["sample"])


def test_a_milder_new_version_of_a_rule_that_hit_changes_the_rejection_as_the_replay_says(nongxin_app, decided):
    review = run(nongxin_app, [draft("tax_grade == 'D'", "manual_review", code="BT-ADM-001", version=4)])
    assert review["changed"] == {"total": 1, "from_to": [{"from": "rejected", "to": "manual_review", "count": 1}]}
    gone = run(nongxin_app, [draft("tax_grade == 'E'", code="BT-ADM-001", version=4)])
    assert gone["hits"] == 0
    assert gone["changed"] == {"total": 1, "from_to": [{"from": "rejected", "to": "approved", "count": 1}]}
    assert [(s["subject"], s["rules"], s["would_be"]) for s in gone["sample"]] == [
        (decided["rejected"], [], "approved")]
    same = run(nongxin_app, [draft("tax_grade == 'D'", code="BT-ADM-001", version=4)])
    assert (same["hits"], same["changed"]["total"]) == (1, 0)


def test_the_window_of_business_dates(nongxin_app, decided):
    rt = nongxin_app.extensions["nongxin"]
    today = rt.clock.business_date()
    with UnitOfWork(rt.sessions) as uow:
        app_id = uow.session.execute(sa.select(Application.id).where(Application.number == decided["zq"])).scalar_one()
        uow.session.execute(sa.update(Decision).where(Decision.application_id == app_id).values(
            business_date=today - timedelta(days=10)))
        uow.commit()
    rule = [draft("amount >= 1000", "tag")]
    assert run(nongxin_app, rule, days=10)["population"] == 3
    assert run(nongxin_app, rule, days=11)["population"] == 4
    assert run(nongxin_app, rule, days=1, as_of=today - timedelta(days=10))["population"] == 1
    assert run(nongxin_app, rule, days=7, as_of=today - timedelta(days=1))["population"] == 0


def test_a_branch_counts_only_the_applications_filed_under_it(nongxin_app, decided):
    body = run(nongxin_app, [draft("amount >= 1000", "tag")], within="JNRCB-ZQ")
    assert (body["population"], body["hits"]) == (1, 1)
    assert [b["branch"] for b in body["by_branch"]] == ["JNRCB-ZQ"]
    assert [s["subject"] for s in body["sample"]] == [decided["zq"]]


def test_another_county_banks_decisions_are_never_counted(nongxin_app, decided):
    body = run(nongxin_app, [draft("amount >= 1000", "tag")], within="SD")
    assert body["population"] == 4 and decided["linyi"] not in {s["subject"] for s in body["sample"]}
    assert [b["county_bank"] for b in body["by_county_bank"]] == ["JNRCB"]
    both = run(nongxin_app, [draft("amount >= 1000", "tag")], within="SD", banks=("JNRCB", "LYRCB"))
    assert [(b["county_bank"], b["population"]) for b in both["by_county_bank"]] == [("JNRCB", 4), ("LYRCB", 1)]


def test_bad_drafts_are_refused_naming_the_field(nongxin_app, decided):
    from nongxin.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as no_rules:
        run(nongxin_app, [])
    assert "rules" in no_rules.value.fields
    with pytest.raises(ValidationFailed) as unknown:
        run(nongxin_app, [draft("no_such_fact > 1")])
    assert "rules" in unknown.value.fields
    with pytest.raises(ValidationFailed) as days:
        run(nongxin_app, [draft("amount > 1")], days=0)
    assert "days" in days.value.fields


def test_outcomes_read_off_the_hits_equal_the_replay_of_each_stored_record(nongxin_app, decided):
    """``settled`` spares the replay when nothing is taken away: it must agree with the replay."""
    from nongxin.core.credit.domain import RuleHit
    from nongxin.core.rules.backtest_admission import settled

    records = _rows(nongxin_app, sa.select(Decision.outcome, Decision.record))
    assert len(records) == 5
    for outcome, record in records:
        facts = decisions.decode_facts(record["facts"], record["fact_types"])
        own = decisions.stored_hits(record)
        assert decisions.replay_record(record, facts, own)[0].outcome == outcome
        for kind in ("reject", "manual_review", "tag"):
            added = (RuleHit("BT-DRAFT", 1, "amount > 0", kind, "other", "draft"),)
            replayed = decisions.replay_record(record, facts, own + added)[0].outcome
            assert settled(outcome, added) == replayed, (outcome, kind)


def test_the_backtest_endpoint_answers_admission_drafts_over_the_decisions(nongxin_app, nongxin_client, decided):
    """POST /api/rules/backtest reaches the decisions: counts, the outcome change, an audit entry."""
    resp = nongxin_client.as_user("jinan.params").post("/api/rules/backtest", json={
        "stage": "admission", "expression": "amount >= 30000", "outcome": "reject", "institution": "JNRCB",
        "days": 7})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["source"] == "decisions" and body["days"] == 7
    assert body["population"] == 4 and body["hits"] == 3  # Linyi's decision is not Jinan's
    changed = {(c["from"], c["to"]): c["count"] for c in body["changed"]["from_to"]}
    assert changed == {("approved", "rejected"): 1, ("manual_review", "rejected"): 1}
    assert nongxin_client.as_user("linyi.admin").post("/api/rules/backtest", json={
        "stage": "admission", "expression": "amount >= 30000", "institution": "JNRCB"}).status_code == 404
    shown = {row["subject"]: row for row in body["sample"]}
    assert shown[decided["approved"]]["outcome"] == "approved" and shown[decided["approved"]]["would_be"] == "rejected"
