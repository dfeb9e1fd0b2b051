"""The collateral registry through the API: registering with a first valuation, the field checks
(all at once), owners and items of another county bank (404, never listed), duplicates (409),
manual valuations (future date, above a deposit's balance, plugin refused), the kinds with their
terms, and the collateral parameters' bounds (a haircut of 1.2, a county loosening)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.collateral.models import CollateralItem, CollateralValuation
from nongxin.core.testing import SAMPLE_COLLATERAL_FIELDS, open_test_item, open_test_line
from nongxin.sdk.collateral import make_vin


@pytest.fixture
def today(nongxin_app: Any) -> Any:
    return nongxin_app.extensions["nongxin"].clock.business_date()


def house(owner: int, n: int = 1, **extra: Any) -> dict[str, Any]:
    fields = {k: v.format(n=n) for k, v in SAMPLE_COLLATERAL_FIELDS["real_estate"].items()}
    return {"kind": "real_estate", "owner": owner, "fields": fields, "declared_value": "800000.00", **extra}


def deposit(owner: int, n: int = 1, **extra: Any) -> dict[str, Any]:
    fields = {k: v.format(n=n) for k, v in SAMPLE_COLLATERAL_FIELDS["deposit"].items()}  # balance 200000.00
    return {"kind": "deposit", "owner": owner, "fields": fields, **extra}


def count(nongxin_uow: Any, model: Any) -> int:
    nongxin_uow.session.expire_all()
    return int(nongxin_uow.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def test_register_with_a_first_valuation_then_show_list_and_value(nongxin_client, new_customer, nongxin_uow, today):
    cm = nongxin_client.as_user("jinan.cm")
    owner = new_customer("JNRCB-LX-G01", name="钱抵押")
    body = house(owner, valuation={"value": "750000.00", "method": "market", "valuer": "济南评估所",
                                   "valuer_kind": "external", "valued_on": today.isoformat()})
    made = cm.post("/api/collateral", json=body)
    assert made.status_code == 201, made.get_json()
    item = made.get_json()
    assert item["number"].startswith(f"JNRCB-K{today.year}-") and item["kind"] == "real_estate"
    assert item["institution"] == "JNRCB-LX" and item["value"] == "750000.00" and not item["expired"]
    assert item["owner"]["id"] == owner and "*" not in item["owner"]["id_number"]  # credit staff see it whole
    assert item["fields"]["certificate_no"] == "鲁(2024)济南市不动产权第0000001号"
    assert [v["valuer_kind"] for v in item["valuations"]] == ["external"]
    assert nongxin_uow.session.execute(sa.select(AuditEntry.action).where(
        AuditEntry.target == f"collateral:{item['number']}").order_by(AuditEntry.id)).scalars().all() == [
        "collateral.register", "collateral.value"]

    again = cm.post(f"/api/collateral/{item['id']}/valuations",
                    json={"value": "700000.00", "method": "index", "valuer": "钱经理", "valued_on": today.isoformat()})
    assert again.status_code == 201 and again.get_json()["valuer_kind"] == "internal", again.get_json()
    history = cm.get(f"/api/collateral/{item['id']}/valuations").get_json()
    assert [v["value"] for v in history] == ["700000.00", "750000.00"]  # newest first
    listed = cm.get(f"/api/collateral?customer={owner}").get_json()
    assert [(i["id"], i["value"], i["active_pledges"]) for i in listed] == [(item["id"], "700000.00", 0)]
    assert cm.get(f"/api/collateral?customer={owner}&kind=vehicle").get_json() == []
    assert "*" in nongxin_client.as_user("jinan.admin").get(f"/api/collateral/{item['id']}").get_json()["owner"][
        "id_number"]  # an administrator sees it masked


def test_every_bad_field_is_named_at_once_and_nothing_is_written(nongxin_client, new_customer, nongxin_uow):
    cm = nongxin_client.as_user("jinan.cm")
    owner = new_customer("JNRCB-LX-G01")
    body = {"kind": "vehicle", "owner": owner, "declared_value": "20000000000.00",
            "fields": {"vin": make_vin("LSVAM418C2000001")[:-1] + "Q", "colour": "red"}}
    refused = cm.post("/api/collateral", json=body)
    assert refused.status_code == 422
    named = set(refused.get_json()["fields"])
    assert {"fields.vin", "fields.colour", "declared_value"} <= named, named
    unknown = cm.post("/api/collateral", json={**body, "kind": "spaceship"})
    assert unknown.status_code == 422 and "kind" in unknown.get_json()["fields"]
    assert count(nongxin_uow, CollateralItem) == 0


def test_a_deposit_above_its_balance_is_refused_at_registration_and_at_valuation(nongxin_client, new_customer,
                                                                                nongxin_uow, today):
    cm = nongxin_client.as_user("jinan.cm")
    owner = new_customer("JNRCB-LX-G01")
    above = cm.post("/api/collateral", json=deposit(owner, declared_value="200000.01"))
    assert above.status_code == 422 and "declared_value" in above.get_json()["fields"], above.get_json()
    valued_above = cm.post("/api/collateral", json=deposit(owner, valuation={
        "value": "250000.00", "method": "face_value", "valuer": "钱经理", "valued_on": today.isoformat()}))
    assert valued_above.status_code == 422 and "valuation.value" in valued_above.get_json()["fields"]
    assert count(nongxin_uow, CollateralItem) == 0  # a refused first valuation leaves no item behind
    made = cm.post("/api/collateral", json=deposit(owner))
    assert made.status_code == 201 and made.get_json()["declared_value"] == "200000.00"
    later = cm.post(f"/api/collateral/{made.get_json()['id']}/valuations",
                    json={"value": "200000.50", "method": "face_value", "valuer": "钱经理",
                          "valued_on": today.isoformat()})
    assert later.status_code == 422 and "balance" in " ".join(later.get_json()["fields"]["value"])
    assert count(nongxin_uow, CollateralValuation) == 0


def test_a_valuation_in_the_future_or_by_a_plugin_is_refused(nongxin_client, nongxin_app, today):
    item = open_test_item(nongxin_app)
    cm = nongxin_client.as_user("jinan.cm")
    body = {"value": "600000.00", "method": "market", "valuer": "钱经理", "valued_on": today.isoformat()}
    future = cm.post(f"/api/collateral/{item}/valuations",
                     json={**body, "valued_on": (today + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and "valued_on" in future.get_json()["fields"], future.get_json()
    plugin = cm.post(f"/api/collateral/{item}/valuations", json={**body, "valuer_kind": "plugin"})
    assert plugin.status_code == 422 and "valuer_kind" in plugin.get_json()["fields"]
    assert cm.post(f"/api/collateral/{item}/valuations", json=body).status_code == 201


def test_another_county_banks_items_and_owners_are_404_and_never_listed(nongxin_client, nongxin_app, new_customer):
    item = open_test_item(nongxin_app)  # at JNRCB-LX
    linyi = nongxin_client.as_user("linyi.cm")
    assert linyi.get(f"/api/collateral/{item}").status_code == 404
    assert linyi.get(f"/api/collateral/{item}/valuations").status_code == 404
    assert linyi.post(f"/api/collateral/{item}/valuations", json={
        "value": "1.00", "method": "market", "valuer": "x", "valued_on": "2020-01-01"}).status_code == 404
    assert linyi.get("/api/collateral").get_json() == []
    assert linyi.get("/api/collateral?institution=JNRCB").status_code == 404
    jinan_owner = new_customer("JNRCB-LX-G01")
    refused = linyi.post("/api/collateral", json=house(jinan_owner, 7))
    assert refused.status_code == 404 and "owner" in refused.get_json()["fields"]
    elsewhere = nongxin_client.as_user("jinan.cm").post("/api/collateral", json=house(jinan_owner, 8,
                                                                                     institution="LYRCB"))
    assert elsewhere.status_code == 404 and "institution" in elsewhere.get_json()["fields"]
    assert len(nongxin_client.as_user("jinan.cm").get("/api/collateral").get_json()) == 1


def test_a_duplicate_is_409_naming_the_first_item(nongxin_client, new_customer, nongxin_uow):
    cm = nongxin_client.as_user("jinan.cm")
    owner = new_customer("JNRCB-LX-G01")
    first = cm.post("/api/collateral", json=house(owner, 3)).get_json()
    again = cm.post("/api/collateral", json=house(new_customer("JNRCB-LX-G01", name="李二"), 3))
    assert again.status_code == 409 and again.get_json()["error"] == "duplicate_collateral"
    assert first["number"] in again.get_json()["message"]
    assert count(nongxin_uow, CollateralItem) == 1


def test_the_list_filters_by_line_and_institution(nongxin_client, nongxin_app):
    line = open_test_line(nongxin_app, amount="500000.00")
    pledged = open_test_item(nongxin_app, line_id=line)
    loose = open_test_item(nongxin_app, kind="vehicle")
    cm = nongxin_client.as_user("jinan.cm")
    assert [i["id"] for i in cm.get(f"/api/collateral?line={line}").get_json()] == [pledged]
    assert {i["id"] for i in cm.get("/api/collateral?institution=JNRCB-LX").get_json()} == {pledged, loose}
    shown = cm.get(f"/api/collateral/{pledged}").get_json()
    assert [(p["line_id"], p["rank"], p["status"]) for p in shown["pledges"]] == [(line, 1, "pledged")]
    assert shown["active_pledges"] == 1


def test_an_expired_valuation_shows_zero(nongxin_client, nongxin_app, today):
    item = open_test_item(nongxin_app, valued_on=today - timedelta(days=400), valid_until=today - timedelta(days=35))
    shown = nongxin_client.as_user("jinan.cm").get(f"/api/collateral/{item}").get_json()
    assert (shown["value"], shown["expired"]) == ("0.00", True)


def test_kinds_show_fields_and_the_terms_in_force_with_their_source(nongxin_client):
    params = nongxin_client.as_user("jinan.params")
    assert params.post("/api/parameters", json={"name": "collateral.vehicle.haircut", "institution": "JNRCB",
                                                "value": "0.30"}).status_code == 201
    shown = nongxin_client.as_user("jinan.cm").get("/api/collateral/kinds").get_json()
    assert shown["county_bank"] == "JNRCB"
    kinds = {k["kind"]: k for k in shown["kinds"]}
    assert (Decimal(kinds["vehicle"]["haircut"]), kinds["vehicle"]["haircut_source"]) == (Decimal("0.30"), "JNRCB")
    assert (Decimal(kinds["real_estate"]["ltv_max"]), kinds["real_estate"]["revalue_days"]) == (Decimal("0.70"), 365)
    assert "vin" in [f["name"] for f in kinds["vehicle"]["fields"]] and kinds["deposit"]["registrable"] is False
    linyi = nongxin_client.as_user("linyi.cm").get("/api/collateral/kinds").get_json()
    assert Decimal({k["kind"]: k for k in linyi["kinds"]}["vehicle"]["haircut"]) == Decimal("0.20")
    assert nongxin_client.as_user("linyi.cm").get("/api/collateral/kinds?institution=JNRCB").status_code == 404


def test_a_haircut_of_1_2_and_a_county_loosening_are_422_naming_the_parameter(nongxin_client):
    admin = nongxin_client.as_user("province.admin")
    over = admin.post("/api/parameters", json={"name": "collateral.real_estate.haircut", "institution": "SD",
                                               "value": "1.2"})
    assert over.status_code == 422 and "value" in over.get_json()["fields"], over.get_json()
    county = nongxin_client.as_user("jinan.params")
    looser = county.post("/api/parameters", json={"name": "collateral.real_estate.haircut", "institution": "JNRCB",
                                                  "value": "0.05"})
    assert looser.status_code == 422, looser.get_json()
    assert "collateral.real_estate.haircut" in looser.get_json()["message"] + str(looser.get_json()["fields"])
    higher_ltv = county.post("/api/parameters", json={"name": "collateral.vehicle.ltv_max", "institution": "JNRCB",
                                                      "value": "0.60"})
    assert higher_ltv.status_code == 422


def test_a_same_day_correction_is_the_current_value() -> None:
    from datetime import date

    from nongxin.core.collateral.domain import Valued, current_value

    day, until = date(2026, 3, 1), date(2026, 12, 31)
    history = [Valued(Decimal("750000.00"), day, until), Valued(Decimal("700000.00"), day, until)]  # oldest first
    assert current_value(history, day) == Decimal("700000.00")
