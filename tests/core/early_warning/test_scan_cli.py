"""`nongxin scan`: the summary table or JSON, exit status 1 naming the bank when one failed, a
clear error for a date without a ledger, and the loud line when deadlines were estimated."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.testing import make_overdue, open_test_loan


def _run(runtime: Any, settings: Any, *args: str) -> Any:
    return CliRunner().invoke(main, ["scan", *args], obj=Console(settings, runtime=runtime))


def test_scan_json_and_table(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    make_overdue(nongxin_app, open_test_loan(nongxin_app), days=100)
    result = _run(runtime, nongxin_settings, "--json", "--institution", "JNRCB")
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads(result.output)
    assert report["as_of"] == runtime.clock.business_date().isoformat() and not report["deadline_estimated"]
    assert [(b["county_bank"], b["new"], b["tasks_opened"], b["failures"]) for b in report["banks"]] == [
        ("JNRCB", 1, 1, [])]
    table = _run(runtime, nongxin_settings)
    assert table.exit_code == 0, table.output + table.stderr
    assert "post-loan scan as of" in table.output and "JNRCB" in table.output and "LYRCB" in table.output
    assert "ESTIMATED" not in table.stderr


def test_a_date_without_a_ledger_fails_naming_it(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    open_test_loan(nongxin_app)
    day = (runtime.clock.business_date() - timedelta(days=5)).isoformat()
    result = _run(runtime, nongxin_settings, "--as-of", day, "--institution", "JNRCB")
    assert result.exit_code == 1
    assert f"scan failed at JNRCB: no ledger snapshot for {day}" in result.stderr
    unknown = _run(runtime, nongxin_settings, "--institution", "NOPE")
    assert unknown.exit_code != 0 and "NOPE" in unknown.stderr


def test_estimated_deadlines_are_said_loudly(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"].as_of(date(2099, 3, 2))  # no official calendar for 2099
    make_overdue(nongxin_app, open_test_loan(nongxin_app), days=10)
    result = _run(runtime, nongxin_settings, "--institution", "JNRCB")
    assert result.exit_code == 0, result.output + result.stderr
    assert "WARNING: task deadlines are ESTIMATED" in result.stderr
    assert "2099" in result.stderr and "nongxin calendar set" in result.stderr


def test_the_scan_then_classifies_every_loan_unless_told_not_to(nongxin_app: Any, nongxin_demo: Any,
                                                                nongxin_settings: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    loan_no = open_test_loan(nongxin_app)
    make_overdue(nongxin_app, loan_no, days=100)
    skipped = _run(runtime, nongxin_settings, "--json", "--institution", "JNRCB", "--no-classify")
    assert skipped.exit_code == 0 and "classification" not in json.loads(skipped.output)
    result = _run(runtime, nongxin_settings, "--json", "--institution", "JNRCB")
    assert result.exit_code == 0, result.output + result.stderr
    classes = json.loads(result.output)["classification"]
    assert [(b["county_bank"], b["by_tier"].get("substandard"), b["changes"] == b["loans"])
            for b in classes["banks"]] == [("JNRCB", 1, True)]  # the first classification of every loan
    table = _run(runtime, nongxin_settings, "--institution", "JNRCB")
    assert "five-tier classification as of" in table.output
