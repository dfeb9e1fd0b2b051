"""Backtests: counts by county bank and branch equal to what the nightly scan itself hits, the kept
facts and the live ledger give the same answer, the facts store holds no identity number, 422s
naming the field, 404 for another county's institution or rule, money never a float."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import scan
from nongxin.core.early_warning.models import Warning
from nongxin.core.institutions.models import Institution
from nongxin.core.rules import facts_store
from nongxin.core.testing import make_overdue, open_test_loan, publish_test_rule

URL = "/api/rules/backtest"


def _closed_day(app: Any) -> tuple[Any, Any, dict[str, str]]:
    """Loans at two branches of JNRCB (big and small), the day closed (a snapshot), a rule published
    at JNRCB, and the scan of the closed date run (it keeps the facts); the rule's id and loans."""
    from nongxin.core.jobs.close_day import run

    runtime = app.extensions["nongxin"]
    closed = runtime.clock.business_date()
    loans = {"lx_big": open_test_loan(app, amount="30000.00", start_on=closed),
             "lx_small": open_test_loan(app, amount="3000.00", start_on=closed),
             "zq_big": open_test_loan(app, place="JNRCB-ZQ", amount="25000.00", start_on=closed),
             "ly_big": open_test_loan(app, place="LYRCB", amount="40000.00", start_on=closed, manager="linyi.cm")}
    run(runtime, to=closed, progress=False)
    rule_id = publish_test_rule(app, "JN-BT-001", "outstanding > 20000", outcome="orange")
    report = scan.scan(runtime, as_of=closed)
    assert not report.failed, report.as_dict()
    return runtime, closed, {**loans, "rule_id": str(rule_id)}


def _scan_hits(runtime: Any, code: str) -> dict[str, int]:
    """The warnings the scan wrote for ``code``, per branch code."""
    with UnitOfWork(runtime.sessions, write=False) as unit:
        rows = unit.session.execute(sa.select(Institution.code, sa.func.count()).select_from(Warning)
                                    .join(Institution, Institution.id == Warning.institution_id)
                                    .where(Warning.rule_code == code).group_by(Institution.code)).all()
    return {c: n for c, n in rows}


