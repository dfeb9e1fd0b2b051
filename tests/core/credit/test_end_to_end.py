"""The whole of unified credit I, through the services the demo uses and then the API alone: a
filed application is decided, and one sent to manual review goes through the three tiers."""

from __future__ import annotations

from typing import Any

from nongxin.core.demo import DEMO_APPLICATIONS, decide_demo_applications


def test_the_demo_shows_every_outcome_of_the_decision(nongxin_app: Any, nongxin_demo: Any) -> None:
    shown = decide_demo_applications(nongxin_app.extensions["nongxin"])
    assert [s.status for s in shown] == ["approved", "manual_review", "rejected", "awaiting_consent"]
    assert len(shown) == len(DEMO_APPLICATIONS)
    assert "dishonest_debtor" in shown[2].detail
    assert "ceiling" in shown[1].detail


def test_manual_review_runs_from_the_decision_through_three_tiers_to_approval(
        nongxin_app: Any, nongxin_client: Any) -> None:
    shown = decide_demo_applications(nongxin_app.extensions["nongxin"])
    cm, reviewer, approver = (nongxin_client.as_user(u) for u in ("jinan.cm", "jinan.reviewer", "jinan.approver"))
    listed = cm.get("/api/applications?status=manual_review&assigned_to=me").get_json()
    (app,) = [a for a in listed if a["number"] == shown[1].number]
    app_id = app["id"]

    why = reviewer.get(f"/api/applications/{app_id}/decision").get_json()
    assert why["outcome"] == "manual_review"
    replay = reviewer.post(f"/api/applications/{app_id}/decision/replay", json={"rules": "stored"}).get_json()
    assert replay["same"] is True and replay["differences"] == {}

    # the investigator may not approve (separation of duties), and gives the first opinion
    assert cm.post(f"/api/applications/{app_id}/review", json={"opinion": "agree", "comment": "走访核实"}).status_code == 200
    resp = reviewer.post(f"/api/applications/{app_id}/review", json={"opinion": "agree", "comment": "资料齐全"})
    assert resp.status_code == 200, resp.get_json()
    resp = approver.post(f"/api/applications/{app_id}/review",
                         json={"opinion": "agree", "comment": "同意, 降额", "amount": "120000"})
    assert resp.status_code == 200, resp.get_json()
    final = cm.get(f"/api/applications/{app_id}").get_json()
    assert final["status"] == "approved" and final["approved_amount"] == "120000.00"
    tiers = [t["tier"] for t in reviewer.get(f"/api/applications/{app_id}/review").get_json()["tasks"]]
    assert tiers == ["investigation", "review", "approval"]


def test_withdrawing_an_application_in_review_closes_its_open_step(nongxin_app: Any, nongxin_client: Any) -> None:
    from nongxin.core.testing import manual_review_application

    app_id = manual_review_application(nongxin_app)
    cm = nongxin_client.as_user("jinan.cm")
    assert cm.get("/api/applications?assigned_to=me").get_json()
    resp = cm.post(f"/api/applications/{app_id}/withdraw", json={"reason": "客户不需要了"})
    assert resp.status_code == 200, resp.get_json()
    (task,) = cm.get(f"/api/applications/{app_id}/review").get_json()["tasks"]
    assert task["done_at"] is not None and task["opinion"] is None
    assert all(a["id"] != app_id for a in cm.get("/api/applications?assigned_to=me").get_json())
