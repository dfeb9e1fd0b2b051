"""Dated parameters through the API and the CLI: everyone in scope reads them with their source,
admins set them from today on, tighten-only caps never loosen down the tree, every change is audited."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.parameters import services
from nongxin.core.parameters.models import ParameterValue
from nongxin.core.parameters.registry import PARAMETERS

CAP = "credit.customer_exposure_cap"


@pytest.fixture
def today(nongxin_app) -> date:
    return nongxin_app.extensions["nongxin"].clock.business_date()


@pytest.fixture
def admin(nongxin_client):
    return nongxin_client.as_user("province.admin")


def by_name(answer):
    return {p["name"]: p for p in answer["parameters"]}


def post(client, name, institution, value, **extra):
    return client.post("/api/parameters", json={"name": name, "institution": institution, "value": value, **extra})


def test_the_listing_shows_every_parameter_the_demo_lpr_and_where_each_comes_from(nongxin_client, today):
    answer = nongxin_client.as_user("jinan.cm").get("/api/parameters").get_json()
    assert answer["institution"] == "JNRCB-LX" and answer["on"] == today.isoformat()
    found = by_name(answer)
    assert set(found) == set(PARAMETERS)
    assert found["lpr.1y"] == {"name": "lpr.1y", "label": "一年期LPR", "kind": "rate", "value": "0.03",
                               "source": "SD", "effective_from": "2025-05-20", "levels": ["province"],
                               "tighten": None}
    assert (found["lpr.5y"]["value"], found["lpr.5y"]["source"]) == ("0.035", "SD")
    assert (found[CAP]["value"], found[CAP]["source"], found[CAP]["effective_from"]) == ("3000000", "default", None)
    before = by_name(nongxin_client.get("/api/parameters?institution=JNRCB&on=2025-05-19").get_json())
    assert (before["lpr.1y"]["value"], before["lpr.1y"]["source"]) == ("0.03", "default")


def test_the_province_sets_the_lpr_in_percent_from_a_later_day_and_it_applies_from_then(admin, nongxin_client,
                                                                                         nongxin_uow, today):
    later = today + timedelta(days=30)
    resp = post(admin, "lpr.1y", "SD", "2.95%", effective_from=later.isoformat(), note="公告")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["value"] == "0.0295" and resp.get_json()["changed_by"] == "province.admin"
    reader = nongxin_client.as_user("jinan.cm")
    assert by_name(reader.get("/api/parameters").get_json())["lpr.1y"]["value"] == "0.03"
    then = by_name(reader.get(f"/api/parameters?on={later.isoformat()}").get_json())["lpr.1y"]
    assert (then["value"], then["source"], then["effective_from"]) == ("0.0295", "SD", later.isoformat())
    history = reader.get("/api/parameters/lpr.1y/history").get_json()
    assert [(r["value"], r["effective_from"]) for r in history["rows"]] == [
        ("0.0295", later.isoformat()), ("0.03", "2025-05-20")]
    nongxin_uow.rollback()
    entry = nongxin_uow.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "parameter.set",
                                                                    AuditEntry.actor == "province.admin")).scalar_one()
    assert entry.target == "parameter:lpr.1y@SD" and entry.after["value"] == "0.0295"
    province = nongxin_uow.session.execute(sa.text("select id from institutions where code='SD'")).scalar()
    from nongxin.core.institutions.models import Institution
    inst = nongxin_uow.session.get(Institution, province)
    assert services.lpr(nongxin_uow.session, inst, later).for_term(12) == services.value(
        nongxin_uow.session, inst, "lpr.1y", later)


def test_the_lpr_is_set_only_at_the_province(nongxin_client):
    resp = post(nongxin_client.as_user("jinan.admin"), "lpr.1y", "JNRCB", "0.02")
    assert resp.status_code == 422 and "institution" in resp.get_json()["fields"], resp.get_json()
    assert "province" in resp.get_json()["message"]


@pytest.mark.parametrize("value, reason", [("abc", "not a decimal"), ("0.5", "at most"), ("-1%", "at least"),
                                           ("0.0000001", "millionth"), ("NaN", "finite"), ("1e999999", "too large")])
def test_an_unparsable_or_out_of_range_value_is_refused_naming_value(admin, value, reason):
    resp = post(admin, "lpr.1y", "SD", value)
    assert resp.status_code == 422 and reason in " ".join(resp.get_json()["fields"]["value"]), resp.get_json()


def test_an_unknown_name_and_a_float_value_are_refused(admin):
    assert "name" in post(admin, "lpr.2y", "SD", "0.03").get_json()["fields"]
    assert "value" in post(admin, "lpr.1y", "SD", 0.03).get_json()["fields"]
    assert admin.get("/api/parameters/lpr.2y/history").status_code == 422


def test_the_past_is_never_rewritten(admin, today):
    resp = post(admin, "lpr.1y", "SD", "0.029", effective_from=(today - timedelta(days=1)).isoformat())
    assert resp.status_code == 422 and "effective_from" in resp.get_json()["fields"], resp.get_json()
    assert post(admin, "lpr.1y", "SD", "0.029").status_code == 201  # today is fine


def test_a_second_row_for_the_same_day_is_409(admin):
    assert post(admin, "review.review_days", "JNRCB", "3").status_code == 201
    again = post(admin, "review.review_days", "JNRCB", "4")
    assert again.status_code == 409 and again.get_json()["error"] == "duplicate_parameter"


def test_a_county_may_tighten_the_cap_but_never_loosen_it(nongxin_client, admin, today):
    county = nongxin_client.as_user("jinan.admin")
    looser = post(county, CAP, "JNRCB", "3000000.01")
    assert looser.status_code == 422, looser.get_json()
    message = " ".join(looser.get_json()["fields"]["value"])
    assert "3000000" in message and "default" in message
    assert post(county, CAP, "JNRCB", "2000000").status_code == 201
    # the province raises its own cap later: Jinan keeps its lower one
    assert post(admin, CAP, "SD", "5000000", effective_from=(today + timedelta(days=10)).isoformat()).status_code == 201
    later = (today + timedelta(days=20)).isoformat()
    jinan = by_name(county.get(f"/api/parameters?on={later}").get_json())[CAP]
    assert (jinan["value"], jinan["source"]) == ("2000000", "JNRCB")
    # a city below the province may not set more than the province's cap that day
    refused = post(admin, CAP, "SD-LZ", "6000000", effective_from=later)
    assert refused.status_code == 422 and "SD" in refused.get_json()["message"]
    # the province later tightens below Jinan: the tighter value wins at Jinan, whatever Jinan set
    assert post(admin, CAP, "SD", "1000000", effective_from=(today + timedelta(days=40)).isoformat()).status_code == 201
    latest = by_name(county.get(f"/api/parameters?on={(today + timedelta(days=41)).isoformat()}").get_json())[CAP]
    assert (latest["value"], latest["source"]) == ("1000000", "SD")


def test_scope_outside_the_subtree_is_404_and_roles_that_may_not_are_403(nongxin_client):
    linyi = nongxin_client.as_user("linyi.admin")
    assert post(linyi, "review.review_days", "JNRCB", "3").status_code == 404
    assert linyi.get("/api/parameters?institution=JNRCB").status_code == 404
    assert linyi.get("/api/parameters/lpr.1y/history?institution=JNRCB").status_code == 404
    assert post(nongxin_client.as_user("jinan.cm"), "review.review_days", "JNRCB", "3").status_code == 403
    assert post(nongxin_client.as_user("jinan.params"), "review.review_days", "JNRCB", "3").status_code == 201


def test_two_admins_setting_the_same_row_at_once_get_one_row_and_a_409(nongxin_app, nongxin_demo, nongxin_uow, today):
    from nongxin.core.auth import Principal
    from nongxin.core.db import UnitOfWork
    from nongxin.core.errors import Conflict
    from nongxin.core.institutions.models import Role

    sessions = nongxin_app.extensions["nongxin"].sessions
    who = Principal("province.admin", Role.PROVINCE_ADMIN, 1, "SD", "/1/")
    first_written, errors = threading.Event(), []

    def second() -> None:
        try:
            first_written.wait(10)
            with UnitOfWork(sessions) as unit:
                services.set_value(unit, who, "review.approval_days", "JNRCB", "5", today=today)
                unit.commit()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with UnitOfWork(sessions) as unit:
        services.set_value(unit, who, "review.approval_days", "JNRCB", "4", today=today)
        first_written.set()
        thread.join(0.5)  # the second writer is now waiting for this transaction (or for SQLite's lock)
        unit.commit()
    thread.join(30)
    assert not thread.is_alive() and len(errors) == 1 and isinstance(errors[0], Conflict), errors
    nongxin_uow.rollback()
    rows = nongxin_uow.session.execute(sa.select(ParameterValue.value).where(
        ParameterValue.name == "review.approval_days")).scalars().all()
    assert rows == ["4"]


def run(settings, *args):
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def test_cli_list_and_set_accept_percent_and_refuse_like_the_api(nongxin_settings, nongxin_demo, today):
    later = (today + timedelta(days=7)).isoformat()
    done = run(nongxin_settings, "parameters", "set", "lpr.5y", "3.45%", "--institution", "SD", "--from", later,
               "--note", "公告")
    assert done.exit_code == 0, done.output
    assert f"lpr.5y = 0.0345 at SD from {later}" in done.output
    shown = run(nongxin_settings, "parameters", "list", "--institution", "JNRCB", "--as-of", later)
    assert shown.exit_code == 0, shown.output
    assert f"0.0345       SD from {later}" in shown.output
    refused = run(nongxin_settings, "parameters", "set", "lpr.5y", "0.03", "--institution", "JNRCB")
    assert refused.exit_code == 2 and "province" in refused.output
    assert "3.45%" in run(nongxin_settings, "parameters", "set", "--help").output
