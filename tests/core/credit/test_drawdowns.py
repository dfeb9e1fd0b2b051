"""Drawdowns (用信) through the API: the loan and its schedule, every refusal, idempotent retries,
the notification after the commit, another bank's line. Credit lines are made through the ORM
(``open_test_line``) until the credit line API grants them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.credit.models import IdempotencyKey, Installment, Loan, LoanTransaction
from nongxin.core.testing import open_test_line
from nongxin.sdk import AmountRange, PluginInfo, PluginKind, ProductSpec, hookimpl

BODY = {"amount": "12000.00", "term_months": 12, "repayment_method": "equal_installment", "account": "6228480000000001"}
SEEN: dict[str, Any] = {}


@hookimpl
def nongxin_products(ctx):
    return [ProductSpec(code="DIYA_DAI", name="抵押贷", segment="farmer",
                        amount=AmountRange(Decimal("1000"), Decimal("500000")), term_months=(1, 60),
                        annual_rate=(Decimal("0.04"), Decimal("0.07")), repayment_methods=("monthly_interest",),
                        collateral_kind="real_estate")]


@hookimpl
def nongxin_on_disbursed(event, ctx):
    with SEEN["engine"].connect() as conn:  # another connection: sees only what is committed
        committed = conn.execute(sa.text("SELECT principal FROM loans WHERE loan_no = :n"),
                                 {"n": event.subject_id}).scalar_one_or_none()
    SEEN.setdefault("events", []).append((event, committed))


def _module(name: str, **hooks: Any) -> ModuleType:
    mod = ModuleType(name)
    mod.PLUGIN = PluginInfo(name=name, version="1.0.0", kind=PluginKind.PRODUCT)  # type: ignore[attr-defined]
    mod.__dict__.update(hooks)
    return mod


@hookimpl
def raising_on_disbursed(event, ctx):
    raise RuntimeError("SMS gateway down")


DRAWTEST = _module("drawtest", nongxin_products=nongxin_products, nongxin_on_disbursed=nongxin_on_disbursed)
LOUD = _module("drawtest_loud", nongxin_on_disbursed=raising_on_disbursed)


@pytest.fixture
def nongxin_plugins():
    return [LOUD, DRAWTEST]


@pytest.fixture
def cm(nongxin_app, nongxin_client, monkeypatch):
    monkeypatch.setitem(SEEN, "engine", nongxin_app.extensions["nongxin"].engine)
    monkeypatch.setitem(SEEN, "events", [])
    return nongxin_client.as_user("jinan.cm")


_keys = iter(range(10**6))


def post(client, line_id, body=None, key: str | None = "auto", **changes):
    headers = {} if key is None else {"Idempotency-Key": f"k-{next(_keys)}" if key == "auto" else key}
    return client.post(f"/api/credit-lines/{line_id}/drawdowns", json={**(body or BODY), **changes}, headers=headers)


def test_a_drawdown_is_a_loan_with_its_schedule(nongxin_app, cm, nongxin_uow):
    line = open_test_line(nongxin_app, amount="50000.00")
    resp = post(cm, line)
    assert resp.status_code == 201, resp.get_json()
    loan = resp.get_json()
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    assert loan["loan_no"] == f"JNRCB-L{today.year}-000001" and loan["status"] == "active"
    assert (loan["principal"], loan["outstanding"], loan["annual_rate"]) == ("12000.00", "12000.00", "0.0435")
    assert loan["disbursed_on"] == today.isoformat() and loan["account"] == BODY["account"]
    assert loan["product"] == "XIN_E_DAI" and loan["credit_line"]["id"] == line and loan["manager"] == "jinan.cm"
    rows = loan["schedule"]
    assert len(rows) == 12 and [r["seq"] for r in rows] == list(range(1, 13))
    assert sum(Decimal(r["principal"]) for r in rows) == Decimal("12000.00")
    assert all(Decimal(r["interest"]) > 0 and r["status"] == "pending" for r in rows)
    assert rows[-1]["due_on"] == loan["maturity_on"]
    assert [t["kind"] for t in loan["transactions"]] == ["disbursement"]
    assert [v["reason"] for v in loan["schedule_versions"]] == ["disbursement"]
    # a second drawdown takes what is left
    assert post(cm, line, amount="38000.00").status_code == 201
    over = post(cm, line, amount="1000.00")
    assert over.status_code == 422 and over.get_json()["error"] == "exceeds_available"
    assert "0.00" in over.get_json()["fields"]["amount"][0]
    session = nongxin_uow.session
    assert session.execute(sa.select(sa.func.count()).select_from(Installment)).scalar_one() == 24


def _refused(client, db_snapshot, line, status, code, field, **changes):
    before = db_snapshot()
    resp = post(client, line, **changes)
    answer = resp.get_json()
    assert resp.status_code == status, answer
    assert answer["error"] == code and field in answer["fields"], answer
    assert db_snapshot() == before
    return answer


def test_every_refusal_names_the_field_and_writes_nothing(nongxin_app, cm, db_snapshot, nongxin_client,
                                                          nongxin_enable):
    nongxin_enable("drawtest", "JNRCB")  # offers DIYA_DAI, which needs collateral
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    line = open_test_line(nongxin_app, amount="50000.00", products=("XIN_E_DAI", "FU_NONG_DAI", "DIYA_DAI"))
    frozen = open_test_line(nongxin_app, status="frozen")
    later = open_test_line(nongxin_app, start_on=today + timedelta(days=3))
    ended = open_test_line(nongxin_app, start_on=today - timedelta(days=400), end_on=today - timedelta(days=1))
    short = open_test_line(nongxin_app, end_on=today + timedelta(days=100))
    one = open_test_line(nongxin_app, products=("XIN_E_DAI",))

    assert "frozen" in _refused(cm, db_snapshot, frozen, 409, "line_not_active", "credit_line")["message"]
    _refused(cm, db_snapshot, later, 409, "line_not_active", "credit_line")
    _refused(cm, db_snapshot, ended, 409, "line_not_active", "credit_line")
    _refused(cm, db_snapshot, line, 422, "exceeds_available", "amount", product="XIN_E_DAI", amount="50000.01")
    answer = _refused(cm, db_snapshot, short, 422, "maturity_after_line_end", "term_months")
    assert str(today + timedelta(days=100)) in answer["message"]
    assert "name the product" in _refused(cm, db_snapshot, line, 422, "validation_failed", "product")["message"]
    _refused(cm, db_snapshot, one, 422, "validation_failed", "product", product="FU_NONG_DAI")
    _refused(cm, db_snapshot, line, 422, "validation_failed", "repayment_method", product="XIN_E_DAI",
             repayment_method="bullet")
    _refused(cm, db_snapshot, line, 422, "validation_failed", "term_months", product="XIN_E_DAI", term_months=37)
    _refused(cm, db_snapshot, line, 422, "validation_failed", "amount", product="XIN_E_DAI", amount="999.00")
    answer = _refused(cm, db_snapshot, line, 422, "collateral_not_registered", "product", product="DIYA_DAI",
                      repayment_method="monthly_interest")
    assert "real_estate" in answer["message"]
    missing = cm.post(f"/api/credit-lines/{one}/drawdowns", json=BODY)
    assert missing.status_code == 422 and "Idempotency-Key" in str(missing.get_json()["fields"])
    # a product switched off at the lending institution is not drawn, though it is on the line
    admin = nongxin_client.as_user("province.admin")
    assert admin.post("/api/plugins/provincial_products/disable", json={"institution": "JNRCB"}).status_code == 200
    answer = _refused(cm, db_snapshot, one, 422, "validation_failed", "product")
    assert "not offered at JNRCB-LX" in answer["message"]


def test_the_same_key_returns_the_same_loan_and_another_body_is_409(nongxin_app, cm, nongxin_uow, nongxin_enable):
    nongxin_enable("drawtest", "JNRCB")
    line = open_test_line(nongxin_app)
    first = post(cm, line, key="retry-1")
    again = post(cm, line, key="retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["loan_no"] == first.get_json()["loan_no"]
    other = post(cm, line, key="retry-1", amount="13000.00")
    assert other.status_code == 409 and other.get_json()["error"] == "idempotency_key_reused"
    elsewhere = post(cm, open_test_line(nongxin_app), key="retry-1")  # the same key on another line
    assert elsewhere.status_code == 409
    session = nongxin_uow.session
    drawn = sa.select(Loan.id).where(Loan.credit_line_id.is_not(None))
    assert session.execute(sa.select(sa.func.count()).select_from(drawn.subquery())).scalar_one() == 1
    assert session.execute(sa.select(sa.func.count()).select_from(LoanTransaction).where(
        LoanTransaction.loan_id.in_(drawn))).scalar_one() == 1
    assert session.execute(sa.select(sa.func.count()).select_from(IdempotencyKey)).scalar_one() == 1
    assert len(SEEN["events"]) == 1  # a replay tells nobody again


def test_the_plugins_are_told_after_the_commit_and_only_where_enabled(nongxin_app, cm, nongxin_enable):
    line = open_test_line(nongxin_app)
    assert post(cm, line).status_code == 201
    assert SEEN["events"] == []  # drawtest is not enabled at JNRCB: it never runs there
    nongxin_enable("drawtest", "JNRCB")
    loan = post(cm, line, amount="5000.50").get_json()
    [(event, committed)] = SEEN["events"]
    assert committed is not None  # the plugin's own connection already saw the loan
    assert event.kind == "disbursed" and event.subject_id == loan["loan_no"] and event.institution_code == "JNRCB-LX"
    assert event.details["amount"] == "5000.50" and event.details["loan_no"] == loan["loan_no"]
    assert isinstance(event.details["loan_id"], int)
    nongxin_enable("drawtest_loud", "JNRCB")  # a failing plugin is logged; the loan stands
    assert post(cm, line, amount="1000.00").status_code == 201
    assert len(SEEN["events"]) == 2


def test_another_banks_line_is_404(nongxin_app, nongxin_client, db_snapshot):
    line = open_test_line(nongxin_app)
    before = db_snapshot()
    resp = post(nongxin_client.as_user("linyi.cm"), line)
    assert resp.status_code == 404 and resp.get_json()["fields"] == {"credit_line": ["not found"]}
    assert post(nongxin_client.as_user("jinan.cm"), 999999).status_code == 404
    assert db_snapshot() == before


def test_the_service_checks_the_role_itself(nongxin_app, nongxin_demo):
    from nongxin.core.credit.drawdowns import DrawRequest, draw
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions.users import principal_named
    from nongxin.core.permissions import Forbidden

    line = open_test_line(nongxin_app)
    rt = nongxin_app.extensions["nongxin"]
    request = DrawRequest(Decimal("12000.00"), 12, "equal_installment", "6228480000000001")
    with UnitOfWork(rt.sessions) as unit:
        with pytest.raises(Forbidden, match="loan.draw"):
            draw(unit, principal_named(unit.session, "jinan.admin"), rt, line, request, "svc-1")
        unit.rollback()
    with UnitOfWork(rt.sessions) as unit:
        assert not draw(unit, principal_named(unit.session, "jinan.cm"), rt, line, request, "svc-2").replayed
