"""``nongxin classification``: run with its table by tier and NPL ratio, show, set, approve (not
by the requester), npl; mistakes explained without a traceback."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from nongxin.core.cli import main
from nongxin.core.clikit import Console
from nongxin.core.testing import make_overdue, open_test_loan


def _run(app: Any, settings: Any, *args: str) -> Any:
    console = Console(settings, runtime=app.extensions["nongxin"])
    return CliRunner().invoke(main, ["classification", *args], obj=console)


def test_run_show_set_approve_npl(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    loan = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="10000.00")
    make_overdue(nongxin_app, loan, days=100)
    ran = _run(nongxin_app, nongxin_settings, "run", "--institution", "LYRCB", "--quiet")
    assert ran.exit_code == 0, ran.output
    assert "LYRCB" in ran.output and "100.0000%" in ran.output  # its only loan is substandard
    shown = _run(nongxin_app, nongxin_settings, "show", loan, "--user", "linyi.admin")
    assert shown.exit_code == 0 and "substandard (floor substandard; 100 days overdue" in shown.output
    asked = _run(nongxin_app, nongxin_settings, "set", loan, "special_mention", "--reason", "已追加担保",
                 "--user", "linyi.admin")
    assert asked.exit_code == 0 and "pending" in asked.output
    rid = asked.output.split()[1].rstrip(":")
    own = _run(nongxin_app, nongxin_settings, "approve", rid, "--user", "linyi.admin")
    assert own.exit_code != 0 and "separation of duties" in own.output and "Traceback" not in own.output
    hidden = _run(nongxin_app, nongxin_settings, "show", loan, "--user", "jinan.admin")
    assert hidden.exit_code != 0 and "not found" in hidden.output
    npl = _run(nongxin_app, nongxin_settings, "npl", "--user", "linyi.admin")
    assert npl.exit_code == 0 and "LYRCB-LS" in npl.output and "ratio 1.000000" in npl.output
