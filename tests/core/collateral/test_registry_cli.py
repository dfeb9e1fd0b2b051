"""The collateral registry from the console: register (with a first valuation), list, show, value,
kinds; a refusal is a message naming the field and a non-zero exit, never a traceback."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.testing import open_test_item


def test_the_cli_registers_lists_shows_values_and_tells_the_kinds(nongxin_app: Any, new_customer: Any) -> None:
    console = Console(nongxin_app.extensions["nongxin"].settings)
    today = nongxin_app.extensions["nongxin"].clock.business_date().isoformat()
    owner = new_customer("JNRCB-LX-G01", name="孙出质")

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["collateral", *args], obj=console)

    made = run("register", "--user", "jinan.cm", "--kind", "deposit", "--owner", str(owner),
               "--field", "account=6228480099990001", "--field", "bank=济南农商银行历下支行",
               "--field", "balance=150000.00", "--value", "150000.00", "--method", "face_value")
    assert made.exit_code == 0, made.output
    assert "JNRCB-K" in made.output and "150000.00" in made.output and "face_value" in made.output
    listed = run("list", "--user", "jinan.cm", "--customer", str(owner))
    assert listed.exit_code == 0 and "deposit" in listed.output and "150000.00" in listed.output, listed.output
    item_id = listed.output.split()[0]
    shown = run("show", item_id, "--user", "jinan.cm")
    assert shown.exit_code == 0 and "6228480099990001" in shown.output, shown.output

    above = run("value", item_id, "--user", "jinan.cm", "--value", "150000.01", "--method", "face_value")
    assert above.exit_code != 0 and "value" in above.output and "balance" in above.output
    assert "Traceback" not in above.output
    future = run("value", item_id, "--user", "jinan.cm", "--value", "1000.00", "--method", "face_value",
                 "--valued-on", "2099-01-01")
    assert future.exit_code != 0 and "valued_on" in future.output, future.output
    assert run("value", item_id, "--user", "jinan.cm", "--value", "140000.00", "--method", "face_value",
               "--valuer-kind", "external", "--valuer", "济南评估所", "--valued-on", today).exit_code == 0

    bad = run("register", "--user", "jinan.cm", "--kind", "vehicle", "--owner", str(owner), "--field", "vin=ABC",
              "--declared-value", "90000")
    assert bad.exit_code != 0 and "fields.vin" in bad.output and "Traceback" not in bad.output, bad.output
    kinds = run("kinds", "--user", "jinan.cm")
    assert kinds.exit_code == 0 and "real_estate" in kinds.output and "JNRCB" in kinds.output, kinds.output


def test_the_cli_hides_another_banks_item(nongxin_app: Any, nongxin_demo: Any) -> None:
    item = open_test_item(nongxin_app)
    console = Console(nongxin_app.extensions["nongxin"].settings)
    shown = CliRunner().invoke(main, ["collateral", "show", str(item), "--user", "linyi.cm"], obj=console)
    assert shown.exit_code != 0 and "not found" in shown.output