def _no_floats(value: Any) -> None:
    """No float anywhere in the answer but its timing."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "seconds":
                _no_floats(v)
    elif isinstance(value, list):
        for v in value:
            _no_floats(v)
    else:
        assert not isinstance(value, float), value


def test_counts_by_bank_and_branch_equal_the_scans_own_hits_from_the_store_and_from_the_ledger(
        nongxin_app: Any, nongxin_demo: Any, nongxin_client: Any) -> None:
    runtime, closed, loans = _closed_day(nongxin_app)
    stored = facts_store.path_of(runtime.settings, "post_loan", closed, "JNRCB")
    assert stored.is_file() and facts_store.path_of(runtime.settings, "post_loan", closed, "LYRCB").is_file()
    body = {"stage": "post_loan", "rule_ids": [int(loans["rule_id"])], "institution": "SD",
            "as_of": closed.isoformat(), "sample": 50}
    resp = nongxin_client.as_user("province.admin").post(URL, json=body)
    assert resp.status_code == 200, resp.get_json()
    kept = resp.get_json()
    assert kept["source"] == "facts_store" and kept["days"] is None and kept["changed"] is None
    assert kept["rules"] == [{"code": "JN-BT-001", "version": 1, "outcome": "orange",
                              "expression": "outstanding > 20000", "id": int(loans["rule_id"])}]
    scanned = _scan_hits(runtime, "JN-BT-001")
    assert scanned and sum(scanned.values()) >= 2  # the rule is JNRCB's: LYRCB's loans are never judged by it
    branch_hits = {b["branch"]: b["hits"] for b in kept["by_branch"] if b["hits"] and b["county_bank"] == "JNRCB"}
    assert branch_hits == scanned
    jn = next(b for b in kept["by_county_bank"] if b["county_bank"] == "JNRCB")
    assert jn["hits"] == sum(scanned.values()) and jn["name"] == "济南农商银行"
    assert kept["hits"] == sum(b["hits"] for b in kept["by_county_bank"])
    assert kept["by_rule"] == [{"code": "JN-BT-001", "hits": kept["hits"]}]
    # the backtest runs the rule at every bank the institution sees, LYRCB included
    ly = next(b for b in kept["by_county_bank"] if b["county_bank"] == "LYRCB")
    assert ly["hits"] >= 1 and ly["population"] >= 1
    assert kept["population"] == sum(b["population"] for b in kept["by_county_bank"])
    subjects = {s["subject"] for s in kept["sample"]}
    assert {loans["lx_big"], loans["zq_big"], loans["ly_big"]} <= subjects and loans["lx_small"] not in subjects
    big = next(s for s in kept["sample"] if s["subject"] == loans["lx_big"])
    assert big == {"subject": loans["lx_big"], "county_bank": "JNRCB", "branch": "JNRCB-LX",
                   "rules": ["JN-BT-001"], "facts": {"outstanding": "30000.00"}}
    _no_floats(kept)

    for bank in ("JNRCB", "LYRCB"):  # without the kept files, the same answer from the ledger snapshot
        facts_store.path_of(runtime.settings, "post_loan", closed, bank).unlink()
    live = nongxin_client.as_user("province.admin").post(URL, json=body).get_json()
    assert live["source"] == "ledger"
    assert {k: v for k, v in live.items() if k not in ("source", "seconds")} == \
        {k: v for k, v in kept.items() if k not in ("source", "seconds")}


def test_a_branch_sees_its_own_loans_and_the_audit_names_the_backtest(nongxin_app: Any, nongxin_demo: Any,
                                                                     nongxin_client: Any) -> None:
    runtime, closed, loans = _closed_day(nongxin_app)
    resp = nongxin_client.as_user("jinan.admin").post(URL, json={
        "stage": "post_loan", "expression": "outstanding > 20000", "institution": "JNRCB-ZQ",
        "as_of": closed.isoformat()})
    assert resp.status_code == 200, resp.get_json()
    answer = resp.get_json()
    assert answer["rules"][0]["code"] == "BACKTEST" and answer["rules"][0]["outcome"] == "red"
    assert [b["branch"] for b in answer["by_branch"]] == ["JNRCB-ZQ"]
    assert answer["hits"] == 1 and [s["subject"] for s in answer["sample"]] == [loans["zq_big"]]
    with UnitOfWork(runtime.sessions, write=False) as unit:
        entry = unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "rules.backtest")).scalar_one()
    assert entry.actor == "jinan.admin" and entry.after["hits"] == 1 and entry.after["population"] == 1


def test_the_store_holds_no_identity_number_and_money_in_integer_fen(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime, closed, _ = _closed_day(nongxin_app)
    path = facts_store.path_of(runtime.settings, "post_loan", closed, "JNRCB")
    table = pq.read_table(path)
    assert "id_number" not in table.schema.names
    assert {"loan_id", "loan_no", "institution_id", "manager_id", "outstanding", "branch"} <= set(table.schema.names)
    assert str(table.schema.field("outstanding").type) == "int64"
    assert str(table.schema.field("overdue_amount").type) == "int64"
    assert not list(path.parent.glob("*.tmp"))  # written through a temporary file, renamed
    frame = facts_store.read(runtime.settings, "post_loan", closed, ["JNRCB"], ["loan_no", "outstanding", "nope"])
    assert frame is not None and list(frame.columns) == ["loan_no", "outstanding"]
    assert facts_store.read(runtime.settings, "post_loan", closed, ["JNRCB", "NOBANK"], ["loan_no"]) is None


def test_old_dates_are_pruned_when_the_scan_writes(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    old = facts_store.path_of(runtime.settings, "post_loan", today - timedelta(days=facts_store.KEEP_DAYS + 1), "X")
    recent = facts_store.path_of(runtime.settings, "post_loan", today - timedelta(days=facts_store.KEEP_DAYS), "X")
    for p in (old, recent):
        p.parent.mkdir(parents=True)
        pd.DataFrame({"loan_id": [1]}).to_parquet(p)
    assert not scan.scan(runtime, institution="JNRCB").failed
    assert not old.parent.exists() and recent.is_file()
    assert facts_store.path_of(runtime.settings, "post_loan", today, "JNRCB").is_file()


def test_live_books_of_the_current_date(nongxin_app: Any, nongxin_demo: Any, nongxin_client: Any) -> None:
    loan_no = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, loan_no, days=40, principal="1500.50")
    resp = nongxin_client.as_user("jinan.admin").post(URL, json={
        "stage": "post_loan", "expression": "overdue_days > 30", "outcome": "yellow", "institution": "JNRCB"})
    answer = resp.get_json()
    assert resp.status_code == 200 and answer["source"] == "ledger", answer
    sample = {s["subject"]: s for s in answer["sample"]}
    assert sample[loan_no]["facts"] == {"overdue_days": 40}
    money = nongxin_client.as_user("jinan.admin").post(URL, json={
        "stage": "post_loan", "expression": "overdue_principal >= 1500.50", "institution": "JNRCB"}).get_json()
    assert [s["facts"] for s in money["sample"] if s["subject"] == loan_no] == [{"overdue_principal": "1500.50"}]
    _no_floats(money)
    nobody = nongxin_client.as_user("jinan.admin").post(URL, json={  # a fact no loan has (no bureau report)
        "stage": "post_loan", "expression": "bureau_queries_6m > 3", "institution": "JNRCB"}).get_json()
    assert nobody["hits"] == 0 and nobody["by_rule"] == [{"code": "BACKTEST", "hits": 0}], nobody


def test_collateral_positions(nongxin_app: Any, nongxin_demo: Any, nongxin_client: Any) -> None:
    from nongxin.core.collateral.positions import positions

    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions, write=False) as unit:
        bank = unit.session.execute(sa.select(Institution).where(Institution.code == "JNRCB")).scalar_one()
        frame = positions(unit.session, [bank], runtime.clock.business_date())
    answer = nongxin_client.as_user("jinan.admin").post(URL, json={
        "stage": "collateral", "expression": "value > 0", "institution": "JNRCB"}).get_json()
    assert answer["source"] == "positions" and answer["population"] == len(frame)
    assert answer["hits"] == int((frame["value_fen"] > 0).sum())
    _no_floats(answer)


@pytest.mark.parametrize("body, field", [
    ({"expression": "outstanding >", "stage": "post_loan"}, "expression"),
    ({"expression": "no_such_fact > 1", "stage": "post_loan"}, "expression"),
    ({"expression": "outstanding > 1", "stage": "post_loan", "outcome": "reject"}, "outcome"),
    ({"expression": "outstanding > 1", "stage": "post_loan", "as_of": "2099-01-01"}, "as_of"),
    ({"expression": "outstanding > 1", "stage": "post_loan", "as_of": "2020-01-02"}, "as_of"),
    ({"expression": "outstanding > 1", "rule_ids": [1], "stage": "post_loan"}, "expression"),
    ({"stage": "post_loan"}, "expression"),
    ({"expression": "age > 18", "stage": "admission", "days": 0}, "days"),
])
def test_bad_input_is_422_naming_the_field(nongxin_app: Any, nongxin_demo: Any, nongxin_client: Any,
                                          body: dict[str, Any], field: str) -> None:
    resp = nongxin_client.as_user("jinan.admin").post(URL, json={**body, "institution": "JNRCB"})
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["fields"], resp.get_json()
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "rules.backtest")).first() is None


def test_a_bad_expression_shows_line_column_and_caret(nongxin_app: Any, nongxin_demo: Any,
                                                     nongxin_client: Any) -> None:
    resp = nongxin_client.as_user("jinan.admin").post(URL, json={
        "stage": "post_loan", "expression": "outstanding > 1 and\n  overdue_dayz > 3", "institution": "JNRCB"})
    assert resp.status_code == 422
    message = resp.get_json()["fields"]["expression"][0]
    assert "overdue_dayz" in message and "line 2" in message and "^" in message, message


def test_a_rule_of_another_stage_is_422_rule_ids(nongxin_app: Any, nongxin_demo: Any, nongxin_client: Any) -> None:
    rule_id = publish_test_rule(nongxin_app, "JN-CO-001", "ltv > 0.8", stage="collateral")
    resp = nongxin_client.as_user("jinan.admin").post(URL, json={
        "stage": "post_loan", "rule_ids": [rule_id], "institution": "JNRCB"})
    assert resp.status_code == 422 and "rule_ids" in resp.get_json()["fields"]


def test_another_countys_institution_or_rule_is_404(nongxin_app: Any, nongxin_demo: Any,
                                                    nongxin_client: Any) -> None:
    theirs = publish_test_rule(nongxin_app, "LY-BT-001", "outstanding > 1", owner="LYRCB")
    province = publish_test_rule(nongxin_app, "SD-BT-001", "outstanding > 1", owner="SD")
    client = nongxin_client.as_user("jinan.admin")
    assert client.post(URL, json={"stage": "post_loan", "expression": "outstanding > 1",
                                  "institution": "LYRCB"}).status_code == 404
    assert client.post(URL, json={"stage": "post_loan", "rule_ids": [theirs],
                                  "institution": "JNRCB"}).status_code == 404
    assert client.post(URL, json={"stage": "post_loan", "rule_ids": [999999],
                                  "institution": "JNRCB"}).status_code == 404
    ok = client.post(URL, json={"stage": "post_loan", "rule_ids": [province], "institution": "JNRCB"})
    assert ok.status_code == 200 and ok.get_json()["rules"][0]["id"] == province  # the ancestry's rule


def test_cli_table_and_json(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    from click.testing import CliRunner

    from nongxin.core.cli import main
    from nongxin.core.clikit import Console

    loan_no = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, loan_no, days=40)
    obj = Console(nongxin_settings, runtime=nongxin_app.extensions["nongxin"])
    runner = CliRunner()
    args = ["rules", "backtest", "--user", "jinan.admin", "--stage", "post_loan", "--expression", "overdue_days > 30",
            "--institution", "JNRCB"]
    table = runner.invoke(main, args, obj=obj)
    assert table.exit_code == 0, table.output
    assert "JNRCB-LX" in table.output and loan_no in table.output
    as_json = runner.invoke(main, [*args, "--json"], obj=obj)
    assert as_json.exit_code == 0 and json.loads(as_json.output)["hits"] >= 1
    bad = runner.invoke(main, [*args[:-2], "--institution", "LYRCB"], obj=obj)
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    caret = runner.invoke(main, ["rules", "backtest", "--user", "jinan.admin", "--stage", "post_loan",
                                 "--expression", "overdue_days >", "--institution", "JNRCB"], obj=obj)
    assert caret.exit_code != 0 and "expression" in caret.output and "Traceback" not in caret.output
