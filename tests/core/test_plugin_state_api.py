"""Product managers switch plugins per institution through the API."""

from decimal import Decimal
from types import ModuleType

import pytest
from marshmallow import Schema, fields

from nongxin.sdk import AmountRange, PluginInfo, PluginKind, ProductSpec, hookimpl


class JinanSettings(Schema):
    ceiling = fields.Decimal(load_default=Decimal("200000"))
    channel = fields.String(load_default="app")


def _module(name, info, **hooks):
    mod = ModuleType(name)
    mod.PLUGIN = info
    mod.__dict__.update(hooks)
    return mod


@hookimpl
def quancheng_products(ctx):
    return [ProductSpec(code="QC_E_DAI", name="泉城e贷", segment="salaried",
                        amount=AmountRange(Decimal("1000"), ctx.settings["ceiling"]), term_months=(1, 36),
                        annual_rate=(Decimal("0.04"), Decimal("0.08")))]


@hookimpl
def exploding_products(ctx):
    raise RuntimeError("boom")


QUANCHENG = _module("quancheng", PluginInfo(name="quancheng", version="0.3.0", kind=PluginKind.PRODUCT,
                                            allowed_institutions=("JNRCB",), settings_schema=JinanSettings),
                    nongxin_products=quancheng_products)
EXPLODING = _module("exploding", PluginInfo(name="exploding", version="0.1.0", kind=PluginKind.PRODUCT),
                    nongxin_products=exploding_products)
TYPO = _module("typo", PluginInfo(name="typo", version="0.1.0", kind=PluginKind.PRODUCT),
               nongxin_prodcts=hookimpl(lambda ctx: []))


@pytest.fixture
def nongxin_plugins():
    return [QUANCHENG, EXPLODING, TYPO]


