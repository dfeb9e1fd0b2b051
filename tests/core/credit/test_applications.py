"""Filing, listing, showing and withdrawing loan applications through the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.credit.models import Application, Decision, ReviewTask, Tier
from nongxin.core.institutions.models import User
from nongxin.sdk import AmountRange, ConnectorSpec, PluginInfo, PluginKind, ProductSpec, hookimpl

FORM_PRODUCT = "FORM_DAI"


@hookimpl
def _form_products(ctx: Any) -> list[ProductSpec]:
    return [ProductSpec(code=FORM_PRODUCT, name="表单贷", segment="salaried",
                        amount=AmountRange(Decimal("1000"), Decimal("100000")), term_months=(3, 24),
                        annual_rate=(Decimal("0.04"), Decimal("0.08")), repayment_methods=("equal_principal",),
                        required_data=("age", "monthly_income", "tax_grade"))]


@hookimpl
def _tax_connectors(ctx: Any) -> list[ConnectorSpec]:
    return [ConnectorSpec(name="tax", fields=("tax_grade", "filed_revenue"), fetch=lambda subject, c: {})]


def _module(name: str, kind: PluginKind, **hooks: Any) -> ModuleType:
    mod = ModuleType(name)
    mod.PLUGIN = PluginInfo(name=name, version="1.0.0", kind=kind, allowed_institutions=("JNRCB",))  # type: ignore[attr-defined]
    mod.__dict__.update(hooks)
    return mod


FORM_PLUGIN = _module("form_products", PluginKind.PRODUCT, nongxin_products=_form_products)
TAX_PLUGIN = _module("test_tax", PluginKind.CONNECTOR, nongxin_connectors=_tax_connectors)


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [FORM_PLUGIN, TAX_PLUGIN]


@pytest.fixture
def cm(nongxin_client: Any) -> Any:
    return nongxin_client.as_user("jinan.cm")


def body(customer: int, **changes: Any) -> dict[str, Any]:
    valid = {"customer": customer, "product": "XIN_E_DAI", "amount": "50000.00", "term_months": 12,
             "repayment_method": "equal_installment", "purpose": "购置农机", "form": {}, "guarantors": [],
             "channel": "counter"}
    return {**valid, **changes}


def refused(resp: Any, field: str, status: int = 422) -> dict[str, Any]:
    answer = resp.get_json()
    assert resp.status_code == status, answer
    assert field in answer["fields"], answer
    return answer


def test_filing_numbers_audits_and_shows_the_application(cm, new_customer, nongxin_app, nongxin_client):
    customer = new_customer("JNRCB-LX-G01", name="张三")
    resp = cm.post("/api/applications", json=body(customer, amount=50000))
    app = resp.get_json()
    assert resp.status_code == 201, app
    year = nongxin_app.extensions["nongxin"].clock.business_date().year
    assert app["number"] == f"JNRCB-A{year}-000001"
    assert (app["status"], app["county_bank"], app["institution"], app["filed_by"]) == \
        ("submitted", "JNRCB", "JNRCB-LX", "jinan.cm")
    assert app["amount"] == "50000.00" and app["decision"] is None and app["review_tasks"] == []
    second = cm.post("/api/applications", json=body(customer, amount="1000.5")).get_json()
    assert second["number"] == f"JNRCB-A{year}-000002" and second["amount"] == "1000.50"

    with nongxin_app.extensions["nongxin"].sessions() as session:
        stored = session.execute(sa.select(Application).where(Application.id == app["id"])).scalar_one()
        assert stored.amount == Decimal("50000.00") and isinstance(stored.amount, Decimal)
        filed = session.execute(sa.select(AuditEntry).where(AuditEntry.action == "application.file")).scalars().all()
        assert [e.target for e in filed] == [f"application:{app['number']}", f"application:{second['number']}"]
        assert filed[0].after["amount"] == "50000.00" and filed[0].actor == "jinan.cm"

    shown = cm.get(f"/api/applications/{app['id']}").get_json()
    assert shown["customer"]["name"] == "张三" and "*" not in shown["customer"]["id_number"]
    masked = nongxin_client.as_user("jinan.admin").get(f"/api/applications/{app['id']}").get_json()
    assert "*" in masked["customer"]["id_number"]


def test_a_product_not_enabled_at_the_applicants_county_is_422_product(nongxin_client, nongxin_enable, new_customer):
    nongxin_enable("form_products", "JNRCB")
    linyi = new_customer("LYRCB-LS-G01")
    resp = nongxin_client.as_user("linyi.cm").post(
        "/api/applications", json=body(linyi, product=FORM_PRODUCT, repayment_method="equal_principal",
                                       form={"monthly_income": "8000", "tax_grade": "A"}))
    assert "not offered at LYRCB-LS" in refused(resp, "product")["fields"]["product"][0]


def test_a_disabled_plugins_product_is_not_offered(cm, nongxin_client, new_customer, db_snapshot):
    customer = new_customer()
    resp = nongxin_client.as_user("province.admin").post("/api/plugins/provincial_products/disable",
                                                         json={"institution": "JNRCB"})
    assert resp.status_code == 200, resp.get_json()
    before = db_snapshot()
    refused(cm.post("/api/applications", json=body(customer)), "product")
    assert db_snapshot() == before


@pytest.mark.parametrize("amount, reason", [
    ("300000.01", "outside"), ("999.99", "outside"), (1000.5, "not exact"), ("50000.005", "two decimals"),
    ("-5", "two decimals"), ("0", "positive"), (True, "amount of yuan"), ("1e5", "two decimals"),
])
def test_amounts_outside_the_spec_or_inexact_are_422_amount(cm, new_customer, amount, reason):
    answer = refused(cm.post("/api/applications", json=body(new_customer(), amount=amount)), "amount")
    assert reason in answer["fields"]["amount"][0], answer


def test_term_and_repayment_method_outside_the_spec(cm, new_customer):
    customer = new_customer()
    answer = refused(cm.post("/api/applications", json=body(customer, term_months=48)), "term_months")
    assert "1 to 36" in answer["fields"]["term_months"][0]
    answer = refused(cm.post("/api/applications", json=body(customer, repayment_method="bullet")), "repayment_method")
    assert "equal_installment" in answer["fields"]["repayment_method"][0]
    both = cm.post("/api/applications", json=body(customer, term_months=48, repayment_method="bullet")).get_json()
    assert {"term_months", "repayment_method"} <= set(both["fields"])


def test_required_data_comes_from_the_form_the_customer_file_or_a_connector(cm, nongxin_enable, new_customer):
    nongxin_enable("form_products", "JNRCB")
    customer = new_customer()  # the file gives the age
    filing = body(customer, product=FORM_PRODUCT, repayment_method="equal_principal")
    answer = refused(cm.post("/api/applications", json=filing), "form.monthly_income")
    assert set(answer["fields"]) == {"form.monthly_income", "form.tax_grade"}, answer
    nongxin_enable("test_tax", "JNRCB")  # the connector provides tax_grade at decision time
    answer = refused(cm.post("/api/applications", json=filing), "form.monthly_income")
    assert set(answer["fields"]) == {"form.monthly_income"}
    filed = cm.post("/api/applications", json={**filing, "form": {"monthly_income": "8000.00"}})
    assert filed.status_code == 201, filed.get_json()
    assert filed.get_json()["form"] == {"monthly_income": "8000.00"}


def test_form_answers_are_scalars_and_exact(cm, new_customer):
    customer = new_customer()
    for form, name in [({"monthly_income": 8000.5}, "form.monthly_income"), ({"x": {"y": 1}}, "form.x")]:
        refused(cm.post("/api/applications", json=body(customer, form=form)), name)


def test_guarantors_are_other_distinct_customers_of_the_same_bank(cm, new_customer):
    applicant, other = new_customer(), new_customer(name="李保证")
    linyi = new_customer("LYRCB-LS-G01")
    cases = [([applicant], "cannot guarantee"), ([other, other], "twice"), ([linyi], "no customer"),
             ([999999], "no customer")]
    for guarantors, reason in cases:
        answer = refused(cm.post("/api/applications", json=body(applicant, guarantors=guarantors)), "guarantors")
        assert reason in " ".join(answer["fields"]["guarantors"]), (guarantors, answer)
    ok = cm.post("/api/applications", json=body(applicant, guarantors=[other]))
    assert ok.status_code == 201 and ok.get_json()["guarantors"] == [other]


def test_channel_and_qr_code_reference(cm, new_customer):
    customer = new_customer()
    refused(cm.post("/api/applications", json=body(customer, channel="fax")), "channel")
    refused(cm.post("/api/applications", json=body(customer, channel="qr_code")), "channel_ref")
    ok = cm.post("/api/applications", json=body(customer, channel="qr_code", channel_ref="CM-jinan.cm"))
    assert ok.status_code == 201 and ok.get_json()["channel_ref"] == "CM-jinan.cm"


def test_the_service_refuses_an_unknown_channel_by_itself(nongxin_app, new_customer):
    from nongxin.core.credit.applications import Filing, file
    from nongxin.core.db import UnitOfWork
    from nongxin.core.errors import ValidationFailed
    from nongxin.core.institutions.users import principal_named

    customer = new_customer()
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        filing = Filing(customer_id=customer, product_code="XIN_E_DAI", amount=Decimal("5000"), term_months=12,
                        repayment_method="equal_installment", channel="fax")
        with pytest.raises(ValidationFailed) as error:
            file(unit, principal_named(unit.session, "jinan.cm"), runtime.plugins, filing, today=date(2026, 11, 23))
        assert set(error.value.fields) == {"channel"}


def test_scope_first_then_role(nongxin_client, new_customer, db_snapshot):
    jinan, linyi = new_customer(), new_customer("LYRCB-LS-G01")
    before = db_snapshot()
    assert nongxin_client.as_user("jinan.cm").post("/api/applications", json=body(linyi)).status_code == 404
    assert nongxin_client.as_user("jinan.cm").post("/api/applications", json=body(999999)).status_code == 404
    resp = nongxin_client.as_user("jinan.reviewer").post("/api/applications", json=body(jinan))
    assert resp.status_code == 403 and "application.file" in resp.get_json()["message"]
    assert db_snapshot() == before


def _file(client: Any, customer: int, **changes: Any) -> dict[str, Any]:
    resp = client.post("/api/applications", json=body(customer, **changes))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_another_banks_application_is_404_and_absent_from_lists(nongxin_client, new_customer):
    jinan = _file(nongxin_client.as_user("jinan.cm"), new_customer())
    linyi = _file(nongxin_client.as_user("linyi.cm"), new_customer("LYRCB-LS-G01"))
    assert linyi["number"].startswith("LYRCB-A") and linyi["number"].endswith("-000001")
    admin = nongxin_client.as_user("jinan.admin")
    assert admin.get(f"/api/applications/{linyi['id']}").status_code == 404
    assert admin.post(f"/api/applications/{linyi['id']}/withdraw", json={"reason": "x"}).status_code == 404
    assert [a["id"] for a in admin.get("/api/applications").get_json()] == [jinan["id"]]
    assert admin.get("/api/applications?institution=LYRCB").status_code == 404
    province = nongxin_client.as_user("province.admin").get("/api/applications").get_json()
    assert {a["id"] for a in province} == {jinan["id"], linyi["id"]}


def test_withdraw_once_then_409_naming_the_state(nongxin_client, new_customer, nongxin_app):
    cm = nongxin_client.as_user("jinan.cm")
    app = _file(cm, new_customer())
    resp = cm.post(f"/api/applications/{app['id']}/withdraw", json={"reason": "客户不需要了"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "withdrawn", resp.get_json()
    assert resp.get_json()["closed_at"] is not None
    again = cm.post(f"/api/applications/{app['id']}/withdraw", json={"reason": "再撤一次"})
    assert again.status_code == 409 and "withdrawn" in again.get_json()["message"], again.get_json()
    assert nongxin_client.as_user("jinan.reviewer").post(
        f"/api/applications/{app['id']}/withdraw", json={"reason": "x"}).status_code == 403
    with nongxin_app.extensions["nongxin"].sessions() as session:
        entry = session.execute(sa.select(AuditEntry).where(AuditEntry.action == "application.withdrawn")).scalar_one()
        assert entry.after["note"] == "客户不需要了" and entry.actor == "jinan.cm"


def test_filter_by_status_customer_and_assigned_to_me(nongxin_client, new_customer, nongxin_app):
    cm = nongxin_client.as_user("jinan.cm")
    first, second = new_customer(), new_customer(name="赵二")
    a = _file(cm, first)
    b = _file(cm, second)
    c = _file(cm, first)
    cm.post(f"/api/applications/{c['id']}/withdraw", json={"reason": "撤回"})

    def ids(client: Any, query: str) -> list[int]:
        resp = client.get(f"/api/applications{query}")
        assert resp.status_code == 200, resp.get_json()
        return [x["id"] for x in resp.get_json()]

    assert ids(cm, "") == [c["id"], b["id"], a["id"]]
    assert ids(cm, "?status=submitted") == [b["id"], a["id"]]
    assert ids(cm, "?status=withdrawn") == [c["id"]]
    assert ids(cm, f"?customer={first}") == [c["id"], a["id"]]
    assert ids(cm, "?limit=1&offset=1") == [b["id"]]
    assert ids(cm, "?institution=JNRCB-LX") == [c["id"], b["id"], a["id"]]
    assert ids(nongxin_client.as_user("jinan.admin"), "?institution=JNRCB-ZQ") == []
    assert cm.get("/api/applications?institution=JNRCB-ZQ").status_code == 404
    assert ids(cm, "?assigned_to=me") == [b["id"], a["id"]]  # open ones the manager filed
    reviewer = nongxin_client.as_user("jinan.reviewer")
    assert ids(reviewer, "?assigned_to=me") == []
    with nongxin_app.extensions["nongxin"].sessions() as session:
        me = session.execute(sa.select(User.id).where(User.username == "jinan.reviewer")).scalar_one()
        session.add_all([ReviewTask(application_id=a["id"], tier=Tier.REVIEW, assignee_id=me, due_on=date(2026, 12, 1)),
                         ReviewTask(application_id=b["id"], tier=Tier.REVIEW, assignee_id=me, due_on=date(2026, 12, 1),
                                    done_at=sa.func.now())])
        session.commit()
    assert ids(reviewer, "?assigned_to=me") == [a["id"]]
    tasks = reviewer.get(f"/api/applications/{a['id']}").get_json()["review_tasks"]
    assert tasks == [{"tier": "review", "assignee": "jinan.reviewer", "due_on": "2026-12-01", "opinion": None,
                      "comment": "", "done_at": None}]
    refused(cm.get("/api/applications?status=lost"), "status")
    refused(cm.get("/api/applications?assigned_to=you"), "assigned_to")


def test_show_gives_the_decisions_outcome_once_there_is_one(nongxin_client, new_customer, nongxin_app):
    cm = nongxin_client.as_user("jinan.cm")
    app = _file(cm, new_customer())
    with nongxin_app.extensions["nongxin"].sessions() as session:
        session.add(Decision(application_id=app["id"], outcome="rejected", refusal_category="dishonest_debtor",
                             limit=None, rate=Decimal("0.0435"), score=512, grade="C",
                             business_date=date(2026, 11, 23), decided_by="jinan.cm", record={}))
        session.commit()
    decision = cm.get(f"/api/applications/{app['id']}").get_json()["decision"]
    assert {k: decision[k] for k in ("outcome", "refusal_category", "limit", "rate", "score", "grade")} == {
        "outcome": "rejected", "refusal_category": "dishonest_debtor", "limit": None, "rate": "0.0435",
        "score": 512, "grade": "C"}
