"""Stored rules through the API: drafts checked at once, the maker-checker life cycle, versions,
the audit trail, visibility across county banks, concurrent approvals through a real server, and
the rule books picking a published rule up on the next request (and dropping a retired one)."""

from __future__ import annotations

from datetime import date, timedelta
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.audit.models import AuditEntry
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import users
from nongxin.core.institutions.models import Role
from nongxin.core.rules.models import RuleStatus, StoredRule
from nongxin.core.testing import file_application, make_test_model, publish_test_rule
from nongxin.sdk import PluginInfo, PluginKind, hookimpl
from nongxin.sdk.identity import make_resident_id
from nongxin.sdk.rules import Rule

CLEAN = make_resident_id("370102", date(1988, 3, 1), 998)


@hookimpl
def nongxin_rules(ctx: Any) -> list[Rule]:
    return [Rule(code="JN-PACK-1", name="县行规则包", expression="age > 70", stage="admission", outcome="manual_review",
                 level="county", owner="JNRCB", version=3, origin="jn_pack")]


#: A county's own rule pack (a plugin), enabled at Jinan only by the test that needs it.
JN_PACK = ModuleType("jn_pack")
JN_PACK.PLUGIN = PluginInfo(name="jn_pack", version="1.0.0", kind=PluginKind.RULES)  # type: ignore[attr-defined]
JN_PACK.nongxin_rules = nongxin_rules  # type: ignore[attr-defined]


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [JN_PACK]


def body(rule_code: str, **kw: Any) -> dict[str, Any]:
    out = {"code": rule_code, "name": kw.pop("name", "测试规则"), "stage": "admission", "outcome": "reject",
           "level": "county", "expression": "amount >= 20000", "reason": "测试"}
    out.update(kw)
    return out


def today(app: Any) -> date:
    return app.extensions["nongxin"].clock.business_date()


def drafted(client: Any, code: str, user: str = "jinan.params", **kw: Any) -> dict[str, Any]:
    resp = client.as_user(user).post("/api/rules", json=body(code, **kw))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def act(client: Any, rule_id: int, action: str, user: str, **kw: Any) -> Any:
    return client.as_user(user).post(f"/api/rules/{rule_id}/{action}", json=kw)


