"""Credit villages (信用村): the figures computed set-wise from real lines, loans and loan classes,
each threshold just met and just missed, a county setting changing the result, the status kept
and audited, one rating per village and day, and another county's village out of sight."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.credit.ledger import Borrower, LoanTerms, open_loan
from nongxin.core.credit.models import CreditLine, CreditLineStatus, Loan
from nongxin.core.customers.models import Customer
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.models import LoanClass
from nongxin.core.institutions import users
from nongxin.core.institutions.services import get_by_code
from nongxin.core.parameters.services import set_value
from nongxin.core.testing import make_test_village, open_test_line
from nongxin.core.village.models import Village, VillageRating
from nongxin.core.village.villages import Figures, missed, ratio

THRESHOLDS = {"min_households": 5, "min_coverage": Decimal("0.80"), "min_usage": Decimal("0.30"),
              "max_npl": Decimal("0.02")}


def sessions(app: Any) -> Any:
    return app.extensions["nongxin"].sessions


def id_number(app: Any, customer_id: int) -> str:
    with UnitOfWork(sessions(app), write=False) as unit:
        customer = unit.session.get(Customer, customer_id)
        assert customer is not None
        return customer.id_number


def draw(app: Any, line_id: int | None, customer_id: int, amount: str) -> int:
    """A loan of ``amount`` to the customer, drawn on ``line_id`` (or on no line), through the ledger."""
    with UnitOfWork(sessions(app)) as unit:
        s = unit.session
        customer = s.get(Customer, customer_id)
        assert customer is not None
        line = s.get(CreditLine, line_id) if line_id is not None else None
        bank = get_by_code(s, "LYRCB")
        loan = open_loan(unit, bank=bank, institution=customer.grid, borrower=Borrower.of(customer), actor="test",
                         line=line, terms=LoanTerms(product_code="YMYD", amount=Decimal(amount),
                                                    annual_rate=Decimal("0.0435"), term_months=12,
                                                    repayment_method="equal_installment", start_on=date(2026, 1, 15),
                                                    penalty_markup=Decimal("0.5")))
        unit.commit()
        return loan.id


def classify(app: Any, loan_id: int, tier: str) -> None:
    """The loan's current class, written as the classification writes it."""
    with UnitOfWork(sessions(app)) as unit:
        s = unit.session
        loan = s.get(Loan, loan_id)
        assert loan is not None
        today = app.extensions["nongxin"].clock.business_date()
        s.add(LoanClass(loan_id=loan.id, county_bank_id=loan.county_bank_id, institution_id=loan.institution_id,
                        tier=tier, floor=tier, reason="逾期", since=today, as_of=today))
        unit.commit()


def set_line(app: Any, line_id: int, status: str) -> None:
    with UnitOfWork(sessions(app)) as unit:
        line = unit.session.get(CreditLine, line_id)
        assert line is not None
        line.status = CreditLineStatus(status)
        unit.commit()


def set_parameter(app: Any, name: str, text: str) -> None:
    with UnitOfWork(sessions(app)) as unit:
        me = users.principal_named(unit.session, "province.admin")
        set_value(unit, me, name, "LYRCB", text, today=app.extensions["nongxin"].clock.business_date())
        unit.commit()


@pytest.fixture
def village(nongxin_app: Any, nongxin_demo: Any) -> dict[str, Any]:
    """Five households; the first four heads hold a 100,000 line each (coverage 0.8); 120,000
    drawn on the first line (usage 0.3); nothing non-performing. Every threshold just met once the
    county asks for at least five households."""
    made = make_test_village(nongxin_app, households=5, colours=["green", "green", "white", "grey", None])
    lines = [open_test_line(nongxin_app, place="LYRCB-LS-G01", manager="linyi.cm", amount="100000.00",
                            products=("YMYD",), id_number=id_number(nongxin_app, head)) for head in made.heads[:4]]
    loan = draw(nongxin_app, lines[0], made.heads[0], "120000.00")
    return {"village": made, "lines": lines, "loan": loan}


def rate(client: Any, body: dict[str, Any], user: str = "linyi.admin") -> Any:
    return client.as_user(user).post("/api/villages/rate", json=body)


