"""Manual classes over HTTP (maker-checker), reading a loan's class and history, the requests,
NPL ratios in the caller's subtree, and another county bank's loans and requests as 404."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.classification import classify
from nongxin.core.early_warning.models import ClassRequest, LoanClassChange
from nongxin.core.testing import make_overdue, open_test_loan
from nongxin.core.early_warning.domain import TIERS


def _counts(app: Any) -> tuple[int, int, int]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return tuple(unit.session.execute(sa.select(sa.func.count()).select_from(m)).scalar_one()
                     for m in (ClassRequest, LoanClassChange, AuditEntry))


def test_worse_applies_at_once_better_waits_for_a_second_person(nongxin_app: Any, nongxin_client: Any) -> None:
    loan = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, loan, days=100)
    classify(nongxin_app.extensions["nongxin"], institution="JNRCB")
    admin, approver = nongxin_client.as_user("jinan.admin"), nongxin_client.as_user("jinan.approver")

    worse = admin.post(f"/api/loans/{loan}/classification", json={"tier": "doubtful", "reason": "经营恶化"})
    assert worse.status_code == 201 and worse.get_json()["status"] == "applied"
    shown = admin.get(f"/api/loans/{loan}/classification").get_json()
    assert (shown["tier"], shown["floor"], shown["manual_tier"], shown["manual_floor"]) == (
        "doubtful", "substandard", "doubtful", "substandard")
    assert [(h["from_tier"], h["to_tier"], h["actor"]) for h in shown["history"]] == [
        (None, "substandard", "system:classification"), ("substandard", "doubtful", "jinan.admin")]

    better = admin.post(f"/api/loans/{loan}/classification", json={"tier": "special_mention", "reason": "已补足担保"})
    assert better.status_code == 201 and better.get_json()["status"] == "pending"
    rid = better.get_json()["id"]
    assert admin.get(f"/api/loans/{loan}/classification").get_json()["tier"] == "doubtful"
    pending = admin.get("/api/classification/requests?status=pending").get_json()["items"]
    assert [r["id"] for r in pending] == [rid]

    before = _counts(nongxin_app)
    own = admin.post(f"/api/classification/requests/{rid}/approve", json={})
    assert own.status_code == 403 and own.get_json()["error"] == "separation_of_duties"
    assert _counts(nongxin_app) == before
    ok = approver.post(f"/api/classification/requests/{rid}/approve", json={})
    assert ok.status_code == 200 and ok.get_json()["status"] == "applied"
    shown = admin.get(f"/api/loans/{loan}/classification").get_json()
    assert (shown["tier"], shown["manual_tier"]) == ("special_mention", "special_mention")
    again = approver.post(f"/api/classification/requests/{rid}/approve", json={})
    assert again.status_code == 409 and again.get_json()["error"] == "not_pending"

    classify(nongxin_app.extensions["nongxin"], institution="JNRCB")  # the approved class holds
    assert admin.get(f"/api/loans/{loan}/classification").get_json()["tier"] == "special_mention"
    make_overdue(nongxin_app, loan, days=300)  # the floor got worse than when approved: it lapses
    classify(nongxin_app.extensions["nongxin"], institution="JNRCB")
    shown = admin.get(f"/api/loans/{loan}/classification").get_json()
    assert (shown["tier"], shown["manual_tier"]) == ("doubtful", None)


def test_reject_and_unknown_tier(nongxin_app: Any, nongxin_client: Any) -> None:
    loan = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, loan, days=10)
    admin = nongxin_client.as_user("jinan.admin")
    bad = admin.post(f"/api/loans/{loan}/classification", json={"tier": "great", "reason": "x"})
    assert bad.status_code == 422 and all(t in " ".join(bad.get_json()["fields"]["tier"]) for t in TIERS)
    rid = admin.post(f"/api/loans/{loan}/classification", json={"tier": "normal", "reason": "误逾期"}).get_json()["id"]
    rejected = nongxin_client.as_user("jinan.approver").post(f"/api/classification/requests/{rid}/reject", json={})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert admin.get(f"/api/loans/{loan}/classification").get_json()["tier"] == "special_mention"


def test_another_banks_loan_request_and_ratios_are_hidden(nongxin_app: Any, nongxin_client: Any) -> None:
    loan = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    make_overdue(nongxin_app, loan, days=10)
    classify(nongxin_app.extensions["nongxin"])
    rid = nongxin_client.as_user("linyi.admin").post(
        f"/api/loans/{loan}/classification", json={"tier": "normal", "reason": "误逾期"}).get_json()["id"]
    jinan = nongxin_client.as_user("jinan.admin")
    assert jinan.get(f"/api/loans/{loan}/classification").status_code == 404
    assert jinan.post(f"/api/loans/{loan}/classification", json={"tier": "loss", "reason": "x"}).status_code == 404
    assert jinan.post(f"/api/classification/requests/{rid}/approve", json={}).status_code == 404
    assert jinan.get("/api/classification/requests").get_json()["items"] == []
    assert jinan.get("/api/classification/npl?institution=LYRCB").status_code == 404
    rows = jinan.get("/api/classification/npl").get_json()["items"]
    assert rows and {r["institution"] for r in rows} <= {"JNRCB", "JNRCB-LX", "JNRCB-ZQ"}
    linyi = nongxin_client.as_user("linyi.admin").get("/api/classification/npl?institution=LYRCB").get_json()["items"]
    assert [(r["institution"], r["loans"], r["ratio"]) for r in linyi] == [
        ("LYRCB", 1, "0.000000"), ("LYRCB-LS", 1, "0.000000")]
