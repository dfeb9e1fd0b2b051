"""`nongxin applications file|list|show|withdraw`: the services' checks, as CLI messages."""

from __future__ import annotations

from click.testing import CliRunner

from nongxin.core.cli import Console, main


def run(settings, *args):
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def test_file_list_show_withdraw(nongxin_settings, new_customer):
    customer = new_customer(name="孙农户")
    filed = run(nongxin_settings, "applications", "file", "--user", "jinan.cm", "--customer", str(customer),
                "--product", "XIN_E_DAI", "--amount", "30000", "--term", "12", "--method", "equal_installment",
                "--form", "monthly_income=6000", "--channel", "wechat")
    assert filed.exit_code == 0, filed.output
    number = filed.output.split()[0]
    assert number.startswith("JNRCB-A") and number.endswith("-000001") and "30000.00 yuan" in filed.output
    assert "monthly_income = 6000" in filed.output

    listed = run(nongxin_settings, "applications", "list", "--user", "jinan.admin", "--status", "submitted")
    assert listed.exit_code == 0 and number in listed.output and "孙农户" in listed.output
    app_id = listed.output.split()[0]
    assert run(nongxin_settings, "applications", "list", "--user", "linyi.admin").output == ""

    shown = run(nongxin_settings, "applications", "show", app_id, "--user", "jinan.admin")
    assert shown.exit_code == 0 and "*" in shown.output  # the admin sees the identity number masked

    out = run(nongxin_settings, "applications", "withdraw", app_id, "--user", "jinan.cm", "--reason", "不需要了")
    assert out.exit_code == 0 and f"{number} withdrawn" in out.output
    again = run(nongxin_settings, "applications", "withdraw", app_id, "--user", "jinan.cm", "--reason", "再撤")
    assert again.exit_code == 2 and "is withdrawn" in again.output and "Traceback" not in again.output


def test_refusals_are_messages_naming_the_field(nongxin_settings, new_customer):
    customer = new_customer()
    over = run(nongxin_settings, "applications", "file", "--user", "jinan.cm", "--customer", str(customer),
               "--product", "XIN_E_DAI", "--amount", "900000", "--term", "12", "--method", "equal_installment")
    assert over.exit_code == 2 and "amount" in over.output and "Traceback" not in over.output
    other = run(nongxin_settings, "applications", "show", "999", "--user", "jinan.cm")
    assert other.exit_code == 2 and "not found" in other.output
    bad = run(nongxin_settings, "applications", "file", "--user", "jinan.cm", "--customer", str(customer),
              "--product", "XIN_E_DAI", "--amount", "lots", "--term", "12", "--method", "equal_installment")
    assert bad.exit_code == 2 and "amount of yuan" in bad.output
    for amount in ("5000.001", "1e30"):
        fen = run(nongxin_settings, "applications", "file", "--user", "jinan.cm", "--customer", str(customer),
                  "--product", "XIN_E_DAI", "--amount", amount, "--term", "12", "--method", "equal_installment")
        assert fen.exit_code == 2 and "whole fen" in fen.output, fen.output
    status = run(nongxin_settings, "applications", "list", "--user", "jinan.cm", "--status", "lost")
    assert status.exit_code == 2 and "status" in status.output
