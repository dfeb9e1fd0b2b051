"""Off-site monitoring models (非现场监测模型): the real nightly scan turns the published conditions
of active models into suspicious records (never warnings or tasks), at every county bank under the
model's owner; drafts, retired and future conditions, deactivated models and another county bank's
models are left out; a second run changes nothing; a condition that does not compile fails its model
only. Listing is scoped (another county's model or records 404, a branch sees its own branch);
creating and switching models is checked and audited; the CLI calls the same services."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import scan
from nongxin.core.early_warning.models import Warning, WarningTask
from nongxin.core.institutions import users
from nongxin.core.institutions.models import Role
from nongxin.core.rules.models import MonitoringModel, RuleStatus, StoredRule, SuspiciousRecord
from nongxin.core.testing import (
    make_overdue,
    make_test_model,
    open_test_item,
    open_test_line,
    open_test_loan,
    publish_test_rule,
)

#: Only the test's loans have this balance (the demo's loans and the province's rules do not meet it).
BALANCE = "outstanding > 43000 and outstanding < 43500"


def _records(app: Any) -> list[tuple[Any, ...]]:
    """Every suspicious record, without its id (rewritten each run), sorted."""
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return sorted((r.model_id, r.rule_id, r.business_date, r.county_bank_id, r.institution_id, r.subject_kind,
                       r.subject_id, r.subject_ref, r.colour, json.dumps(r.facts, sort_keys=True))
                      for r in unit.session.execute(sa.select(SuspiciousRecord)).scalars())


def _warnings_and_tasks(app: Any) -> tuple[list[Any], int]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        s = unit.session
        return (sorted(s.execute(sa.select(Warning.subject_kind, Warning.subject_id, Warning.rule_code,
                                           Warning.last_seen)).all()),
                s.execute(sa.select(sa.func.count()).select_from(WarningTask)).scalar_one())


def _set_status(app: Any, rule_id: int, status: RuleStatus) -> None:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        unit.session.execute(sa.update(StoredRule).where(StoredRule.id == rule_id).values(status=status))
        unit.commit()


def _user(app: Any, username: str, role: Role, place: str) -> None:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        users.create_user(unit, None, username=username, display_name=username, role=role, institution_code=place)
        unit.commit()


def _client(nongxin_client: Any, nongxin_demo: Any, app: Any, username: str) -> Any:
    """A client for a user the test made (the demo's tokens cover the demo's users only)."""
    from nongxin.core.testing import ApiClient

    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        token, _ = users.issue_token(unit, username, days=1, max_days=app.extensions["nongxin"].settings.token_max_days)
        unit.commit()
    nongxin_demo.tokens[username] = token
    return ApiClient(nongxin_client._client, nongxin_demo, username)


@pytest.fixture
def night(nongxin_app: Any, nongxin_demo: Any) -> dict[str, Any]:
    """Loans of the same balance at two Jinan branches, Tai'an and Linyi; a stale pledge at Jinan;
    a province post-loan model, a Lu Zhong city model, a Jinan county model, a province collateral
    model, and a Linyi model; each with the conditions the tests look for."""
    app = nongxin_app
    runtime = app.extensions["nongxin"]
    today = runtime.clock.business_date()
    loans = {place: open_test_loan(app, place=place, manager=manager, amount="43210.00", name=f"借款{place}")
             for place, manager in (("JNRCB-LX", "jinan.cm"), ("JNRCB-ZQ", "jinan.cm"),
                                    ("TARCB-TS", "taian.cm"), ("LYRCB-LS", "linyi.cm"))}
    make_overdue(app, loans["JNRCB-ZQ"], days=3, principal="100.00", interest="1.00")
    line = open_test_line(app, amount="900000.00")
    item = open_test_item(app, kind="deposit", value="100000.00", line_id=line, valued_on=today - timedelta(days=400),
                          valid_until=today + timedelta(days=10))
    ids: dict[str, Any] = {"loans": loans, "item": item, "today": today}
    ids["province"] = make_test_model(app, "PL-BAL", owner="SD", name="余额监测")
    ids["p_live"] = publish_test_rule(app, "BAL-1", BALANCE, owner="SD", model_id=ids["province"], outcome="yellow")
    ids["p_draft"] = publish_test_rule(app, "BAL-2", "outstanding > 0", owner="SD", model_id=ids["province"])
    _set_status(app, ids["p_draft"], RuleStatus.DRAFT)
    ids["p_retired"] = publish_test_rule(app, "BAL-3", "outstanding > 0", owner="SD", model_id=ids["province"])
    _set_status(app, ids["p_retired"], RuleStatus.RETIRED)
    publish_test_rule(app, "BAL-4", "outstanding > 0", owner="SD", model_id=ids["province"],
                      effective_from=today + timedelta(days=1))  # not yet in force
    ids["city"] = make_test_model(app, "LZ-OD", owner="SD-LZ")
    ids["c_live"] = publish_test_rule(app, "OD-1", BALANCE + " and overdue_days > 0", owner="SD-LZ",
                                      model_id=ids["city"], outcome="red")
    ids["county"] = make_test_model(app, "JN-BAL", owner="JNRCB")
    ids["j_live"] = publish_test_rule(app, "BAL-1", BALANCE, owner="JNRCB", model_id=ids["county"], outcome="orange")
    ids["collateral"] = make_test_model(app, "COL-AGE", owner="SD", stage="collateral")
    ids["col_live"] = publish_test_rule(app, "AGE-1", "valuation_age_days > 390 and valuation_age_days < 410",
                                        stage="collateral", owner="SD", model_id=ids["collateral"], outcome="orange")
    ids["linyi"] = make_test_model(app, "LY-BAL", owner="LYRCB")
    ids["l_live"] = publish_test_rule(app, "BAL-9", BALANCE, owner="LYRCB", model_id=ids["linyi"], outcome="red")
    return ids


def test_the_scan_writes_suspicious_records_not_warnings(nongxin_app: Any, night: dict[str, Any]) -> None:
    app, runtime = nongxin_app, nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:  # first a night without the models: the warnings it leaves
        unit.session.execute(sa.update(MonitoringModel).values(active=False))
        unit.commit()
    scan.scan(runtime)
    without = _warnings_and_tasks(app)
    assert _records(app) == []
    with UnitOfWork(runtime.sessions) as unit:
        unit.session.execute(sa.update(MonitoringModel).values(active=True))
        unit.commit()

    report = scan.scan(runtime)
    assert not report.failed
    assert _warnings_and_tasks(app) == without  # not one warning or task more
    by_bank = {b.county_bank: b.suspicious for b in report.banks}
    assert by_bank == {"JNRCB": 6, "LYRCB": 2, "TARCB": 1}
    with UnitOfWork(runtime.sessions, write=False) as unit:
        found = unit.session.execute(sa.select(SuspiciousRecord)).scalars().all()
        codes = dict(unit.session.execute(sa.text("SELECT id, code FROM institutions")).all())
        got = sorted((r.rule_id, codes[r.county_bank_id], codes[r.institution_id], r.subject_ref, r.colour)
                     for r in found)
        loans, today = night["loans"], night["today"]
        assert got == sorted([
            (night["p_live"], "JNRCB", "JNRCB-LX", loans["JNRCB-LX"], "yellow"),
            (night["p_live"], "JNRCB", "JNRCB-ZQ", loans["JNRCB-ZQ"], "yellow"),
            (night["p_live"], "TARCB", "TARCB-TS", loans["TARCB-TS"], "yellow"),
            (night["p_live"], "LYRCB", "LYRCB-LS", loans["LYRCB-LS"], "yellow"),
            (night["c_live"], "JNRCB", "JNRCB-ZQ", loans["JNRCB-ZQ"], "red"),  # the city's: Jinan and Tai'an only
            (night["j_live"], "JNRCB", "JNRCB-LX", loans["JNRCB-LX"], "orange"),  # Jinan's own: its bank only
            (night["j_live"], "JNRCB", "JNRCB-ZQ", loans["JNRCB-ZQ"], "orange"),
            (night["l_live"], "LYRCB", "LYRCB-LS", loans["LYRCB-LS"], "red"),
            (night["col_live"], "JNRCB", "JNRCB-LX", _item_no(unit, night),
             "orange")])
        assert {r.business_date for r in found} == {today}
        facts = {(r.rule_id, r.subject_ref): r.facts for r in found}
        assert facts[(night["p_live"], loans["JNRCB-LX"])] == {"outstanding": "43210.00"}  # yuan, not fen
        assert facts[(night["c_live"], loans["JNRCB-ZQ"])] == {"outstanding": "43210.00", "overdue_days": 3}
        assert facts[(night["col_live"], _item_no(unit, night))] == {"valuation_age_days": 400}
        pledge = next(r for r in found if r.subject_kind == "pledge")
        assert pledge.model_id == night["collateral"]

    before = _records(app)
    again = scan.scan(runtime)  # the same business date again: nothing changes
    assert _records(app) == before and {b.county_bank: b.suspicious for b in again.banks} == by_bank
    assert _warnings_and_tasks(app) == without


def _item_no(unit: UnitOfWork, night: dict[str, Any]) -> str:
    from nongxin.core.collateral.models import CollateralItem

    return str(unit.session.get(CollateralItem, night["item"]).number)  # type: ignore[union-attr]


def test_a_deactivated_model_is_left_out_and_a_broken_one_fails_alone(
        nongxin_app: Any, night: dict[str, Any], nongxin_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    app, runtime = nongxin_app, nongxin_app.extensions["nongxin"]
    scan.scan(runtime, institution="JNRCB")
    assert {r[0] for r in _records(app)} == {night["province"], night["city"], night["county"], night["collateral"]}
    resp = nongxin_client.as_user("jinan.params").post(f"/api/monitoring/models/{night['county']}/deactivate",
                                                         json={"note": "停用"})
    assert resp.status_code == 200 and resp.get_json()["active"] is False, resp.get_json()
    broken = make_test_model(app, "BROKEN", owner="JNRCB")
    publish_test_rule(app, "BAD-1", "no_such_fact > 1", owner="JNRCB", model_id=broken)
    with caplog.at_level(logging.ERROR, logger="nongxin.rules.monitoring"):
        report = scan.scan(runtime, institution="JNRCB")
    assert not report.failed and report.banks[0].suspicious == 4  # the province's 2, the city's, the pledge
    assert {r[0] for r in _records(app)} == {night["province"], night["city"], night["collateral"]}
    assert any(f"monitoring model {broken} not run at JNRCB" in m for m in caplog.messages), caplog.messages
    resp = nongxin_client.as_user("jinan.params2").post(f"/api/monitoring/models/{night['county']}/activate", json={})
    assert resp.status_code == 200 and resp.get_json()["active"] is True
    assert scan.scan(runtime, institution="JNRCB").banks[0].suspicious == 6
    with UnitOfWork(runtime.sessions, write=False) as unit:
        trail = unit.session.execute(sa.select(AuditEntry.action, AuditEntry.actor, AuditEntry.after).where(
            AuditEntry.target == f"monitoring_model:{night['county']}").order_by(AuditEntry.id)).all()
    assert [(a, who, after["active"]) for a, who, after in trail] == [
        ("monitoring.model.deactivate", "jinan.params", False), ("monitoring.model.activate", "jinan.params2", True)]
    assert trail[0][2]["note"] == "停用"


def test_records_are_scoped_to_the_callers_subtree(nongxin_app: Any, night: dict[str, Any],
                                                   nongxin_client: Any) -> None:
    scan.scan(nongxin_app.extensions["nongxin"])
    loans = night["loans"]

    def get(user: str, query: str = "") -> Any:
        return nongxin_client.as_user(user).get(f"/api/monitoring/records{query}")

    everything = get("province.admin").get_json()
    assert everything["total"] == 9 and len(everything["records"]) == 9
    jinan = get("jinan.admin").get_json()
    assert jinan["total"] == 6 and {r["county_bank"] for r in jinan["records"]} == {"JNRCB"}
    assert {(t["model"], t["colour"], t["count"]) for t in jinan["totals"]} == {
        ("PL-BAL", "yellow", 2), ("LZ-OD", "red", 1), ("JN-BAL", "orange", 2), ("COL-AGE", "orange", 1)}
    branch = get("jinan.cm").get_json()  # a branch user: its own branch's loans and lines only
    assert {r["institution"] for r in branch["records"]} == {"JNRCB-LX"} and branch["total"] == 3
    assert loans["JNRCB-ZQ"] not in {r["subject_ref"] for r in branch["records"]}
    row = next(r for r in branch["records"] if r["condition_id"] == night["j_live"])
    assert (row["model"], row["model_owner"], row["condition"], row["colour"], row["subject_kind"], row["facts"]) == (
        "JN-BAL", "JNRCB", "BAL-1", "orange", "loan", {"outstanding": "43210.00"})
    linyi = get("linyi.admin").get_json()
    assert {r["subject_ref"] for r in linyi["records"]} == {loans["LYRCB-LS"]} and linyi["total"] == 2

    assert get("jinan.admin", f"?model={night['county']}&colour=orange").get_json()["total"] == 2
    assert get("jinan.admin", "?institution=JNRCB-ZQ").get_json()["total"] == 3
    assert get("jinan.admin", f"?as_of={(night['today'] - timedelta(days=1)).isoformat()}").get_json()["total"] == 0
    page = get("province.admin", "?limit=2&offset=1").get_json()
    assert len(page["records"]) == 2 and page["total"] == 9
    for user, query in (("linyi.admin", f"?model={night['county']}"), ("jinan.admin", "?institution=LYRCB"),
                        ("jinan.admin", f"?model={night['linyi']}"), ("jinan.cm", "?institution=JNRCB"),
                        ("jinan.admin", "?model=999999")):
        resp = get(user, query)
        assert resp.status_code == 404 and resp.get_json()["error"] == "not_found", (user, query, resp.get_json())
    resp = get("jinan.admin", "?colour=purple")
    assert resp.status_code == 422 and "colour" in resp.get_json()["fields"]
    assert get("jinan.pm").status_code == 403  # a product manager follows no suspicious records up


def test_models_are_seen_along_the_ancestry_and_in_the_subtree(nongxin_app: Any, night: dict[str, Any],
                                                               nongxin_client: Any) -> None:
    def codes(user: str, query: str = "") -> list[tuple[str, str]]:
        resp = nongxin_client.as_user(user).get(f"/api/monitoring/models{query}")
        assert resp.status_code == 200, resp.get_json()
        return [(m["owner"], m["code"]) for m in resp.get_json()]

    assert codes("jinan.params") == [("SD", "COL-AGE"), ("SD", "PL-BAL"), ("SD-LZ", "LZ-OD"), ("JNRCB", "JN-BAL")]
    assert codes("linyi.admin") == [("SD", "COL-AGE"), ("SD", "PL-BAL"), ("LYRCB", "LY-BAL")]
    assert codes("jinan.cm", "?stage=collateral") == [("SD", "COL-AGE")]
    assert len(codes("province.admin")) == 5
    province = nongxin_client.as_user("jinan.admin").get(f"/api/monitoring/models/{night['province']}").get_json()
    assert province["status_counts"] == {"draft": 1, "pending_approval": 0, "published": 2, "rejected": 0,
                                         "retired": 1}
    assert [(c["code"], c["status"]) for c in province["conditions"]] == [
        ("BAL-1", "published"), ("BAL-2", "draft"), ("BAL-3", "retired"), ("BAL-4", "published")]
    for user, model in (("linyi.admin", night["county"]), ("jinan.admin", night["linyi"]),
                        ("jinan.admin", 999999)):
        resp = nongxin_client.as_user(user).get(f"/api/monitoring/models/{model}")
        assert resp.status_code == 404, (user, model)
        resp = nongxin_client.as_user(user).post(f"/api/monitoring/models/{model}/deactivate", json={})
        assert resp.status_code == 404, (user, model)
    assert nongxin_client.as_user("jinan.pm").get("/api/monitoring/models").status_code == 403


def test_only_the_owners_staff_switch_a_model(nongxin_app: Any, night: dict[str, Any], nongxin_client: Any) -> None:
    for user, model in (("province.admin", night["county"]), ("jinan.params", night["province"]),
                        ("jinan.params", night["city"])):
        resp = nongxin_client.as_user(user).post(f"/api/monitoring/models/{model}/deactivate", json={})
        assert resp.status_code == 403 and resp.get_json()["error"] == "not_owner", (user, resp.get_json())
    resp = nongxin_client.as_user("jinan.cm").post(f"/api/monitoring/models/{night['county']}/deactivate", json={})
    assert resp.status_code == 403 and "rules.draft" in resp.get_json()["message"]
    resp = nongxin_client.as_user("province.params").post(f"/api/monitoring/models/{night['province']}/deactivate",
                                                          json={})
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    again = nongxin_client.as_user("province.params").post(f"/api/monitoring/models/{night['province']}/deactivate",
                                                           json={})
    assert again.status_code == 200  # already inactive: nothing changes, nothing audited
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.target == f"monitoring_model:{night['province']}")).scalar_one() == 1


def test_creating_a_model(nongxin_app: Any, nongxin_demo: Any, nongxin_client: Any) -> None:
    body = {"code": "PL-NEW", "name": "新模型", "stage": "post_loan", "description": "贷后资金流向"}
    resp = nongxin_client.as_user("jinan.params").post("/api/monitoring/models", json=body)
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert (made["owner"], made["code"], made["stage"], made["active"], made["created_by"], made["conditions"]) == (
        "JNRCB", "PL-NEW", "post_loan", True, "jinan.params", [])
    again = nongxin_client.as_user("jinan.params2").post("/api/monitoring/models", json=body)
    assert again.status_code == 409 and again.get_json()["error"] == "duplicate"
    elsewhere = nongxin_client.as_user("province.params").post("/api/monitoring/models", json=body)
    assert elsewhere.status_code == 201 and elsewhere.get_json()["owner"] == "SD"  # codes are unique per owner
    resp = nongxin_client.as_user("jinan.params").post("/api/monitoring/models", json={**body, "code": "X",
                                                                                       "stage": "admission"})
    assert resp.status_code == 422 and resp.get_json()["error"] == "stage" and "stage" in resp.get_json()["fields"]
    resp = nongxin_client.as_user("jinan.params").post("/api/monitoring/models", json={**body, "code": "a b"})
    assert resp.status_code == 422 and "code" in resp.get_json()["fields"]
    resp = nongxin_client.as_user("jinan.params").post("/api/monitoring/models", json={**body, "code": "Y",
                                                                                       "name": "  "})
    assert resp.status_code == 422 and "name" in resp.get_json()["fields"]
    resp = nongxin_client.as_user("jinan.cm").post("/api/monitoring/models", json={**body, "code": "Z"})
    assert resp.status_code == 403 and "rules.draft" in resp.get_json()["message"]
    _user(nongxin_app, "lixia.params", Role.PARAMETER_ADMIN, "JNRCB-LX")
    lixia = _client(nongxin_client, nongxin_demo, nongxin_app, "lixia.params")
    resp = lixia.post("/api/monitoring/models", json={**body, "code": "Z"})
    assert resp.status_code == 403 and resp.get_json()["error"] == "level"
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        made_rows = unit.session.execute(sa.select(MonitoringModel.code, MonitoringModel.owner_id)).all()
        trail = unit.session.execute(sa.select(AuditEntry.actor, AuditEntry.institution_code, AuditEntry.after).where(
            AuditEntry.action == "monitoring.model.create").order_by(AuditEntry.id)).all()
    assert len(made_rows) == 2  # nothing of the refusals was written
    assert [(a, i, after["code"]) for a, i, after in trail] == [("jinan.params", "JNRCB", "PL-NEW"),
                                                                ("province.params", "SD", "PL-NEW")]


def test_a_city_models_records_reach_its_county_banks(nongxin_app: Any, night: dict[str, Any],
                                                      nongxin_client: Any, nongxin_demo: Any) -> None:
    _user(nongxin_app, "luzhong.params", Role.PARAMETER_ADMIN, "SD-LZ")
    city = _client(nongxin_client, nongxin_demo, nongxin_app, "luzhong.params")
    resp = city.post("/api/monitoring/models", json={"code": "LZ-2", "name": "鲁中", "stage": "post_loan"})
    assert resp.status_code == 201 and resp.get_json()["owner"] == "SD-LZ"
    publish_test_rule(nongxin_app, "LZ2-1", BALANCE, owner="SD-LZ", model_id=resp.get_json()["id"])
    scan.scan(nongxin_app.extensions["nongxin"])
    seen = city.get(f"/api/monitoring/records?model={resp.get_json()['id']}").get_json()
    assert sorted(r["county_bank"] for r in seen["records"]) == ["JNRCB", "JNRCB", "TARCB"]
    assert city.get("/api/monitoring/records?institution=LYRCB").status_code == 404


def _run(app: Any, settings: Any, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=Console(settings, runtime=app.extensions["nongxin"]))


def test_the_cli(nongxin_app: Any, night: dict[str, Any], nongxin_settings: Any) -> None:
    app = nongxin_app
    result = _run(app, nongxin_settings, "rules", "models", "create", "--code", "CLI-1", "--name", "命令行",
                  "--stage", "post_loan", "--user", "jinan.params")
    assert result.exit_code == 0 and "created monitoring model" in result.output, result.output
    result = _run(app, nongxin_settings, "rules", "models", "create", "--code", "CLI-1", "--name", "命令行",
                  "--stage", "post_loan", "--user", "jinan.params")
    assert result.exit_code != 0 and "already has" in result.output and "Traceback" not in result.output
    result = _run(app, nongxin_settings, "rules", "models", "create", "--code", "CLI-2", "--name", "x",
                  "--stage", "admission", "--user", "jinan.params")
    assert result.exit_code != 0 and "stage" in result.output and "Traceback" not in result.output, result.output
    result = _run(app, nongxin_settings, "rules", "models", "list", "--json", "--user", "linyi.admin")
    assert [m["code"] for m in json.loads(result.output)] == ["COL-AGE", "PL-BAL", "LY-BAL"], result.output
    result = _run(app, nongxin_settings, "rules", "models", "list", "--conditions", "--user", "jinan.params")
    assert result.exit_code == 0 and "JNRCB/CLI-1" in result.output and BALANCE in result.output, result.output
    result = _run(app, nongxin_settings, "rules", "models", "show", str(night["linyi"]), "--user", "jinan.params")
    assert result.exit_code != 0 and "not found" in result.output
    result = _run(app, nongxin_settings, "rules", "models", "deactivate", str(night["county"]), "--note", "暂停",
                  "--user", "jinan.params2")
    assert result.exit_code == 0 and "is inactive" in result.output, result.output
    result = _run(app, nongxin_settings, "rules", "models", "activate", str(night["province"]),
                  "--user", "jinan.params2")
    assert result.exit_code != 0 and "only staff of SD" in result.output

    scan.scan(app.extensions["nongxin"])
    result = _run(app, nongxin_settings, "rules", "suspicious", "--json", "--user", "jinan.cm")
    body = json.loads(result.output)
    assert body["total"] == 2 and {r["institution"] for r in body["records"]} == {"JNRCB-LX"}, result.output
    result = _run(app, nongxin_settings, "rules", "suspicious", "--as-of", night["today"].isoformat(),
                  "--model", str(night["province"]), "--user", "province.admin")
    assert result.exit_code == 0 and "4 suspicious record(s)" in result.output, result.output
    assert night["loans"]["TARCB-TS"] in result.output
    result = _run(app, nongxin_settings, "rules", "suspicious", "--institution", "LYRCB", "--user", "jinan.admin")
    assert result.exit_code != 0 and "not found" in result.output and "Traceback" not in result.output


def test_records_of_a_date_are_that_dates(nongxin_app: Any, night: dict[str, Any]) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = night["today"]
    scan.scan(runtime, institution="LYRCB")
    scan.scan(runtime.as_of(today + timedelta(days=1)), institution="LYRCB")
    days = sorted({r[2] for r in _records(nongxin_app)})
    assert days == [today, today + timedelta(days=1)]  # a new date adds its own, the old one stays
    assert isinstance(days[0], date)
