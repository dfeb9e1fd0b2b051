"""The tax connector through the core's API (installed via its entry point) and its fetch directly."""

from decimal import Decimal

import pytest

from nongxin.sdk import Applicant, HookContext
from nongxin.sdk.identity import InvalidIdentity
from nongxin_tax_connector import plugin
from nongxin_tax_connector.plugin import TaxRecordNotFound

NAME = "tax_connector"
#: What the core hands a hook when nothing is set: the settings schema's validated defaults.
DEFAULTS = plugin.Settings().load({})
CTX = HookContext("JNRCB", ("SD", "SD-LZ", "JNRCB"), DEFAULTS, NAME)


def listing(client, institution):
    body = client.get(f"/api/plugins?institution={institution}").get_json()
    return {p["name"]: p for p in body["plugins"]}


# -- through the API ----------------------------------------------------------------------------

def test_discovered_as_a_connector(nongxin_client):
    listed = listing(nongxin_client, "JNRCB")
    assert listed[NAME]["kind"] == "connector" and listed[NAME]["hooks"] == ["nongxin_connectors"]
    assert listed[NAME]["enabled"] is False and listed[NAME]["allowed"] is True


def test_enable_in_jinan_and_taian_but_not_linyi(nongxin_client, nongxin_enable):
    nongxin_enable(NAME, "JNRCB")
    nongxin_enable(NAME, "TARCB")
    admin = nongxin_client.as_user("province.admin")
    assert listing(admin, "JNRCB-LX-G01")[NAME]["enabled"] is True
    assert listing(admin, "TARCB")[NAME]["enabled"] is True
    assert listing(admin, "LYRCB")[NAME]["enabled"] is False
    resp = admin.post(f"/api/plugins/{NAME}/enable", json={"institution": "LYRCB"})
    assert resp.status_code == 422 and "institution" in resp.get_json()["fields"]


def test_connector_offers_no_products(nongxin_client, nongxin_enable):
    before = nongxin_client.get("/api/products?institution=JNRCB").get_json()
    nongxin_enable(NAME, "JNRCB")
    after = nongxin_client.get("/api/products?institution=JNRCB").get_json()
    assert after == before and after["failures"] == []


def test_timeout_setting_is_validated(nongxin_client, nongxin_enable):
    nongxin_enable(NAME, "JNRCB")
    for bad in ("soon", 0, 120):
        resp = nongxin_client.put(f"/api/plugins/{NAME}/settings",
                                  json={"institution": "JNRCB", "settings": {"timeout_seconds": bad}})
        assert resp.status_code == 422 and "timeout_seconds" in resp.get_json()["fields"], resp.get_json()
    ok = nongxin_client.put(f"/api/plugins/{NAME}/settings",
                            json={"institution": "JNRCB", "settings": {"timeout_seconds": 2.5}})
    assert ok.status_code == 200 and ok.get_json()["settings"]["timeout_seconds"] == 2.5


# -- the connector, directly -------------------------------------------------------------------------

def test_spec_carries_the_timeout_setting():
    [spec] = plugin.nongxin_connectors(ctx=HookContext("TARCB", settings={"timeout_seconds": 2.5}))
    assert spec.name == "tax" and spec.timeout_seconds == 2.5 and spec.cache_ttl_seconds == 86400
    assert set(spec.fields) >= {"filed_revenue", "tax_grade"}


@pytest.mark.parametrize("subject", [
    "91370100MA3C123459",
    " 91370100ma3c123459 ",                       # normalised like the core does
    {"uscc": "91370100MA3C123459"},
    Applicant("uscc", "91370100MA3C123459", "济南泉水食品有限公司"),
])
def test_fetch_returns_decimal_revenue_and_grade(subject):
    [spec] = plugin.nongxin_connectors(ctx=CTX)
    data = spec.fetch(subject, CTX)
    assert data["filed_revenue"] == Decimal("12860000.00") and isinstance(data["filed_revenue"], Decimal)
    assert data["tax_grade"] == "A" and data["tax_year"] == 2024


def test_every_bundled_grade_is_known():
    grades = {plugin.fetch(code, CTX)["tax_grade"] for code in (
        "91370100MA3C123459", "91370900MA3D56781F", "92370102MA3E00012L", "91370100MA3F99997Y",
        "91370900MA3G43219Y")}
    assert grades == set(plugin.TAX_GRADES)


def test_missing_record_names_the_code():
    missing = "91370100MA3H00000B"  # a well-formed code (valid check character) nobody filed under
    with pytest.raises(TaxRecordNotFound, match=missing) as caught:
        plugin.fetch(missing, CTX)
    assert caught.value.uscc == missing and isinstance(caught.value, LookupError)


def test_malformed_code_is_refused_before_lookup():
    with pytest.raises(InvalidIdentity):
        plugin.fetch("91370100MA3C12345X", CTX)
