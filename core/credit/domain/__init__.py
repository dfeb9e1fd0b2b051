"""The credit module's pure arithmetic: no database, no Flask, no plugins, no clock.

* ``verdict``: the decision's outcome, limit and rate.
* ``schedules``: repayment schedules for the five methods (DOMAIN.md, 还款方式).
* ``interest``: penalty (罚息) and compound (复利) interest, and accrual over actual days / 360.
* ``allocation``: how a repayment is split over what is owed, and what a prepayment does.

Everything here is tested in microseconds, without fixtures; the services and the day close call
it, and the day close's set-wise SQL must agree with it to the fen (a test checks).
"""

from nongxin.core.credit.domain.verdict import (
    APPROVED,
    BASIS_POINT,
    FEN,
    MANUAL_REVIEW,
    OTHER,
    REJECTED,
    Failure,
    FindingHit,
    RuleHit,
    Terms,
    Verdict,
    combine,
    graded_limit,
    in_range,
    priced_rate,
    spread_of,
)

__all__ = [
    "APPROVED", "BASIS_POINT", "FEN", "MANUAL_REVIEW", "OTHER", "REJECTED", "Failure", "FindingHit",
    "RuleHit", "Terms", "Verdict", "combine", "graded_limit", "in_range", "priced_rate", "spread_of",
]
