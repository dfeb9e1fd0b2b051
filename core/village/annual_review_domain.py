"""The annual review (年检) of a credit line, as pure functions: when it falls due, whether the
refreshed facts let the line pass off-site, and what a reduction may leave. No database.

The promises:

* A line's review falls due on ``review_due_on``, or a year after ``start_on`` when it was never
  set; a review (passed or not) moves it a year on from the due date, never from the day it ran,
  so a late night does not shift the calendar.
* A line passes off-site only when every one of these holds; each that fails is a reason:
  no admission rule or product finding asks to reject or for a person's review, no source failed
  (a failed bureau query is "negative information unknown", never a pass), no negative information
  (bureau: an amount overdue now, a loan classed substandard or worse, an open public record;
  an active court list entry; a loan of the line classed non-performing), and the recomputed graded
  limit is at least the line amount less the county's tolerance.
* A reduction goes down to the recomputed limit, never below what is drawn and never up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Mapping

from nongxin.core.credit.domain.schedules import add_months

__all__ = ["BLOCKING", "PASSED", "ON_SITE", "Judgement", "Refreshed", "bureau_negatives", "due_on", "judge",
           "next_due", "reduced_amount"]

PASSED, ON_SITE = "passed", "on_site"
#: Rule and finding outcomes a line cannot pass off-site with.
BLOCKING = frozenset({"reject", "manual_review"})
FEN = Decimal("0.01")


def due_on(review_due_on: date | None, start_on: date) -> date:
    """The day the line's review falls due: the stored one, or a year after it started."""
    return review_due_on if review_due_on is not None else add_months(start_on, 12)


def next_due(due: date) -> date:
    """The next review after the one due on ``due``: a year on from the due date."""
    return add_months(due, 12)


def bureau_negatives(summary: Mapping[str, Any]) -> list[str]:
    """The negative information in a bureau summary's ``bureau_*`` facts, each as a reason."""
    reasons = []
    overdue = summary.get("bureau_current_overdue_amount")
    if overdue is not None and Decimal(overdue) > 0:
        reasons.append(f"bureau: {Decimal(overdue).quantize(FEN)} overdue now")
    accounts = summary.get("bureau_non_performing_accounts")
    if accounts:
        reasons.append(f"bureau: {accounts} loan(s) classed substandard or worse")
    for name, label in (("bureau_open_enforcement", "enforcement"),
                        ("bureau_consumption_restriction", "consumption restriction"),
                        ("bureau_dishonest_debtor", "dishonest debtor")):
        if summary.get(name):
            reasons.append(f"bureau: an open public record ({label})")
    return reasons


@dataclass(frozen=True)
class Refreshed:
    """What the night found about one line: the hits of rules and findings as (code, outcome,
    reason), the failures as text, the bureau summary facts (None: the query failed), the court
    list kinds the customer is on, the line's non-performing loans, and the recomputed limit."""

    amount: Decimal
    tolerance: Decimal
    hits: tuple[tuple[str, str, str], ...] = ()
    failures: tuple[str, ...] = ()
    bureau: Mapping[str, Any] | None = None
    watchlists: tuple[str, ...] = ()
    npl_loans: tuple[str, ...] = ()
    limit: Decimal | None = None


@dataclass(frozen=True)
class Judgement:
    result: str  # passed | on_site
    reasons: tuple[str, ...] = field(default_factory=tuple)
    floor: Decimal = Decimal("0")  # the least recomputed limit that passes

    @property
    def passed(self) -> bool:
        return self.result == PASSED


def judge(facts: Refreshed) -> Judgement:
    """Pass off-site or check on site (module docstring); every reason named."""
    reasons: list[str] = []
    reasons += [f"{outcome}: {code}" + (f" ({reason})" if reason else "")
                for code, outcome, reason in facts.hits if outcome in BLOCKING]
    reasons += [f"failure: {text}" for text in facts.failures]
    if facts.bureau is None:
        reasons.append("bureau: no report, negative information unknown")
    else:
        reasons += bureau_negatives(facts.bureau)
    reasons += [f"court list: {kind}" for kind in facts.watchlists]
    reasons += [f"loan {loan_no} is non-performing" for loan_no in facts.npl_loans]
    floor = (facts.amount * (1 - facts.tolerance)).quantize(FEN)
    if facts.limit is None:
        reasons.append("limit: no recomputed limit")
    elif facts.limit < floor:
        reasons.append(f"limit: recomputed {facts.limit.quantize(FEN)} is below {floor} "
                       f"(line {facts.amount.quantize(FEN)} less {facts.tolerance} tolerance)")
    return Judgement(ON_SITE if reasons else PASSED, tuple(reasons), floor)


def reduced_amount(amount: Decimal, limit: Decimal | None, drawn: Decimal) -> Decimal:
    """What a reduction leaves: the recomputed limit, but never below ``drawn`` nor above
    ``amount`` (no limit: unchanged)."""
    if limit is None:
        return amount
    return max(min(amount, limit), min(drawn, amount)).quantize(FEN)

