"""Repayments through the service, the API and the CLI: allocation order, penalty and compound
interest to the fen, partial and full repayments, prepayment under both policies (a new schedule
version, the old one kept), idempotent replays, closed loans, visibility and roles.

Overdue state is arranged through the ORM exactly as the day close leaves it (``overdue``): rows
due by the closed date marked ``overdue``, the loan's overdue figures summed from them and its
penalty/compound bases holding each closed day's overdue balance in fen. The loans are made by
``core.testing.open_test_loan`` (disbursed 2026-01-15 unless said).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.credit.models import (
    Installment,
    InstallmentStatus,
    Loan,
    LoanScheduleVersion,
    LoanStatus,
    LoanTransaction,
)
from nongxin.core.credit.repayments import Repaid, repay
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from nongxin.core.institutions.users import principal_named
from nongxin.core.testing import open_test_loan
from nongxin.sdk import AmountRange, PluginInfo, PluginKind, ProductSpec, hookimpl

D = Decimal
TODAY = date(2026, 6, 30)  # the business date of these tests


@hookimpl
def lower_products(ctx: Any) -> list[ProductSpec]:
    common: dict[str, Any] = dict(segment="salaried", amount=AmountRange(D("1000"), D("90000")), term_months=(1, 36),
                                  annual_rate=(D("0.03"), D("0.08")), repayment_methods=("equal_installment",
                                                                                         "equal_principal"))
    return [ProductSpec(code="LOWER", name="减额", prepayment="lower_installment", **common),
            ProductSpec(code="PRINCIPAL_FIRST", name="先本", **common,
                        allocation_order=("overdue_principal", "principal", "overdue_interest", "interest",
                                          "penalty", "compound"))]


LOWER = ModuleType("lower_products")
LOWER.PLUGIN = PluginInfo(name="lower_products", version="0.1.0", kind=PluginKind.PRODUCT,  # type: ignore[attr-defined]
                          enabled_by_default=True)
LOWER.nongxin_products = lower_products  # type: ignore[attr-defined]


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [LOWER]


@pytest.fixture
def rt(nongxin_app: Any, nongxin_demo: Any) -> Any:
    """The app's runtime at TODAY (the API reads it too)."""
    nongxin_app.extensions["nongxin"] = nongxin_app.extensions["nongxin"].as_of(TODAY)
    return nongxin_app.extensions["nongxin"]


def pay(rt: Any, loan_no: str, amount: str, paid_on: date, key: str = "", user: str = "jinan.cm") -> dict[str, Any]:
    """Repay through the service and commit; what came out, read inside the transaction."""
    with UnitOfWork(rt.sessions) as unit:
        done: Repaid = repay(unit, principal_named(unit.session, user), rt, loan_no, D(amount), paid_on,
                             key or f"k-{loan_no}-{amount}-{paid_on}")
        out = {"replayed": done.replayed, "txn": done.transaction.id, **done.transaction.detail,
               "status": done.loan.status, "version": done.loan.schedule_version}
        unit.commit()
        return out


def loan_of(rt: Any, loan_no: str) -> tuple[Loan, list[Installment]]:
    """The loan and all its rows (every version), detached for reading."""
    with UnitOfWork(rt.sessions) as unit:
        loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        rows = list(unit.session.execute(sa.select(Installment).where(Installment.loan_id == loan.id)
                                         .order_by(Installment.version, Installment.seq)).scalars())
        unit.session.expunge_all()
        return loan, rows


def overdue(rt: Any, loan_no: str, through: date) -> None:
    """The state the day close leaves after closing ``through``: rows due by then unpaid are
    overdue, the overdue figures are their sums, and each closed day from a row's due date on
    added its unpaid principal (interest) in fen to the penalty (compound) base."""
    with UnitOfWork(rt.sessions) as unit:
        loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        rows = unit.session.execute(sa.select(Installment).where(
            Installment.loan_id == loan.id, Installment.version == loan.schedule_version,
            Installment.due_on <= through, Installment.status != InstallmentStatus.PAID)).scalars().all()
        for r in rows:
            r.status = InstallmentStatus.OVERDUE
        loan.overdue_principal = sum((r.principal - r.paid_principal for r in rows), D("0"))
        loan.overdue_interest = sum((r.interest - r.paid_interest for r in rows), D("0"))
        loan.overdue_since = min(r.due_on for r in rows)
        loan.overdue_days = (through - loan.overdue_since).days + 1
        loan.penalty_base = sum(int((r.principal - r.paid_principal) * 100) * ((through - r.due_on).days + 1)
                                for r in rows)
        loan.compound_base = sum(int((r.interest - r.paid_interest) * 100) * ((through - r.due_on).days + 1)
                                 for r in rows)
        loan.closed_through = through
        unit.commit()