def published(client: Any, code: str, *, author: str = "jinan.params", approver: str = "jinan.params2",
              **kw: Any) -> dict[str, Any]:
    rule = drafted(client, code, author, **kw)
    assert act(client, rule["id"], "submit", author).status_code == 200
    resp = act(client, rule["id"], "approve", approver)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def book(client: Any, institution: str = "JNRCB", stage: str = "admission") -> dict[str, Any]:
    resp = client.as_user("jinan.params").get(f"/api/rules?institution={institution}&stage={stage}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def codes(shown: dict[str, Any]) -> dict[str, int]:
    return {r["code"]: r["version"] for r in shown["rules"]}


def audits(uow: Any, rule_id: int) -> list[AuditEntry]:
    uow.rollback()
    return list(uow.session.execute(sa.select(AuditEntry).where(AuditEntry.target == f"stored_rule:{rule_id}")
                                    .order_by(AuditEntry.id)).scalars())


# -- the life cycle ------------------------------------------------------------------------------

def test_draft_submit_approve_publishes_into_the_book_and_decides_then_retire_removes_it(
        nongxin_app: Any, nongxin_client: Any, nongxin_uow: Any) -> None:
    rule = drafted(nongxin_client, "JN-ADM-100", expression="amount >= 20000", category="multi_lending")
    assert (rule["version"], rule["status"], rule["owner"], rule["author"], rule["level"]) == (
        1, "draft", "JNRCB", "jinan.params", "county")
    assert "JN-ADM-100" not in codes(book(nongxin_client))  # a draft is no rule yet
    submitted = act(nongxin_client, rule["id"], "submit", "jinan.params")
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "pending_approval"
    assert "JN-ADM-100" not in codes(book(nongxin_client))

    own = act(nongxin_client, rule["id"], "approve", "jinan.params")
    assert own.status_code == 403 and own.get_json()["error"] == "separation_of_duties"
    approved = act(nongxin_client, rule["id"], "approve", "jinan.params2", note="复核通过")
    assert approved.status_code == 200, approved.get_json()
    out = approved.get_json()
    assert (out["status"], out["decided_by"], out["decision_note"]) == ("published", "jinan.params2", "复核通过")
    assert out["effective_from"] == today(nongxin_app).isoformat()  # undated: in force from the business date

    shown = book(nongxin_client)
    assert codes(shown)["JN-ADM-100"] == 1 and shown["usable"]
    mine = next(r for r in shown["rules"] if r["code"] == "JN-ADM-100")
    assert mine["origin"] == f"stored rule #{rule['id']}" and mine["owner"] == "JNRCB"

    app_id = file_application(nongxin_app, id_number=CLEAN, amount="30000")
    decided = nongxin_client.as_user("jinan.cm").post(f"/api/applications/{app_id}/decide")
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["status"] == "rejected"
    assert decided.get_json()["decision"]["refusal_category"] == "multi_lending"

    retired = act(nongxin_client, rule["id"], "retire", "jinan.admin", note="停用")
    assert retired.status_code == 200, retired.get_json()
    assert (retired.get_json()["status"], retired.get_json()["effective_to"]) == (
        "retired", today(nongxin_app).isoformat())
    assert "JN-ADM-100" not in codes(book(nongxin_client))  # gone on the next request

    trail = audits(nongxin_uow, rule["id"])
    assert [e.action for e in trail] == ["rules.draft", "rules.submit", "rules.approve", "rules.retire"]
    assert [(e.before or {}).get("status") for e in trail] == [None, "draft", "pending_approval", "published"]
    assert [e.after["status"] for e in trail] == ["draft", "pending_approval", "published", "retired"]
    assert [e.actor for e in trail] == ["jinan.params", "jinan.params", "jinan.params2", "jinan.admin"]
    assert trail[2].after["note"] == "复核通过" and all(e.institution_code == "JNRCB" for e in trail)


def test_withdraw_edit_reject_and_steps_the_status_does_not_allow(nongxin_client: Any, nongxin_uow: Any) -> None:
    rule = drafted(nongxin_client, "JN-ADM-200")
    wrong = act(nongxin_client, rule["id"], "approve", "jinan.params2")
    assert wrong.status_code == 409 and wrong.get_json()["error"] == "invalid_state"
    assert "draft" in wrong.get_json()["message"]
    assert act(nongxin_client, rule["id"], "retire", "jinan.params").status_code == 409
    assert act(nongxin_client, rule["id"], "withdraw", "jinan.params").status_code == 409
    assert act(nongxin_client, rule["id"], "submit", "jinan.params2").status_code == 403  # not the author

    edited = nongxin_client.as_user("jinan.params").patch(f"/api/rules/{rule['id']}",
                                                          json={"expression": "age < 20", "outcome": "manual_review"})
    assert edited.status_code == 200 and (edited.get_json()["expression"], edited.get_json()["outcome"]) == (
        "age < 20", "manual_review")
    other = nongxin_client.as_user("jinan.params2").patch(f"/api/rules/{rule['id']}", json={"name": "改"})
    assert other.status_code == 403
    bad = nongxin_client.as_user("jinan.params").patch(f"/api/rules/{rule['id']}", json={"expression": "age <"})
    assert bad.status_code == 422 and "expression" in bad.get_json()["fields"]

    assert act(nongxin_client, rule["id"], "submit", "jinan.params").status_code == 200
    pending_edit = nongxin_client.as_user("jinan.params").patch(f"/api/rules/{rule['id']}", json={"name": "改"})
    assert pending_edit.status_code == 409 and pending_edit.get_json()["error"] == "invalid_state"
    back = act(nongxin_client, rule["id"], "withdraw", "jinan.params")
    assert back.status_code == 200 and back.get_json()["status"] == "draft"
    assert act(nongxin_client, rule["id"], "submit", "jinan.params").status_code == 200
    rejected = act(nongxin_client, rule["id"], "reject", "jinan.admin", note="口径不对")
    assert rejected.status_code == 200
    assert (rejected.get_json()["status"], rejected.get_json()["decision_note"]) == ("rejected", "口径不对")
    again = act(nongxin_client, rule["id"], "approve", "jinan.params2")
    assert again.status_code == 409 and "rejected" in again.get_json()["message"]
    assert [e.action for e in audits(nongxin_uow, rule["id"])] == [
        "rules.draft", "rules.edit", "rules.submit", "rules.withdraw", "rules.submit", "rules.reject"]


def test_only_the_owner_institutions_staff_approve_and_retire(nongxin_client: Any) -> None:
    rule = drafted(nongxin_client, "JN-ADM-300")
    act(nongxin_client, rule["id"], "submit", "jinan.params")
    above = act(nongxin_client, rule["id"], "approve", "province.params2")
    assert above.status_code == 403 and "JNRCB" in above.get_json()["message"] and "county" in above.get_json()["message"]
    assert act(nongxin_client, rule["id"], "approve", "linyi.admin").status_code == 404  # another county bank
    assert act(nongxin_client, rule["id"], "approve", "jinan.cm").status_code == 403  # no rules.approve
    assert act(nongxin_client, rule["id"], "approve", "jinan.admin").status_code == 200
    assert act(nongxin_client, rule["id"], "retire", "province.admin").status_code == 403
    assert act(nongxin_client, rule["id"], "retire", "jinan.params").status_code == 200


# -- bad input -----------------------------------------------------------------------------------

def test_a_county_may_not_redefine_a_province_rule(nongxin_client: Any, nongxin_app: Any) -> None:
    plugin = nongxin_client.as_user("jinan.admin").post("/api/rules", json=body("PROV-ADM-001"))
    assert plugin.status_code == 422, plugin.get_json()
    answer = plugin.get_json()
    assert set(answer["fields"]) == {"code"} and "PROV-ADM-001" in answer["message"] and "SD" in answer["message"]
    # a plugin rule of another stage counts too
    assert nongxin_client.as_user("jinan.params").post(
        "/api/rules", json=body("PROV-PL-001")).status_code == 422
    publish_test_rule(nongxin_app, "SD-ADM-9", "age > 80", stage="admission", outcome="reject", owner="SD")
    stored = nongxin_client.as_user("jinan.params").post("/api/rules", json=body("SD-ADM-9"))
    assert stored.status_code == 422 and "SD-ADM-9" in stored.get_json()["message"]
    assert "SD" in stored.get_json()["message"]


def test_a_province_may_not_take_a_code_a_county_keeps(nongxin_client: Any) -> None:
    drafted(nongxin_client, "JN-ADM-400")  # a draft counts: publishing both would clash
    resp = nongxin_client.as_user("province.params").post("/api/rules", json=body("JN-ADM-400", level="province"))
    assert resp.status_code == 422 and "JNRCB" in resp.get_json()["message"]
    assert list(resp.get_json()["fields"]) == ["code"]


def test_a_rejected_higher_rule_does_not_block_the_code(nongxin_client: Any) -> None:
    rule = drafted(nongxin_client, "ANY-ADM-1", user="province.params", level="province")
    act(nongxin_client, rule["id"], "submit", "province.params")
    assert act(nongxin_client, rule["id"], "reject", "province.params2").status_code == 200
    assert drafted(nongxin_client, "ANY-ADM-1")["version"] == 1


def test_an_expression_reading_a_field_the_stage_lacks_is_422_with_the_caret(nongxin_client: Any,
                                                                              db_snapshot: Any) -> None:
    before = db_snapshot()
    resp = nongxin_client.as_user("jinan.params").post("/api/rules", json=body(
        "JN-PL-1", stage="post_loan", outcome="red", expression="overdue_days > 3 and tax_grade == 'D'"))
    assert resp.status_code == 422
    answer = resp.get_json()
    assert list(answer["fields"]) == ["expression"]
    assert "tax_grade" in answer["message"] and "^" in answer["message"] and "line 1" in answer["message"]
    assert db_snapshot() == before


@pytest.mark.parametrize("change, field", [
    ({"outcome": "red"}, "outcome"),
    ({"level": "province"}, "level"),
    ({"stage": "nightly"}, "stage"),
    ({"effective_from": "2030-01-02", "effective_to": "2030-01-01"}, "effective_from"),
    ({"effective_to": "2001-01-01"}, "effective_to"),
    ({"category": "no_such"}, "category"),
    ({"stage": "post_loan", "outcome": "red", "expression": "overdue_days > 1", "category": "other"}, "category"),
    ({"code": "has space"}, "code"),
    ({"name": "  "}, "name"),
    ({"model": 999999}, "model"),
])
def test_bad_fields_are_422_naming_them(nongxin_client: Any, db_snapshot: Any, change: dict[str, Any],
                                        field: str) -> None:
    before = db_snapshot()
    resp = nongxin_client.as_user("jinan.params").post("/api/rules", json=body("JN-BAD-1", **change))
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["fields"], resp.get_json()
    assert db_snapshot() == before


def test_rules_are_kept_at_province_city_or_county_only(nongxin_app: Any, nongxin_client: Any,
                                                        nongxin_demo: Any) -> None:
    settings = nongxin_app.extensions["nongxin"].settings
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        users.create_user(unit, None, username="lixia.params", display_name="支行参数", role=Role.PARAMETER_ADMIN,
                          institution_code="JNRCB-LX")
        nongxin_demo.tokens["lixia.params"], _ = users.issue_token(unit, "lixia.params", days=1,
                                                                   max_days=settings.token_max_days)
        unit.commit()
    resp = nongxin_client.as_user("lixia.params").post("/api/rules", json=body("LX-1", level="county"))
    assert resp.status_code == 403 and "province, city or county" in resp.get_json()["message"]
    assert nongxin_client.as_user("jinan.cm").post("/api/rules", json=body("LX-2")).status_code == 403


def test_a_monitoring_model_condition_joins_the_owners_model_of_its_stage(nongxin_app: Any,
                                                                           nongxin_client: Any) -> None:
    model = make_test_model(nongxin_app, "JN-M1", stage="post_loan")
    elsewhere = make_test_model(nongxin_app, "LY-M1", stage="post_loan", owner="LYRCB")
    pl = {"stage": "post_loan", "outcome": "yellow", "expression": "overdue_days > 5"}
    ok = drafted(nongxin_client, "JN-M1-C1", model=model, **pl)
    assert ok["model"] == model
    for change, field in (({"model": elsewhere}, "model"), ({"model": model, "stage": "admission",
                                                            "outcome": "reject", "expression": "age > 1"}, "model"),
                          ({"model": model, "shadow": True}, "shadow")):
        resp = nongxin_client.as_user("jinan.params").post("/api/rules", json=body("JN-M1-C2", **{**pl, **change}))
        assert resp.status_code == 422 and field in resp.get_json()["fields"], resp.get_json()
    # the model's code is its own: a book rule may not share it at the same owner
    clash = nongxin_client.as_user("jinan.params").post("/api/rules", json=body("JN-M1-C1", **pl))
    assert clash.status_code == 422 and "code" in clash.get_json()["fields"]


# -- versions ------------------------------------------------------------------------------------

def test_versions_count_per_owner_and_code_and_the_highest_in_force_wins(nongxin_client: Any, nongxin_uow: Any,
                                                                          nongxin_app: Any) -> None:
    v1 = published(nongxin_client, "JN-ADM-500", expression="age > 60")
    v2 = published(nongxin_client, "JN-ADM-500", expression="age > 65")
    assert (v1["version"], v2["version"]) == (1, 2)
    assert codes(book(nongxin_client))["JN-ADM-500"] == 2
    expr = {r["code"]: r["expression"] for r in book(nongxin_client)["rules"]}
    assert expr["JN-ADM-500"] == "age > 65"
    assert nongxin_client.as_user("jinan.params").get(f"/api/rules/{v1['id']}").get_json()["status"] == "published"
    other_stage = nongxin_client.as_user("jinan.params").post("/api/rules", json=body(
        "JN-ADM-500", stage="post_loan", outcome="red", expression="overdue_days > 1"))
    assert other_stage.status_code == 422 and "code" in other_stage.get_json()["fields"]

    shadow = published(nongxin_client, "JN-ADM-500", expression="age > 50", shadow=True)
    assert shadow["version"] == 3 and codes(book(nongxin_client))["JN-ADM-500"] == 2  # never in the live book
    # retiring v2 retires v1 too (the code is gone), but not the shadow version
    assert act(nongxin_client, v2["id"], "retire", "jinan.params").status_code == 200
    assert "JN-ADM-500" not in codes(book(nongxin_client))
    nongxin_uow.rollback()
    statuses = dict(nongxin_uow.session.execute(sa.select(StoredRule.version, StoredRule.status).where(
        StoredRule.code == "JN-ADM-500")).all())
    assert statuses == {1: RuleStatus.RETIRED, 2: RuleStatus.RETIRED, 3: RuleStatus.PUBLISHED}
    assert [e.after["version"] for e in nongxin_uow.session.execute(sa.select(AuditEntry).where(
        AuditEntry.action == "rules.retire")).scalars()] == [1, 2]


def test_a_code_of_the_owners_own_pack_continues_its_version(nongxin_client: Any, nongxin_enable: Any) -> None:
    nongxin_enable("jn_pack", "JNRCB")
    rule = published(nongxin_client, "JN-PACK-1", expression="age > 75", outcome="manual_review")
    assert rule["version"] == 4
    assert codes(book(nongxin_client))["JN-PACK-1"] == 4 and book(nongxin_client)["usable"]
    # the province does not see Jinan's pack, but the code is kept below it
    clash = nongxin_client.as_user("province.params").post("/api/rules", json=body("JN-PACK-1", level="province"))
    assert clash.status_code == 422


def test_approving_checks_again(nongxin_app: Any, nongxin_client: Any) -> None:
    rule = drafted(nongxin_client, "LATE-1")
    act(nongxin_client, rule["id"], "submit", "jinan.params")
    # meanwhile the province published the same code (written around the checks, as a migration might)
    publish_test_rule(nongxin_app, "LATE-1", "age > 90", stage="admission", outcome="reject", owner="SD")
    resp = act(nongxin_client, rule["id"], "approve", "jinan.params2")
    assert resp.status_code == 422 and "SD" in resp.get_json()["message"]
    assert nongxin_client.as_user("jinan.params").get(f"/api/rules/{rule['id']}").get_json()["status"] == (
        "pending_approval")


def test_a_dated_rule_keeps_its_dates_and_enters_the_book_on_its_first_day(nongxin_app: Any,
                                                                           nongxin_client: Any) -> None:
    start = today(nongxin_app) + timedelta(days=10)
    rule = published(nongxin_client, "JN-ADM-600", effective_from=start.isoformat())
    assert rule["effective_from"] == start.isoformat()
    assert "JN-ADM-600" not in codes(book(nongxin_client))
    later = nongxin_client.as_user("jinan.params").get(
        f"/api/rules?institution=JNRCB&stage=admission&on={start.isoformat()}").get_json()
    assert "JN-ADM-600" in codes(later)
    retired = act(nongxin_client, rule["id"], "retire", "jinan.params").get_json()
    assert retired["effective_to"] == start.isoformat()  # never started: its window stays a window


# -- visibility ----------------------------------------------------------------------------------

def test_visibility_follows_ancestry_and_subtree_never_another_county(nongxin_client: Any) -> None:
    jinan = drafted(nongxin_client, "JN-ADM-700")
    prov = drafted(nongxin_client, "SD-ADM-700", user="province.params", level="province")
    linyi = drafted(nongxin_client, "LY-ADM-700", user="linyi.admin")

    def listed(user: str, query: str = "") -> set[str]:
        resp = nongxin_client.as_user(user).get(f"/api/rules/stored{query}")
        assert resp.status_code == 200, resp.get_json()
        return {r["code"] for r in resp.get_json()}

    assert listed("jinan.cm") == {"JN-ADM-700", "SD-ADM-700"}  # a branch: its bank's and the province's
    assert listed("linyi.admin") == {"LY-ADM-700", "SD-ADM-700"}
    assert listed("province.admin") == {"JN-ADM-700", "SD-ADM-700", "LY-ADM-700"}
    assert listed("province.admin", "?institution=LYRCB") == {"LY-ADM-700"}
    assert listed("jinan.params", "?status=draft&stage=admission&code=SD-ADM-700") == {"SD-ADM-700"}
    assert listed("jinan.params", "?shadow=true") == set()
    assert nongxin_client.as_user("jinan.params").get("/api/rules/stored?institution=LYRCB").status_code == 404
    assert nongxin_client.as_user("jinan.params").get("/api/rules/stored?status=nope").status_code == 422
    assert nongxin_client.as_user("linyi.admin").get(f"/api/rules/{jinan['id']}").status_code == 404
    assert nongxin_client.as_user("jinan.cm").get(f"/api/rules/{linyi['id']}").status_code == 404
    assert nongxin_client.as_user("jinan.cm").get(f"/api/rules/{prov['id']}").status_code == 200
    assert nongxin_client.as_user("jinan.cm").get("/api/rules/999999").status_code == 404
    assert nongxin_client.as_user("linyi.admin").patch(f"/api/rules/{jinan['id']}", json={"name": "x"}).status_code == 404


# -- concurrency ---------------------------------------------------------------------------------

CLIENTS = 4


def test_concurrent_approvals_publish_once(nongxin_app: Any, nongxin_demo: Any, nongxin_client: Any,
                                           nongxin_uow: Any) -> None:
    rule = drafted(nongxin_client, "JN-ADM-800")
    act(nongxin_client, rule["id"], "submit", "jinan.params")
    answers = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        ("jinan.params2" if i % 2 else "jinan.admin", "POST", f"/api/rules/{rule['id']}/approve", {"note": "并发"}, {})
        for i in range(CLIENTS)])

    assert sorted(status for status, _ in answers) == [200] + [409] * (CLIENTS - 1), answers
    assert all(b["error"] == "invalid_state" for s, b in answers if s == 409)
    assert [e.action for e in audits(nongxin_uow, rule["id"])].count("rules.approve") == 1
