"""Reading loans: the list and its filters, one loan with its schedule, transactions and versions,
penalty and compound owed, the identity masked by role, another bank's loan 404; and the CLI."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.credit.domain.interest import penalty_owed
from nongxin.core.credit.models import Loan
from nongxin.core.db import UnitOfWork
from nongxin.core.testing import open_test_line, open_test_loan
from nongxin.sdk.identity import make_resident_id

BORROWER = make_resident_id("370102", date(1979, 4, 5), 321)


def _overdue(app, loan_no: str) -> None:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        loan.overdue_days, loan.overdue_since = 12, date(2026, 2, 15)
        loan.overdue_principal, loan.overdue_interest = Decimal("980.12"), Decimal("43.50")
        loan.penalty_base, loan.compound_base = 98012 * 12, 4350 * 12
        loan.penalty_paid = Decimal("1.00")
        unit.commit()


def test_list_filters_and_scope(nongxin_app, nongxin_client):
    mine = open_test_loan(nongxin_app, id_number=BORROWER)
    late = open_test_loan(nongxin_app, amount="5000.00", method="monthly_interest")
    theirs = open_test_loan(nongxin_app, place="LYRCB", manager="linyi.cm")
    _overdue(nongxin_app, late)
    admin = nongxin_client.as_user("jinan.admin")
    listed = [loan["loan_no"] for loan in admin.get("/api/loans").get_json()]
    assert mine in listed and late in listed and theirs not in listed
    assert [loan["loan_no"] for loan in admin.get("/api/loans?overdue=true").get_json()] == [late]
    assert late not in [loan["loan_no"] for loan in admin.get("/api/loans?overdue=false").get_json()]
    assert admin.get("/api/loans?status=closed").get_json() == []
    active = admin.get("/api/loans?status=active&limit=1").get_json()
    assert len(active) == 1 and active[0]["status"] == "active"
    customer = admin.get(f"/api/loans/{mine}").get_json()["borrower"]["customer"]
    assert [loan["loan_no"] for loan in admin.get(f"/api/loans?customer={customer}").get_json()] == [mine]
    bad = admin.get("/api/loans?status=lost")
    assert bad.status_code == 422 and "status" in bad.get_json()["fields"]
    assert theirs in [loan["loan_no"] for loan in nongxin_client.as_user("linyi.admin").get("/api/loans").get_json()]


def test_one_loan_in_full(nongxin_app, nongxin_client):
    loan_no = open_test_loan(nongxin_app, id_number=BORROWER, amount="12000.00", term_months=12)
    _overdue(nongxin_app, loan_no)
    admin = nongxin_client.as_user("jinan.admin")
    loan = admin.get(f"/api/loans/{loan_no}").get_json()
    assert loan["borrower"]["id_number"] != BORROWER and "*" in loan["borrower"]["id_number"]  # masked for an admin
    assert nongxin_client.as_user("jinan.cm").get(f"/api/loans/{loan_no}").get_json()["borrower"]["id_number"] == BORROWER
    assert (loan["principal"], loan["outstanding"], loan["annual_rate"], loan["term_months"]) == (
        "12000.00", "12000.00", "0.0435", 12)
    assert (loan["overdue_principal"], loan["overdue_interest"], loan["overdue_days"]) == ("980.12", "43.50", 12)
    rate, markup = Decimal("0.0435"), Decimal("0.5")
    assert loan["penalty_owed"] == str(penalty_owed(98012 * 12, rate, markup, Decimal("1.00")))
    assert loan["compound_owed"] == str(penalty_owed(4350 * 12, rate, markup))
    assert Decimal(loan["penalty_owed"]) > 0
    rows = loan["schedule"]
    assert len(rows) == 12 and {"due_on", "principal", "interest", "paid_principal", "paid_interest", "status"} <= set(rows[0])
    assert sum(Decimal(r["principal"]) for r in rows) == Decimal("12000.00")
    assert loan["transactions"][0]["kind"] == "disbursement" and loan["transactions"][0]["amount"] == "12000.00"
    assert loan["schedule_versions"][0]["version"] == 1 and loan["credit_line"] is None
    linyi = nongxin_client.as_user("linyi.admin").get(f"/api/loans/{loan_no}")
    assert linyi.status_code == 404 and linyi.get_json()["fields"] == {"loan": ["not found"]}
    assert admin.get("/api/loans/NOPE-1").status_code == 404


def run(settings, *args):
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def test_cli_draw_list_show(nongxin_app, nongxin_settings, nongxin_demo):
    line = open_test_line(nongxin_app, amount="30000.00")
    drawn = run(nongxin_settings, "loans", "draw", str(line), "--user", "jinan.cm", "--amount", "20000",
                "--term-months", "6", "--method", "equal_installment", "--account", "6228480000000009")
    assert drawn.exit_code == 0, drawn.output
    key = drawn.output.split()[2]
    loan_no = drawn.output.splitlines()[1].split()[0]
    assert loan_no.startswith("JNRCB-L") and "20000.00 yuan" in drawn.output and drawn.output.count("pending") == 6
    again = run(nongxin_settings, "loans", "draw", str(line), "--user", "jinan.cm", "--amount", "20000",
                "--term-months", "6", "--method", "equal_installment", "--account", "6228480000000009",
                "--key", key)
    assert again.exit_code == 0 and "already drawn" in again.output and loan_no in again.output
    over = run(nongxin_settings, "loans", "draw", str(line), "--user", "jinan.cm", "--amount", "20000",
               "--term-months", "6", "--method", "equal_installment", "--account", "6228480000000009")
    assert over.exit_code == 2 and "exceeds" in over.output and "Traceback" not in over.output
    listed = run(nongxin_settings, "loans", "list", "--user", "jinan.admin")
    assert listed.exit_code == 0 and loan_no in listed.output
    assert loan_no not in run(nongxin_settings, "loans", "list", "--user", "linyi.admin").output
    shown = run(nongxin_settings, "loans", "show", loan_no, "--user", "jinan.admin")
    assert shown.exit_code == 0 and "schedule v1" in shown.output and "disbursement" in shown.output
    hidden = run(nongxin_settings, "loans", "show", loan_no, "--user", "linyi.admin")
    assert hidden.exit_code == 2 and "not found" in hidden.output
    bad = run(nongxin_settings, "loans", "list", "--user", "jinan.admin", "--status", "lost")
    assert bad.exit_code == 2 and "status" in bad.output
