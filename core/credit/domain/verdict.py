"""The arithmetic of a decision, pure: no database, no plugins, no clock; microseconds to test.

* ``graded_limit``: the product plugin's limit times the grade's limit coefficient (等级系数),
  rounded down to the yuan.
* ``priced_rate``: the plugin's price as an annual rate: LPR for the term plus ``spread_bp`` basis
  points, or the whole ``annual_rate`` it named (``spread_of`` then gives the spread it implies).
* ``combine``: the outcome from everything the pipeline gathered. Rejected when any reject rule or
  reject finding hits (category from the first reject rule in rule order; a finding's is
  "other"); manual review when anything made an automatic approval unsafe (a manual-review rule or
  finding, a failed source or plugin, no grade, no limit, no price, a rate outside the product's
  range, the requested or granted amount above the auto-approval ceiling, a granted amount below
  the product's minimum, or above what the customer's exposure cap leaves); otherwise approved for min(requested, graded limit) at the rate.

A limit below the requested amount is not a reason to refuse or review: the applicant is approved
for the smaller amount (the record says so), as long as that amount is still within the product's
minimum; below it a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

APPROVED, REJECTED, MANUAL_REVIEW = "approved", "rejected", "manual_review"
OTHER = "other"
BASIS_POINT = Decimal("0.0001")
FEN = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class RuleHit:
    code: str
    version: int
    expression: str
    outcome: str  # tag | manual_review | reject
    category: str  # a refusal category; "other" when the rule names none
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FindingHit:
    plugin: str
    code: str
    outcome: str  # pass | tag | manual_review | reject
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Failure:
    """A source or plugin that did not answer: ``source`` is what failed (bureau, connector,
    product, rules, scorecard, facts, or the hook), ``name`` the plugin or connector."""

    source: str
    name: str
    error: str

    def text(self) -> str:
        return f"{self.source} {self.name}: {self.error}" if self.name else f"{self.source}: {self.error}"


@dataclass(frozen=True, slots=True)
class Terms:
    """What the product spec says about this application."""

    amount: Decimal  # requested
    minimum: Decimal  # the product's minimum amount
    ceiling: Decimal  # auto_approval_ceiling
    rate_range: tuple[Decimal, Decimal]
    #: What the customer's exposure cap leaves at the county bank (None: not checked, as in
    #: records stored before the cap was); a limit above it is for a person to decide.
    exposure_room: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str
    refusal_category: str | None
    approved_amount: Decimal | None
    rate: Decimal | None
    reasons: tuple[str, ...]


def graded_limit(limit: Decimal, coefficient: Decimal) -> Decimal:
    """``limit × coefficient``, rounded down to the yuan (never a fen more than earned)."""
    return (limit * coefficient).to_integral_value(rounding=ROUND_FLOOR)


def priced_rate(annual_rate: Decimal | None, spread_bp: int | None, lpr: Decimal) -> Decimal | None:
    """The annual rate of a price: ``lpr + spread_bp`` bp when a spread is given, else the whole
    ``annual_rate``; None when the price names neither."""
    if spread_bp is not None:
        return lpr + Decimal(spread_bp) * BASIS_POINT
    return annual_rate


def spread_of(rate: Decimal, lpr: Decimal) -> Decimal:
    """The spread over the LPR a rate implies, in basis points."""
    return (rate - lpr) / BASIS_POINT


def in_range(rate: Decimal, bounds: tuple[Decimal, Decimal]) -> bool:
    return bounds[0] <= rate <= bounds[1]


def combine(*, rule_hits: tuple[RuleHit, ...], findings: tuple[FindingHit, ...], failures: tuple[Failure, ...],
            coefficient: Decimal | None, limit: Decimal | None, rate: Decimal | None, terms: Terms) -> Verdict:
    """The outcome; ``reasons`` say why, in the order the checks run."""
    rejecting = [h for h in rule_hits if h.outcome == "reject"]
    rejecting_findings = [f for f in findings if f.outcome == "reject"]
    if rejecting or rejecting_findings:
        category = (rejecting[0].category or OTHER) if rejecting else OTHER
        reasons = [f"rule {h.code} v{h.version} rejects ({h.category or OTHER}): {h.reason or h.expression}"
                   for h in rejecting]
        reasons += [f"finding {f.code} of {f.plugin} rejects: {f.reason}" for f in rejecting_findings]
        return Verdict(REJECTED, category, None, None, tuple(reasons))
    review = [f"rule {h.code} v{h.version} asks for manual review: {h.reason or h.expression}"
              for h in rule_hits if h.outcome == "manual_review"]
    review += [f"finding {f.code} of {f.plugin} asks for manual review: {f.reason}"
               for f in findings if f.outcome == "manual_review"]
    review += [f"failed: {f.text()}" for f in failures]
    granted: Decimal | None = None
    if coefficient is None:
        review.append("no scorecard grade (no limit coefficient)")
    if limit is None:
        review.append("no credit limit")
    elif coefficient is not None:
        granted = min(terms.amount, graded_limit(limit, coefficient)).quantize(FEN)
    if rate is None:
        review.append("no price")
    elif not in_range(rate, terms.rate_range):
        review.append(f"rate {rate} is outside the product's range {terms.rate_range[0]}-{terms.rate_range[1]}")
    if terms.amount > terms.ceiling:
        review.append(f"amount {terms.amount} is above the auto-approval ceiling {terms.ceiling}")
    if granted is not None:
        if granted > terms.ceiling:
            review.append(f"limit {granted} is above the auto-approval ceiling {terms.ceiling}")
        if granted < terms.minimum:
            review.append(f"limit {granted} is below the product's minimum amount {terms.minimum}")
        if terms.exposure_room is not None and granted > terms.exposure_room:
            review.append(f"limit {granted} is above the {terms.exposure_room} left under the customer's "
                          "exposure cap")
    if review:
        return Verdict(MANUAL_REVIEW, None, None, None, tuple(review))
    assert granted is not None and rate is not None
    note = () if granted == terms.amount else (f"approved {granted} of the {terms.amount} requested (the limit)",)
    return Verdict(APPROVED, None, granted, rate, note)
