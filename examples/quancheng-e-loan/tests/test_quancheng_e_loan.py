"""泉城e贷 through the core's API (installed via its entry point) and its math on SDK values."""

from decimal import Decimal

import pytest

from nongxin.sdk import Applicant, ApplicationData, HookContext, Outcome
from quancheng_e_loan import plugin

NAME = "quancheng_e_loan"


def product_codes(client, institution):
    resp = client.get(f"/api/products?institution={institution}")
    assert resp.status_code == 200, resp.get_json()
    return {p["code"]: p for p in resp.get_json()["products"]}


def application(product_code="QCED", **data):
    return ApplicationData(application_id="A-1", product_code=product_code, institution_code="JNRCB",
                           applicant=Applicant("resident_id", "370102199001011234", "张三"),
                           amount=Decimal("100000"), term_months=12, data=data)


#: What the core hands a hook when nothing is set: the settings schema's validated defaults.
DEFAULTS = plugin.Settings().load({})
CTX = HookContext("JNRCB", ("SD", "SD-LZ", "JNRCB"), DEFAULTS, NAME)


# -- through the API ----------------------------------------------------------------------------

def test_discovered_and_off_by_default(nongxin_client):
    body = nongxin_client.get("/api/plugins?institution=JNRCB").get_json()
    listed = {p["name"]: p for p in body["plugins"]}
    assert NAME in listed, body["failed"]
    assert listed[NAME]["enabled"] is False and listed[NAME]["allowed_institutions"] == ["JNRCB"]
    assert {"nongxin_products", "nongxin_credit_limit", "nongxin_price",
            "nongxin_assess_application"} <= set(listed[NAME]["hooks"])


def test_enabled_in_jinan_offers_the_product_only_there(nongxin_client, nongxin_enable):
    assert "QCED" not in product_codes(nongxin_client, "JNRCB")
    nongxin_enable(NAME, "JNRCB")
    jinan = product_codes(nongxin_client, "JNRCB")
    assert jinan["QCED"]["name"] == "泉城e贷" and jinan["QCED"]["amount"]["max"] == "300000"
    assert "QCED" in product_codes(nongxin_client, "JNRCB-LX-G01")  # the subtree follows
    admin = nongxin_client.as_user("province.admin")
    assert "QCED" not in product_codes(admin, "TARCB")
    assert "QCED" not in product_codes(admin, "LYRCB")


def test_other_county_is_refused_with_422(nongxin_client):
    linyi = nongxin_client.as_user("linyi.pm")
    resp = linyi.post(f"/api/plugins/{NAME}/enable", json={"institution": "LYRCB"})
    assert resp.status_code == 422
    assert resp.get_json()["error"] == "plugin_not_allowed" and "institution" in resp.get_json()["fields"]


def test_settings_are_validated_and_reach_the_product(nongxin_client, nongxin_enable):
    nongxin_enable(NAME, "JNRCB")
    for key, bad in (("ceiling", "lots"), ("ceiling", "5000000"), ("income_multiple", "-1")):
        resp = nongxin_client.put(f"/api/plugins/{NAME}/settings",
                                  json={"institution": "JNRCB", "settings": {key: bad}})
        assert resp.status_code == 422 and key in resp.get_json()["fields"], (key, resp.get_json())
    ok = nongxin_client.put(f"/api/plugins/{NAME}/settings",
                            json={"institution": "JNRCB", "settings": {"ceiling": "500000"}})
    assert ok.status_code == 200, ok.get_json()
    assert product_codes(nongxin_client, "JNRCB")["QCED"]["amount"]["max"] == "500000"


# -- the hooks, directly ---------------------------------------------------------------------------

@pytest.mark.parametrize("income, fund, expected", [
    ("10000", "1500", "270000"),     # 12*10000*1.5 + 1500*60 = 270000
    ("8333", "1234.56", "224000"),   # 149994 + 74073.6 = 224067.6 -> down to the thousand
    ("30000", "3000", "300000"),     # capped at the ceiling
    ("0", "0", "0"),
])
def test_limit_formula(income, fund, expected):
    result = plugin.nongxin_credit_limit(
        application=application(monthly_income=income, provident_fund_monthly=fund), facts={}, ctx=CTX)
    assert result.amount == Decimal(expected) and isinstance(result.amount, Decimal)


def test_limit_uses_the_institutions_settings_and_verified_facts():
    ctx = HookContext("JNRCB", settings={**DEFAULTS, "ceiling": Decimal("500000"),
                                         "income_multiple": Decimal("2")})
    app = application(monthly_income="1", provident_fund_monthly="0")  # the form is overridden
    result = plugin.nongxin_credit_limit(application=app, ctx=ctx,
                                         facts={"monthly_income": Decimal("20000"), "provident_fund_monthly": None})
    assert result.amount == Decimal("480000")


def test_a_bare_context_uses_the_default_settings():
    app = application(monthly_income="10000", provident_fund_monthly="1500")
    bare = HookContext("JNRCB")  # no settings: the schema's defaults apply
    assert plugin.nongxin_credit_limit(application=app, facts={}, ctx=bare).amount == Decimal("270000")
    assert plugin.nongxin_products(ctx=bare)[0].amount.maximum == Decimal("300000")


def test_annual_income_fact_stands_in_for_a_missing_monthly_figure():
    app = application(provident_fund_monthly="1000")
    result = plugin.nongxin_credit_limit(application=app, facts={"annual_income": Decimal("96000")}, ctx=CTX)
    assert result.amount == Decimal("204000")  # 12 × 8000 × 1.5 + 1000 × 60


def test_findings():
    def codes(**data):
        found = plugin.nongxin_assess_application(application=application(**data), facts={}, ctx=CTX)
        return {f.code: f.outcome for f in found}

    good = dict(age=30, segment="salaried", monthly_income="9000", provident_fund_monthly="900")
    assert codes(**good) == {}
    assert codes(**{**good, "age": 21}) == {"QCED_AGE": Outcome.REJECT}
    assert codes(**{**good, "age": 56}) == {"QCED_AGE": Outcome.REJECT}
    assert codes(**{**good, "age": 55}) == {}
    assert codes(**{**good, "provident_fund_monthly": None}) == {"QCED_NO_PROVIDENT_FUND": Outcome.MANUAL_REVIEW}
    assert codes(**{**good, "segment": "merchant", "provident_fund_monthly": None}) == {}
    assert codes(**{**good, "segment": "farmer"})["QCED_SEGMENT"] is Outcome.REJECT


def test_price_and_other_products_are_left_alone():
    assert plugin.nongxin_price(application=application(segment="salaried"), facts={},
                                ctx=CTX).annual_rate == Decimal("0.0420")
    assert plugin.nongxin_price(application=application(segment="merchant"), facts={},
                                ctx=CTX).annual_rate == Decimal("0.0500")
    other = application("XIN_E_DAI", age=80)
    assert plugin.nongxin_credit_limit(application=other, facts={}, ctx=CTX) is None
    assert plugin.nongxin_price(application=other, facts={}, ctx=CTX) is None
    assert plugin.nongxin_assess_application(application=other, facts={}, ctx=CTX) == []


def test_repayment_methods_are_the_sdk_names():
    from nongxin.sdk import REPAYMENT_METHODS

    for spec in plugin.nongxin_products(CTX):
        assert spec.repayment_methods and set(spec.repayment_methods) <= set(REPAYMENT_METHODS), spec
