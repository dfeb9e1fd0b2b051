"""Back-to-back peer review (背靠背评议), the pure part: how a round's ratings become one colour per
household, and what in a credit report is bad enough to make a household black whatever its
neighbours said. No database here; ``review.py`` reads the rows and writes the results.

The promises:

* ``aggregate`` (one household) and ``aggregate_frame`` (every household of a round at once, numpy
  over the counts) give the same colour: fewer than ``min_reviewers`` ratings is no colour (None,
  "not enough reviewers"); ``any_black``: black if any rating is black, else the majority colour;
  ``majority``: the majority colour. A tie goes to the more cautious colour (black > grey > white >
  green): a village split between favour and caution is cautious.
* ``bureau_negative`` names every negative signal of a credit-report summary (current overdue, a
  loan classed substandard or worse or more than 90 days overdue in 24 months, an open court
  record), or nothing: a black override needs a reason a person can check.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from nongxin.core.village.models import COLOURS
from nongxin.sdk.bureau import BureauSummary

__all__ = ["AGGREGATIONS", "CAUTION", "KINDS", "SCORES", "aggregate", "aggregate_frame", "bureau_negative"]

#: The county's aggregation rules (``village.aggregation``).
AGGREGATIONS = ("any_black", "majority")
#: Colours from the most cautious to the least: a tie goes to the earlier one.
CAUTION = ("black", "grey", "white", "green")
#: The scores each rating gives, 1 (poor) to 4 (good).
SCORES = ("integrity", "income", "assets", "business", "health")
#: Who may review.
KINDS = ("official", "representative", "manager")
#: Days overdue from which a loan is classed substandard at the latest (the regulatory floor).
SUBSTANDARD_DAYS = 90

assert set(CAUTION) == set(COLOURS)


def aggregate(colours: Sequence[str], rule: str, min_reviewers: int) -> str | None:
    """The colour of one household from its ratings' colours, or None with too few of them."""
    if rule not in AGGREGATIONS:
        raise ValueError(f"{rule!r} is not one of {', '.join(AGGREGATIONS)}")
    if len(colours) < min_reviewers or not colours:
        return None
    if rule == "any_black" and "black" in colours:
        return "black"
    counts = [sum(1 for c in colours if c == colour) for colour in CAUTION]
    return CAUTION[counts.index(max(counts))]  # the first maximum: the most cautious of a tie


def aggregate_frame(ratings: pd.DataFrame, households: Sequence[int], rule: str, min_reviewers: int) -> pd.DataFrame:
    """Per household of ``households`` (the index, in that order): ``reviewers`` (how many rated),
    a count column per colour, the mean of each score (NaN when unrated) and ``review_colour``
    (None: not enough reviewers). ``ratings`` has columns ``household_id``, ``colour`` and the
    ``SCORES``, one row per rating."""
    if rule not in AGGREGATIONS:
        raise ValueError(f"{rule!r} is not one of {', '.join(AGGREGATIONS)}")
    index = pd.Index(list(households), name="household_id")
    counts = (pd.crosstab(ratings["household_id"], ratings["colour"]) if len(ratings)
              else pd.DataFrame(index=pd.Index([], name="household_id")))
    counts = counts.reindex(index=index, columns=list(CAUTION), fill_value=0).astype("int64")
    means = (ratings.groupby("household_id")[list(SCORES)].mean() if len(ratings)
             else pd.DataFrame(columns=list(SCORES), dtype="float64")).reindex(index)
    matrix = counts.to_numpy()
    reviewers = matrix.sum(axis=1)
    winner = np.asarray(CAUTION, dtype=object)[matrix.argmax(axis=1)] if len(index) else np.array([], dtype=object)
    if rule == "any_black":
        winner = np.where(matrix[:, 0] > 0, "black", winner) if len(index) else winner
    enough = (reviewers >= max(min_reviewers, 1))
    colour = pd.Series([w if e else None for w, e in zip(winner, enough)], index=index, dtype=object)
    out = counts.copy()
    out.insert(0, "reviewers", reviewers)
    for score in SCORES:
        out[score] = means[score].astype("float64")
    out["review_colour"] = colour
    return out


def bureau_negative(summary: BureauSummary) -> list[str]:
    """Every negative signal of the summary, as reasons; empty when the report is clean."""
    reasons = []
    if summary.current_overdue_amount > 0:
        reasons.append(f"overdue now ({summary.current_overdue_amount} yuan)")
    if summary.non_performing_accounts > 0:
        reasons.append(f"{summary.non_performing_accounts} loan(s) classed substandard or worse")
    if summary.worst_overdue_days_24m > SUBSTANDARD_DAYS:
        reasons.append(f"{summary.worst_overdue_days_24m} days overdue within 24 months")
    for flag, text in (("open_enforcement", "open enforcement"), ("consumption_restriction", "consumption restriction"),
                       ("dishonest_debtor", "dishonest debtor")):
        if getattr(summary, flag):
            reasons.append(f"public record: {text}")
    return reasons
