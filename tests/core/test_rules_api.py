"""Rules in force per institution, from the enabled rule packs, and expression checks."""

from types import ModuleType

import pytest

from nongxin.sdk import PluginInfo, PluginKind, hookimpl
from nongxin.sdk.rules import Rule


def _pack(name, rules, allowed=None):
    mod = ModuleType(name)
    mod.PLUGIN = PluginInfo(name=name, version="2.0.0", kind=PluginKind.RULES, allowed_institutions=allowed)

    @hookimpl
    def nongxin_rules(ctx):
        return rules

    mod.nongxin_rules = nongxin_rules
    return mod


JINAN_RULE = Rule(code="JN-ADM-001", name="济南: 大额需人工", expression="amount > 200000", stage="admission",
                  outcome="manual_review", level="county", owner="JNRCB", reason="大额人工审核")
BROKEN_RULE = Rule(code="BAD-001", name="坏规则", expression='age > "30"', stage="admission",
                   outcome="reject", level="county", owner="JNRCB", reason="x")


@pytest.fixture
def nongxin_plugins():
    return [_pack("jinan_rules", [JINAN_RULE], allowed=("JNRCB",)), _pack("broken_rules", [BROKEN_RULE])]


def test_province_rules_apply_everywhere_and_county_rules_only_where_enabled(nongxin_client):
    nongxin_client.post("/api/plugins/jinan_rules/enable", json={"institution": "JNRCB"})
    jinan = nongxin_client.get("/api/rules?institution=JNRCB-LX&stage=admission").get_json()
    codes = {r["code"] for r in jinan["rules"]}
    assert "PROV-ADM-001" in codes and "JN-ADM-001" in codes and jinan["usable"]
    owners = {r["code"]: r["owner"] for r in jinan["rules"]}
    assert owners["PROV-ADM-001"] == "SD"
    linyi = nongxin_client.as_user("linyi.pm").get("/api/rules?institution=LYRCB&stage=admission").get_json()
    assert "JN-ADM-001" not in {r["code"] for r in linyi["rules"]}
    post_loan = nongxin_client.get("/api/rules?institution=JNRCB&stage=post_loan").get_json()
    assert {r["outcome"] for r in post_loan["rules"]} == {"red", "orange", "yellow"}


def test_broken_rule_pack_makes_the_rule_book_unusable_with_the_caret(nongxin_client):
    nongxin_client.post("/api/plugins/broken_rules/enable", json={"institution": "JNRCB"})
    book = nongxin_client.get("/api/rules?institution=JNRCB&stage=admission").get_json()
    assert book["usable"] is False
    assert "BAD-001" in book["error"] and "^" in book["error"]


def test_check_expression(nongxin_client):
    ok = nongxin_client.post("/api/rules/check", json={"stage": "admission", "expression": "bureau_dishonest_debtor or age < 22"})
    assert ok.status_code == 200
    bad = nongxin_client.post("/api/rules/check", json={"stage": "post_loan", "expression": 'overdue_days > "30"', "code": "X1"})
    assert bad.status_code == 422
    message = bad.get_json()["fields"]["expression"][0]
    assert "X1" in message and "column 16" in message and "^" in message
    evil = nongxin_client.post("/api/rules/check", json={"stage": "admission", "expression": "__import__('os')"})
    assert evil.status_code == 422
    unknown = nongxin_client.post("/api/rules/check", json={"stage": "admission", "expression": "salary > 1"})
    assert unknown.status_code == 422 and "salary" in unknown.get_json()["message"]


def test_fields_are_listed_for_admins(nongxin_client):
    names = {f["name"] for f in nongxin_client.get("/api/rules/fields?stage=post_loan").get_json()}
    assert {"overdue_days", "five_tier", "bureau_dishonest_debtor"} <= names


def test_rule_pack_problem_names_the_rule(nongxin_app):
    from nongxin.core.rules.books import rule_pack_problem

    host = nongxin_app.extensions["nongxin"].plugins.host
    assert rule_pack_problem(host.loaded["jinan_rules"]) is None
    assert "BAD-001" in rule_pack_problem(host.loaded["broken_rules"])
    assert rule_pack_problem(host.loaded["province_rules"]) is None
