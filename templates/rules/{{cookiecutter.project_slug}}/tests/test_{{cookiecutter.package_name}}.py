"""Rules of {{ cookiecutter.institution }}: through the core's API (as installed) and compiled directly."""

from decimal import Decimal

import pytest

from nongxin.sdk import HookContext
from nongxin.sdk.rules import compile_rule_set
from {{ cookiecutter.package_name }} import plugin

NAME = "{{ cookiecutter.package_name }}"
HOME = "{{ cookiecutter.institution }}"
OTHER = "{% if cookiecutter.institution == 'LYRCB' %}JNRCB{% else %}LYRCB{% endif %}"
CODES = {f"{plugin.PREFIX}-ADM-00{n}" for n in (1, 2, 3)}


@pytest.fixture
def admin(nongxin_client):
    """The province admin; the home county is added to the demo province if it is not there."""
    admin = nongxin_client.as_user("province.admin")
    if admin.get(f"/api/institutions/{HOME}").status_code == 404:
        resp = admin.post("/api/institutions", json={"code": HOME, "name": HOME, "level": "county", "parent": "SD"})
        assert resp.status_code == 201, resp.get_json()
    return admin


def listing(client, institution):
    return {p["name"]: p for p in client.get(f"/api/plugins?institution={institution}").get_json()["plugins"]}


def in_force(client, institution):
    body = client.get(f"/api/rules?institution={institution}&stage=admission").get_json()
    assert body["usable"], body
    return {r["code"]: r for r in body["rules"]}


def test_discovered_and_in_force_at_home_only(admin, nongxin_enable):
    assert listing(admin, HOME)[NAME]["kind"] == "rules"
    assert not CODES & set(in_force(admin, HOME))
    nongxin_enable(NAME, HOME)
    assert CODES <= set(in_force(admin, HOME))
    assert not CODES & set(in_force(admin, OTHER))
    refused = admin.post(f"/api/plugins/{NAME}/enable", json={"institution": OTHER})
    assert refused.status_code == 422 and refused.get_json()["error"] == "plugin_not_allowed"


def test_settings_validated_and_used(admin, nongxin_enable):
    nongxin_enable(NAME, HOME)
    bad = admin.put(f"/api/plugins/{NAME}/settings", json={"institution": HOME, "settings": {"max_age": 99}})
    assert bad.status_code == 422 and "max_age" in bad.get_json()["fields"]
    ok = admin.put(f"/api/plugins/{NAME}/settings", json={"institution": HOME, "settings": {"max_age": 60}})
    assert ok.status_code == 200
    assert in_force(admin, HOME)[f"{plugin.PREFIX}-ADM-001"]["expression"].endswith("age > 60")


def hits(settings, **record):
    rules = plugin.nongxin_rules(ctx=HookContext(HOME, settings=settings))
    return [hit.code[-3:] for hit in compile_rule_set(rules, plugin.SCHEMA).evaluate(record)]


GOOD = dict(age=35, bureau_worst_overdue_days_24m=0, bureau_outstanding_debt=Decimal("100000"),
            annual_income=Decimal("80000"))


def test_rules_compile_and_fire():
    assert hits({}, **GOOD) == []
    assert hits({}, **{**GOOD, "age": 17}) == ["001"]
    assert hits({}, **{**GOOD, "bureau_worst_overdue_days_24m": 91, "bureau_outstanding_debt": Decimal("400001")}) == ["002", "003"]
    assert hits({"max_debt_to_income": Decimal("1")}, **GOOD) == ["003"]