def test_figures_and_a_county_setting_decide_the_rating(nongxin_app: Any, nongxin_client: Any,
                                                        village: dict[str, Any]) -> None:
    vid = village["village"].village_id
    first = rate(nongxin_client, {"institution": "LYRCB"})
    assert first.status_code == 200, first.get_json()
    (row,) = [r for r in first.get_json() if r["village"] == vid]
    assert (row["households"], row["credited"], row["coverage"], row["usage"], row["npl_ratio"]) == (
        5, 4, "0.800000", "0.300000", "0.000000")
    assert not row["credit_village"] and row["reasons"] == ["households 5 below the minimum 20"]
    assert row["thresholds"]["min_households"] == "20"
    set_parameter(nongxin_app, "village.credit_village.min_households", "5")
    second = rate(nongxin_client, {"village": vid})
    assert second.status_code == 200, second.get_json()
    assert [(r["credit_village"], r["reasons"]) for r in second.get_json()] == [(True, [])]
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    with UnitOfWork(sessions(nongxin_app), write=False) as unit:
        s = unit.session
        v = s.get(Village, vid)
        assert v.credit_village and v.credit_village_since == today
        assert s.execute(sa.select(sa.func.count()).select_from(VillageRating).where(
            VillageRating.village_id == vid)).scalar_one() == 1  # the second rating today replaced the first
        changes = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "village.credit_village",
                                                        AuditEntry.target == f"village:{vid}")).scalars().all()
        assert [(c.before["credit_village"], c.after["credit_village"]) for c in changes] == [(False, True)]
        assert s.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "village.rate")).scalar_one() == 2
    listed = nongxin_client.as_user("linyi.cm").get("/api/villages/credit").get_json()
    assert [v["id"] for v in listed] == [vid]
    assert listed[0]["credited"] == 4 and listed[0]["reviewed"] == {"black": 0, "grey": 1, "green": 2, "white": 1}
    # rated again: still a credit village, and the date it became one is kept (no second audit)
    assert rate(nongxin_client, {"village": vid}).get_json()[0]["credit_village"]
    with UnitOfWork(sessions(nongxin_app), write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "village.credit_village")).scalar_one() == 1
    history = nongxin_client.as_user("linyi.cm").get(f"/api/villages/{vid}/ratings").get_json()
    assert len(history) == 1 and history[0]["credit_village"]


def test_a_frozen_line_counts_a_closed_one_does_not(nongxin_app: Any, nongxin_client: Any,
                                                    village: dict[str, Any]) -> None:
    set_parameter(nongxin_app, "village.credit_village.min_households", "5")
    vid = village["village"].village_id
    set_line(nongxin_app, village["lines"][1], "frozen")
    assert rate(nongxin_client, {"village": vid}).get_json()[0]["coverage"] == "0.800000"
    set_line(nongxin_app, village["lines"][1], "closed")  # coverage 0.6, granted 300,000: usage 0.4
    row = rate(nongxin_client, {"village": vid}).get_json()[0]
    assert (row["credited"], row["coverage"], row["usage"], row["credit_village"]) == (3, "0.600000", "0.400000", False)
    assert row["reasons"] == ["coverage 0.600000 below the minimum 0.80"]


def test_non_performing_loans_take_the_status_away(nongxin_app: Any, nongxin_client: Any,
                                                   village: dict[str, Any]) -> None:
    set_parameter(nongxin_app, "village.credit_village.min_households", "5")
    made, vid = village["village"], village["village"].village_id
    assert rate(nongxin_client, {"village": vid}).get_json()[0]["credit_village"]
    # a member's loan off any line counts in the NPL ratio: 2,448.98 of 122,448.98 is 0.020000 (met)
    small = draw(nongxin_app, None, made.heads[4], "2448.98")
    classify(nongxin_app, small, "substandard")
    classify(nongxin_app, village["loan"], "special_mention")  # not non-performing
    row = rate(nongxin_client, {"village": vid}).get_json()[0]
    assert (row["npl_ratio"], row["usage"], row["credit_village"]) == ("0.020000", "0.300000", True)
    bigger = draw(nongxin_app, None, made.heads[4], "10.00")  # 2,458.98 of 122,458.98: 0.020080 (missed)
    classify(nongxin_app, bigger, "doubtful")
    row = rate(nongxin_client, {"village": vid}).get_json()[0]
    assert row["npl_ratio"] == "0.020080" and not row["credit_village"]
    assert row["reasons"] == ["NPL ratio 0.020080 above the maximum 0.02"]
    with UnitOfWork(sessions(nongxin_app), write=False) as unit:
        v = unit.session.get(Village, vid)
        assert not v.credit_village and v.credit_village_since is None
        changes = unit.session.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "village.credit_village", AuditEntry.target == f"village:{vid}")
            .order_by(AuditEntry.id)).scalars().all()
        assert [c.after["credit_village"] for c in changes] == [True, False]


BASE = {"households": 5, "credited": 4, "granted": Decimal("400000.00"), "drawn": Decimal("120000.00"),
        "outstanding": Decimal("120000.00"), "non_performing": Decimal("0.00")}


