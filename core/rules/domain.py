"""The life cycle of a stored rule, pure: which step leads where, and who may take it.

    draft --submit--> pending_approval --approve--> published --retire--> retired
      ^                     |
      +-----withdraw--------+--reject--> rejected

A rule is written at its author's own institution and level (province, city or county), and
published only by a second person of that institution (maker-checker): the author can never
approve (nor reject) their own rule.
"""

from __future__ import annotations

from typing import Mapping

from nongxin.core.rules.models import RuleStatus

__all__ = ["ACTIONS", "RULE_LEVELS", "next_status"]

#: action -> (the statuses it may start from, the status it leads to)
ACTIONS: Mapping[str, tuple[frozenset[RuleStatus], RuleStatus]] = {
    "submit": (frozenset({RuleStatus.DRAFT}), RuleStatus.PENDING),
    "withdraw": (frozenset({RuleStatus.PENDING}), RuleStatus.DRAFT),
    "approve": (frozenset({RuleStatus.PENDING}), RuleStatus.PUBLISHED),
    "reject": (frozenset({RuleStatus.PENDING}), RuleStatus.REJECTED),
    "retire": (frozenset({RuleStatus.PUBLISHED}), RuleStatus.RETIRED),
}

#: The institution levels that keep rules (a branch or a grid keeps none).
RULE_LEVELS = ("province", "city", "county")


def next_status(current: RuleStatus, action: str) -> RuleStatus | None:
    """The status ``action`` leads to from ``current``, or None when it may not be taken there."""
    starts, target = ACTIONS[action]
    return target if current in starts else None
