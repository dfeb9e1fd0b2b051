"""``/api/tasks``: listing with its filters, close (findings, disposal, evidence; the warning closes
with the task in one transaction; a customer manager only their own task; a second close 409),
reassign (only to a customer manager or post-loan checker of the task's county bank)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.models import TaskEvent, Warning, WarningTask
from nongxin.core.testing import open_test_loan, open_test_warning

CLOSE = {"findings": "visited the farm; harvest sold, repayment promised", "disposal": "collect",
         "evidence": ["DOC-2026-0001", "photo_farm.jpg"]}


@pytest.fixture
def world(nongxin_app: Any, nongxin_demo: Any) -> dict[str, Any]:
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    jn = open_test_loan(nongxin_app)
    ly = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    return {
        "today": today, "jn": jn,
        "mine": open_test_warning(nongxin_app, jn, colour="red", rule_code="PROV-PL-001",
                                  due_on=today - timedelta(days=2)),
        "other": open_test_warning(nongxin_app, jn, assigned_to="jinan.postloan"),
        "ly": open_test_warning(nongxin_app, ly, assigned_to="linyi.cm"),
    }


def _state(app: Any, task_id: int) -> tuple[Any, Any, list[str], int]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        s = unit.session
        task = s.get(WarningTask, task_id)
        assert task is not None
        warning = s.get(Warning, task.warning_id)
        assert warning is not None
        events = list(s.execute(sa.select(TaskEvent.kind).where(TaskEvent.task_id == task_id)
                                .order_by(TaskEvent.id)).scalars())
        audits = s.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.target == f"warning_task:{task_id}")).scalar_one()
        return task.status.value, warning.status.value, events, audits


def test_listing_filters(nongxin_client: Any, world: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")

    def ids(query: str, who: Any = cm) -> set[int]:
        resp = who.get(f"/api/tasks?{query}")
        assert resp.status_code == 200, resp.get_json()
        return {t["id"] for t in resp.get_json()}

    assert ids("") == {world["mine"][1], world["other"][1]}
    assert ids("assigned_to=me") == {world["mine"][1]}
    assert ids("assigned_to=jinan.postloan") == {world["other"][1]}
    assert ids("overdue=true") == {world["mine"][1]}
    assert ids("escalated=true") == set() and ids("escalated_to=me") == set()
    assert ids("", nongxin_client.as_user("linyi.cm")) == {world["ly"][1]}
    row = next(t for t in cm.get("/api/tasks").get_json() if t["id"] == world["mine"][1])
    assert row["due_on"] == (world["today"] - timedelta(days=2)).isoformat() and row["overdue"] is True
    assert row["loan_no"] == world["jn"] and row["rule"] == "PROV-PL-001" and row["escalation_name"] == "customer_manager"
    assert cm.get("/api/tasks?institution=LYRCB").status_code == 404
    resp = cm.get("/api/tasks?assigned_to=nobody.here")
    assert resp.status_code == 422 and "assigned_to" in resp.get_json()["fields"]


def test_close_closes_task_and_warning_together_once(nongxin_app: Any, nongxin_client: Any, world: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    task = world["mine"][1]
    resp = cm.post(f"/api/tasks/{task}/close", json=CLOSE)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "closed" and body["disposal"] == "collect" and body["closed_by"] == "jinan.cm"
    assert body["closed_on"] == world["today"].isoformat() and body["evidence"] == CLOSE["evidence"]
    assert _state(nongxin_app, task) == ("closed", "closed", ["opened", "closed"], 1)
    again = cm.post(f"/api/tasks/{task}/close", json=CLOSE)
    assert again.status_code == 409 and again.get_json()["error"] == "task_closed"
    assert _state(nongxin_app, task) == ("closed", "closed", ["opened", "closed"], 1)
    listed = cm.get(f"/api/warnings/{world['mine'][0]}").get_json()
    assert listed["status"] == "closed" and listed["open_task"] is None


@pytest.mark.parametrize("field,body", [
    ("findings", {k: v for k, v in CLOSE.items() if k != "findings"}),
    ("findings", {**CLOSE, "findings": "   "}),
    ("disposal", {**CLOSE, "disposal": "shrug"}),
    ("disposal", {k: v for k, v in CLOSE.items() if k != "disposal"}),
    ("evidence", {**CLOSE, "evidence": []}),
    ("evidence", {**CLOSE, "evidence": ["  "]}),
    ("evidence", {**CLOSE, "evidence": ["x" * 201]}),
])
def test_close_without_findings_disposal_or_evidence_is_422_and_writes_nothing(
        nongxin_app: Any, nongxin_client: Any, world: Any, field: str, body: dict[str, Any]) -> None:
    resp = nongxin_client.as_user("jinan.cm").post(f"/api/tasks/{world['mine'][1]}/close", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in str(resp.get_json()["fields"]), resp.get_json()
    assert _state(nongxin_app, world["mine"][1]) == ("open", "open", ["opened"], 0)


def test_a_customer_manager_closes_only_their_own_task_the_checker_any(nongxin_app: Any, nongxin_client: Any,
                                                                       world: Any) -> None:
    resp = nongxin_client.as_user("jinan.cm").post(f"/api/tasks/{world['other'][1]}/close", json=CLOSE)
    assert resp.status_code == 403 and resp.get_json()["error"] == "not_assigned", resp.get_json()
    assert _state(nongxin_app, world["other"][1]) == ("open", "open", ["opened"], 0)
    resp = nongxin_client.as_user("jinan.postloan").post(f"/api/tasks/{world['mine'][1]}/close", json=CLOSE)
    assert resp.status_code == 200, resp.get_json()
    for who, task in (("linyi.cm", world["mine"][1]), ("jinan.cm", world["ly"][1]), ("jinan.cm", 999999)):
        assert nongxin_client.as_user(who).post(f"/api/tasks/{task}/close", json=CLOSE).status_code == 404
    assert nongxin_client.as_user("jinan.admin").post(f"/api/tasks/{world['other'][1]}/close",
                                                      json=CLOSE).status_code == 403


def test_reassign_to_a_manager_or_checker_of_the_tasks_bank(nongxin_app: Any, nongxin_client: Any,
                                                            world: Any) -> None:
    admin = nongxin_client.as_user("jinan.admin")
    task = world["mine"][1]
    for target in ("linyi.cm", "jinan.approver", "nobody"):
        resp = admin.post(f"/api/tasks/{task}/reassign", json={"to": target})
        assert resp.status_code == 422 and "to" in resp.get_json()["fields"], resp.get_json()
    assert _state(nongxin_app, task) == ("open", "open", ["opened"], 0)
    resp = admin.post(f"/api/tasks/{task}/reassign", json={"to": "jinan.postloan", "note": "cm on leave"})
    assert resp.status_code == 200 and resp.get_json()["assigned_to"] == "jinan.postloan", resp.get_json()
    assert _state(nongxin_app, task) == ("open", "open", ["opened", "reassigned"], 1)
    # the manager it was taken from may no longer close it
    assert nongxin_client.as_user("jinan.cm").post(f"/api/tasks/{task}/close", json=CLOSE).status_code == 403
    assert nongxin_client.as_user("linyi.admin").post(f"/api/tasks/{task}/reassign",
                                                      json={"to": "linyi.cm"}).status_code == 404
    assert nongxin_client.as_user("jinan.cm").post(f"/api/tasks/{task}/reassign",
                                                   json={"to": "jinan.cm"}).status_code == 403
