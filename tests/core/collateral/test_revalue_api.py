"""``POST /api/collateral/{id}/revalue``: 201 with the plugin's valuation; 409 naming why when no
valuer answers or the valuer fails, with nothing written; 404 for another county bank's item;
403 for a role that may not value; a body with fields is 422."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.collateral.models import CollateralValuation
from nongxin.core.db import UnitOfWork
from nongxin.core.testing import open_test_item
from nongxin.sdk import PluginInfo, PluginKind, hookimpl


@hookimpl
def _broken(collateral: Any, ctx: Any) -> Any:
    raise ConnectionError("price index offline")


BROKEN = ModuleType("broken_valuer")
BROKEN.PLUGIN = PluginInfo(name="broken_valuer", version="0.1.0", kind=PluginKind.VALUATION)  # type: ignore[attr-defined]
BROKEN.nongxin_value_collateral = _broken  # type: ignore[attr-defined]


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [BROKEN]


def _count(app: Any, item_id: int) -> int:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return unit.session.execute(sa.select(sa.func.count()).select_from(CollateralValuation).where(
            CollateralValuation.item_id == item_id)).scalar_one()


def test_revalue_answers_201_with_the_plugins_valuation(nongxin_app: Any, nongxin_client: Any,
                                                         nongxin_enable: Any) -> None:
    nongxin_enable("collateral_sim", "JNRCB")
    item = open_test_item(nongxin_app, kind="vehicle", value="200000.00")
    resp = nongxin_client.as_user("jinan.cm").post(f"/api/collateral/{item}/revalue", json={})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    today = nongxin_app.extensions["nongxin"].clock.business_date().isoformat()
    assert body["item"] == item and body["number"].startswith("JNRCB-K")
    assert {k: body["valuation"][k] for k in ("value", "method", "valuer_kind", "valuer", "valued_on", "recorded_by")} \
        == {"value": "170000.00", "method": "index", "valuer_kind": "plugin", "valuer": "collateral_sim",
            "valued_on": today, "recorded_by": "jinan.cm"}
    assert _count(nongxin_app, item) == 2


def test_no_answer_and_a_failing_valuer_are_409_naming_why_with_nothing_written(
        nongxin_app: Any, nongxin_client: Any, nongxin_enable: Any) -> None:
    nongxin_enable("collateral_sim", "JNRCB")
    guarantee = open_test_item(nongxin_app, kind="guarantee_person", value="100000.00")
    cm = nongxin_client.as_user("jinan.cm")
    resp = cm.post(f"/api/collateral/{guarantee}/revalue", json={})
    assert resp.status_code == 409
    assert resp.get_json()["error"] == "no_automatic_value"
    assert "no valuer plugin enabled at JNRCB-LX valued this guarantee_person" in resp.get_json()["message"]
    nongxin_enable("broken_valuer", "JNRCB")  # answers before the simulator (which answers last)
    house = open_test_item(nongxin_app)
    resp = cm.post(f"/api/collateral/{house}/revalue", json={})
    assert resp.status_code == 409 and resp.get_json()["error"] == "valuer_failed"
    assert "valuer broken_valuer failed: ConnectionError: price index offline" in resp.get_json()["message"]
    assert _count(nongxin_app, guarantee) == 1 and _count(nongxin_app, house) == 1


def test_scope_role_and_body(nongxin_app: Any, nongxin_client: Any, nongxin_enable: Any) -> None:
    nongxin_enable("collateral_sim", "LYRCB")
    elsewhere = open_test_item(nongxin_app, place="LYRCB", manager="linyi.cm")
    resp = nongxin_client.as_user("jinan.cm").post(f"/api/collateral/{elsewhere}/revalue", json={})
    assert resp.status_code == 404 and _count(nongxin_app, elsewhere) == 1
    mine = open_test_item(nongxin_app)
    resp = nongxin_client.as_user("jinan.pm").post(f"/api/collateral/{mine}/revalue", json={})
    assert resp.status_code == 403 and "collateral.value" in resp.get_json()["message"]
    resp = nongxin_client.as_user("jinan.cm").post(f"/api/collateral/{mine}/revalue", json={"value": "9"})
    assert resp.status_code == 422 and "value" in resp.get_json()["fields"]
    assert _count(nongxin_app, mine) == 1
