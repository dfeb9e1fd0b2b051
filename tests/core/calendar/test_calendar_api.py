"""The calendar through the API, the health check and the CLI: the province admin keeps it,
every change is audited, everyone reads it, and deadlines use it."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.calendar import services
from nongxin.core.cli import Console, main


@pytest.fixture
def admin(nongxin_client):
    return nongxin_client.as_user("province.admin")


def audit_entries(uow, action):
    uow.rollback()
    return uow.session.execute(sa.select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id)).scalars().all()


def test_the_province_admin_sets_a_worked_saturday_and_deadlines_use_it(admin, nongxin_client, nongxin_uow):
    before = nongxin_client.get("/api/calendar/workdays?start=2027-02-05&add=1").get_json()
    assert before == {"start": "2027-02-05", "add": 1, "day": "2027-02-08", "estimated": True}

    resp = admin.put("/api/calendar/days/2027-02-06", json={"kind": "workday", "note": "春节调休"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["day"], body["kind"], body["source"], body["note"]) == ("2027-02-06", "workday", "override", "春节调休")
    assert body["updated_by"] == "province.admin" and body["updated_at"].endswith("+00:00")

    after = nongxin_client.get("/api/calendar/workdays?start=2027-02-05&add=1").get_json()
    assert after == {"start": "2027-02-05", "add": 1, "day": "2027-02-06", "estimated": False}

    [entry] = audit_entries(nongxin_uow, "calendar.set")
    assert (entry.actor, entry.target, entry.before, entry.after) == (
        "province.admin", "calendar:2027-02-06", None, {"kind": "workday", "note": "春节调休"})

    assert admin.put("/api/calendar/days/2027-02-06", json={"kind": "holiday"}).status_code == 200
    second = audit_entries(nongxin_uow, "calendar.set")[-1]
    assert (second.before, second.after) == ({"kind": "workday", "note": "春节调休"}, {"kind": "holiday", "note": ""})


def test_clearing_a_day_is_audited_and_the_estimate_answers_again(admin, nongxin_client, nongxin_uow):
    assert admin.put("/api/calendar/days/2027-02-06", json={"kind": "workday"}).status_code == 200
    assert admin.delete("/api/calendar/days/2027-02-06").status_code == 204
    [entry] = audit_entries(nongxin_uow, "calendar.clear")
    assert (entry.before, entry.after) == ({"kind": "workday", "note": ""}, None)
    assert nongxin_client.get("/api/calendar/workdays?start=2027-02-05&add=1").get_json()["day"] == "2027-02-08"
    again = admin.delete("/api/calendar/days/2027-02-06")
    assert again.status_code == 404 and again.get_json()["fields"] == {"day": ["no override set"]}


@pytest.mark.parametrize("user", ["jinan.admin", "jinan.pm", "jinan.cm"])
def test_only_the_province_admin_changes_the_calendar(nongxin_client, admin, db_snapshot, user):
    assert admin.put("/api/calendar/days/2027-01-01", json={"kind": "holiday"}).status_code == 200
    before = db_snapshot()
    other = nongxin_client.as_user(user)
    refused = other.put("/api/calendar/days/2027-02-06", json={"kind": "workday"})
    assert refused.status_code == 403 and "province_admin" in refused.get_json()["message"]
    assert other.delete("/api/calendar/days/2027-01-01").status_code == 403
    assert db_snapshot() == before
    assert other.get("/api/calendar/days?year=2027").status_code == 200  # reading is open to every role


def test_the_services_refuse_other_roles_too(nongxin_app, nongxin_demo):
    from nongxin.core.auth import Principal
    from nongxin.core.db import UnitOfWork
    from nongxin.core.errors import Forbidden
    from nongxin.core.institutions.models import Role

    county = Principal("jinan.admin", Role.COUNTY_ADMIN, 2, "JNRCB", "/1/2/")
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        with pytest.raises(Forbidden):
            services.set_day(unit, county, date(2027, 1, 1), services.DayKind.HOLIDAY)
        with pytest.raises(Forbidden):
            services.clear_day(unit, county, date(2027, 1, 1))


def test_a_year_lists_the_package_days_and_the_overrides(admin, nongxin_client):
    year = nongxin_client.get("/api/calendar/days?year=2026").get_json()
    assert year["coverage"] == "package"
    national = next(d for d in year["days"] if d["day"] == "2026-10-01")
    assert (national["kind"], national["source"], national["note"]) == ("holiday", "official", "国庆节")
    assert {"day": "2026-10-10", "kind": "workday", "source": "official"}.items() <= next(
        d for d in year["days"] if d["day"] == "2026-10-10").items()

    assert nongxin_client.get("/api/calendar/days?year=2027").get_json() == {
        "year": 2027, "coverage": "missing", "days": []}
    assert admin.put("/api/calendar/days/2027-01-01", json={"kind": "holiday", "note": "元旦"}).status_code == 200
    assert admin.put("/api/calendar/days/2026-10-08", json={"kind": "holiday"}).status_code == 200
    listed = nongxin_client.get("/api/calendar/days?year=2027").get_json()
    assert listed["coverage"] == "overrides" and [d["day"] for d in listed["days"]] == ["2027-01-01"]
    corrected = next(d for d in nongxin_client.get("/api/calendar/days?year=2026").get_json()["days"]
                     if d["day"] == "2026-10-08")
    assert (corrected["source"], corrected["official"]) == ("override", None)
    on_package_day = admin.put("/api/calendar/days/2026-10-01", json={"kind": "workday"}).get_json()
    assert (on_package_day["kind"], on_package_day["official"]) == ("workday", "holiday")


@pytest.mark.parametrize("method, path, body, field", [
    ("put", "/api/calendar/days/2027-02-30", {"kind": "workday"}, "day"),
    ("put", "/api/calendar/days/tomorrow", {"kind": "workday"}, "day"),
    ("put", "/api/calendar/days/9999-01-01", {"kind": "workday"}, "day"),
    ("put", "/api/calendar/days/2027-02-06", {"kind": "weekend"}, "kind"),
    ("put", "/api/calendar/days/2027-02-06", {"kind": "workday", "note": "x" * 201}, "note"),
    ("delete", "/api/calendar/days/2027-13-01", None, "day"),
    ("get", "/api/calendar/workdays?start=2027-02-05&add=99999", None, "add"),
    ("get", "/api/calendar/workdays?start=2027-02-05", None, "add"),
    ("get", "/api/calendar/workdays?start=0001-01-01&add=-5", None, "start"),
    ("get", "/api/calendar/days?year=12027", None, "year"),
])
def test_bad_input_names_the_field_and_writes_nothing(admin, db_snapshot, method, path, body, field):
    before = db_snapshot()
    resp = getattr(admin, method)(path, **({"json": body} if body is not None else {}))
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["fields"]
    assert db_snapshot() == before


def test_backwards_and_at_the_edge_of_the_dates_accepted(nongxin_client):
    back = nongxin_client.get("/api/calendar/workdays?start=2026-10-08&add=-1").get_json()
    assert (back["day"], back["estimated"]) == ("2026-09-30", False)
    edge = nongxin_client.get("/api/calendar/workdays?start=2999-12-31&add=2500")
    assert edge.status_code == 200 and edge.get_json()["estimated"] is True


# -- the cache every worker keeps -----------------------------------------------------------------

def test_a_worker_s_cached_calendar_follows_changes_made_by_another(nongxin_app, nongxin_demo, admin):
    from nongxin.core.db import UnitOfWork

    worker = services.Calendars()  # as another process would hold it
    sessions = nongxin_app.extensions["nongxin"].sessions
    with UnitOfWork(sessions, write=False) as unit:
        first = worker.get(unit.session)
        assert worker.get(unit.session) is first  # unchanged: not rebuilt
        assert first.is_workday(date(2027, 2, 6)).estimated
    assert admin.put("/api/calendar/days/2027-02-06", json={"kind": "workday"}).status_code == 200
    with UnitOfWork(sessions, write=False) as unit:
        assert worker.get(unit.session).is_workday(date(2027, 2, 6)).source is services.Source.OVERRIDE
    assert admin.delete("/api/calendar/days/2027-02-06").status_code == 204
    with UnitOfWork(sessions, write=False) as unit:
        assert worker.get(unit.session).is_workday(date(2027, 2, 6)).estimated


# -- /healthz -------------------------------------------------------------------------------------

def test_healthz_warns_near_year_end_when_next_year_is_missing_but_stays_200(nongxin_app, nongxin_demo,
                                                                              admin, monkeypatch):
    client = nongxin_app.test_client()
    runtime = nongxin_app.extensions["nongxin"]
    monkeypatch.setattr(runtime, "clock", runtime.clock.as_of(date(2026, 6, 1)))
    quiet = client.get("/healthz")
    assert quiet.status_code == 200 and quiet.get_json()["warnings"] == []

    monkeypatch.setattr(runtime, "clock", runtime.clock.as_of(date(2026, 11, 23)))
    warned = client.get("/healthz")
    assert warned.status_code == 200 and warned.get_json()["status"] == "ok"
    [warning] = warned.get_json()["warnings"]
    assert "official holidays for 2027 are missing" in warning and "nongxin calendar set" in warning

    assert admin.put("/api/calendar/days/2027-01-01", json={"kind": "holiday"}).status_code == 200
    assert client.get("/healthz").get_json()["warnings"] == []


# -- CLI ------------------------------------------------------------------------------------------

def run(settings, *args):
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def test_cli_set_show_clear(nongxin_settings, nongxin_demo, nongxin_uow):
    done = run(nongxin_settings, "calendar", "set", "2027-02-06", "workday", "--note", "春节调休")
    assert done.exit_code == 0, done.output
    assert "2027-02-06 is now a workday" in done.output
    [entry] = audit_entries(nongxin_uow, "calendar.set")
    assert entry.actor.startswith("cli:") and entry.after == {"kind": "workday", "note": "春节调休"}

    shown = run(nongxin_settings, "calendar", "show", "--year", "2027")
    assert shown.exit_code == 0 and "2027-02-06 Sat  workday  override  春节调休" in shown.output
    assert "NO official holidays" in shown.output
    assert "2026-10-01 Thu  holiday  official  国庆节" in run(nongxin_settings, "calendar", "show", "--year",
                                                               "2026").output

    cleared = run(nongxin_settings, "calendar", "clear", "2027-02-06")
    assert cleared.exit_code == 0 and "now a holiday (estimated)" in cleared.output
    again = run(nongxin_settings, "calendar", "clear", "2027-02-06")
    assert again.exit_code == 2 and "no override" in again.output


def test_cli_refuses_bad_input_with_a_message(nongxin_settings, nongxin_demo, db_snapshot):
    before = db_snapshot()
    bad_kind = run(nongxin_settings, "calendar", "set", "2027-02-06", "weekend")
    assert bad_kind.exit_code == 2 and "weekend" in bad_kind.output
    bad_day = run(nongxin_settings, "calendar", "set", "2027-02-30", "holiday")
    assert bad_day.exit_code == 2 and "2027-02-30" in bad_day.output
    bad_note = run(nongxin_settings, "calendar", "set", "2027-02-06", "holiday", "--note", "a\x1b[2Jb")
    assert bad_note.exit_code == 2 and "note" in bad_note.output
    assert db_snapshot() == before


def test_the_spec_documents_the_day_segment_as_a_date(nongxin_app):
    spec = nongxin_app.test_client().get("/api/openapi.json").get_json()
    [param] = spec["paths"]["/api/calendar/days/{day}"]["parameters"]
    assert param["schema"] == {"type": "string", "format": "date"}


def test_two_admins_setting_the_same_new_day_at_once_both_succeed_in_turn(nongxin_app, nongxin_demo, nongxin_uow):
    # Without the version row's lock taken first, the second writer (PostgreSQL, READ COMMITTED)
    # would not see the first one's uncommitted row, insert its own and fail on the unique day.
    import threading

    from nongxin.core.auth import Principal
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions.models import Role

    sessions = nongxin_app.extensions["nongxin"].sessions
    who = Principal("province.admin", Role.PROVINCE_ADMIN, 1, "SD", "/1/")
    first_written, errors = threading.Event(), []

    def second() -> None:
        try:
            first_written.wait(10)
            with UnitOfWork(sessions) as unit:
                services.set_day(unit, who, date(2027, 3, 1), services.DayKind.WORKDAY, "second")
                unit.commit()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with UnitOfWork(sessions) as unit:
        services.set_day(unit, who, date(2027, 3, 1), services.DayKind.HOLIDAY, "first")
        first_written.set()
        thread.join(0.5)  # the second writer is now waiting for this transaction
        unit.commit()
    thread.join(30)
    assert errors == [] and not thread.is_alive()
    notes = [(e.before or {}).get("note") for e in audit_entries(nongxin_uow, "calendar.set")]
    assert notes == [None, "first"]
