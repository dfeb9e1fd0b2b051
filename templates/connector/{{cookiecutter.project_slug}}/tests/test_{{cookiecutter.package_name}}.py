"""The `{{ cookiecutter.connector_name }}` connector: through the core's API (as installed) and fetch directly."""

from decimal import Decimal

import pytest

from nongxin.sdk import HookContext
from {{ cookiecutter.package_name }} import plugin

NAME = "{{ cookiecutter.package_name }}"
HOME = "{{ cookiecutter.institution }}"
OTHER = "{% if cookiecutter.institution == 'LYRCB' %}JNRCB{% else %}LYRCB{% endif %}"
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


def listing(client, institution):
    return {p["name"]: p for p in client.get(f"/api/plugins?institution={institution}").get_json()["plugins"]}


def test_discovered_and_enabled_at_home_only(admin, nongxin_enable):
    assert listing(admin, HOME)[NAME]["hooks"] == ["nongxin_connectors"]
    nongxin_enable(NAME, HOME)
    assert listing(admin, HOME)[NAME]["enabled"] is True
    assert listing(admin, OTHER)[NAME]["enabled"] is False
    refused = admin.post(f"/api/plugins/{NAME}/enable", json={"institution": OTHER})
    assert refused.status_code == 422 and refused.get_json()["error"] == "plugin_not_allowed"


def test_timeout_setting_validated(admin, nongxin_enable):
    nongxin_enable(NAME, HOME)
    bad = admin.put(f"/api/plugins/{NAME}/settings", json={"institution": HOME, "settings": {"timeout_seconds": 600}})
    assert bad.status_code == 422 and "timeout_seconds" in bad.get_json()["fields"]
    ok = admin.put(f"/api/plugins/{NAME}/settings", json={"institution": HOME, "settings": {"timeout_seconds": 2}})
    assert ok.status_code == 200


def test_fetch_and_missing_record():
    [spec] = plugin.nongxin_connectors(ctx=HookContext(HOME, settings={"timeout_seconds": 2.0}))
    assert spec.timeout_seconds == 2.0
    data = spec.fetch("91370100ma3c123459", CTX)
    assert data == {"registered_capital": Decimal("5000000.00"), "status": "active"}
    with pytest.raises(plugin.RecordNotFound, match="NOBODY"):
        spec.fetch("nobody", CTX)
