"""沂蒙云贷 through the core's API (installed via its entry point) and its math on SDK values."""

from decimal import Decimal

import pytest

from nongxin.sdk import Applicant, ApplicationData, HookContext, Outcome
from yimeng_cloud_loan import plugin

NAME = "yimeng_cloud_loan"
#: What the core hands a hook when nothing is set: the settings schema's validated defaults.
DEFAULTS = plugin.Settings().load({})
CTX = HookContext("LYRCB", ("SD", "SD-LN", "LYRCB"), DEFAULTS, NAME)


def products(client, institution):
    resp = client.get(f"/api/products?institution={institution}")
    assert resp.status_code == 200, resp.get_json()
    return {p["code"]: p for p in resp.get_json()["products"]}


def application(product_code="YMYD", **data):
    return ApplicationData(application_id="A-7", product_code=product_code, institution_code="LYRCB",
                           applicant=Applicant("resident_id", "371302198503150018", "李四"),
                           amount=Decimal("80000"), term_months=24, data=data)


@pytest.fixture
def linyi(nongxin_client):
    return nongxin_client.as_user("linyi.pm")


# -- through the API ----------------------------------------------------------------------------

def test_discovered_everywhere_but_allowed_only_in_linyi(nongxin_client):
    listed = {p["name"]: p for p in nongxin_client.get("/api/plugins?institution=JNRCB").get_json()["plugins"]}
    assert listed[NAME]["enabled"] is False and listed[NAME]["allowed"] is False
    assert listed[NAME]["allowed_institutions"] == ["LYRCB"]


def test_enabled_in_linyi_offers_the_product_only_there(linyi, nongxin_enable):
    nongxin_enable(NAME, "LYRCB")
    offered = products(linyi, "LYRCB-LS-G01")
    assert offered["YMYD"]["segment"] == "farmer" and offered["YMYD"]["amount"]["max"] == "300000"
    admin = linyi.as_user("province.admin")
    assert "YMYD" not in products(admin, "JNRCB") and "YMYD" not in products(admin, "TARCB")


def test_jinan_is_refused_with_422(nongxin_client):
    resp = nongxin_client.post(f"/api/plugins/{NAME}/enable", json={"institution": "JNRCB"})
    assert resp.status_code == 422 and resp.get_json()["error"] == "plugin_not_allowed"


def test_settings_are_validated(linyi, nongxin_enable):
    nongxin_enable(NAME, "LYRCB")
    for key, bad in (("per_mu_amount", "a lot"), ("grey_factor", "1.5"), ("ceiling", "1")):
        resp = linyi.put(f"/api/plugins/{NAME}/settings", json={"institution": "LYRCB", "settings": {key: bad}})
        assert resp.status_code == 422 and key in resp.get_json()["fields"], (key, resp.get_json())
    ok = linyi.put(f"/api/plugins/{NAME}/settings",
                   json={"institution": "LYRCB", "settings": {"per_mu_amount": "2500", "ceiling": "200000"}})
    assert ok.status_code == 200 and ok.get_json()["settings"]["per_mu_amount"] == "2500"
    assert products(linyi, "LYRCB")["YMYD"]["amount"]["max"] == "200000"


# -- the hooks, directly ---------------------------------------------------------------------------

@pytest.mark.parametrize("colour, expected", [
    ("white", "80000"),    # base 80002 -> 80000
    ("green", "96000"),    # 96002.4 -> 96000
    ("grey", "40000"),     # 40001 -> 40000
    ("black", "0"),
    (None, "40000"),       # missing review counts as grey
])
def test_limit_by_peer_review(colour, expected):
    app = application(peer_review=colour, household_assets="133340", land_mu="10")
    # base = 20000 + 10 × 2000 + 133340 × 0.30 = 80002
    assert plugin.nongxin_credit_limit(application=app, facts={}, ctx=CTX).amount == Decimal(expected)


def test_limit_is_capped_and_follows_settings():
    settings = {**DEFAULTS, "per_mu_amount": Decimal("3000"), "ceiling": Decimal("100000")}
    ctx = HookContext("LYRCB", settings=settings)
    small = application(peer_review="white", household_assets="0", land_mu="12.5")
    assert plugin.nongxin_credit_limit(application=small, facts={}, ctx=ctx).amount == Decimal("57000")
    big = application(peer_review="green", household_assets="1000000", land_mu="50")
    assert plugin.nongxin_credit_limit(application=big, facts={}, ctx=ctx).amount == Decimal("100000")


def test_land_area_may_be_a_float_but_assets_never():
    # Land area is not money: the core's JSON may carry 12.5 mu as a float. Household assets are
    # money, and a float there is refused rather than rounded into the limit.
    app = application(peer_review="white", household_assets="0", land_mu=12.5)
    bare = HookContext("LYRCB")  # no settings: the schema's defaults apply
    assert plugin.nongxin_credit_limit(application=app, facts={}, ctx=bare).amount == Decimal("45000")
    with pytest.raises(TypeError, match="float"):
        plugin.nongxin_credit_limit(application=application(peer_review="white", household_assets=1000.5),
                                    facts={}, ctx=CTX)


def test_findings_by_colour():
    def found(colour):
        return [(f.code, f.outcome) for f in plugin.nongxin_assess_application(
            application=application(peer_review=colour), facts={}, ctx=CTX)]

    assert found("white") == [] and found("GREEN") == []
    assert found("black") == [("YMYD_BLACK", Outcome.REJECT)]
    assert found("grey") == [("YMYD_GREY", Outcome.MANUAL_REVIEW)]
    assert found(None) == [("YMYD_NO_PEER_REVIEW", Outcome.MANUAL_REVIEW)]
    assert found("purple") == [("YMYD_BAD_COLOUR", Outcome.MANUAL_REVIEW)]


def test_price_and_other_products_are_left_alone():
    assert plugin.nongxin_price(application=application(peer_review="green"), facts={},
                                ctx=CTX).annual_rate == Decimal("0.0500")
    assert plugin.nongxin_price(application=application(peer_review="white"), facts={},
                                ctx=CTX).annual_rate == Decimal("0.0550")
    other = application("FU_NONG_DAI", peer_review="black")
    assert plugin.nongxin_assess_application(application=other, facts={}, ctx=CTX) == []
    assert plugin.nongxin_credit_limit(application=other, facts={}, ctx=CTX) is None
    assert plugin.nongxin_price(application=other, facts={}, ctx=CTX) is None


def test_repayment_methods_are_the_sdk_names():
    from nongxin.sdk import REPAYMENT_METHODS

    for spec in plugin.nongxin_products(CTX):
        assert spec.repayment_methods and set(spec.repayment_methods) <= set(REPAYMENT_METHODS), spec