def products(client, institution):
    resp = client.get(f"/api/products?institution={institution}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def codes(client, institution):
    return {p["code"] for p in products(client, institution)["products"]}


def test_listing_shows_state_source_and_failed_plugins(nongxin_client):
    body = nongxin_client.get("/api/plugins?institution=JNRCB").get_json()
    by_name = {p["name"]: p for p in body["plugins"]}
    assert by_name["quancheng"]["enabled"] is False and by_name["quancheng"]["source"] == "default"
    assert by_name["provincial_products"]["enabled"] is True
    assert by_name["quancheng"]["hooks"] == ["nongxin_products"]
    failed = {f["name"]: f["reason"] for f in body["failed"]}
    assert "nongxin_prodcts" in failed["typo"]


def test_enable_for_one_county_and_not_another(nongxin_client):
    assert "QC_E_DAI" not in codes(nongxin_client, "JNRCB")
    resp = nongxin_client.post("/api/plugins/quancheng/enable", json={"institution": "JNRCB"})
    assert resp.status_code == 200 and resp.get_json()["source"] == "set at JNRCB"
    assert "QC_E_DAI" in codes(nongxin_client, "JNRCB")
    assert "QC_E_DAI" in codes(nongxin_client, "JNRCB-LX-G01")  # the subtree follows
    linyi = nongxin_client.as_user("linyi.pm")
    assert "QC_E_DAI" not in codes(linyi, "LYRCB")


def test_lower_node_overrides_and_inherit_restores(nongxin_client):
    nongxin_client.post("/api/plugins/quancheng/enable", json={"institution": "JNRCB"})
    nongxin_client.post("/api/plugins/quancheng/disable", json={"institution": "JNRCB-ZQ"})
    assert "QC_E_DAI" not in codes(nongxin_client, "JNRCB-ZQ-G01")
    assert "QC_E_DAI" in codes(nongxin_client, "JNRCB-LX")
    nongxin_client.post("/api/plugins/quancheng/inherit", json={"institution": "JNRCB-ZQ"})
    assert "QC_E_DAI" in codes(nongxin_client, "JNRCB-ZQ")


def test_not_allowed_institution_is_422_naming_it(nongxin_client):
    resp = nongxin_client.as_user("linyi.pm").post("/api/plugins/quancheng/enable", json={"institution": "LYRCB"})
    assert resp.status_code == 422
    assert resp.get_json()["error"] == "plugin_not_allowed" and "institution" in resp.get_json()["fields"]
    # enabling at the province does not reach counties the plugin does not allow
    admin = nongxin_client.as_user("province.admin")
    assert admin.post("/api/plugins/quancheng/enable", json={"institution": "SD"}).status_code == 422


def test_other_county_is_404_and_wrong_role_403(nongxin_client):
    assert nongxin_client.post("/api/plugins/exploding/enable", json={"institution": "LYRCB"}).status_code == 404
    assert nongxin_client.as_user("jinan.reviewer").post(
        "/api/plugins/exploding/enable", json={"institution": "JNRCB"}).status_code == 403
    assert nongxin_client.post("/api/plugins/nope/enable", json={"institution": "JNRCB"}).status_code == 404


def test_settings_validated_by_the_plugins_schema(nongxin_client):
    nongxin_client.post("/api/plugins/quancheng/enable", json={"institution": "JNRCB"})
    bad = nongxin_client.put("/api/plugins/quancheng/settings",
                             json={"institution": "JNRCB", "settings": {"ceiling": "lots"}})
    assert bad.status_code == 422 and "ceiling" in bad.get_json()["fields"]
    unknown = nongxin_client.put("/api/plugins/quancheng/settings",
                                 json={"institution": "JNRCB", "settings": {"colour": "red"}})
    assert unknown.status_code == 422 and "colour" in unknown.get_json()["fields"]
    ok = nongxin_client.put("/api/plugins/quancheng/settings",
                            json={"institution": "JNRCB", "settings": {"ceiling": "500000"}})
    assert ok.status_code == 200
    product = next(p for p in products(nongxin_client, "JNRCB")["products"] if p["code"] == "QC_E_DAI")
    assert product["amount"]["max"] == "500000"
    got = nongxin_client.get("/api/plugins/quancheng/settings?institution=JNRCB").get_json()
    assert got["settings"]["ceiling"] == "500000" and got["settings"]["channel"] == "app"


def test_changes_are_audited(nongxin_client):
    nongxin_client.post("/api/plugins/quancheng/enable", json={"institution": "JNRCB"})
    nongxin_client.put("/api/plugins/quancheng/settings", json={"institution": "JNRCB", "settings": {"ceiling": "1000"}})
    entries = nongxin_client.as_user("jinan.admin").get("/api/audit?limit=5").get_json()
    actions = [(e["action"], e["actor"]) for e in entries[:2]]
    assert actions == [("plugin.settings", "jinan.pm"), ("plugin.enable", "jinan.pm")]
    assert entries[1]["before"]["enabled"] is False and entries[1]["after"]["enabled"] is True


def test_failing_plugin_does_not_take_the_core_down(nongxin_client, nongxin_app):
    nongxin_client.post("/api/plugins/exploding/enable", json={"institution": "JNRCB"})
    body = products(nongxin_client, "JNRCB")
    assert {"XIN_E_DAI", "FU_NONG_DAI"} <= {p["code"] for p in body["products"]}
    assert body["failures"] == [{"plugin": "exploding", "error": "RuntimeError: boom"}]
    for _ in range(10):
        products(nongxin_client, "JNRCB")
    listing = {p["name"]: p for p in nongxin_client.get("/api/plugins?institution=JNRCB").get_json()["plugins"]}
    assert listing["exploding"]["breaker"]["state"] == "open"
    reset = nongxin_client.post("/api/plugins/exploding/reset", json={"institution": "JNRCB"})
    assert reset.get_json()["state"] == "closed"
    assert nongxin_app.test_client().get("/healthz").status_code == 200


def test_switch_reaches_a_second_worker_without_restart(nongxin_client, nongxin_settings, nongxin_demo):
    """Two apps on one database stand for two worker processes."""
    from nongxin.core.app import create_app

    other = create_app(nongxin_settings, plugins=[QUANCHENG, EXPLODING])
    headers = nongxin_demo.headers("jinan.pm")
    before = other.test_client().get("/api/products?institution=JNRCB", headers=headers).get_json()
    assert "QC_E_DAI" not in {p["code"] for p in before["products"]}
    nongxin_client.post("/api/plugins/quancheng/enable", json={"institution": "JNRCB"})
    after = other.test_client().get("/api/products?institution=JNRCB", headers=headers).get_json()
    assert "QC_E_DAI" in {p["code"] for p in after["products"]}
    other.extensions["nongxin"].engine.dispose()


class BrokenSchema:
    def __init__(self):
        raise RuntimeError("schema bug")


@hookimpl
def garbage_products(ctx):
    return "not a list"


GARBAGE = _module("garbage", PluginInfo(name="garbage", version="0.1.0", kind=PluginKind.PRODUCT,
                                        enabled_by_default=True), nongxin_products=garbage_products)
BROKEN_SETTINGS = _module("broken_settings", PluginInfo(name="broken_settings", version="0.1.0",
                                                        kind=PluginKind.PRODUCT, settings_schema=BrokenSchema,
                                                        enabled_by_default=True),
                          nongxin_products=quancheng_products)


@pytest.mark.parametrize("nongxin_plugins", [[GARBAGE, BROKEN_SETTINGS]])
def test_misbehaving_plugins_are_reported_not_fatal(nongxin_client):
    body = products(nongxin_client, "JNRCB")
    assert {"XIN_E_DAI", "FU_NONG_DAI"} <= {p["code"] for p in body["products"]}
    assert any(f["plugin"] == "garbage" and "not a list" in f["error"] for f in body["failures"])
    listing = {p["name"]: p for p in nongxin_client.get("/api/plugins?institution=JNRCB").get_json()["plugins"]}
    assert listing["broken_settings"]["enabled"] is False
    assert "schema bug" in listing["broken_settings"]["settings_error"]


class SupplierSettings(Schema):
    endpoint = fields.String(load_default="https://supplier.example/api")
    api_key = fields.String(load_default=None, allow_none=True, metadata={"secret": True})
    password = fields.String(load_default=None, allow_none=True, load_only=True)


SUPPLIER = _module("supplier", PluginInfo(name="supplier", version="0.1.0", kind=PluginKind.CONNECTOR,
                                          settings_schema=SupplierSettings))


@pytest.mark.parametrize("nongxin_plugins", [[SUPPLIER]])
def test_settings_are_for_product_managers_and_secrets_are_write_only(nongxin_client):
    put = nongxin_client.put("/api/plugins/supplier/settings", json={
        "institution": "JNRCB", "settings": {"api_key": "sk-TOPSECRET", "password": "hunter2-SECRET"}})
    assert put.status_code == 200, put.get_json()
    assert "SECRET" not in put.get_data(as_text=True)
    assert put.get_json()["secrets_set"] == ["api_key", "password"]
    got = nongxin_client.get("/api/plugins/supplier/settings?institution=JNRCB")
    assert got.status_code == 200
    assert got.get_json()["settings"] == {"endpoint": "https://supplier.example/api"}
    assert "SECRET" not in got.get_data(as_text=True)
    listing = nongxin_client.get("/api/plugins?institution=JNRCB")
    assert "SECRET" not in listing.get_data(as_text=True)
    audit = nongxin_client.as_user("jinan.admin").get("/api/audit?action=plugin.settings")
    assert audit.status_code == 200 and "SECRET" not in audit.get_data(as_text=True)

    cm = nongxin_client.as_user("jinan.cm")
    refused = cm.get("/api/plugins/supplier/settings?institution=JNRCB-LX")
    assert refused.status_code == 403
    cm_resp = cm.get("/api/plugins?institution=JNRCB-LX")
    assert cm_resp.status_code == 200, cm_resp.get_json()
    cm_listing = cm_resp.get_json()["plugins"]
    assert all(p["settings"] is None for p in cm_listing)


def test_a_view_in_use_keeps_its_settings_when_a_switch_changes_them(nongxin_app, nongxin_client, nongxin_uow):
    """The old host kept each plugin's settings in one shared dict that every switch cleared: a
    request holding a view from before the switch then ran its hooks with empty settings."""
    from nongxin.core.institutions.services import get_by_code
    from nongxin.core.web import runtime

    admin = nongxin_client.as_user("jinan.admin")
    assert admin.post("/api/plugins/quancheng/enable", json={"institution": "JNRCB"}).status_code == 200
    directory = runtime(nongxin_app).plugins
    inst = get_by_code(nongxin_uow.session, "JNRCB")
    before = directory.view(nongxin_uow.session, inst)  # a request in flight holds this view
    resp = admin.put("/api/plugins/quancheng/settings", json={"institution": "JNRCB", "settings": {"ceiling": "50000"}})
    assert resp.status_code == 200, resp.get_json()
    nongxin_uow.rollback()
    after = directory.view(nongxin_uow.session, inst)  # another request after the switch
    assert after is not before
    ceiling = {view: view.collect("nongxin_products", expect=ProductSpec).values[0].amount.maximum
               for view in (before, after)}
    assert ceiling == {before: Decimal("200000"), after: Decimal("50000")}
    assert before.provenance("quancheng") != after.provenance("quancheng")
