"""The annual review's pure judgement: due dates, each reason a line fails for, reductions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from nongxin.core.village.annual_review_domain import Refreshed, due_on, judge, next_due, reduced_amount

CLEAN = {"bureau_current_overdue_amount": Decimal("0"), "bureau_non_performing_accounts": 0,
         "bureau_open_enforcement": False, "bureau_consumption_restriction": False, "bureau_dishonest_debtor": False}


def facts(**changes: Any) -> Refreshed:
    base: dict[str, Any] = {"amount": Decimal("100000.00"), "tolerance": Decimal("0.20"), "bureau": CLEAN,
                            "limit": Decimal("100000")}
    return Refreshed(**{**base, **changes})


def test_due_dates() -> None:
    assert due_on(None, date(2025, 3, 31)) == date(2026, 3, 31)
    assert due_on(None, date(2024, 2, 29)) == date(2025, 2, 28)  # a month end stays one
    assert due_on(date(2026, 5, 1), date(2020, 1, 1)) == date(2026, 5, 1)  # the stored date wins
    assert next_due(date(2026, 5, 1)) == date(2027, 5, 1)


def test_clean_facts_pass() -> None:
    verdict = judge(facts(hits=(("TAG_ONLY", "tag", "noted"), ("OK", "pass", ""))))
    assert verdict.passed and verdict.reasons == () and verdict.floor == Decimal("80000.00")


@pytest.mark.parametrize(("changes", "reason"), [
    ({"hits": (("PROV-AD-001", "reject", "too old"),)}, "reject: PROV-AD-001 (too old)"),
    ({"hits": (("YMYD_GREY", "manual_review", "doubts"),)}, "manual_review: YMYD_GREY (doubts)"),
    ({"failures": ("connector tax: timed out",)}, "failure: connector tax: timed out"),
    ({"bureau": None}, "bureau: no report, negative information unknown"),
    ({"bureau": {**CLEAN, "bureau_current_overdue_amount": Decimal("12.5")}}, "bureau: 12.50 overdue now"),
    ({"bureau": {**CLEAN, "bureau_non_performing_accounts": 2}}, "bureau: 2 loan(s) classed substandard or worse"),
    ({"bureau": {**CLEAN, "bureau_dishonest_debtor": True}}, "bureau: an open public record (dishonest debtor)"),
    ({"bureau": {**CLEAN, "bureau_open_enforcement": True}}, "bureau: an open public record (enforcement)"),
    ({"watchlists": ("enforcement",)}, "court list: enforcement"),
    ({"npl_loans": ("LYRCB-2026-000001",)}, "loan LYRCB-2026-000001 is non-performing"),
    ({"limit": None}, "limit: no recomputed limit"),
    ({"limit": Decimal("79999.99")}, "limit: recomputed 79999.99 is below 80000.00 (line 100000.00 less 0.20 tolerance)"),
])
def test_each_reason_sends_the_line_on_site(changes: dict[str, Any], reason: str) -> None:
    verdict = judge(facts(**changes))
    assert not verdict.passed and verdict.result == "on_site" and verdict.reasons == (reason,)


def test_the_limit_at_the_tolerance_passes() -> None:
    assert judge(facts(limit=Decimal("80000"))).passed
    assert judge(facts(limit=Decimal("80000"), tolerance=Decimal("0"))).reasons


def test_every_reason_is_named_together() -> None:
    verdict = judge(facts(bureau=None, watchlists=("dishonest_debtor",), limit=Decimal("1")))
    assert len(verdict.reasons) == 3


def test_a_reduction_never_goes_below_what_is_drawn_nor_up() -> None:
    assert reduced_amount(Decimal("100000.00"), Decimal("60000"), Decimal("20000")) == Decimal("60000.00")
    assert reduced_amount(Decimal("100000.00"), Decimal("60000"), Decimal("75000.50")) == Decimal("75000.50")
    assert reduced_amount(Decimal("100000.00"), Decimal("150000"), Decimal("0")) == Decimal("100000.00")
    assert reduced_amount(Decimal("100000.00"), None, Decimal("0")) == Decimal("100000.00")
