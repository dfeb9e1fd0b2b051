"""The pure part of peer review: aggregation rules, ties, the minimum, the frame form agreeing with
the one-household form, and the bureau's negative signal."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pandas as pd
import pytest

from nongxin.core.village.review_domain import CAUTION, SCORES, aggregate, aggregate_frame, bureau_negative
from nongxin.sdk.bureau import BureauSummary


def test_any_black_makes_black_else_the_majority() -> None:
    assert aggregate(["green", "green", "black"], "any_black", 3) == "black"
    assert aggregate(["green", "green", "grey"], "any_black", 3) == "green"
    assert aggregate(["green", "green", "black"], "majority", 3) == "green"
    assert aggregate(["black", "black", "green"], "majority", 3) == "black"


def test_a_tie_goes_to_the_more_cautious_colour() -> None:
    assert aggregate(["green", "grey"], "majority", 2) == "grey"
    assert aggregate(["green", "white"], "majority", 2) == "white"
    assert aggregate(["white", "grey", "grey", "white"], "any_black", 2) == "grey"
    assert aggregate(["black", "grey"], "majority", 2) == "black"


def test_too_few_reviewers_is_no_colour() -> None:
    assert aggregate(["black", "black"], "any_black", 3) is None
    assert aggregate([], "majority", 1) is None
    with pytest.raises(ValueError):
        aggregate(["green"], "unanimous", 1)


def test_the_frame_gives_the_same_colour_as_one_household_at_a_time() -> None:
    combos = [c for n in range(0, 5) for c in itertools.combinations_with_replacement(CAUTION, n)]
    rows = [{"household_id": h, "colour": colour, **{s: 1 + (h + i) % 4 for i, s in enumerate(SCORES)}}
            for h, combo in enumerate(combos) for colour in combo]
    ratings = pd.DataFrame(rows, columns=["household_id", "colour", *SCORES])
    households = list(range(len(combos)))
    for rule in ("any_black", "majority"):
        for minimum in (1, 2, 3):
            frame = aggregate_frame(ratings, households, rule, minimum)
            assert list(frame.index) == households
            assert list(frame["reviewers"]) == [len(c) for c in combos]
            assert list(frame["review_colour"]) == [aggregate(list(c), rule, minimum) for c in combos], (rule, minimum)
    frame = aggregate_frame(ratings, households, "majority", 1)
    rated = frame[frame["reviewers"] > 0]
    assert rated["integrity"].between(1, 4).all() and frame.loc[0, ["integrity"]].isna().all()


def test_the_frame_of_a_round_without_ratings() -> None:
    empty = pd.DataFrame(columns=["household_id", "colour", *SCORES])
    frame = aggregate_frame(empty, [7, 9], "any_black", 3)
    assert list(frame["reviewers"]) == [0, 0] and list(frame["review_colour"]) == [None, None]


def _summary(**changes: object) -> BureauSummary:
    clean = dict(loan_approval_queries_1m=0, loan_approval_queries_3m=0, queries_6m=1, queries_12m=2,
                 worst_overdue_days_24m=0, current_overdue_amount=Decimal("0"), non_performing_accounts=0,
                 outstanding_debt=Decimal("10000"), guarantees_given=Decimal("0"), open_enforcement=False,
                 consumption_restriction=False, dishonest_debtor=False, card_utilization=None)
    return BureauSummary(**{**clean, **changes})  # type: ignore[arg-type]


def test_the_bureau_negative_signal() -> None:
    assert bureau_negative(_summary()) == []
    assert bureau_negative(_summary(worst_overdue_days_24m=31)) == []  # late once, long ago: not black
    assert bureau_negative(_summary(current_overdue_amount=Decimal("12.50"))) == ["overdue now (12.50 yuan)"]
    assert "classed substandard or worse" in bureau_negative(_summary(non_performing_accounts=1))[0]
    assert bureau_negative(_summary(worst_overdue_days_24m=91)) == ["91 days overdue within 24 months"]
    assert bureau_negative(_summary(dishonest_debtor=True, open_enforcement=True)) == [
        "public record: open enforcement", "public record: dishonest debtor"]
