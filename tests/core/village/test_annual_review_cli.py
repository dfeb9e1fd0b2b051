"""`nongxin village annual-review` and the review after `nongxin scan`: table or JSON, and a
second run on the same date finds nothing due."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from nongxin.core.cli import Console, main
from tests.core.village.test_annual_review import BLACKLISTED, village_line


def _run(runtime: Any, settings: Any, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=Console(settings, runtime=runtime))


def test_annual_review_json_then_table(nongxin_app: Any, nongxin_demo: Any, nongxin_enable: Any,
                                       nongxin_settings: Any) -> None:
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    runtime = nongxin_app.extensions["nongxin"]
    village_line(nongxin_app, amount="30000.00")
    village_line(nongxin_app, amount="30000.00", profile=BLACKLISTED)
    result = _run(runtime, nongxin_settings, "village", "annual-review", "--institution", "LYRCB", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads(result.output)
    assert [(b["county_bank"], b["due"], b["passed"], b["on_site"], b["frozen"], b["reduced"], b["failures"])
            for b in report["banks"]] == [("LYRCB", 2, 1, 1, 1, 0, [])]
    table = _run(runtime, nongxin_settings, "village", "annual-review")
    assert table.exit_code == 0, table.output + table.stderr
    assert "annual review" in table.output and "LYRCB" in table.output and "JNRCB" in table.output
    unknown = _run(runtime, nongxin_settings, "village", "annual-review", "--institution", "NOPE")
    assert unknown.exit_code != 0 and "NOPE" in unknown.stderr


def test_scan_reviews_after_classifying_unless_told_not_to(nongxin_app: Any, nongxin_demo: Any, nongxin_enable: Any,
                                                          nongxin_settings: Any) -> None:
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    runtime = nongxin_app.extensions["nongxin"]
    village_line(nongxin_app, amount="30000.00")
    skipped = _run(runtime, nongxin_settings, "scan", "--institution", "LYRCB", "--json", "--no-review")
    assert skipped.exit_code == 0 and "annual_review" not in json.loads(skipped.output)
    result = _run(runtime, nongxin_settings, "scan", "--institution", "LYRCB", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    assert [(b["due"], b["passed"]) for b in json.loads(result.output)["annual_review"]["banks"]] == [(1, 1)]
