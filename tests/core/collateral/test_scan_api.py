"""GET /api/collateral/shortfalls: the scan's findings in the caller's subtree, computed on request
without writing; another county bank's positions never appear."""

from __future__ import annotations

from typing import Any

from nongxin.core.credit.models import CreditLine, CreditLineStatus
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.users import principal_named
from nongxin.core.parameters.services import set_value
from nongxin.core.testing import open_test_item, open_test_line
from tests.core.collateral.test_scan import draw


def _short(app: Any, place: str, manager: str, amount: str) -> int:
    line = open_test_line(app, place=place, manager=manager, amount="900000.00", name=f"客户{place}")
    open_test_item(app, place=place, manager=manager, kind="deposit", value="100000.00", line_id=line)  # limit 90,000
    draw(app, line, amount)
    return line


def _number(app: Any, line_id: int) -> tuple[str, CreditLineStatus]:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        line = unit.session.get(CreditLine, line_id)
        return line.number, line.status


def test_shortfalls_in_the_callers_subtree_only_and_nothing_frozen(nongxin_app: Any, nongxin_client: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:  # even with the freeze setting on, reading writes nothing
        set_value(unit, principal_named(unit.session, "jinan.params"), "collateral.shortfall_freezes_line", "JNRCB",
                  "true", today=runtime.clock.business_date())
        unit.commit()
    jinan = _short(nongxin_app, "JNRCB-LX", "jinan.cm", "95000.00")
    linyi = _short(nongxin_app, "LYRCB-LS", "linyi.cm", "99000.00")
    client = nongxin_client.as_user("jinan.admin")
    body = client.get("/api/collateral/shortfalls").get_json()
    assert body["institution"] == "JNRCB" and body["banks"] == ["JNRCB"]
    assert [(s["line_number"], s["shortfall"], s["ltv"]) for s in body["shortfalls"]] == [
        (_number(nongxin_app, jinan)[0], "5000.00", "0.95")]
    assert [(h["rule_code"], h["colour"]) for h in body["hits"]] == [("PROV-COL-001", "red")]
    assert _number(nongxin_app, jinan)[1] is CreditLineStatus.ACTIVE
    province = nongxin_client.as_user("province.admin").get("/api/collateral/shortfalls").get_json()
    assert {s["line_number"] for s in province["shortfalls"]} == {_number(nongxin_app, jinan)[0],
                                                                 _number(nongxin_app, linyi)[0]}
    other = client.get("/api/collateral/shortfalls?institution=LYRCB")
    assert other.status_code == 404
    linyi_view = nongxin_client.as_user("linyi.admin").get("/api/collateral/shortfalls").get_json()
    assert [s["line_number"] for s in linyi_view["shortfalls"]] == [_number(nongxin_app, linyi)[0]]


def test_a_day_after_the_business_date_is_422(nongxin_client: Any) -> None:
    resp = nongxin_client.as_user("jinan.admin").get("/api/collateral/shortfalls?as_of=2999-01-01")
    assert resp.status_code == 422 and "as_of" in resp.get_json()["fields"]


def test_a_role_without_collateral_read_is_403(nongxin_client: Any) -> None:
    assert nongxin_client.get("/api/collateral/shortfalls").status_code == 403  # the product manager
