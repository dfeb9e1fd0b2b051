"""Pledges through the API: ranks, registration, release against the line's loan-to-value limit,
another county bank's item, drawdowns of a product that needs registered collateral, and every
refusal writing nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.audit.models import AuditEntry
from nongxin.core.auth import Principal
from nongxin.core.collateral import pledges
from nongxin.core.collateral.models import Pledge, PledgeStatus
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NotFound
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Role
from nongxin.core.testing import open_test_item, open_test_line

D = Decimal
DRAW = {"amount": "500000.00", "term_months": 12, "repayment_method": "equal_installment",
        "account": "6228480000000001", "product": "FANG_DI_DAI"}
_keys = iter(range(10**6))


@pytest.fixture
def cm(nongxin_client: Any) -> Any:
    return nongxin_client.as_user("jinan.cm")


def _today(app: Any) -> Any:
    return app.extensions["nongxin"].clock.business_date()


def _pledge(client: Any, item: int, line: int, **extra: Any) -> Any:
    return client.post(f"/api/collateral/{item}/pledges", json={"credit_line": line, **extra})


def _draw(client: Any, line: int, **changes: Any) -> Any:
    return client.post(f"/api/credit-lines/{line}/drawdowns", json={**DRAW, **changes},
                       headers={"Idempotency-Key": f"pledge-{next(_keys)}"})


def test_pledges_take_ranks_in_order_and_registration_by_kind(nongxin_app: Any, cm: Any, nongxin_uow: Any) -> None:
    first, second, third = (open_test_line(nongxin_app) for _ in range(3))
    house = open_test_item(nongxin_app)
    deposit = open_test_item(nongxin_app, kind="deposit", value="100000.00")
    a = _pledge(cm, house, first)
    assert a.status_code == 201, a.get_json()
    assert (a.get_json()["rank"], a.get_json()["registration"], a.get_json()["status"]) == (1, "pending", "pledged")
    b = _pledge(cm, house, second, rank=5).get_json()
    assert b["rank"] == 5
    assert _pledge(cm, house, third).get_json()["rank"] == 6  # one below the lowest taken
    assert _pledge(cm, deposit, first).get_json()["registration"] == "not_required"
    entries = nongxin_uow.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "collateral.pledge")).all()
    assert len(entries) == 4


def test_every_pledge_refusal_names_the_reason_and_writes_nothing(nongxin_app: Any, cm: Any, nongxin_client: Any,
                                                                   db_snapshot: Any) -> None:
    line, other = open_test_line(nongxin_app), open_test_line(nongxin_app)
    closed = open_test_line(nongxin_app, status="closed")
    house = open_test_item(nongxin_app, line_id=line)
    linyi_item = open_test_item(nongxin_app, place="LYRCB", manager="linyi.cm")
    linyi_line = open_test_line(nongxin_app, place="LYRCB", manager="linyi.cm")
    before = db_snapshot()

    def refused(resp: Any, status: int, code: str, field: str) -> dict[str, Any]:
        answer = resp.get_json()
        assert resp.status_code == status and answer["error"] == code and field in answer["fields"], answer
        assert db_snapshot() == before
        return answer

    assert "held by credit line" in refused(_pledge(cm, house, other, rank=1), 409, "rank_taken", "rank")["message"]
    refused(_pledge(cm, house, line), 409, "already_pledged", "credit_line")
    assert "closed" in refused(_pledge(cm, house, closed), 409, "invalid_state", "credit_line")["message"]
    # pledging an item of another county bank: 404, as for a missing one
    assert refused(_pledge(cm, linyi_item, line), 404, "not_found", "collateral")["fields"] == {
        "collateral": ["not found"]}
    refused(_pledge(cm, house, linyi_line), 404, "not_found", "credit_line")
    refused(_pledge(cm, 999999, line), 404, "not_found", "collateral")
    refused(_pledge(cm, house, other, rank=0), 422, "validation_failed", "rank")
    resp = _pledge(nongxin_client.as_user("jinan.approver"), house, other)
    assert resp.status_code == 403 and "collateral.pledge" in resp.get_json()["message"]
    assert db_snapshot() == before


def test_an_item_and_a_line_of_two_county_banks_never_meet(nongxin_app: Any, nongxin_demo: Any) -> None:
    """Even a caller who sees both banks gets 404 for a line of another bank than the item's."""
    item = open_test_item(nongxin_app)
    line = open_test_line(nongxin_app, place="LYRCB", manager="linyi.cm")
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        root = institutions.get_by_code(unit.session, "SD")
        assert root is not None
        wide = Principal("wide.admin", Role.COUNTY_ADMIN, root.id, root.code, root.path)
        with pytest.raises(NotFound) as refused:
            pledges.pledge(unit, wide, item, line, today=_today(nongxin_app))
        assert refused.value.fields == {"credit_line": ["not found"]}
        unit.rollback()


