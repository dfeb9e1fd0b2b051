"""{{ cookiecutter.product_name }}: through the core's API (as installed) and its math on SDK values.

Run ``pytest`` after ``pip install -e .``: the nongxin fixtures come with the core.
"""

from decimal import Decimal

import pytest

from nongxin.sdk import Applicant, ApplicationData, HookContext, Outcome
from {{ cookiecutter.package_name }} import plugin

NAME = "{{ cookiecutter.package_name }}"
HOME = "{{ cookiecutter.institution }}"
OTHER = "{% if cookiecutter.institution == 'LYRCB' %}JNRCB{% else %}LYRCB{% endif %}"
CODE = plugin.PRODUCT_CODE
#: What the core hands a hook when nothing is set: the settings schema's validated defaults.
DEFAULTS = plugin.Settings().load({})
CTX = HookContext(HOME, settings=DEFAULTS, plugin_name=NAME)


@pytest.fixture
def admin(nongxin_client):
    """The province admin; the home county is added to the demo province if it is not there."""
    admin = nongxin_client.as_user("province.admin")
    if admin.get(f"/api/institutions/{HOME}").status_code == 404:
        resp = admin.post("/api/institutions", json={"code": HOME, "name": HOME, "level": "county", "parent": "SD"})
        assert resp.status_code == 201, resp.get_json()
    return admin


def products(client, institution):
    resp = client.get(f"/api/products?institution={institution}")
    assert resp.status_code == 200, resp.get_json()
    return {p["code"]: p for p in resp.get_json()["products"]}


def application(product_code=CODE, **data):
    return ApplicationData(application_id="A-1", product_code=product_code, institution_code=HOME,
                           applicant=Applicant("resident_id", "370102199001011234", "张三"),
                           amount=Decimal("50000"), term_months=12, data=data)


def test_discovered(admin):
    body = admin.get(f"/api/plugins?institution={HOME}").get_json()
    listed = {p["name"]: p for p in body["plugins"]}
    assert NAME in listed, body["failed"]
    assert listed[NAME]["enabled"] is False and listed[NAME]["allowed"] is True


def test_enabled_at_home_only(admin, nongxin_enable):
    assert CODE not in products(admin, HOME)
    nongxin_enable(NAME, HOME)
    assert products(admin, HOME)[CODE]["amount"]["max"] == str(DEFAULTS["ceiling"])
    assert CODE not in products(admin, OTHER)
    refused = admin.post(f"/api/plugins/{NAME}/enable", json={"institution": OTHER})
    assert refused.status_code == 422 and refused.get_json()["error"] == "plugin_not_allowed"


def test_settings_validated(admin, nongxin_enable):
    nongxin_enable(NAME, HOME)
    bad = admin.put(f"/api/plugins/{NAME}/settings", json={"institution": HOME, "settings": {"ceiling": "lots"}})
    assert bad.status_code == 422 and "ceiling" in bad.get_json()["fields"]
    ok = admin.put(f"/api/plugins/{NAME}/settings", json={"institution": HOME, "settings": {"ceiling": "120000"}})
    assert ok.status_code == 200
    assert products(admin, HOME)[CODE]["amount"]["max"] == "120000"


@pytest.mark.parametrize("income, expected", [("0", "0"), ("45678", "91000"), ("99999999", DEFAULTS["ceiling"])])
def test_limit(income, expected):
    result = plugin.nongxin_credit_limit(application=application(annual_income=income), facts={}, ctx=CTX)
    assert result.amount == min(Decimal(expected), DEFAULTS["ceiling"] // 1000 * 1000)


def test_findings_and_other_products():
    found = plugin.nongxin_assess_application(application=application(age=70, annual_income="1"), facts={}, ctx=CTX)
    assert [(f.code, f.outcome) for f in found] == [(f"{CODE}_AGE", Outcome.REJECT)]
    assert plugin.nongxin_assess_application(application=application(age=30, annual_income="1"), facts={}, ctx=CTX) == []
    other = application("SOMEONE_ELSES", age=70)
    assert plugin.nongxin_assess_application(application=other, facts={}, ctx=CTX) == []
    assert plugin.nongxin_credit_limit(application=other, facts={}, ctx=CTX) is None
    assert plugin.nongxin_price(application=other, facts={}, ctx=CTX) is None


def test_price_is_a_spread_over_the_lpr_and_methods_are_known():
    from nongxin.sdk import REPAYMENT_METHODS

    price = plugin.nongxin_price(application=application(age=30, annual_income="1"), facts={}, ctx=CTX)
    assert (price.spread_bp, price.annual_rate) == (150, None)
    for spec in plugin.nongxin_products(CTX):
        assert set(spec.repayment_methods) <= set(REPAYMENT_METHODS)
