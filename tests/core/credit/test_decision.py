"""The automated decision end to end through the API: every outcome, each fail-closed path,
consent first, the stored record, replay, and notifications after the commit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields

from nongxin.core.bureau.models import BureauQueryLog
from nongxin.core.credit.models import Application, Decision, DecisionRuleBook, ReviewTask
from nongxin.core.testing import file_application
from nongxin.sdk import (
    AmountRange, ConnectorSpec, Finding, LimitResult, Outcome, PluginInfo, PluginKind, PriceResult, ProductSpec,
    ScorecardBin, ScorecardGrade, ScorecardSpec, hookimpl,
)
from nongxin.sdk.identity import make_resident_id
from nongxin.sdk.rules import Rule

CLEAN = make_resident_id("370102", date(1988, 3, 1), 998)
CLEAN2 = make_resident_id("370102", date(1990, 7, 9), 998)
GUARANTOR = make_resident_id("370102", date(1975, 1, 2), 998)
BLACKLISTED = make_resident_id("370102", date(1980, 5, 1), 999)
OTHER_BANK = make_resident_id("371302", date(1985, 2, 3), 998)

#: What the test plugin does; each test sets what it needs (monkeypatch restores it).
BEHAVIOUR: dict[str, Any] = {}
DEFAULTS = {"limit": "answer", "connector": "answer", "rules": "answer", "bureau": "pass", "calls": None,
            "seen_after_commit": None, "engine": None}


class DtSettings(Schema):
    spread_bp = fields.Integer(load_default=85)


@hookimpl
def nongxin_products(ctx):
    return [ProductSpec(code="TESTLOAN", name="测试贷", segment="dtest", amount=AmountRange(Decimal("1000"),
                        Decimal("100000")), term_months=(1, 36), annual_rate=(Decimal("0.035"), Decimal("0.08")),
                        required_data=("employer_check",), auto_approval_ceiling=Decimal("50000"))]


def _hr(subject, ctx):
    BEHAVIOUR["calls"].append(("hr", subject.id_number))
    if BEHAVIOUR["connector"] == "raise":
        raise ConnectionError("HR registry unreachable")
    if BEHAVIOUR["connector"] == "missing":
        return {}
    return {"employer_check": "verified"}


@hookimpl
def nongxin_connectors(ctx):
    return [ConnectorSpec(name="hr", fields=("employer_check",), fetch=_hr, timeout_seconds=2, cache_ttl_seconds=600)]


@hookimpl
def nongxin_rules(ctx):
    if BEHAVIOUR["rules"] == "raise":
        raise RuntimeError("rule store offline")
    return [Rule(code="DT-ADM-001", name="税务D级", expression="tax_grade == 'D'", stage="admission", outcome="reject",
                 level="county", owner="JNRCB", reason="纳税信用D级", category="external_anti_fraud", version=3),
            Rule(code="DT-ADM-002", name="评议红色", expression="peer_review == 'red'", stage="admission",
                 outcome="manual_review", level="county", owner="JNRCB", reason="村民评议为红色")]


@hookimpl
def nongxin_scorecards(ctx):
    return [ScorecardSpec(code="DT-SC", segment="dtest", base_points=500, version=2, bins=(
        ScorecardBin("bureau_worst_overdue_days_24m", Decimal(0), Decimal(1), 60),
        ScorecardBin("bureau_worst_overdue_days_24m", Decimal(1), None, -100),
        ScorecardBin("age", Decimal(18), Decimal(60), 40),
    ), grades=(ScorecardGrade("A", 600, Decimal("1.0")), ScorecardGrade("B", 500, Decimal("0.8"))))]


@hookimpl
def nongxin_assess_application(application, facts, ctx):
    if application.product_code != "TESTLOAN":
        return []
    return [Finding("DT-F1", Outcome.TAG, "employer checked")] if facts.get("employer_check") else []


@hookimpl
def nongxin_credit_limit(application, facts, ctx):
    if application.product_code != "TESTLOAN":
        return None
    if BEHAVIOUR["limit"] == "raise":
        raise ZeroDivisionError("limit formula divided by zero")
    if BEHAVIOUR["limit"] == "wrong type":
        return {"amount": "40000"}
    if BEHAVIOUR["limit"] == "sub-fen":
        return LimitResult(Decimal("40000.001"))
    return LimitResult(Decimal("40000"), "fixed test limit")


@hookimpl
def nongxin_price(application, facts, ctx):
    if application.product_code != "TESTLOAN":
        return None
    return PriceResult(spread_bp=ctx.settings.get("spread_bp", 85), reason="LPR + spread")


@hookimpl
def nongxin_bureau_query(subject, purpose, authorization, ctx):
    BEHAVIOUR["calls"].append(("bureau", subject.id_number))
    if BEHAVIOUR["bureau"] == "raise":
        raise TimeoutError("bureau gateway timed out")
    return None  # let the simulated bureau answer


@hookimpl
def nongxin_on_decision(event, ctx):
    with BEHAVIOUR["engine"].connect() as conn:  # another connection: sees only what is committed
        BEHAVIOUR["seen_after_commit"] = conn.execute(sa.text(
            "SELECT d.outcome FROM decisions d JOIN applications a ON a.id = d.application_id "
            "WHERE a.number = :n"), {"n": event.subject_id}).scalar_one_or_none()


@hookimpl
def raising_on_decision(event, ctx):
    raise RuntimeError("SMS gateway down")


def _module(name: str, kind: PluginKind, settings: Any = None, **hooks: Any) -> ModuleType:
    mod = ModuleType(name)
    mod.PLUGIN = PluginInfo(name=name, version="1.2.0", kind=kind, settings_schema=settings)  # type: ignore[attr-defined]
    mod.__dict__.update(hooks)
    return mod


DTEST = _module("dtest", PluginKind.PRODUCT, DtSettings, nongxin_products=nongxin_products,
                nongxin_connectors=nongxin_connectors, nongxin_rules=nongxin_rules,
                nongxin_scorecards=nongxin_scorecards, nongxin_assess_application=nongxin_assess_application,
                nongxin_credit_limit=nongxin_credit_limit, nongxin_price=nongxin_price,
                nongxin_bureau_query=nongxin_bureau_query, nongxin_on_decision=nongxin_on_decision)
LOUD = _module("dtest_notify", PluginKind.INTEGRATION, nongxin_on_decision=raising_on_decision)


@pytest.fixture
def nongxin_plugins():
    return [LOUD, DTEST]


@pytest.fixture
def cm(nongxin_app, nongxin_client, nongxin_enable, monkeypatch):
    for key, value in DEFAULTS.items():
        monkeypatch.setitem(BEHAVIOUR, key, value)
    monkeypatch.setitem(BEHAVIOUR, "calls", [])
    monkeypatch.setitem(BEHAVIOUR, "engine", nongxin_app.extensions["nongxin"].engine)
    nongxin_enable("dtest", "JNRCB")
    nongxin_enable("dtest_notify", "JNRCB")
    return nongxin_client.as_user("jinan.cm")


def new(app, **kw):
    kw.setdefault("id_number", CLEAN)
    kw.setdefault("product", "TESTLOAN")
    return file_application(app, **kw)


def decide(client, app_id):
    resp = client.post(f"/api/applications/{app_id}/decide")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def record(client, app_id):
    resp = client.get(f"/api/applications/{app_id}/decision")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def replay(client, app_id, rules="stored"):
    resp = client.as_user("jinan.reviewer").post(f"/api/applications/{app_id}/decision/replay", json={"rules": rules})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def rows(uow, model):
    uow.rollback()
    return list(uow.session.execute(sa.select(model)).scalars())


# -- outcomes ----------------------------------------------------------------------------------

def test_clean_small_application_is_approved_at_lpr_plus_spread_with_a_full_record(cm, nongxin_app, nongxin_uow):
    app_id = new(nongxin_app, amount="30000")
    body = decide(cm, app_id)
    assert body["status"] == "approved" and body["missing_consent"] == []
    d = body["decision"]
    assert (d["outcome"], d["approved_amount"], d["rate"], d["grade"], d["score"]) == (
        "approved", "30000.00", "0.0385", "A", 600)
    shown = record(cm, app_id)
    rec = shown["record"]
    assert rec["facts"]["employer_check"] == "verified" and rec["facts"]["amount"] == "30000.00"
    assert rec["fact_types"]["amount"] == "decimal" and rec["facts"]["bureau_dishonest_debtor"] is False
    assert {r["code"] for r in shown["rule_definitions"]} >= {"DT-ADM-001", "DT-ADM-002"}
    assert rec["rules"]["rule_count"] == len(shown["rule_definitions"])
    books = rows(nongxin_uow, DecisionRuleBook)
    assert [(b.hash, b.rule_count) for b in books] == [(rec["rules"]["hash"], rec["rules"]["rule_count"])]
    assert len(rec["rules"]["hash"]) == 64 and rec["rules"]["usable"] is True
    assert [(x["field"], x["bin"], x["points"]) for x in rec["score"]["lines"]] == [
        ("bureau_worst_overdue_days_24m", "[0, 1)", 60), ("age", "[18, 60)", 40)]
    assert rec["scorecard"]["answer"]["code"] == "DT-SC" and rec["scorecard"]["provenance"]["plugin"] == "dtest"
    assert Decimal(rec["price"]["lpr"]) == Decimal("0.03") and rec["price"]["spread_bp"] == "85"
    assert rec["limit"]["plugin"]["answer"]["amount"] == "40000"
    assert rec["findings"][0]["answer"]["code"] == "DT-F1"
    assert {p["plugin"] for p in rec["provenance"]} == {"dtest"} and rec["provenance"][0]["version"] == "1.2.0"
    assert rec["connectors"][0]["connector"] == "hr" and rec["connectors"][0]["cached"] is False
    assert rec["bureau"]["applicant"]["purpose"] == "02" and rec["bureau"]["applicant"]["outcome"] == "fetched"
    assert {"consent", "bureau", "connectors", "facts", "rules", "scorecard", "product", "outcome",
            "total"} <= set(rec["durations_us"])
    application = rows(nongxin_uow, Application)[0]
    assert (application.approved_amount, application.approved_rate) == (Decimal("30000.00"), Decimal("0.0385"))
    assert [r.for_ref for r in rows(nongxin_uow, BureauQueryLog)] == [application.number]


def test_limit_below_request_approves_the_limit(cm, nongxin_app):
    d = decide(cm, new(nongxin_app, amount="45000"))["decision"]
    assert d["outcome"] == "approved" and d["approved_amount"] == "40000.00"
    assert "approved 40000.00 of the 45000.00 requested" in d["reasons"][0]


def test_reject_rule_rejects_with_its_category(cm, nongxin_app, nongxin_uow):
    app_id = new(nongxin_app, form={"tax_grade": "D"})
    body = decide(cm, app_id)
    assert body["status"] == "rejected"
    assert body["decision"]["refusal_category"] == "external_anti_fraud"
    hit = next(h for h in record(cm, app_id)["record"]["rules"]["hits"] if h["code"] == "DT-ADM-001")
    assert (hit["version"], hit["outcome"], hit["category"], hit["expression"]) == (
        3, "reject", "external_anti_fraud", "tax_grade == 'D'")
    assert rows(nongxin_uow, Application)[0].refusal_category == "external_anti_fraud"


def test_amount_above_ceiling_goes_to_manual_review_and_opens_the_investigation(cm, nongxin_app, nongxin_uow):
    body = decide(cm, new(nongxin_app, amount="60000"))
    assert body["status"] == "manual_review"
    assert any("auto-approval ceiling" in r for r in body["decision"]["reasons"])
    tasks = rows(nongxin_uow, ReviewTask)
    assert [(t.tier.value, t.assignee.username) for t in tasks] == [("investigation", "jinan.cm")]


# -- fail closed -------------------------------------------------------------------------------

def test_a_raising_limit_hook_is_manual_review_naming_the_plugin(cm, nongxin_app, monkeypatch):
    monkeypatch.setitem(BEHAVIOUR, "limit", "raise")
    body = decide(cm, new(nongxin_app))
    assert body["status"] == "manual_review"
    assert any("nongxin_credit_limit dtest" in r and "ZeroDivisionError" in r for r in body["decision"]["reasons"])


@pytest.mark.parametrize("answer, says", [("wrong type", "returned dict, not a LimitResult"),
                                          ("sub-fen", "not a non-negative Decimal amount of whole fen")])
def test_a_limit_of_the_wrong_type_or_precision_is_manual_review(cm, nongxin_app, monkeypatch, answer, says):
    monkeypatch.setitem(BEHAVIOUR, "limit", answer)
    body = decide(cm, new(nongxin_app))
    assert body["status"] == "manual_review"
    assert any("nongxin_credit_limit dtest" in r and says in r for r in body["decision"]["reasons"])


def test_a_failing_bureau_is_manual_review_never_approval(cm, nongxin_app, monkeypatch):
    monkeypatch.setitem(BEHAVIOUR, "bureau", "raise")
    body = decide(cm, new(nongxin_app))
    assert body["status"] == "manual_review"
    assert any(r.startswith("failed: bureau dtest") and "timed out" in r for r in body["decision"]["reasons"])


def test_a_failing_connector_is_manual_review_naming_it(cm, nongxin_app, monkeypatch):
    monkeypatch.setitem(BEHAVIOUR, "connector", "raise")
    body = decide(cm, new(nongxin_app))
    assert body["status"] == "manual_review"
    assert any("connector hr (dtest)" in r and "unreachable" in r for r in body["decision"]["reasons"])


def test_a_connector_missing_the_field_is_manual_review(cm, nongxin_app, monkeypatch):
    monkeypatch.setitem(BEHAVIOUR, "connector", "missing")
    reasons = decide(cm, new(nongxin_app))["decision"]["reasons"]
    assert any("connector hr (dtest): did not return employer_check" in r for r in reasons)


def test_connector_answers_are_cached_for_their_ttl(cm, nongxin_app, nongxin_uow):
    decide(cm, new(nongxin_app))
    second = new(nongxin_app, id_number=CLEAN)
    decide(cm, second)
    assert [c for c in BEHAVIOUR["calls"] if c[0] == "hr"] == [("hr", CLEAN)]
    assert record(cm, second)["record"]["connectors"][0]["cached"] is True
    assert len(rows(nongxin_uow, DecisionRuleBook)) == 1  # the same rules are stored once


def test_an_unusable_rule_book_is_manual_review(cm, nongxin_app, monkeypatch):
    monkeypatch.setitem(BEHAVIOUR, "rules", "raise")
    body = decide(cm, new(nongxin_app))
    assert body["status"] == "manual_review"
    assert any("admission rule book is unusable" in r and "rule store offline" in r
               for r in body["decision"]["reasons"])


# -- consent, states, scope --------------------------------------------------------------------

def test_without_consent_the_application_waits_and_nothing_is_queried(cm, nongxin_app, nongxin_uow):
    app_id = new(nongxin_app, consent=(), guarantors=((GUARANTOR, "李四"),), guarantor_consent=False)
    body = decide(cm, app_id)
    assert body["status"] == "awaiting_consent" and body["decision"] is None
    assert [(m["purpose"], m["reason"]) for m in body["missing_consent"]] == [
        ("02", "authorization_required"), ("08", "authorization_required")]
    assert BEHAVIOUR["calls"] == [] and rows(nongxin_uow, BureauQueryLog) == []
    assert cm.get(f"/api/applications/{app_id}/decision").status_code == 404
    # consent arrives: deciding again from awaiting_consent works
    file_application(nongxin_app, id_number=CLEAN, product="TESTLOAN")  # records the applicant's 02 consent
    file_application(nongxin_app, id_number=GUARANTOR, name="李四", product="TESTLOAN", consent=("08",))
    again = decide(cm, app_id)
    assert again["status"] == "approved"
    purposes = sorted(r.purpose for r in rows(nongxin_uow, BureauQueryLog) if r.for_ref.endswith("000001"))
    assert purposes == ["02", "08"]


def test_deciding_twice_is_409_naming_the_state(cm, nongxin_app):
    app_id = new(nongxin_app)
    decide(cm, app_id)
    resp = cm.post(f"/api/applications/{app_id}/decide")
    assert resp.status_code == 409 and resp.get_json()["error"] == "invalid_state"
    assert "approved" in resp.get_json()["message"]


def test_another_banks_application_is_404(cm, nongxin_app, nongxin_client):
    app_id = new(nongxin_app)
    linyi = nongxin_client.as_user("linyi.cm")
    assert linyi.post(f"/api/applications/{app_id}/decide").status_code == 404
    decide(cm, app_id)
    assert nongxin_client.as_user("linyi.admin").get(f"/api/applications/{app_id}/decision").status_code == 404
    assert linyi.post(f"/api/applications/{app_id}/decision/replay", json={}).status_code in (403, 404)
    assert nongxin_client.as_user("linyi.admin").post(f"/api/applications/{app_id}/decision/replay",
                                                      json={}).status_code == 404


# -- replay -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, outcome", [
    ({"amount": "45000"}, "approved"),
    ({"form": {"tax_grade": "D"}}, "rejected"),
    ({"amount": "60000", "form": {"peer_review": "red"}}, "manual_review"),
    ({"id_number": BLACKLISTED}, "rejected"),
])
def test_replay_with_the_stored_rules_reproduces_every_outcome(cm, nongxin_app, nongxin_uow, kwargs, outcome):
    app_id = new(nongxin_app, **kwargs)
    assert decide(cm, app_id)["status"] == outcome
    before = len(rows(nongxin_uow, Decision)), len(rows(nongxin_uow, BureauQueryLog))
    body = replay(cm, app_id, "stored")
    assert body["same"] is True and body["differences"] == {}
    assert body["replayed"]["outcome"] == outcome and body["replayed"] == body["stored"]
    assert (len(rows(nongxin_uow, Decision)), len(rows(nongxin_uow, BureauQueryLog))) == before


def test_replay_stored_survives_a_rule_change_and_current_shows_the_difference(cm, nongxin_app, nongxin_client,
                                                                              monkeypatch):
    app_id = new(nongxin_app)
    decide(cm, app_id)
    resp = nongxin_client.put("/api/plugins/dtest/settings", json={"institution": "JNRCB",
                                                                  "settings": {"spread_bp": 150}})
    assert resp.status_code == 200, resp.get_json()
    assert replay(cm, app_id, "stored")["same"] is True
    current = replay(cm, app_id, "current")
    assert current["same"] is False
    assert current["differences"]["rate"] == {"stored": "0.0385", "replayed": "0.0450"}


def test_replay_stored_reproduces_a_failed_plugin(cm, nongxin_app, monkeypatch):
    monkeypatch.setitem(BEHAVIOUR, "limit", "raise")
    app_id = new(nongxin_app)
    decide(cm, app_id)
    monkeypatch.setitem(BEHAVIOUR, "limit", "answer")
    assert replay(cm, app_id, "stored")["same"] is True
    assert replay(cm, app_id, "current")["differences"]["outcome"] == {"stored": "manual_review",
                                                                       "replayed": "approved"}


def test_replay_refuses_an_unknown_mode(cm, nongxin_app):
    app_id = new(nongxin_app)
    decide(cm, app_id)
    resp = cm.as_user("jinan.reviewer").post(f"/api/applications/{app_id}/decision/replay", json={"rules": "old"})
    assert resp.status_code == 422 and "rules" in resp.get_json()["fields"]


# -- notifications ------------------------------------------------------------------------------

def test_on_decision_fires_after_commit_and_a_raising_notifier_changes_nothing(cm, nongxin_app, caplog):
    body = decide(cm, new(nongxin_app))
    assert body["status"] == "approved"
    assert BEHAVIOUR["seen_after_commit"] == "approved"  # the row was committed before the hook ran
    assert "SMS gateway down" in caplog.text


# -- the command line ---------------------------------------------------------------------------

def test_cli_decides_on_behalf_of_a_user(cm, nongxin_app, nongxin_settings):
    from click.testing import CliRunner

    from nongxin.core.cli import Console, main

    app_id = new(nongxin_app, form={"tax_grade": "D"})
    console = Console(nongxin_settings, runtime=nongxin_app.extensions["nongxin"])  # the test plugins loaded
    result = CliRunner().invoke(main, ["applications", "decide", str(app_id), "--user", "jinan.cm"], obj=console,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "rejected (external_anti_fraud)" in result.output and "DT-ADM-001" in result.output
    again = CliRunner().invoke(main, ["applications", "decide", str(app_id), "--user", "jinan.cm"], obj=console)
    assert again.exit_code != 0 and "rejected" in again.output
