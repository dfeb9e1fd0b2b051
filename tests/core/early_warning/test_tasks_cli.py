"""``nongxin warnings list|counts`` and ``nongxin tasks list|close|reassign|escalate``: the same
services as the API on behalf of a named user; refusals are one line naming the field."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.testing import open_test_loan, open_test_warning


def _run(app: Any, settings: Any, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=Console(settings, runtime=app.extensions["nongxin"]))


def test_warnings_list_and_counts(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    jn = open_test_loan(nongxin_app)
    ly = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    red, _ = open_test_warning(nongxin_app, jn, colour="red", rule_code="PROV-PL-001")
    open_test_warning(nongxin_app, ly, assigned_to="linyi.cm")
    result = _run(nongxin_app, nongxin_settings, "warnings", "list", "--user", "jinan.cm", "--json")
    assert result.exit_code == 0, result.output
    assert [w["id"] for w in json.loads(result.output)] == [red]
    result = _run(nongxin_app, nongxin_settings, "warnings", "list", "--colour", "red", "--user", "jinan.cm")
    assert result.exit_code == 0 and "PROV-PL-001" in result.output and jn in result.output, result.output
    result = _run(nongxin_app, nongxin_settings, "warnings", "counts", "--by", "county_bank", "--json",
                  "--user", "province.admin")
    assert json.loads(result.output) == [{"key": "JNRCB", "count": 1}, {"key": "LYRCB", "count": 1}]
    result = _run(nongxin_app, nongxin_settings, "warnings", "list", "--colour", "purple", "--user", "jinan.cm")
    assert result.exit_code != 0 and "colour" in result.output and "Traceback" not in result.output, result.output


def test_tasks_list_close_reassign(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    jn = open_test_loan(nongxin_app)
    _, mine = open_test_warning(nongxin_app, jn)
    _, theirs = open_test_warning(nongxin_app, jn, rule_code="PROV-PL-009", assigned_to="jinan.postloan")
    result = _run(nongxin_app, nongxin_settings, "tasks", "list", "--assigned-to", "me", "--json", "--user", "jinan.cm")
    assert [t["id"] for t in json.loads(result.output)] == [mine], result.output
    result = _run(nongxin_app, nongxin_settings, "tasks", "close", str(mine), "--findings", "checked",
                  "--disposal", "monitor", "--user", "jinan.cm")
    assert result.exit_code != 0 and "evidence" in result.output, result.output
    result = _run(nongxin_app, nongxin_settings, "tasks", "close", str(theirs), "--findings", "checked",
                  "--disposal", "monitor", "--evidence", "DOC-1", "--user", "jinan.cm")
    assert result.exit_code != 0 and "not assigned" in result.output, result.output
    result = _run(nongxin_app, nongxin_settings, "tasks", "close", str(mine), "--findings", "checked",
                  "--disposal", "monitor", "--evidence", "DOC-1", "--evidence", "photo.jpg", "--user", "jinan.cm")
    assert result.exit_code == 0 and f"task {mine} closed" in result.output, result.output
    result = _run(nongxin_app, nongxin_settings, "tasks", "reassign", str(theirs), "--to", "linyi.cm",
                  "--user", "jinan.admin")
    assert result.exit_code != 0 and "to" in result.output and "linyi.cm" in result.output, result.output
    result = _run(nongxin_app, nongxin_settings, "tasks", "reassign", str(theirs), "--to", "jinan.cm",
                  "--user", "jinan.admin")
    assert result.exit_code == 0 and "reassigned to jinan.cm" in result.output, result.output
    result = _run(nongxin_app, nongxin_settings, "tasks", "list", "--status", "open", "--json", "--user", "jinan.cm")
    assert [(t["id"], t["assigned_to"]) for t in json.loads(result.output)] == [(theirs, "jinan.cm")]


def test_tasks_escalate_runs_every_county_bank(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    jn = open_test_loan(nongxin_app)
    ly = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    _, a = open_test_warning(nongxin_app, jn, first_seen=date(2025, 9, 16), due_on=date(2025, 9, 30))
    _, b = open_test_warning(nongxin_app, ly, first_seen=date(2025, 9, 16), due_on=date(2025, 9, 30),
                             assigned_to="linyi.cm")
    result = _run(nongxin_app, nongxin_settings, "tasks", "escalate", "--as-of", "2025-10-09")
    assert result.exit_code == 0, result.output
    assert f"JNRCB: task {a}" in result.output and f"LYRCB: task {b}" in result.output
    assert "2 task(s) escalated" in result.output
    again = _run(nongxin_app, nongxin_settings, "tasks", "escalate", "--as-of", "2025-10-09", "--institution", "JNRCB")
    assert again.exit_code == 0 and "0 task(s) escalated in 1 county bank(s)" in again.output, again.output
    bad = _run(nongxin_app, nongxin_settings, "tasks", "escalate", "--institution", "NOPE")
    assert bad.exit_code != 0 and "NOPE" in bad.output and "Traceback" not in bad.output