def half_up(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


# -- the allocation, on the books -----------------------------------------------------------------

def test_an_installment_paid_on_its_due_date_is_paid_and_the_outstanding_falls(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00")
    _, rows = loan_of(rt, loan_no)
    first = rows[0]
    out = pay(rt, loan_no, str(first.principal + first.interest), date(2026, 2, 15))
    assert out["allocation"]["interest"] == str(first.interest)
    assert out["allocation"]["principal"] == str(first.principal)
    assert out["installments"] == [{"seq": 1, "principal": str(first.principal), "interest": str(first.interest)}]
    loan, rows = loan_of(rt, loan_no)
    assert (rows[0].status, rows[0].paid_on, rows[1].status) == (InstallmentStatus.PAID, date(2026, 2, 15),
                                                                 InstallmentStatus.PENDING)
    assert loan.outstanding == D("12000.00") - first.principal and loan.schedule_version == 1
    with UnitOfWork(rt.sessions) as unit:
        txn = unit.session.get_one(LoanTransaction, out["txn"])
        assert (txn.kind, txn.amount, txn.interest, txn.principal, txn.penalty) == (
            "repayment", first.principal + first.interest, first.interest, first.principal, D("0"))
        assert unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "loan.repay",
                                                                AuditEntry.target == f"loan:{loan_no}")).scalar_one()


