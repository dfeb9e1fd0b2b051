"""``/api/warnings``: filters, the subtree (another county bank's warning is 404, a Linyi user sees
nothing of Jinan), one warning with its tasks and events, counts by colour, bank, rule and day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from nongxin.core.testing import open_test_loan, open_test_warning


@pytest.fixture
def world(nongxin_app: Any, nongxin_demo: Any) -> dict[str, Any]:
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    jn1 = open_test_loan(nongxin_app)
    jn2 = open_test_loan(nongxin_app)
    ly = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    return {
        "today": today, "jn1": jn1, "jn2": jn2, "ly": ly,
        "w1": open_test_warning(nongxin_app, jn1, colour="red", rule_code="PROV-PL-001"),
        "w2": open_test_warning(nongxin_app, jn2, colour="yellow", first_seen=today - timedelta(days=1)),
        "w3": open_test_warning(nongxin_app, jn1, colour="yellow"),
        "wl": open_test_warning(nongxin_app, ly, colour="red", rule_code="PROV-PL-001", assigned_to="linyi.cm"),
    }


def _ids(resp: Any) -> set[int]:
    assert resp.status_code == 200, resp.get_json()
    return {w["id"] for w in resp.get_json()}


def test_the_listing_is_the_callers_subtree_with_each_warnings_fields(nongxin_client: Any, world: Any) -> None:
    jinan = nongxin_client.as_user("jinan.postloan")
    assert _ids(jinan.get("/api/warnings")) == {world["w1"][0], world["w2"][0], world["w3"][0]}
    assert _ids(nongxin_client.as_user("linyi.admin").get("/api/warnings")) == {world["wl"][0]}
    assert _ids(nongxin_client.as_user("province.admin").get("/api/warnings")) == {
        world[k][0] for k in ("w1", "w2", "w3", "wl")}
    row = next(w for w in jinan.get("/api/warnings").get_json() if w["id"] == world["w1"][0])
    assert {k: row[k] for k in ("loan_no", "rule", "rule_version", "colour", "status", "county_bank",
                                "institution", "subject_kind", "open_task")} == {
        "loan_no": world["jn1"], "rule": "PROV-PL-001", "rule_version": 1, "colour": "red", "status": "open",
        "county_bank": "JNRCB", "institution": "JNRCB-LX", "subject_kind": "loan", "open_task": world["w1"][1]}


def test_filters_narrow_and_bad_values_are_422_naming_the_field(nongxin_client: Any, world: Any) -> None:
    jinan = nongxin_client.as_user("jinan.cm")
    assert _ids(jinan.get("/api/warnings?colour=red")) == {world["w1"][0]}
    assert _ids(jinan.get("/api/warnings?rule=PROV-PL-003")) == {world["w2"][0], world["w3"][0]}
    assert _ids(jinan.get(f"/api/warnings?loan_no={world['jn2']}")) == {world["w2"][0]}
    assert _ids(jinan.get("/api/warnings?status=closed")) == set()
    assert _ids(jinan.get("/api/warnings?institution=JNRCB-LX&limit=1")) == {world["w3"][0]}
    for query, field in (("colour=purple", "colour"), ("status=gone", "status")):
        resp = jinan.get(f"/api/warnings?{query}")
        assert resp.status_code == 422 and field in resp.get_json()["fields"], resp.get_json()
    resp = jinan.get("/api/warnings?institution=LYRCB")
    assert resp.status_code == 404 and "institution" in resp.get_json()["fields"]


def test_one_warning_with_its_tasks_and_events_and_another_banks_is_404(nongxin_client: Any, world: Any) -> None:
    jinan = nongxin_client.as_user("jinan.postloan")
    body = jinan.get(f"/api/warnings/{world['w1'][0]}").get_json()
    assert [t["id"] for t in body["tasks"]] == [world["w1"][1]]
    task = body["tasks"][0]
    assert task["assigned_to"] == "jinan.cm" and task["status"] == "open" and not task["overdue"]
    assert [e["kind"] for e in task["events"]] == ["opened"] and task["events"][0]["to_user"] == "jinan.cm"
    for who, wid in (("jinan.postloan", world["wl"][0]), ("linyi.admin", world["w1"][0]), ("jinan.cm", 999999)):
        resp = nongxin_client.as_user(who).get(f"/api/warnings/{wid}")
        assert resp.status_code == 404, resp.get_json()


def test_counts_group_in_the_subtree(nongxin_client: Any, world: Any) -> None:
    def counts(who: str, query: str) -> dict[str, int]:
        resp = nongxin_client.as_user(who).get(f"/api/warnings/counts?{query}")
        assert resp.status_code == 200, resp.get_json()
        return {c["key"]: c["count"] for c in resp.get_json()["counts"]}

    assert counts("jinan.postloan", "by=colour") == {"red": 1, "yellow": 2}
    assert counts("province.admin", "by=county_bank") == {"JNRCB": 3, "LYRCB": 1}
    assert counts("province.admin", "by=rule") == {"PROV-PL-001": 2, "PROV-PL-003": 2}
    today, yesterday = world["today"], world["today"] - timedelta(days=1)
    assert counts("jinan.postloan", "by=day") == {yesterday.isoformat(): 1, today.isoformat(): 2}
    assert counts("jinan.postloan", f"by=day&from={today.isoformat()}") == {today.isoformat(): 2}
    assert counts("jinan.postloan", "by=colour&status=closed") == {}
    assert counts("linyi.admin", "by=colour") == {"red": 1}
    resp = nongxin_client.as_user("jinan.postloan").get("/api/warnings/counts?by=weather")
    assert resp.status_code == 422 and "by" in resp.get_json()["fields"]


def test_a_role_without_warning_read_is_403(nongxin_client: Any, world: Any) -> None:
    assert nongxin_client.as_user("jinan.pm").get("/api/warnings").status_code == 403
