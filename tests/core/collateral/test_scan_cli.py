"""`nongxin collateral scan`: the report as JSON or tables, the freeze job's effect, and a clear
error for an unknown institution."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.testing import open_test_item, open_test_line
from tests.core.collateral.test_scan import draw


def _run(app: Any, settings: Any, *args: str) -> Any:
    console = Console(settings, runtime=app.extensions["nongxin"])
    return CliRunner().invoke(main, ["collateral", "scan", *args], obj=console)


def _short_line(app: Any) -> int:
    line = open_test_line(app, amount="900000.00")
    open_test_item(app, value="500000.00", line_id=line)  # limit 315,000
    draw(app, line, "400000.00")
    return line


def test_scan_json_lists_hits_and_shortfalls(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    _short_line(nongxin_app)
    result = _run(nongxin_app, nongxin_settings, "--json", "--institution", "JNRCB")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["banks"] == ["JNRCB"] and report["positions"] == 1
    assert [(h["rule_code"], h["colour"], h["facts"]) for h in report["hits"]] == [
        ("PROV-COL-001", "red", {"shortfall": "85000.00"})]
    assert [s["shortfall"] for s in report["shortfalls"]] == ["85000.00"]


def test_scan_tables_and_unknown_institution(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    _short_line(nongxin_app)
    result = _run(nongxin_app, nongxin_settings, "--quiet")
    assert result.exit_code == 0, result.output
    assert "PROV-COL-001" in result.output and "85000.00" in result.output and "lines in shortfall" in result.output
    bad = _run(nongxin_app, nongxin_settings, "--institution", "NOPE")
    assert bad.exit_code != 0 and "NOPE" in bad.output