def test_a_partial_repayment_pays_interest_before_principal_and_leaves_the_row_open(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00")
    _, rows = loan_of(rt, loan_no)
    out = pay(rt, loan_no, str(rows[0].interest + D("100.00")), date(2026, 2, 15))
    assert (out["allocation"]["interest"], out["allocation"]["principal"]) == (str(rows[0].interest), "100.00")
    loan, rows = loan_of(rt, loan_no)
    assert rows[0].status is InstallmentStatus.PENDING and rows[0].paid_principal == D("100.00")
    assert loan.outstanding == D("11900.00")


def test_penalty_and_compound_interest_are_exact_to_the_fen_and_paid_first(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00", annual_rate="0.0435", penalty_markup="0.5")
    overdue(rt, loan_no, date(2026, 3, 20))  # rows due 15 Feb and 15 Mar unpaid; closed through 20 Mar
    loan, rows = loan_of(rt, loan_no)
    r1, r2 = rows[0], rows[1]
    # repaid on 21 Mar: the row due 15 Feb bears 34 days (R - D), the row due 15 Mar 6 days
    daily = D("0.0435") * D("1.5") / 360
    penalty = half_up((r1.principal * 34 + r2.principal * 6) * daily)
    compound = half_up((r1.interest * 34 + r2.interest * 6) * daily)
    assert penalty > 0 and compound > 0
    out = pay(rt, loan_no, str(penalty + compound + D("10.00")), date(2026, 3, 21))
    assert (out["allocation"]["penalty"], out["allocation"]["compound"]) == (str(penalty), str(compound))
    assert out["allocation"]["overdue_interest"] == "10.00"
    assert out["installments"] == [{"seq": 1, "principal": "0.00", "interest": "10.00"}]  # the oldest first
    after, _ = loan_of(rt, loan_no)
    assert (after.penalty_paid, after.compound_paid) == (penalty, compound)
    assert (after.penalty_base, after.compound_base) == (loan.penalty_base, loan.compound_base)  # the day close's
    assert after.overdue_interest == loan.overdue_interest - D("10.00")
    assert after.overdue_principal == loan.overdue_principal and after.overdue_since == date(2026, 2, 15)


def test_repaying_the_oldest_overdue_row_moves_the_overdue_date_and_the_rest_clears_it(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00")
    overdue(rt, loan_no, date(2026, 3, 20))
    loan, rows = loan_of(rt, loan_no)
    from nongxin.core.credit.domain.interest import penalty_owed

    extras = penalty_owed(loan.penalty_base, loan.annual_rate, loan.penalty_markup) + penalty_owed(
        loan.compound_base, loan.annual_rate, loan.penalty_markup)
    # overdue interest of both rows goes before any overdue principal; then the oldest row's principal
    pay(rt, loan_no, str(extras + rows[0].interest + rows[1].interest + rows[0].principal), date(2026, 3, 21))
    after, rows = loan_of(rt, loan_no)
    assert rows[0].status is InstallmentStatus.PAID and rows[1].status is InstallmentStatus.OVERDUE
    assert (after.overdue_since, after.overdue_days) == (date(2026, 3, 15), 6)
    assert (after.overdue_principal, after.overdue_interest) == (rows[1].principal, D("0"))
    pay(rt, loan_no, str(rows[1].principal), date(2026, 3, 21))
    after, rows = loan_of(rt, loan_no)
    assert (after.overdue_principal, after.overdue_interest, after.overdue_since, after.overdue_days) == (
        D("0"), D("0"), None, 0)
    assert after.outstanding == D("12000.00") - rows[0].principal - rows[1].principal


def test_a_product_order_puts_principal_first(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00", product="PRINCIPAL_FIRST")
    overdue(rt, loan_no, date(2026, 3, 20))
    _, rows = loan_of(rt, loan_no)
    out = pay(rt, loan_no, str(rows[0].principal + D("1.00")), date(2026, 3, 21))
    assert out["order"][0] == "overdue_principal" and out["product_defaults"] is False
    assert out["allocation"]["overdue_principal"] == str(rows[0].principal + D("1.00"))
    assert out["allocation"]["penalty"] == "0.00"


def test_a_product_no_longer_offered_repays_with_the_defaults(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00", product="GONE")
    out = pay(rt, loan_no, "100.00", date(2026, 2, 15))
    assert out["product_defaults"] is True and out["order"][0] == "penalty"


# -- prepayment and payoff ------------------------------------------------------------------------

def test_a_prepayment_shortens_the_term_in_a_new_version_and_keeps_version_one(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00")  # XIN_E_DAI: shorten_term by default
    _, before = loan_of(rt, loan_no)
    due = before[0].principal + before[0].interest
    out = pay(rt, loan_no, str(due + D("3000.00")), date(2026, 2, 15))
    assert (out["allocation"]["prepaid_principal"], out["allocation"]["prepaid_interest"]) == ("3000.00", "0.00")
    assert out["prepayment"] == "shorten_term" and out["schedule_version"] == 2
    loan, rows = loan_of(rt, loan_no)
    v1 = [r for r in rows if r.version == 1]
    v2 = [r for r in rows if r.version == 2]
    assert [(r.due_on, r.principal, r.interest) for r in v1] == [(r.due_on, r.principal, r.interest) for r in before]
    assert len(v1) == 12 and len(v2) < 12 and loan.schedule_version == 2
    assert v2[0].status is InstallmentStatus.PAID and v2[0].paid_principal == before[0].principal
    assert sum(r.principal for r in v2[1:]) == loan.outstanding == D("12000.00") - before[0].principal - D("3000.00")
    assert all(r.principal + r.interest == due for r in v2[1:-1])  # the installment kept
    assert loan.maturity_on == v2[-1].due_on < before[-1].due_on
    with UnitOfWork(rt.sessions) as unit:
        assert unit.session.execute(sa.select(LoanScheduleVersion.reason).where(
            LoanScheduleVersion.loan_id == loan.id).order_by(LoanScheduleVersion.version)).scalars().all() == [
            "disbursement", "prepayment"]


def test_a_prepayment_lowers_the_installment_and_pays_the_interest_accrued_on_it(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00", annual_rate="0.036", product="LOWER")
    _, before = loan_of(rt, loan_no)
    pay(rt, loan_no, str(before[0].principal + before[0].interest), date(2026, 2, 15))
    # on 25 Feb, 10 days into the period that started 15 Feb: 2000 x 3.6% x 10 / 360 = 2.00
    out = pay(rt, loan_no, "2002.00", date(2026, 2, 25))
    assert (out["allocation"]["prepaid_principal"], out["allocation"]["prepaid_interest"]) == ("2000.00", "2.00")
    assert out["prepayment"] == "lower_installment"
    loan, rows = loan_of(rt, loan_no)
    v2 = [r for r in rows if r.version == 2]
    assert len(v2) == 12 and v2[1].start_on == date(2026, 2, 15)
    assert v2[1].principal + v2[1].interest < before[1].principal + before[1].interest
    assert sum(r.principal for r in v2[1:]) == loan.outstanding


def test_the_payoff_closes_the_loan_and_a_closed_loan_is_409(rt: Any, nongxin_client: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="5000.00", method="bullet", term_months=6, annual_rate="0.036")
    # 5000 x 3.6% x 45 days (15 Jan to 1 Mar) / 360 = 22.50
    with pytest.raises(ValidationFailed, match="more than the payoff of 5022.50") as err:
        pay(rt, loan_no, "5022.51", date(2026, 3, 1))
    assert err.value.fields == {"amount": [err.value.message.removeprefix("amount: ")]}
    out = pay(rt, loan_no, "5022.50", date(2026, 3, 1))
    assert out["closed"] is True and out["status"] is LoanStatus.CLOSED
    loan, rows = loan_of(rt, loan_no)
    assert (loan.outstanding, loan.closed_on, loan.schedule_version) == (D("0"), date(2026, 3, 1), 2)
    assert [r.version for r in rows] == [1]  # the new version has no rows left to collect
    with pytest.raises(Conflict, match=f"loan {loan_no} is closed"):
        pay(rt, loan_no, "1.00", date(2026, 3, 2))
    resp = nongxin_client.as_user("jinan.cm").post(f"/api/loans/{loan_no}/repayments", json={
        "amount": "1.00", "paid_on": "2026-03-02"}, headers={"Idempotency-Key": "after-close"})
    assert resp.status_code == 409 and resp.get_json()["message"] == f"loan {loan_no} is closed"


def test_paying_the_last_installment_closes_the_loan(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="1200.00", term_months=1, annual_rate="0.036")
    out = pay(rt, loan_no, "1203.60", date(2026, 2, 15))
    assert out["closed"] is True and out["schedule_version"] == 1


# -- dates, idempotency, visibility, roles ----------------------------------------------------------

def test_paid_on_is_not_after_the_business_date_nor_on_a_closed_day(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00")
    with pytest.raises(ValidationFailed, match="after the business date 2026-06-30") as err:
        pay(rt, loan_no, "10.00", TODAY + timedelta(days=1))
    assert "paid_on" in err.value.fields
    with pytest.raises(ValidationFailed, match="before the loan was disbursed on 2026-01-15"):
        pay(rt, loan_no, "10.00", date(2026, 1, 14))
    overdue(rt, loan_no, date(2026, 3, 20))
    with pytest.raises(ValidationFailed, match="2026-03-20 is closed.* through 2026-03-20"):
        pay(rt, loan_no, "10.00", date(2026, 3, 20))


def test_a_replay_returns_the_first_repayment_and_a_reused_key_is_409(rt: Any, nongxin_client: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00")
    client = nongxin_client.as_user("jinan.cm")
    url, key = f"/api/loans/{loan_no}/repayments", {"Idempotency-Key": "r-0001"}
    first = client.post(url, json={"amount": "500.00", "paid_on": "2026-02-15"}, headers=key)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["replayed"] is False and body["transaction"]["amount"] == "500.00"
    assert body["balances"]["outstanding"] == str(D("12000.00") - D(body["allocation"]["principal"]))
    assert set(body["allocation"]) == {"penalty", "compound", "overdue_interest", "overdue_principal", "interest",
                                       "principal", "prepaid_interest", "prepaid_principal"}
    again = client.post(url, json={"amount": "500", "paid_on": "2026-02-15"}, headers=key)
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert again.get_json()["transaction"] == body["transaction"]
    other = client.post(url, json={"amount": "501.00", "paid_on": "2026-02-15"}, headers=key)
    assert other.status_code == 409 and other.get_json()["error"] == "idempotency_key_reused"
    missing = client.post(url, json={"amount": "1.00", "paid_on": "2026-02-15"})
    assert missing.status_code == 422 and "Idempotency-Key" in missing.get_json()["fields"]
    with UnitOfWork(rt.sessions) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(LoanTransaction).where(
            LoanTransaction.kind == "repayment")).scalar_one() == 1
    bad = client.post(url, json={"amount": "1.001", "paid_on": "2026-02-15"}, headers={"Idempotency-Key": "r-2"})
    assert bad.status_code == 422 and "amount" in bad.get_json()["fields"]


def test_another_banks_loan_is_404(rt: Any, nongxin_client: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), place="LYRCB-LS", manager="linyi.cm")
    resp = nongxin_client.as_user("jinan.cm").post(f"/api/loans/{loan_no}/repayments", json={
        "amount": "1.00", "paid_on": "2026-02-15"}, headers={"Idempotency-Key": "x"})
    assert resp.status_code == 404
    with pytest.raises(NotFound):
        pay(rt, loan_no, "1.00", date(2026, 2, 15), user="jinan.cm")


def test_the_service_checks_the_role_itself(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt))
    with pytest.raises(Forbidden, match="loan.repay"):
        pay(rt, loan_no, "1.00", date(2026, 2, 15), user="jinan.pm")  # sees the loan, may not repay


def test_the_cli_repays_and_explains_an_error_without_a_traceback(rt: Any, nongxin_settings: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="12000.00")
    console = Console(nongxin_settings, runtime=rt)
    args = ["loans", "repay", loan_no, "--amount", "100.00", "--paid-on", "2026-02-15", "--key", "cli-1",
            "--user", "jinan.cm"]
    result = CliRunner().invoke(main, args, obj=console, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "repaid: transaction" in result.output and "outstanding 11943.50" in result.output
    again = CliRunner().invoke(main, args, obj=console, catch_exceptions=False)
    assert again.exit_code == 0 and "already taken under this key" in again.output
    worse = CliRunner().invoke(main, [*args[:3], "--amount", "99999999.00", *args[5:7], "--key", "cli-2",
                                      "--user", "jinan.cm"], obj=console)
    assert worse.exit_code == 2 and "more than the payoff" in worse.output and "Traceback" not in worse.output
    typo = CliRunner().invoke(main, [*args[:3], "--amount", "ten", *args[5:]], obj=console)
    assert typo.exit_code == 2 and "amount" in typo.output and "Traceback" not in typo.output


def rt_app(rt: Any) -> Any:
    """open_test_loan takes an app; it only reads its runtime's sessions."""
    return _AppLike(rt)


class _AppLike:
    def __init__(self, rt: Any) -> None:
        self.extensions = {"nongxin": rt}


def test_concurrent_retries_under_one_key_pay_once(rt: Any) -> None:
    """The key is looked up after the loan's lock: eight racing retries write one repayment."""
    from concurrent.futures import ThreadPoolExecutor

    loan_no = open_test_loan(rt_app(rt), amount="12000.00")

    def attempt(_: int) -> int:
        return int(pay(rt, loan_no, "300.00", date(2026, 2, 15), key="race-1")["txn"])

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(attempt, range(8)))
    loan, _ = loan_of(rt, loan_no)
    with UnitOfWork(rt.sessions) as unit:
        count = unit.session.execute(sa.select(sa.func.count()).select_from(LoanTransaction).where(
            LoanTransaction.loan_id == loan.id, LoanTransaction.kind == "repayment")).scalar_one()
    assert len(ids) == 1 and count == 1
    assert loan.outstanding == D("12000.00") - (D("300.00") - D("43.50"))


def test_only_serviced_loans_take_repayments_of_whole_fen(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt))
    with pytest.raises(ValidationFailed, match="amount: must be a positive amount"):
        pay(rt, loan_no, "1.001", date(2026, 2, 15))
    with UnitOfWork(rt.sessions) as unit:
        unit.session.execute(sa.update(Loan).where(Loan.loan_no == loan_no).values(status=LoanStatus.WRITTEN_OFF))
        unit.commit()
    with pytest.raises(Conflict, match="is written_off: repayments are taken only on active or rescheduled"):
        pay(rt, loan_no, "1.00", date(2026, 2, 15))


def test_a_payoff_mid_period_pays_the_interest_accrued_to_that_day(rt: Any) -> None:
    loan_no = open_test_loan(rt_app(rt), amount="6000.00", method="equal_principal", term_months=6,
                             annual_rate="0.036")
    _, rows = loan_of(rt, loan_no)
    pay(rt, loan_no, str(rows[0].principal + rows[0].interest), date(2026, 2, 15))
    # 5000 left, 20 days into the period from 15 Feb: 5000 x 3.6% x 20 / 360 = 10.00
    with pytest.raises(ValidationFailed, match="payoff of 5010.00 on 2026-03-07"):
        pay(rt, loan_no, "6000.00", date(2026, 3, 7))
    out = pay(rt, loan_no, "5010.00", date(2026, 3, 7))
    assert (out["allocation"]["prepaid_principal"], out["allocation"]["prepaid_interest"], out["closed"]) == (
        "5000.00", "10.00", True)
    loan, rows = loan_of(rt, loan_no)
    assert loan.outstanding == 0 and loan.status is LoanStatus.CLOSED
    assert [(r.seq, r.status) for r in rows if r.version == 2] == [(1, InstallmentStatus.PAID)]
