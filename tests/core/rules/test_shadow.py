"""Shadow rules: the real scan stores their hits apart (idempotent, never a warning or task) and
tallies every live and shadow rule; a decision is identical with and without shadow rules while its
shadow hits are stored; the shadow report's figures on two days, its 404 and 422, and the CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import scan
from nongxin.core.early_warning.models import Warning, WarningTask
from nongxin.core.institutions.models import Institution
from nongxin.core.rules.models import RuleHitTally, ShadowHit, StoredRule
from nongxin.core.testing import (
    file_application, make_overdue, open_test_item, open_test_line, open_test_loan, publish_test_rule,
)
from nongxin.sdk.identity import make_resident_id


def _shadow_hits(app: Any) -> list[tuple[Any, ...]]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        s = unit.session
        codes = dict(s.execute(sa.select(StoredRule.id, StoredRule.code)).all())
        places = dict(s.execute(sa.select(Institution.id, Institution.code)).all())
        return sorted((h.business_date, h.stage, codes[h.rule_id], h.subject_kind, h.subject_ref, h.outcome,
                       places[h.county_bank_id], places[h.institution_id])
                      for h in s.execute(sa.select(ShadowHit)).scalars())


def _tallies(app: Any, **where: Any) -> dict[tuple[Any, ...], tuple[int, int]]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        rows = unit.session.execute(sa.select(RuleHitTally).filter_by(**where)).scalars().all()
        return {(t.business_date, t.county_bank_id, t.stage, t.rule_code, t.rule_version, t.shadow):
                (t.hits, t.subjects) for t in rows}


def _warnings(app: Any) -> tuple[list[tuple[str, str]], int]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        s = unit.session
        found = sorted((w.loan_no or w.line_number or "", w.rule_code) for w in s.execute(sa.select(Warning)).scalars())
        return found, s.execute(sa.select(sa.func.count()).select_from(WarningTask)).scalar_one()


def _arrange_night(app: Any) -> tuple[str, str, str]:
    """Three loans (40 days late, 15 days late, clean), an old valuation, and shadow rules at JNRCB."""
    runtime = app.extensions["nongxin"]
    late, mild, clean = open_test_loan(app), open_test_loan(app), open_test_loan(app)
    make_overdue(app, late, days=40)
    make_overdue(app, mild, days=15)
    line = open_test_line(app, amount="900000.00")
    open_test_item(app, kind="deposit", value="100000.00", line_id=line,
                   valued_on=runtime.clock.business_date() - timedelta(days=400),
                   valid_until=runtime.clock.business_date() + timedelta(days=10))
    publish_test_rule(app, "SH-PL-001", "overdue_days > 10", outcome="red", shadow=True)
    publish_test_rule(app, "PROV-PL-002", "overdue_days > 10", outcome="orange", shadow=True)  # a live code
    publish_test_rule(app, "SH-COL-001", "valuation_age_days > 300", stage="collateral", outcome="orange",
                      shadow=True)
    return late, mild, clean


def test_the_scan_stores_shadow_hits_apart_idempotently_and_opens_nothing_from_them(
        nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    late, mild, clean = _arrange_night(nongxin_app)
    report = scan.scan(runtime)
    assert not report.failed
    jn = next(b for b in report.banks if b.county_bank == "JNRCB")
    ly = next(b for b in report.banks if b.county_bank == "LYRCB")
    assert (jn.shadow_hits, ly.shadow_hits) == (5, 0)
    hits = _shadow_hits(nongxin_app)
    item = next(h[4] for h in hits if h[3] == "pledge")
    assert hits == sorted([
        (today, "post_loan", "SH-PL-001", "loan", late, "red", "JNRCB", "JNRCB-LX"),
        (today, "post_loan", "SH-PL-001", "loan", mild, "red", "JNRCB", "JNRCB-LX"),
        (today, "post_loan", "PROV-PL-002", "loan", late, "orange", "JNRCB", "JNRCB-LX"),
        (today, "post_loan", "PROV-PL-002", "loan", mild, "orange", "JNRCB", "JNRCB-LX"),
        (today, "collateral", "SH-COL-001", "pledge", item, "orange", "JNRCB", "JNRCB-LX")])
    assert item.startswith("JNRCB")
    # warnings and tasks come from the live hits only: no SH-*, no (mild, PROV-PL-002)
    warnings, tasks = _warnings(nongxin_app)
    pledge_warning = [w for w in warnings if w[1].startswith("PROV-COL")]
    assert sorted(set(warnings) - set(pledge_warning)) == sorted([(late, "PROV-PL-002"), (mild, "PROV-PL-003")])
    assert [w[1] for w in pledge_warning] == ["PROV-COL-002"] and tasks == len(warnings) == 3

    with UnitOfWork(runtime.sessions, write=False) as unit:
        bank = unit.session.execute(sa.select(Institution.id).where(Institution.code == "JNRCB")).scalar_one()
    tallies = _tallies(nongxin_app, county_bank_id=bank)
    loans = jn.loans
    assert loans >= 3 and jn.positions == 1
    live_pl = {k[3]: v for k, v in tallies.items() if k[2] == "post_loan" and not k[5]}
    assert {f"PROV-PL-00{i}" for i in range(1, 9)} <= set(live_pl)  # every live rule, 0 hits included
    assert live_pl["PROV-PL-002"] == (1, loans) and live_pl["PROV-PL-003"] == (1, loans)
    assert live_pl["PROV-PL-001"] == (0, loans)
    shadow = {(k[2], k[3]): v for k, v in tallies.items() if k[5]}
    assert shadow == {("post_loan", "SH-PL-001"): (2, loans), ("post_loan", "PROV-PL-002"): (2, loans),
                      ("collateral", "SH-COL-001"): (1, 1)}
    live_col = {k[3]: v for k, v in tallies.items() if k[2] == "collateral" and not k[5]}
    assert live_col["PROV-COL-002"] == (1, 1) and live_col["PROV-COL-001"] == (0, 1)

    before = (_shadow_hits(nongxin_app), _tallies(nongxin_app), _warnings(nongxin_app))
    again = scan.scan(runtime)
    assert next(b for b in again.banks if b.county_bank == "JNRCB").shadow_hits == 5
    assert (_shadow_hits(nongxin_app), _tallies(nongxin_app), _warnings(nongxin_app)) == before


def test_an_unusable_shadow_book_leaves_the_scan_alone(nongxin_app: Any, nongxin_demo: Any, caplog: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    late = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, late, days=40)
    publish_test_rule(nongxin_app, "SH-PL-BAD", "overdue_days >", shadow=True)
    report = scan.scan(runtime, institution="JNRCB")
    assert not report.failed and report.banks[0].new == 1 and report.banks[0].shadow_hits == 0
    assert _shadow_hits(nongxin_app) == [] and _warnings(nongxin_app)[0] == [(late, "PROV-PL-002")]
    tallies = _tallies(nongxin_app)
    assert tallies and not any(k[5] for k in tallies)  # the live rules tallied, nothing of the shadow book
    assert "shadow post_loan rule book of JNRCB is unusable" in caplog.text


def _report(client: Any, **query: Any) -> Any:
    resp = client.get("/api/rules/shadow-report", query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_the_report_compares_shadow_and_live_per_day(nongxin_app: Any, nongxin_demo: Any,
                                                     nongxin_client: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    tomorrow = today + timedelta(days=1)
    late, mild, _ = _arrange_night(nongxin_app)
    first = scan.scan(runtime)
    make_overdue(nongxin_app, mild, days=0)  # paid up before the second night
    second = scan.scan(runtime.as_of(tomorrow))
    loans = [next(b for b in r.banks if b.county_bank == "JNRCB").loans for r in (first, second)]
    admin = nongxin_client.as_user("jinan.admin")
    found = _report(admin, institution="JNRCB", **{"from": today.isoformat()}, to=tomorrow.isoformat(),
                    stage="post_loan")
    assert (found["institution"], found["start"], found["end"]) == ("JNRCB", today.isoformat(), tomorrow.isoformat())
    rows = {(r["business_date"], r["rule_code"]): (r["shadow_hits"], r["live_hits"], r["subjects"], r["both"])
            for r in found["rows"]}
    d1, d2 = today.isoformat(), tomorrow.isoformat()
    assert rows == {(d1, "PROV-PL-002"): (2, 1, loans[0], None), (d1, "SH-PL-001"): (2, None, loans[0], None),
                    (d2, "PROV-PL-002"): (1, 1, loans[1], None), (d2, "SH-PL-001"): (1, None, loans[1], None)}
    totals = {t["rule_code"]: (t["days"], t["shadow_hits"], t["live_hits"], t["owner"]) for t in found["totals"]}
    assert totals == {"PROV-PL-002": (2, 3, 2, "JNRCB"), "SH-PL-001": (2, 3, None, "JNRCB")}

    everything = _report(nongxin_client.as_user("province.admin"), institution="SD", **{"from": d1}, to=d2)
    assert {(r["stage"], r["rule_code"]) for r in everything["rows"]} == {
        ("post_loan", "PROV-PL-002"), ("post_loan", "SH-PL-001"), ("collateral", "SH-COL-001")}
    rule_id = next(r["rule_id"] for r in found["rows"] if r["rule_code"] == "SH-PL-001")
    one = _report(admin, institution="JNRCB", **{"from": d1}, to=d2, rule=rule_id)
    assert {r["rule_code"] for r in one["rows"]} == {"SH-PL-001"} and len(one["rows"]) == 2
    assert _report(nongxin_client.as_user("linyi.admin"), institution="LYRCB", **{"from": d1}, to=d2)["rows"] == []

    other = nongxin_client.as_user("linyi.admin").get(f"/api/rules/shadow-report?institution=JNRCB&from={d1}")
    assert other.status_code == 404
    backwards = admin.get(f"/api/rules/shadow-report?institution=JNRCB&from={d2}&to={d1}")
    assert backwards.status_code == 422 and "from" in json.dumps(backwards.get_json())
    assert admin.get("/api/rules/shadow-report?institution=JNRCB&stage=nope").status_code == 422

    cli = CliRunner().invoke(main, ["rules", "shadow-report", "--user", "jinan.admin", "--institution", "JNRCB",
                                    "--from", d1, "--to", d2, "--json"],
                             obj=Console(runtime.settings, runtime=runtime))
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output)["rows"] == json.loads(json.dumps(
        _report(admin, institution="JNRCB", **{"from": d1}, to=d2)["rows"]))
    table = CliRunner().invoke(main, ["rules", "shadow-report", "--user", "jinan.admin", "--institution", "JNRCB",
                                      "--from", d1, "--to", d2], obj=Console(runtime.settings, runtime=runtime))
    assert table.exit_code == 0, table.output
    assert "SH-PL-001 v1" in table.output and "totals" in table.output
    denied = CliRunner().invoke(main, ["rules", "shadow-report", "--user", "linyi.admin", "--institution", "JNRCB"],
                                obj=Console(runtime.settings, runtime=runtime))
    assert denied.exit_code != 0 and "not found" in denied.output + denied.stderr
    wrong = CliRunner().invoke(main, ["rules", "shadow-report", "--user", "jinan.admin", "--institution", "JNRCB",
                                      "--from", d2, "--to", d1], obj=Console(runtime.settings, runtime=runtime))
    assert wrong.exit_code != 0 and "from" in wrong.output + wrong.stderr and "Traceback" not in wrong.output


# -- admission ---------------------------------------------------------------------------------

def _decide(client: Any, app_id: int) -> Any:
    resp = client.post(f"/api/applications/{app_id}/decide")
    assert resp.status_code == 200, resp.get_json()
    return client.get(f"/api/applications/{app_id}/decision").get_json()


VOLATILE = {"durations_us", "duration_us", "application", "bureau", "decided_at", "id", "application_id", "number"}


def _plain(shown: Any) -> Any:
    """A decision as shown, without what differs between two applicants of the same facts."""
    if isinstance(shown, dict):
        return {k: _plain(v) for k, v in shown.items() if k not in VOLATILE}
    if isinstance(shown, list):
        return [_plain(v) for v in shown]
    return shown


def test_shadow_rules_never_change_a_decision_and_their_hits_are_stored(
        nongxin_app: Any, nongxin_demo: Any, nongxin_client: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    cm = nongxin_client.as_user("jinan.cm")
    born = date(1988, 3, 1)
    without = _decide(cm, file_application(nongxin_app, id_number=make_resident_id("370102", born, 996)))
    assert without["outcome"] == "approved"
    publish_test_rule(nongxin_app, "SH-ADM-001", "amount > 1000", stage="admission", outcome="reject", shadow=True)
    publish_test_rule(nongxin_app, "PROV-ADM-001", "bureau_dishonest_debtor or amount == 30000", stage="admission",
                      outcome="reject", shadow=True)
    approved_id = file_application(nongxin_app, id_number=make_resident_id("370103", born, 996), name="李四")
    with_shadow = _decide(cm, approved_id)
    assert with_shadow["outcome"] == "approved"  # a shadow reject rule hit it, and it is still approved
    assert _plain(with_shadow) == _plain(without)
    assert "shadow" not in json.dumps(with_shadow)
    rejected_id = file_application(nongxin_app, id_number=make_resident_id("370102", born, 999), name="王五",
                                   amount="20000")
    rejected = _decide(cm, rejected_id)
    assert rejected["outcome"] == "rejected" and rejected["refusal_category"] == "dishonest_debtor"

    with UnitOfWork(runtime.sessions, write=False) as unit:
        numbers = dict(unit.session.execute(sa.text("SELECT id, number FROM applications")).all())
    assert [h for h in _shadow_hits(nongxin_app) if h[1] == "admission"] == sorted([
        (today, "admission", "SH-ADM-001", "application", numbers[approved_id], "reject", "JNRCB", "JNRCB-LX"),
        (today, "admission", "SH-ADM-001", "application", numbers[rejected_id], "reject", "JNRCB", "JNRCB-LX"),
        (today, "admission", "PROV-ADM-001", "application", numbers[approved_id], "reject", "JNRCB", "JNRCB-LX"),
        (today, "admission", "PROV-ADM-001", "application", numbers[rejected_id], "reject", "JNRCB", "JNRCB-LX")])

    found = _report(nongxin_client.as_user("jinan.admin"), institution="JNRCB", stage="admission")
    figures = {r["rule_code"]: {k: r[k] for k in ("business_date", "subjects", "shadow_hits", "live_hits", "both",
                                                  "shadow_only", "live_only", "would_change")}
               for r in found["rows"]}
    assert figures == {
        "PROV-ADM-001": {"business_date": today.isoformat(), "subjects": 3, "shadow_hits": 2, "live_hits": 1,
                         "both": 1, "shadow_only": 1, "live_only": 0, "would_change": 1},
        "SH-ADM-001": {"business_date": today.isoformat(), "subjects": 3, "shadow_hits": 2, "live_hits": None,
                       "both": None, "shadow_only": None, "live_only": None, "would_change": 1}}


def test_a_broken_shadow_admission_book_never_stops_a_decision(nongxin_app: Any, nongxin_demo: Any,
                                                               nongxin_client: Any, caplog: Any) -> None:
    publish_test_rule(nongxin_app, "SH-ADM-BAD", "amount >", stage="admission", outcome="reject", shadow=True)
    app_id = file_application(nongxin_app, id_number=make_resident_id("370102", date(1988, 3, 1), 998))
    assert _decide(nongxin_client.as_user("jinan.cm"), app_id)["outcome"] == "approved"
    assert _shadow_hits(nongxin_app) == [] and "shadow admission rule book at JNRCB-LX is unusable" in caplog.text