def test_registration_is_checked_recorded_once_and_audited(nongxin_app: Any, cm: Any, db_snapshot: Any,
                                                           nongxin_uow: Any) -> None:
    today = _today(nongxin_app)
    line = open_test_line(nongxin_app)
    pledge = _pledge(cm, open_test_item(nongxin_app), line).get_json()["id"]
    url = f"/api/collateral/pledges/{pledge}/registration"
    before = db_snapshot()
    bad = cm.post(url, json={"registration_no": "  ", "registered_on": (today + timedelta(days=1)).isoformat()})
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"registration_no", "registered_on"}
    early = cm.post(url, json={"registration_no": "鲁(2026)济南市不动产证明第0000042号",
                               "registered_on": (today - timedelta(days=1)).isoformat()})
    assert early.status_code == 422 and "before the pledge" in early.get_json()["fields"]["registered_on"][0]
    assert db_snapshot() == before
    ok = cm.post(url, json={"registration_no": "鲁(2026)济南市不动产证明第0000042号", "registered_on": today.isoformat()})
    assert ok.status_code == 200, ok.get_json()
    assert (ok.get_json()["registration"], ok.get_json()["registration_no"]) == (
        "registered", "鲁(2026)济南市不动产证明第0000042号")
    again = cm.post(url, json={"registration_no": "X1", "registered_on": today.isoformat()})
    assert again.status_code == 409 and "registered" in again.get_json()["message"]
    deposit = _pledge(cm, open_test_item(nongxin_app, kind="deposit", value="1000.00"), line).get_json()["id"]
    none = cm.post(f"/api/collateral/pledges/{deposit}/registration",
                   json={"registration_no": "X1", "registered_on": today.isoformat()})
    assert none.status_code == 409 and "not_required" in none.get_json()["message"]
    assert nongxin_uow.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "collateral.register_mortgage")).scalar_one() == 1


def test_a_release_that_would_push_the_ltv_over_its_limit_is_409_with_the_figures(
        nongxin_app: Any, nongxin_client: Any, db_snapshot: Any) -> None:
    cm, approver = nongxin_client.as_user("jinan.cm"), nongxin_client.as_user("jinan.approver")
    line = open_test_line(nongxin_app, amount="2000000.00", products=("FANG_DI_DAI",))
    house = open_test_item(nongxin_app, value="1000000.00", line_id=line)  # lends 900,000, limit 630,000
    deposit = open_test_item(nongxin_app, kind="deposit", value="100000.00", line_id=line)  # 100,000 at 0.90
    assert _draw(cm, line).status_code == 201  # 500,000 within 720,000
    ids = dict(nongxin_app.extensions["nongxin"].sessions().execute(
        sa.select(Pledge.item_id, Pledge.id).where(Pledge.credit_line_id == line)).all())
    before = db_snapshot()
    resp = approver.post(f"/api/collateral/pledges/{ids[house]}/release", json={"reason": "客户要求"})
    answer = resp.get_json()
    assert resp.status_code == 409 and answer["error"] == "ltv_exceeded", answer
    # after: exposure 500,000 over the deposit's 100,000 eligible: ltv 5, limit 0.9 (90,000)
    assert answer["fields"]["exposure"] == ["500000.00"]
    assert answer["fields"]["eligible_value_after"] == ["100000.00"]
    assert answer["fields"]["ltv_after"] == ["5.000000"] and answer["fields"]["ltv_limit"] == ["0.900000"]
    assert answer["fields"]["limit_after"] == ["90000.00"]
    assert "500000.00" in answer["message"] and "0.900000" in answer["message"]
    assert db_snapshot() == before
    assert cm.post(f"/api/collateral/pledges/{ids[deposit]}/release", json={}).status_code == 403  # role
    # the deposit may go: the house alone allows 630,000
    ok = approver.post(f"/api/collateral/pledges/{ids[deposit]}/release", json={"reason": "存单到期"})
    assert ok.status_code == 200 and ok.get_json()["status"] == "released", ok.get_json()
    assert ok.get_json()["released_on"] == _today(nongxin_app).isoformat()
    twice = approver.post(f"/api/collateral/pledges/{ids[deposit]}/release", json={})
    assert twice.status_code == 409 and twice.get_json()["fields"] == {"pledge": ["is released"]}
    cover = cm.get(f"/api/credit-lines/{line}/collateral").get_json()
    assert (cover["exposure"], cover["eligible"], cover["limit"], cover["shortfall"]) == (
        "500000.00", "900000.00", "630000.00", "0.00")
    assert [i["item"] for i in cover["items"]] == [house]
    assert nongxin_client.as_user("linyi.cm").get(f"/api/credit-lines/{line}/collateral").status_code == 404
    shown = cm.get(f"/api/credit-lines/{line}").get_json()
    assert shown["collateral"]["limit"] == "630000.00" and shown["collateral"]["ltv"] == "0.555556"


