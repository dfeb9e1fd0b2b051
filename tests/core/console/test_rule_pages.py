"""The rules pages (规则): the same services as /api/rules, so the same scopes, the same
maker-checker refusal, the same checks and the same audit trail."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import users
from nongxin.core.institutions.models import Role
from nongxin.core.rules.models import StoredRule
from nongxin.core.rules.services import rule_json

FORM = {"code": "JN-CON-1", "name": "年龄上限", "stage": "admission", "outcome": "reject",
        "expression": "age > 70", "reason": "超过年龄上限", "category": "", "effective_from": "",
        "effective_to": "", "shadow": "0"}


def _rule(app: Any, rule_id: int) -> dict[str, Any]:
    """The stored rule as the API answers it (status as its value)."""
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return rule_json(unit.session.get(StoredRule, rule_id), "")


def _audits(app: Any, rule_id: int) -> list[str]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return list(unit.session.execute(sa.select(AuditEntry.action).where(
            AuditEntry.target == f"stored_rule:{rule_id}").order_by(AuditEntry.id)).scalars())


def _draft(console: Any, **change: str) -> int:
    resp = console.post("/console/rules/new", data={**FORM, **change})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert "done=saved" in resp.headers["Location"]
    return int(resp.headers["Location"].split("/rules/")[1].split("?")[0])


@pytest.fixture
def linyi_params(nongxin_app: Any, nongxin_demo: Any) -> str:
    """A parameter admin of another county bank (the demo has none)."""
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        users.create_user(unit, None, username="linyi.params", display_name="临沂参数管理岗",
                          role=Role.PARAMETER_ADMIN, institution_code="LYRCB")
        unit.commit()
    return "linyi.params"


def test_a_draft_made_on_the_page_is_the_apis_draft_audited(nongxin_app, nongxin_console):
    maker = nongxin_console("jinan.params")
    rule_id = _draft(maker)
    row = _rule(nongxin_app, rule_id)
    assert (row["code"], row["status"], row["author"], row["level"], row["expression"]) == (
        "JN-CON-1", "draft", "jinan.params", "county", "age > 70")
    assert _audits(nongxin_app, rule_id) == ["rules.draft"]
    shown = maker.get(f"/console/rules/{rule_id}?done=saved").get_data(as_text=True)
    assert "草稿已保存" in shown and "JN-CON-1" in shown and "提交审批" in shown
    listed = maker.get("/console/rules/stored?status=draft").get_data(as_text=True)
    assert "JN-CON-1" in listed and "草稿" in listed


def test_a_bad_expression_is_422_beside_the_field_and_nothing_is_written(nongxin_app, nongxin_console, db_snapshot):
    maker = nongxin_console("jinan.params")
    before = db_snapshot()
    resp = maker.post("/console/rules/new", data={**FORM, "expression": "age >> 70"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="e-expression"' in page and "line 1, column" in page and "^" in page
    assert "age &gt;&gt; 70" in page  # the form keeps what was typed
    assert db_snapshot() == before


def test_the_maker_cannot_approve_their_own_draft_and_nothing_is_written(nongxin_app, nongxin_console):
    maker, checker = nongxin_console("jinan.params"), nongxin_console("jinan.params2")
    rule_id = _draft(maker)
    assert maker.post(f"/console/rules/{rule_id}/submit", data={}).status_code == 303
    assert 'id="step-approve"' not in maker.get(f"/console/rules/{rule_id}").get_data(as_text=True)
    assert 'id="step-approve"' in checker.get(f"/console/rules/{rule_id}").get_data(as_text=True)
    refused = maker.post(f"/console/rules/{rule_id}/approve", data={"note": "自己批"})
    assert refused.status_code == 403
    page = refused.get_data(as_text=True)
    assert 'id="refused"' in page and "maker-checker" in page
    row = _rule(nongxin_app, rule_id)
    assert (row["status"], row["decided_by"], row["decision_note"]) == ("pending_approval", None, "")
    assert _audits(nongxin_app, rule_id) == ["rules.draft", "rules.submit"]
    # a second person publishes, as through the API; the rule is then in force at Jinan
    done = checker.post(f"/console/rules/{rule_id}/approve", data={"note": "复核通过"})
    assert done.status_code == 303 and done.headers["Location"].endswith("done=approve")
    assert _rule(nongxin_app, rule_id)["status"] == "published"
    assert _audits(nongxin_app, rule_id) == ["rules.draft", "rules.submit", "rules.approve"]
    in_force = checker.get("/console/rules?stage=admission").get_data(as_text=True)
    assert "JN-CON-1" in in_force and "age &gt; 70" in in_force
    assert checker.post(f"/console/rules/{rule_id}/retire", data={}).status_code == 303
    assert "JN-CON-1" not in checker.get("/console/rules?stage=admission").get_data(as_text=True)


def test_withdraw_edit_and_a_step_the_status_does_not_allow(nongxin_app, nongxin_console):
    maker = nongxin_console("jinan.params")
    rule_id = _draft(maker)
    assert maker.post(f"/console/rules/{rule_id}/submit", data={}).status_code == 303
    assert maker.post(f"/console/rules/{rule_id}/withdraw", data={}).status_code == 303
    edited = maker.post(f"/console/rules/{rule_id}/edit", data={**FORM, "expression": "age > 65"})
    assert edited.status_code == 303
    assert _rule(nongxin_app, rule_id)["expression"] == "age > 65"
    again = maker.post(f"/console/rules/{rule_id}/withdraw", data={})
    assert again.status_code == 409 and "draft" in again.get_data(as_text=True)
    assert _audits(nongxin_app, rule_id) == ["rules.draft", "rules.submit", "rules.withdraw", "rules.edit"]


def test_a_countys_draft_is_404_for_another_countys_parameter_admin(nongxin_app, nongxin_console, linyi_params):
    rule_id = _draft(nongxin_console("jinan.params"))
    other = nongxin_console(linyi_params)
    for resp in (other.get(f"/console/rules/{rule_id}"), other.get(f"/console/rules/{rule_id}/edit"),
                 other.post(f"/console/rules/{rule_id}/submit", data={}),
                 other.post(f"/console/rules/{rule_id}/backtest", data={})):
        assert resp.status_code == 404, resp.get_data(as_text=True)[:300]
    assert "JN-CON-1" not in other.get("/console/rules/stored").get_data(as_text=True)
    assert other.get("/console/rules?institution=JNRCB").status_code == 404
    assert _audits(nongxin_app, rule_id) == ["rules.draft"]


def test_a_role_that_may_not_draft_gets_the_403_page(nongxin_console):
    cm = nongxin_console("jinan.cm")
    resp = cm.post("/console/rules/new", data=FORM)
    assert resp.status_code == 403 and "rules.draft" in resp.get_data(as_text=True)
    assert cm.get("/console/rules").status_code == 200  # everyone reads the rules in force


def test_the_live_check_answers_line_column_and_caret(nongxin_console):
    console = nongxin_console("jinan.params")
    bad = console.post("/console/rules/check", json={"stage": "admission", "expression": "age > 18 and\n  no_such_fact == 'D'"})
    assert bad.status_code == 422
    answer = bad.get_json()
    assert (answer["ok"], answer["field"], answer["line"], answer["column"]) == (False, "expression", 2, 3)
    assert answer["text"].splitlines()[-1] == "      ^"
    good = console.post("/console/rules/check", json={"stage": "admission", "expression": "age > 70 or amount >= 20000"})
    assert good.status_code == 200
    assert good.get_json()["ok"] is True
    assert [f["name"] for f in good.get_json()["fields"]] == ["age", "amount"]
    for body, field in (({"stage": "nightly", "expression": "age > 1"}, "stage"),
                        ({"stage": ["admission"], "expression": "age > 1"}, "stage"),
                        ({"stage": "admission", "expression": 7}, "expression"),
                        ({"stage": "admission", "expression": "age > 1", "code": {"x": 1}}, "code")):
        refused = console.post("/console/rules/check", json=body)
        assert refused.status_code == 422 and refused.get_json()["field"] == field, body
    assert console.post("/console/rules/check", json=[1]).status_code == 400


def _decided(app: Any) -> str:
    """An application at 历下 decided through the real pipeline today; its number."""
    from nongxin.core.auth import Principal
    from nongxin.core.credit.decision import decide
    from nongxin.core.credit.models import Application
    from nongxin.core.institutions import services as institutions
    from nongxin.core.testing import file_application
    from nongxin.sdk.identity import make_resident_id

    app_id = file_application(app, place="JNRCB-LX", id_number=make_resident_id("370102", date(1985, 5, 1), 991))
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        place = institutions.get_by_code(unit.session, "JNRCB")
        assert place is not None
        cm = Principal("jinan.cm", Role.CUSTOMER_MANAGER, place.id, place.code, place.path)
        assert decide(unit, cm, rt, app_id).decision is not None
        return unit.session.get(Application, app_id).number


def test_the_backtest_button_runs_the_backtest_and_shows_its_result(nongxin_app, nongxin_console):
    number = _decided(nongxin_app)
    maker = nongxin_console("jinan.params")
    rule_id = _draft(maker, expression="amount >= 1")
    resp = maker.post(f"/console/rules/{rule_id}/backtest", data={"as_of": "", "days": "30"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    page = resp.get_data(as_text=True)
    assert 'id="backtest-result"' in page
    assert '<strong class="num" id="backtest-hits">1</strong>' in page and number in page  # the hit, as an example
    assert 'id="backtest-hits">0<' in maker.post(f"/console/rules/{_draft(maker, code='JN-CON-2', expression='amount > 99999999')}"
                                                 "/backtest", data={}).get_data(as_text=True)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "rules.backtest")).scalar_one() == 2
    bad = maker.post(f"/console/rules/{rule_id}/backtest", data={"as_of": "2099-01-01"})
    assert bad.status_code == 422 and 'id="refused"' in bad.get_data(as_text=True)


def test_bad_query_parameters_are_the_400_page_naming_them(nongxin_console):
    console = nongxin_console("jinan.params")
    for path, name in (("/console/rules?stage=nightly", "stage"), ("/console/rules/stored?status=done", "status"),
                       ("/console/rules/shadow?from=yesterday", "from"), ("/console/rules/shadow?rule=x", "rule"), ("/console/rules/stored?offset=-1", "offset")):
        resp = console.get(path)
        assert resp.status_code == 400 and name in resp.get_data(as_text=True), path
    assert console.get("/console/rules/stored?offset=0").status_code == 200
    late = console.get("/console/rules/shadow?from=2026-02-01&to=2026-01-01")
    assert late.status_code == 422 and "from" in late.get_data(as_text=True)


def test_the_shadow_report_page_shows_a_shadow_rules_hits_beside_the_champion(nongxin_app, nongxin_console,
                                                                             linyi_params):
    from nongxin.core.testing import publish_test_rule

    rule_id = publish_test_rule(nongxin_app, "SH-CON-1", "amount > 1000", stage="admission", outcome="reject",
                                shadow=True)
    console = nongxin_console("jinan.params")
    empty = console.get("/console/rules/shadow").get_data(as_text=True)
    assert "SH-CON-1" not in empty and "这段时间没有影子规则的命中记录" in empty
    _decided(nongxin_app)
    page = console.get(f"/console/rules/shadow?rule={rule_id}").get_data(as_text=True)
    row = page[page.index("<tbody>"):page.index("</tr>", page.index("SH-CON-1"))]
    cells = [c.split("<")[0] for c in row.split('<td class="num">')[1:]]
    # days, subjects, shadow hits, live hits (null: no live rule has the code; so are both and either only),
    # and the decision the shadow reject would have changed (an approval)
    assert cells[:4] == ["1", "1", "1", "—"] and cells[-1] == "1", cells
    assert "SH-CON-1" in console.get("/console/rules?stage=admission").get_data(as_text=True)  # listed apart
    assert nongxin_console(linyi_params).get("/console/rules/shadow?institution=JNRCB").status_code == 404
