"""Early warning and five-tier classification, pure: no database, no Flask, no plugins, no clock.

The vocabulary every part of the module shares (colours, disposals, tiers, escalation levels),
the regulatory floors of the five-tier classification (商业银行金融资产风险分类办法, in force
2023-07-01; ``../shared/DOMAIN.md``), and the two decisions a task's life turns on: when it falls
due and how far it has escalated. The set-wise code (the nightly scan, the classification) uses
the vectorized twins of these functions and is tested against them.
"""

from __future__ import annotations

from datetime import date
from typing import Callable, Mapping

__all__ = ["COLOURS", "DEFAULT_DEADLINE_DAYS", "DISPOSALS", "ESCALATION_LEVELS", "NON_PERFORMING", "TIERS",
           "TIER_LABELS", "CONTAGION_SHARE", "CURE_MONTHS", "OBSERVATION_MONTHS", "escalation_level",
           "floor_tier", "tier_rank", "worse", "worst_colour"]

#: Warning colours, mildest first (the post-loan and collateral stages' outcomes).
COLOURS = ("yellow", "orange", "red")
COLOUR_LABELS = {"yellow": "黄色预警", "orange": "橙色预警", "red": "红色预警"}

#: Working days a task has, by colour, unless the county sets ``early_warning.deadline_days.<colour>``.
DEFAULT_DEADLINE_DAYS: Mapping[str, int] = {"red": 3, "orange": 5, "yellow": 10}

#: How a task is disposed of when it closes.
DISPOSALS: Mapping[str, str] = {
    "monitor": "持续监控",
    "collect": "催收",
    "restructure": "重组",
    "legal_action": "诉讼",
    "false_alarm": "误报",
}

#: Escalation levels of a task: who must act after the customer manager missed the deadline.
ESCALATION_LEVELS: Mapping[int, str] = {0: "customer_manager", 1: "branch_head", 2: "risk_department"}

#: The five tiers, best first; the last three are non-performing (不良).
TIERS = ("normal", "special_mention", "substandard", "doubtful", "loss")
TIER_LABELS: Mapping[str, str] = {"normal": "正常", "special_mention": "关注", "substandard": "次级",
                                  "doubtful": "可疑", "loss": "损失"}
NON_PERFORMING = frozenset({"substandard", "doubtful", "loss"})

#: Contagion (DOMAIN.md): a non-retail debtor with more than this share of its claims at the bank
#: non-performing has all of them non-performing.
CONTAGION_SHARE = "0.10"
#: A non-performing loan moves back up only after its arrears are cleared and it has paid normally
#: for two consecutive periods or six months, whichever is longer (two monthly or quarterly
#: periods never exceed six months, so six months is the test for every method we lend with).
CURE_MONTHS = 6
#: A restructured loan's observation period: at least one year (and two periods) from its first
#: repayment date after the restructuring (第十八条); a missed payment restarts it.
OBSERVATION_MONTHS = 12


def tier_rank(tier: str) -> int:
    """0 for normal .. 4 for loss; ValueError naming the tiers for anything else."""
    try:
        return TIERS.index(tier)
    except ValueError:
        raise ValueError(f"unknown five-tier class {tier!r}; use one of {', '.join(TIERS)}") from None


def worse(a: str, b: str) -> str:
    """The worse of two tiers."""
    return a if tier_rank(a) >= tier_rank(b) else b


def floor_tier(overdue_days: int) -> str:
    """The regulatory floor from days overdue: any overdue at least special mention; over 90
    days at least substandard; over 270 at least doubtful; over 360 loss."""
    if overdue_days > 360:
        return "loss"
    if overdue_days > 270:
        return "doubtful"
    if overdue_days > 90:
        return "substandard"
    if overdue_days > 0:
        return "special_mention"
    return "normal"


def worst_colour(colours: list[str]) -> str:
    return max(colours, key=COLOURS.index)


def escalation_level(due_on: date, as_of: date, days: int, add_workdays: Callable[[date, int], date]) -> int:
    """How far a task still open on ``as_of`` has escalated: 0 while ``as_of`` is on or before
    ``due_on``; 1 (the branch head) once it is past due; 2 (the county bank's risk department)
    once it is past ``days`` more working days after ``due_on`` (the colour's own deadline, given
    again to the branch head). ``add_workdays(day, n)`` is the working calendar's."""
    if as_of <= due_on:
        return 0
    return 1 if as_of <= add_workdays(due_on, days) else 2