def test_a_drawdown_waits_for_registration_and_stays_within_the_collateral_limit(
        nongxin_app: Any, cm: Any, db_snapshot: Any) -> None:
    today = _today(nongxin_app)
    line = open_test_line(nongxin_app, amount="2000000.00", products=("FANG_DI_DAI",))
    before = db_snapshot()
    none = _draw(cm, line)
    assert none.status_code == 422 and none.get_json()["error"] == "collateral_not_registered"
    assert "none is pledged" in none.get_json()["fields"]["product"][0]
    assert db_snapshot() == before
    car = open_test_item(nongxin_app, kind="vehicle", value="300000.00", line_id=line)  # another kind: no help
    assert _draw(cm, line).get_json()["error"] == "collateral_not_registered"
    pledge = _pledge(cm, open_test_item(nongxin_app, value="1000000.00"), line).get_json()["id"]
    before = db_snapshot()
    pending = _draw(cm, line)
    assert pending.status_code == 422 and pending.get_json()["error"] == "collateral_not_registered"
    assert "not registered" in pending.get_json()["fields"]["product"][0]
    assert db_snapshot() == before
    registered = cm.post(f"/api/collateral/pledges/{pledge}/registration",
                         json={"registration_no": "鲁(2026)济南市不动产证明第0000007号", "registered_on": today.isoformat()})
    assert registered.status_code == 200
    # house 900,000 x 0.70 = 630,000 plus the car 300,000 x 0.80 x 0.50 = 120,000: limit 750,000
    assert _draw(cm, line).status_code == 201
    before = db_snapshot()
    short = _draw(cm, line, amount="300000.00")
    answer = short.get_json()
    assert short.status_code == 422 and answer["error"] == "collateral_shortfall", answer
    assert "800000.00" in answer["fields"]["amount"][0] and "750000.00" in answer["fields"]["amount"][0]
    assert "at most 250000.00" in answer["fields"]["amount"][0]
    assert db_snapshot() == before
    assert _draw(cm, line, amount="250000.00").status_code == 201
    assert car
    assert _draw(cm, line, amount="100000.00").get_json()["error"] == "collateral_shortfall"  # the limit reached


def test_two_pledges_of_one_item_at_one_rank_one_wins(nongxin_app: Any, nongxin_demo: Any, nongxin_uow: Any) -> None:
    item = open_test_item(nongxin_app)
    lines = [open_test_line(nongxin_app) for _ in range(4)]
    answers = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        ("jinan.cm", "POST", f"/api/collateral/{item}/pledges", {"credit_line": line, "rank": 1}, {}) for line in lines])
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201, 409, 409, 409], answers
    assert all(body["error"] == "rank_taken" for status, body in answers if status == 409)
    assert nongxin_uow.session.execute(sa.select(sa.func.count()).select_from(Pledge).where(
        Pledge.item_id == item, Pledge.status == PledgeStatus.PLEDGED)).scalar_one() == 1


def test_the_cli_pledges_registers_shows_and_releases(nongxin_app: Any, nongxin_demo: Any) -> None:
    from click.testing import CliRunner

    from nongxin.core.cli import main
    from nongxin.core.clikit import Console

    console = Console(nongxin_app.extensions["nongxin"].settings)
    today = _today(nongxin_app)
    line = open_test_line(nongxin_app)
    item = open_test_item(nongxin_app, value="1000000.00")

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["collateral", *args], obj=console)

    pledged = run("pledge", str(item), "--line", str(line), "--user", "jinan.cm")
    assert pledged.exit_code == 0 and "rank 1 (pending)" in pledged.output, pledged.output
    pledge = int(pledged.output.split()[1].rstrip(":"))
    taken = run("pledge", str(open_test_item(nongxin_app)), "--line", str(line), "--rank", "0", "--user", "jinan.cm")
    assert taken.exit_code != 0 and "rank" in taken.output and "Traceback" not in taken.output
    future = run("register-mortgage", str(pledge), "--registration-no", "鲁(2026)济南市不动产证明第0000009号",
                 "--registered-on", (today + timedelta(days=1)).isoformat(), "--user", "jinan.cm")
    assert future.exit_code != 0 and "registered_on" in future.output
    ok = run("register-mortgage", str(pledge), "--registration-no", "鲁(2026)济南市不动产证明第0000009号",
             "--registered-on", today.isoformat(), "--user", "jinan.cm")
    assert ok.exit_code == 0 and "is registered" in ok.output, ok.output
    cover = run("cover", str(line), "--user", "jinan.cm")
    assert cover.exit_code == 0 and "limit 630000.00" in cover.output and "registered" in cover.output, cover.output
    shown = CliRunner().invoke(main, ["lines", "show", str(line), "--user", "jinan.cm"], obj=console)
    assert shown.exit_code == 0 and "collateral  eligible 900000.00  limit 630000.00" in shown.output, shown.output
    released = run("release", str(pledge), "--reason", "结清", "--user", "jinan.approver")
    assert released.exit_code == 0 and f"released on {today}" in released.output, released.output
    hidden = run("cover", str(line), "--user", "linyi.cm")
    assert hidden.exit_code != 0 and "not found" in hidden.output