@pytest.mark.parametrize("change, reasons", [
    ({}, []),
    ({"households": 4}, ["households 4 below the minimum 5"]),
    ({"households": 50, "credited": 40}, []),
    ({"households": 49, "credited": 39}, ["coverage 0.795918 below the minimum 0.80"]),
    ({"drawn": Decimal("119999.80")}, []),  # 0.2999995 rounds half-up to 0.300000
    ({"drawn": Decimal("119999.00")}, ["usage 0.299998 below the minimum 0.30"]),
    ({"non_performing": Decimal("2400.01")}, []),  # 0.02000008 rounds to 0.020000
    ({"non_performing": Decimal("2400.07")}, ["NPL ratio 0.020001 above the maximum 0.02"]),
], ids=["met", "households", "coverage-met", "coverage-missed", "usage-met", "usage-missed", "npl-met", "npl-missed"])
def test_each_threshold_just_met_and_just_missed(change: dict[str, Any], reasons: list[str]) -> None:
    assert missed(Figures(**{**BASE, **change}), THRESHOLDS) == reasons


def test_ratios_round_half_up_to_six_places_and_zero_over_zero() -> None:
    assert ratio(1, 3) == Decimal("0.333333") and ratio(2, 3) == Decimal("0.666667")
    assert ratio(Decimal("0.0000005"), 1) == Decimal("0.000001") and ratio(5, 0) == Decimal("0.000000")


def test_another_county_sees_nothing(nongxin_app: Any, nongxin_client: Any, village: dict[str, Any]) -> None:
    vid = village["village"].village_id
    jinan = nongxin_client.as_user("jinan.admin")
    assert jinan.get(f"/api/villages/{vid}").status_code == 404
    assert jinan.get(f"/api/villages/{vid}/ratings").status_code == 404
    assert rate(nongxin_client, {"village": vid}, user="jinan.admin").status_code == 404
    assert rate(nongxin_client, {"institution": "LYRCB"}, user="jinan.admin").status_code == 404
    assert jinan.get("/api/villages?institution=LYRCB").status_code == 404
    assert vid not in [v["id"] for v in jinan.get("/api/villages").get_json()]
    assert rate(nongxin_client, {"institution": "LYRCB-LS"}).status_code == 422
    assert rate(nongxin_client, {"institution": "LYRCB", "village": vid}).status_code == 422
    assert rate(nongxin_client, {"institution": "LYRCB"}, user="linyi.cm").status_code == 403


def test_one_village_shows_its_households_with_masked_ids(nongxin_app: Any, nongxin_client: Any,
                                                          village: dict[str, Any]) -> None:
    made = village["village"]
    shown = nongxin_client.as_user("linyi.pm").get(f"/api/villages/{made.village_id}")
    assert shown.status_code == 200, shown.get_json()
    body = shown.get_json()
    assert body["households"] == 5 and body["credited"] == 4 and len(body["household_list"]) == 5
    first = next(h for h in body["household_list"] if h["id"] == made.households[0])
    assert first["members"] == 1 and first["colour"] == "green" and first["main_business"] == "粮食种植"
    assert first["head"]["id"] == made.heads[0] and "*" in first["head"]["id_number"]
    full = nongxin_client.as_user("linyi.cm").get(f"/api/villages/{made.village_id}").get_json()
    heads = {h["head"]["id"]: h["head"]["id_number"] for h in full["household_list"]}
    assert heads[made.heads[0]] == id_number(nongxin_app, made.heads[0])


def test_the_cli_lists_shows_and_rates(nongxin_app: Any, village: dict[str, Any]) -> None:
    settings = nongxin_app.extensions["nongxin"].settings
    made = village["village"]

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)

    listed = run("village", "list", "--user", "linyi.cm")
    assert listed.exit_code == 0 and made.name in listed.output and "credited     4" in listed.output
    shown = run("village", "show", str(made.village_id), "--user", "linyi.cm")
    assert shown.exit_code == 0 and "粮食种植" in shown.output
    rated = run("village", "rate", "--county", "LYRCB", "--user", "linyi.admin")
    assert rated.exit_code == 0, rated.output
    assert "coverage 0.800000  usage 0.300000  npl 0.000000  not rated: households 5 below the minimum 20" in rated.output
    other = run("village", "show", str(made.village_id), "--user", "jinan.admin")
    assert other.exit_code != 0 and "not found" in other.output


def test_two_ratings_at_once_wait_and_leave_one_row_per_village(nongxin_app: Any, nongxin_demo: Any,
                                                                village: dict[str, Any]) -> None:
    from nongxin.core import loadgen

    answers = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        ("linyi.admin", "POST", "/api/villages/rate", {"institution": "LYRCB"}, {}),
        ("linyi.approver", "POST", "/api/villages/rate", {"village": village["village"].village_id}, {})])
    assert sorted(status for status, _ in answers) == [200, 200], answers
    with UnitOfWork(sessions(nongxin_app), write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(VillageRating).where(
            VillageRating.village_id == village["village"].village_id)).scalar_one() == 1
